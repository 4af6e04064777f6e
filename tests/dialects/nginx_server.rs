//! The real nginx as the oracle: what csppatch decodes is what nginx sends, what
//! `encode_value` / `encode_fragment` write makes nginx send exactly the intended text, and the
//! behaviours the NGX2xx lints warn about happen.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use csppatch::dialect::nginx::Nginx;
use csppatch::dialect::Dialect;
use csppatch::site::{FileScan, Site};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nginx")
        .join(name)
}

fn scan(path: &Path, src: &[u8]) -> FileScan {
    Nginx
        .find(path, src)
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

/// `location = /x` -> `/x`.
fn location_path(site: &Site) -> String {
    let label = site.context.rsplit(" > ").next().unwrap();
    label
        .strip_prefix("location = ")
        .unwrap_or_else(|| panic!("unexpected context {}", site.context))
        .to_string()
}

/// The decoded text with each variable replaced by the value nginx gives it in the fixtures.
fn with_variables(site: &Site, values: &BTreeMap<&str, &str>) -> Vec<u8> {
    let text = &site.value.text;
    let mut out = Vec::new();
    let mut at = 0;
    for o in &site.value.opaque {
        out.extend_from_slice(&text.as_bytes()[at..o.start]);
        let name = &text[o.clone()];
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("no value for {name}"));
        out.extend_from_slice(value.as_bytes());
        at = o.end;
    }
    out.extend_from_slice(&text.as_bytes()[at..]);
    out
}

/// Serve `src` (a server block body) and check each direct site against the header nginx sends
/// for its location, in order.
fn assert_nginx_sends_decoded(name: &str, src: &[u8]) -> FileScan {
    let found = scan(Path::new(name), src);
    let server = common::nginx::serve(src).expect("nginx starts");
    let variables = BTreeMap::from([
        ("$cdn", "https://cdn.example"),
        ("${cdn}", "https://cdn.example"),
        ("$host", "localhost"),
    ]);
    let mut by_path: BTreeMap<(String, &str), Vec<&Site>> = BTreeMap::new();
    for site in &found.sites {
        let key = (location_path(site), site.disposition.header_name());
        by_path.entry(key).or_default().push(site);
    }
    for ((path, header), sites) in &by_path {
        let sent = server.header_values(path, header);
        let expected: Vec<Vec<u8>> = sites
            .iter()
            .map(|s| with_variables(s, &variables))
            .collect();
        assert_eq!(
            sent.iter()
                .map(|v| String::from_utf8_lossy(v))
                .collect::<Vec<_>>(),
            expected
                .iter()
                .map(|v| String::from_utf8_lossy(v))
                .collect::<Vec<_>>(),
            "{name} {path}"
        );
        // Exact bytes, not only their lossy rendering.
        assert_eq!(sent, expected, "{name} {path}");
    }
    assert!(!by_path.is_empty(), "{name}: no sites");
    found
}

#[test]
fn decoded_values_are_what_nginx_sends() {
    if !common::have("nginx") {
        return;
    }
    let src = std::fs::read(fixture("oracle.conf")).unwrap();
    let found = assert_nginx_sends_decoded("oracle.conf", &src);
    assert_eq!(found.sites.len(), 11);
    let text = |path: &str| {
        found
            .sites
            .iter()
            .find(|s| location_path(s) == path)
            .unwrap()
            .value
            .text
            .clone()
    };
    // Hand-derived from ngx_conf_read_token, independently of the server's answer above.
    assert_eq!(
        text("/double"),
        "default-src 'self'; script-src 'self' \"dq\" 'sq' back\\slash; img-src x\\y tab\there"
    );
    assert_eq!(
        text("/single"),
        "default-src 'self' \"dq\"; object-src \\ \\x"
    );
    assert_eq!(text("/bare"), "default-src\\ 'self'\\;x}y\"z#w");
    assert_eq!(text("/comment-after"), "default-src 'self' # not a comment");
    let continuation = found
        .sites
        .iter()
        .find(|s| location_path(s) == "/continuation")
        .unwrap();
    assert_eq!(
        continuation.repaired.as_ref().unwrap().text,
        "default-src 'self'; script-src 'self' https://widget.example; connect-src wss://widget.example"
    );
}

#[test]
fn crlf_files_send_the_carriage_return_too() {
    if !common::have("nginx") {
        return;
    }
    let src = std::fs::read(fixture("oracle-crlf.conf")).unwrap();
    assert!(
        src.windows(2).any(|w| w == b"\r\n"),
        "the fixture lost its CRLFs"
    );
    let found = assert_nginx_sends_decoded("oracle-crlf.conf", &src);
    assert_eq!(
        found.sites[0].value.text,
        "default-src 'self'; \\\r\n        script-src 'self' https://widget.example"
    );
    assert_eq!(
        found.sites[0].repaired.as_ref().unwrap().text,
        "default-src 'self'; script-src 'self' https://widget.example"
    );
}

/// The vendor's own snippet, placed in a location: nginx sends the backslashes and newlines.
#[test]
fn the_muserelay_snippet_is_sent_broken_and_decoded_as_sent() {
    if !common::have_seeds() || !common::have("nginx") {
        return;
    }
    let seed = std::fs::read(common::seed("muserelay-nginx.conf")).unwrap();
    let mut src = b"location = /muserelay {\n".to_vec();
    src.extend_from_slice(&seed);
    src.extend_from_slice(b"\n    return 200 \"ok\";\n}\n");
    let found = assert_nginx_sends_decoded("muserelay", &src);
    let site = &found.sites[0];
    assert!(site.value.text.contains("; \\\n    script-src"));
    assert_eq!(
        site.policy_text(),
        "default-src 'self'; script-src 'self' https://muserelay.com 'unsafe-inline'; \
         connect-src 'self' https://muserelay.com wss://muserelay.com; \
         img-src 'self' https://muserelay.com data:; \
         style-src 'self' https://muserelay.com 'unsafe-inline';"
    );
}

/// Replace `site.span` in `src` by `raw`.
fn splice(src: &[u8], span: std::ops::Range<usize>, raw: &[u8]) -> Vec<u8> {
    [&src[..span.start], raw, &src[span.end..]].concat()
}

/// Values a merge can produce, with every byte nginx treats specially.
const NEW_VALUES: &[&str] = &[
    "default-src 'self'; script-src 'self' https://widget.example 'sha256-AbC+/=='",
    "img-src data: \"dq\" 'sq' back\\slash \\\\ end\\",
    "style-src {braces} #hash ;semi 'unsafe-inline'",
    "frame-src https://bücher.example",
    "upgrade-insecure-requests",
];

#[test]
fn encode_value_makes_nginx_send_exactly_the_value() {
    if !common::have("nginx") {
        return;
    }
    let src = std::fs::read(fixture("encode.conf")).unwrap();
    let found = scan(Path::new("encode.conf"), &src);
    assert_eq!(found.sites.len(), 3);
    for value in NEW_VALUES {
        // Splice from the end so the earlier spans stay valid.
        let mut patched = src.clone();
        for site in found.sites.iter().rev() {
            let raw = Nginx.encode_value(site, &src, value).unwrap();
            patched = splice(&patched, site.span.clone(), &raw);
        }
        let rescanned = scan(Path::new("patched.conf"), &patched);
        for site in &rescanned.sites {
            assert_eq!(site.value.text, *value);
        }
        let server = common::nginx::serve(&patched).expect("nginx accepts the patched file");
        for site in &found.sites {
            let path = location_path(site);
            let sent = server.header_values(&path, "Content-Security-Policy");
            assert_eq!(sent, vec![value.as_bytes().to_vec()], "{path} {value}");
        }
    }
}

#[test]
fn encode_value_keeps_the_quoting_style() {
    let src = std::fs::read(fixture("encode.conf")).unwrap();
    let found = scan(Path::new("encode.conf"), &src);
    let enc = |i: usize, v: &str| {
        String::from_utf8(Nginx.encode_value(&found.sites[i], &src, v).unwrap()).unwrap()
    };
    assert_eq!(enc(0, "a 'b'"), "\"a 'b'\"");
    assert_eq!(enc(1, "a 'b'"), "'a \\'b\\''");
    assert_eq!(enc(2, "block-all-mixed-content"), "block-all-mixed-content");
    assert_eq!(
        enc(2, "default-src 'self'"),
        "\"default-src 'self'\"",
        "a bare word cannot hold a space"
    );
    let err = Nginx
        .encode_value(&found.sites[0], &src, "script-src $nonce")
        .unwrap_err();
    assert!(err.contains('$'), "{err}");
    let err = Nginx
        .encode_value(&found.sites[0], &src, "a\nb")
        .unwrap_err();
    assert!(err.contains("line break"), "{err}");
}

/// nginx -t on a policy of every length around the limit: `encode_value` accepts exactly the
/// values nginx accepts, for each quoting style and with or without `always` after it.
#[test]
fn encode_value_refuses_exactly_what_nginx_refuses() {
    if !common::have("nginx") {
        return;
    }
    let cases: &[&[u8]] = &[
        b"add_header Content-Security-Policy \"x\" always;",
        b"add_header Content-Security-Policy \"x\";",
        b"add_header Content-Security-Policy 'x' always;",
        b"add_header Content-Security-Policy x always;",
        b"add_header Content-Security-Policy x;",
    ];
    for case in cases {
        let mut body = b"location = /long {\n    ".to_vec();
        body.extend_from_slice(case);
        body.extend_from_slice(b"\n    return 200;\n}\n");
        let site = scan(Path::new("long.conf"), &body).sites.remove(0);
        let quote: &[u8] = match body[site.span.start] {
            q @ (b'"' | b'\'') => {
                if q == b'"' {
                    b"\""
                } else {
                    b"'"
                }
            }
            _ => b"",
        };
        let (mut accepted, mut refused) = (0, 0);
        for len in 4090..=4097 {
            let value = "a".repeat(len);
            let ours = Nginx.encode_value(&site, &body, &value);
            let written = ours
                .clone()
                .unwrap_or_else(|_| [quote, value.as_bytes(), quote].concat());
            let patched = splice(&body, site.span.clone(), &written);
            let dir = tempfile::tempdir().unwrap();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(
                &conf,
                common::nginx::wrap_server(dir.path(), common::free_port(), &patched),
            )
            .unwrap();
            let theirs = common::nginx::nginx_t(&conf);
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{} with {len} bytes: ours {:?}, nginx {:?}",
                String::from_utf8_lossy(case),
                ours.as_ref().map(|_| ()),
                theirs
            );
            match ours {
                Ok(_) => accepted += 1,
                Err(e) => {
                    assert!(e.contains("NGX205") && e.contains("set $csp"), "{e}");
                    refused += 1;
                }
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{}: the limit was not crossed",
            String::from_utf8_lossy(case)
        );
    }
}

/// Inserting at `Decoded::raw_insertion_point` with `encode_fragment`: the re-scan decodes to
/// the text with the fragment inserted, no byte outside the insertion changes, and nginx sends
/// the new text.
#[test]
fn fragments_spliced_at_insertion_points_decode_as_inserted() {
    let src = std::fs::read(fixture("oracle.conf")).unwrap();
    let found = scan(Path::new("oracle.conf"), &src);
    let fragment = " https://vendor.example";
    let mut checked = 0;
    let mut live: Vec<(String, &str, Vec<u8>, String)> = Vec::new();
    for (i, site) in found.sites.iter().enumerate() {
        // A value expanded from `set` variables is edited in the `set` literals (splice
        // places it there); tests/e2e/vars_nginx.rs checks what nginx sends for those.
        if !site.value.pieces.is_empty() {
            continue;
        }
        let text = &site.value.text;
        // At the start, before the first `;`, and at the end of the value.
        let mut positions = vec![0, text.len()];
        positions.extend(text.find(';'));
        for pos in positions {
            if site.value.touches_opaque(pos..pos) {
                continue;
            }
            let Some(at) = site.value.raw_insertion_point(pos) else {
                continue;
            };
            let Some(raw) = Nginx.encode_fragment(site, &src, at, fragment) else {
                // Only a bare word cannot take a space in place.
                assert!(
                    !matches!(src[site.span.start], b'"' | b'\''),
                    "{}",
                    site.context
                );
                continue;
            };
            let patched = splice(&src, at..at, &raw);
            assert_eq!(&patched[..at], &src[..at]);
            assert_eq!(&patched[at + raw.len()..], &src[at..]);
            let rescanned = scan(Path::new("patched.conf"), &patched);
            let mut expected = text.clone();
            expected.insert_str(pos, fragment);
            assert_eq!(
                rescanned.sites[i].value.text, expected,
                "{} at {pos}",
                site.context
            );
            for (j, other) in rescanned.sites.iter().enumerate() {
                if j != i {
                    assert_eq!(other.value.text, found.sites[j].value.text);
                }
            }
            checked += 1;
            if pos == text.len() && site.value.opaque.is_empty() && site.repaired.is_none() {
                live.push((
                    location_path(site),
                    site.disposition.header_name(),
                    patched,
                    expected,
                ));
            }
        }
    }
    assert!(checked >= 20, "only {checked} insertions checked");
    if !common::have("nginx") {
        return;
    }
    for (path, header, patched, expected) in live {
        let server = common::nginx::serve(&patched).expect("nginx accepts the patched file");
        let sent = server.header_values(&path, header);
        assert!(
            sent.contains(&expected.as_bytes().to_vec()),
            "{path}: {sent:?}"
        );
    }
}

#[test]
fn headers_more_values_keep_their_name_and_no_leading_space() {
    let src = b"more_set_headers -s 200 'Content-Security-Policy: img-src *' 'X-A: b';".to_vec();
    let site = scan(Path::new("x.conf"), &src).sites.remove(0);
    assert_eq!(site.value.text, "img-src *");
    let raw = Nginx.encode_value(&site, &src, "img-src 'self'").unwrap();
    assert_eq!(raw, b"'Content-Security-Policy: img-src \\'self\\''");
    assert!(Nginx.encode_value(&site, &src, " img-src").is_err());
    assert!(
        Nginx.encode_value(&site, &src, "").is_err(),
        "an empty value clears the header"
    );
    let start = site.value.raw_insertion_point(0).unwrap();
    assert_eq!(Nginx.encode_fragment(&site, &src, start, " x"), None);
    assert_eq!(
        Nginx.encode_fragment(&site, &src, start, "x ").as_deref(),
        Some(&b"x "[..])
    );
    let bare = b"more_set_headers Content-Security-Policy:img-src;".to_vec();
    let site = scan(Path::new("x.conf"), &bare).sites.remove(0);
    let raw = Nginx.encode_value(&site, &bare, "img-src 'self'").unwrap();
    assert_eq!(raw, b"\"Content-Security-Policy:img-src 'self'\"");
}

#[test]
fn fragments_that_would_change_meaning_are_refused() {
    let src = b"add_header Content-Security-Policy \"img-src $cdn a\\\"b\" always;".to_vec();
    let site = scan(Path::new("x.conf"), &src).sites.remove(0);
    let after_variable = site
        .value
        .raw_insertion_point("img-src $cdn".len())
        .unwrap();
    assert_eq!(
        Nginx.encode_fragment(&site, &src, after_variable, "x"),
        None,
        "would rename $cdn"
    );
    assert_eq!(
        Nginx
            .encode_fragment(&site, &src, after_variable, " x")
            .as_deref(),
        Some(&b" x"[..])
    );
    let escape = src.windows(2).position(|w| w == b"\\\"").unwrap();
    assert_eq!(
        Nginx.encode_fragment(&site, &src, escape + 1, "x"),
        None,
        "inside an escape"
    );
    assert_eq!(
        Nginx.encode_fragment(&site, &src, escape, "$x"),
        None,
        "a `$` would be a variable"
    );
    assert_eq!(
        Nginx
            .encode_fragment(&site, &src, escape, "\"q\"")
            .as_deref(),
        Some(&b"\\\"q\\\""[..])
    );
}

/// NGX203's premise: without `always`, nginx sends no CSP with an error response.
#[test]
fn without_always_error_responses_have_no_csp() {
    if !common::have("nginx") {
        return;
    }
    let server = common::nginx::serve(
        b"location = /plain { add_header Content-Security-Policy \"default-src 'self'\"; return 404; }\n\
          location = /always { add_header Content-Security-Policy \"default-src 'self'\" always; return 404; }\n",
    )
    .unwrap();
    assert!(server
        .header_values("/plain", "Content-Security-Policy")
        .is_empty());
    assert_eq!(
        server
            .header_values("/always", "Content-Security-Policy")
            .len(),
        1
    );
}

/// An empty `add_header Content-Security-Policy "";` (after `proxy_hide_header`, to clear
/// the upstream's header) is sent on no response: no NGX203, and no policy to patch. The
/// same line with a value keeps its NGX203.
#[test]
fn an_empty_add_header_clears_and_gets_no_ngx203() {
    let src: &[u8] = b"server {\n    listen 8080;\n    location / {\n        proxy_hide_header Content-Security-Policy;\n        add_header Content-Security-Policy \"\";\n    }\n    location /p {\n        add_header Content-Security-Policy \"default-src 'self'\";\n    }\n}\n";
    let scan = scan(Path::new("site.conf"), src);
    let ngx203: Vec<_> = scan
        .diagnostics
        .iter()
        .filter(|d| d.code == "NGX203")
        .collect();
    assert_eq!(ngx203.len(), 1, "{:?}", scan.diagnostics);
    assert_eq!(ngx203[0].location.as_ref().map(|l| l.line), Some(8));
    let empty: Vec<_> = scan
        .sites
        .iter()
        .filter(|s| s.value.text.is_empty())
        .collect();
    assert_eq!(empty.len(), 1);
    assert!(
        empty[0]
            .refusal
            .as_deref()
            .is_some_and(|r| r.starts_with("empty")),
        "not offered the vendor: {:?}",
        empty[0].refusal
    );
    if !common::have("nginx") {
        return;
    }
    // The premise: nginx sends no header for the empty value, on 200 as on 404.
    let server = common::nginx::serve(
        b"location = /ok { add_header Content-Security-Policy \"\"; return 200; }\n\
          location = /gone { add_header Content-Security-Policy \"\" always; return 404; }\n",
    )
    .unwrap();
    assert!(server
        .header_values("/ok", "Content-Security-Policy")
        .is_empty());
    assert!(server
        .header_values("/gone", "Content-Security-Policy")
        .is_empty());
}

/// NGX202's premise: a location with an add_header of its own loses the server's CSP.
#[test]
fn a_location_with_its_own_add_header_drops_the_server_csp() {
    if !common::have("nginx") {
        return;
    }
    let server = common::nginx::serve(
        b"add_header Content-Security-Policy \"default-src 'self'\" always;\n\
          location = /inherits { return 200; }\n\
          location = /drops { add_header Cache-Control \"no-store\"; return 200; }\n",
    )
    .unwrap();
    assert_eq!(
        server
            .header_values("/inherits", "Content-Security-Policy")
            .len(),
        1
    );
    assert!(server
        .header_values("/drops", "Content-Security-Policy")
        .is_empty());
    assert_eq!(server.header_values("/drops", "Cache-Control").len(), 1);
}

/// The `map` of h5bp: an empty map value means no header at all, which is why such bindings
/// are refused rather than patched.
#[test]
fn an_empty_map_value_sends_no_header() {
    if !common::have("nginx") {
        return;
    }
    let server = common::nginx::start(|dir, port| {
        let mut conf = common::nginx::wrap_server(
            dir,
            port,
            b"add_header Content-Security-Policy $csp always;\n\
              location = /page { default_type text/html; return 200 \"<p>\"; }\n\
              location = /data { default_type application/json; return 200 \"{}\"; }\n",
        );
        let map = b"http {\n    map $sent_http_content_type $csp {\n        ~*text/html \"default-src 'self'\";\n        default \"\";\n    }\n";
        let at = conf.windows(7).position(|w| w == b"http {\n").unwrap();
        conf.splice(at..at + 7, map.iter().copied());
        conf
    })
    .unwrap();
    assert_eq!(
        server.header_values("/page", "Content-Security-Policy"),
        vec![b"default-src 'self'".to_vec()]
    );
    assert!(server
        .header_values("/data", "Content-Security-Policy")
        .is_empty());
}

#[test]
fn a_new_source_with_a_dollar_is_refused_and_its_escape_is_sent_as_merged() {
    // Issue 12: `--allow 'img-src https://a.example/$host'` into a value that already uses
    // `$host`. The read-back decodes the new `$host` as the same run-time part as the old
    // one, so comparing decoded text passed, while nginx sends the host name in its place.
    // csppatch now refuses it (E061) before the splice, and the `%24` it suggests is sent
    // exactly as merged.
    if !common::have("nginx") {
        return;
    }
    let body = "        location = /x {\n            add_header Content-Security-Policy \"img-src 'self' https://$host\" always;\n            return 200 \"ok\";\n        }\n";
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.conf");
    std::fs::write(&conf, body).unwrap();
    let run = |source: &str| {
        common::csppatch()
            .arg(&conf)
            .args(["--dialect", "nginx", "--color", "never", "--allow"])
            .arg(format!("img-src {source}"))
            .output()
            .unwrap()
    };
    let out = run("https://a.example/$host");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error[E061]"), "{err}");
    assert!(err.contains("https://a.example/%24host"), "{err}");
    assert!(!err.contains("E014"), "{err}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), body);

    // What the refusal prevents, by hand: the source written as is reads back as merged...
    let unguarded = body.replace("$host\"", "$host https://a.example/$host\"");
    let found = scan(Path::new("site.conf"), unguarded.as_bytes());
    let merged = "img-src 'self' https://$host https://a.example/$host";
    assert_eq!(found.sites[0].value.text, merged);
    // ...and nginx sends another source.
    let server = common::nginx::serve(unguarded.as_bytes()).expect("nginx starts");
    assert_eq!(
        server.csp("/x"),
        ["img-src 'self' https://localhost https://a.example/localhost"]
    );
    drop(server);

    // The escape: patched, read back as merged, and sent by nginx exactly as merged.
    let out = run("https://a.example/%24host");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched = std::fs::read(&conf).unwrap();
    let found = scan(Path::new("site.conf"), &patched);
    let merged = "img-src 'self' https://$host https://a.example/%24host";
    assert_eq!(found.sites[0].value.text, merged);
    let server = common::nginx::serve(&patched).expect("nginx starts");
    assert_eq!(
        server.csp("/x"),
        ["img-src 'self' https://localhost https://a.example/%24host"]
    );
    // And `%24host` matches the URL with `$host` in its path, in every reading csppatch knows.
    let request = csppatch::csp::eval::Request::load(
        csppatch::csp::eval::Destination::Image,
        "https://a.example/$host",
        "https://site.example",
    )
    .unwrap();
    assert!(csppatch::csp::eval::allows(
        "img-src https://a.example/%24host",
        &request
    ));
}
