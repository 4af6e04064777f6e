//! Real Caddy 2.6.2 as the oracle for decoding and encoding: every fixture is served on
//! 127.0.0.1, and the Content-Security-Policy Caddy sends must be the value csppatch decoded
//! (parts only known at request time excepted). Then each value is rewritten with
//! `encode_value` (and extended with `encode_fragment`), checked by `caddy validate`, served
//! again, and Caddy must send exactly the new value.
use crate::common;

use std::path::Path;

use common::caddy::{validate, Setup};
use csppatch::dialect::{Dialect, DialectKind};
use csppatch::site::{Decoded, Disposition, FileScan, Site};

fn caddy() -> &'static dyn Dialect {
    DialectKind::Caddy.dialect()
}

/// A fixture: a Caddyfile template (`ADDR` is the site address, `UPSTREAM` a second port), the
/// request path, and extra files for `import`.
struct Fixture {
    name: &'static str,
    template: &'static str,
    path: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "escaped quotes and other backslashes",
        template: "ADDR {\n\theader Content-Security-Policy \"default-src 'self'; script-src \\\"https://a.example\\\" \\d \\\\\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "backtick string",
        template: "ADDR {\n\theader Content-Security-Policy `default-src 'self' \"x\" \\y`\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "backslash-newline continuation",
        template: "ADDR {\n\theader Content-Security-Policy \"default-src 'self'; \\\n\t\tscript-src https://w.example\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "raw line break and CRLF",
        template: "ADDR {\r\n\theader Content-Security-Policy \"default-src 'self';\r\n\t\timg-src data:\"\r\n\trespond ok\r\n}\r\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "environment placeholder with a default",
        template: "ADDR {\n\theader Content-Security-Policy \"default-src 'self' {$CSP_EXTRA:https://d.example}\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "environment placeholder set",
        template: "ADDR {\n\theader Content-Security-Policy \"{$CSP_POLICY}\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[("CSP_POLICY", "default-src 'self' https://env.example")],
    },
    Fixture {
        name: "runtime placeholders and escaped braces",
        template: "ADDR {\n\theader Content-Security-Policy \"script-src 'nonce-{http.request.uuid}' https://{http.request.host}; img-src \\{x\\}\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "set then add",
        template: "ADDR {\n\theader Content-Security-Policy \"default-src 'self'\"\n\theader +Content-Security-Policy \"img-src https://i.example\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "set if missing",
        template: "ADDR {\n\theader ?Content-Security-Policy \"default-src 'self'\"\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "block form, colon, defer, report-only, bare word",
        template: "ADDR {\n\theader {\n\t\tContent-Security-Policy: \"default-src 'self'\"\n\t\tContent-Security-Policy-Report-Only upgrade-insecure-requests\n\t\tdefer\n\t}\n\trespond ok\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "path matcher",
        template: "ADDR {\n\theader /p/* Content-Security-Policy \"default-src 'none'\"\n\trespond ok\n}\n",
        path: "/p/x",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "snippet imported twice",
        template: "(csp) {\n\theader Content-Security-Policy \"default-src 'self' https://cdn.example\"\n}\nADDR {\n\timport csp\n\thandle /a {\n\t\timport csp\n\t\trespond a\n\t}\n\trespond ok\n}\n",
        path: "/a",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "handle block",
        template: "ADDR {\n\thandle /api/* {\n\t\theader Content-Security-Policy \"default-src 'none'; frame-ancestors 'none'\"\n\t\trespond api\n\t}\n\trespond ok\n}\n",
        path: "/api/x",
        files: &[],
        env: &[],
    },
    Fixture {
        name: "header_down of a reverse proxy",
        template: "UPSTREAM {\n\trespond up\n}\nADDR {\n\treverse_proxy UPSTREAM_HOST {\n\t\theader_down Content-Security-Policy \"default-src 'self' https://p.example\"\n\t}\n}\n",
        path: "/",
        files: &[],
        env: &[],
    },
];

/// The file csppatch reads for a fixture, with real addresses.
fn render(template: &str, setup: &Setup, upstream: u16) -> String {
    template
        .replace("UPSTREAM_HOST", &format!("127.0.0.1:{upstream}"))
        .replace("UPSTREAM", &format!("http://127.0.0.1:{upstream}"))
        .replace("ADDR", &setup.address())
}

/// Does `received` fit `decoded`, the text of opaque parts standing for anything?
fn fits(decoded: &Decoded, received: &str) -> bool {
    let mut pieces = Vec::new();
    let mut pos = 0;
    for o in &decoded.opaque {
        pieces.push(&decoded.text[pos..o.start]);
        pos = o.end;
    }
    pieces.push(&decoded.text[pos..]);
    if pieces.len() == 1 {
        return received == decoded.text;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !received.starts_with(first) || !received[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &received[first.len()..received.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn received(server: &common::server::Server, path: &str, d: Disposition) -> Vec<String> {
    server
        .get(path)
        .header_values(d.header_name())
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

struct Served {
    scan: FileScan,
    src: Vec<u8>,
    values: Vec<(Disposition, Vec<String>)>,
}

/// Serve `src` (the fixture with `site_body` replaced), return what each disposition got.
fn serve(fx: &Fixture, src_for: impl Fn(&Setup, u16) -> Vec<u8>) -> Served {
    let mut setup = Setup::new();
    for (k, v) in fx.env {
        setup = setup.env(k, v);
    }
    let upstream = common::free_port();
    for (name, body) in fx.files {
        setup.write(name, body.as_bytes());
    }
    let src = src_for(&setup, upstream);
    let path = setup.caddyfile(&src);
    validate(&path).unwrap_or_else(|e| panic!("{}: caddy validate: {e}", fx.name));
    let scan = caddy()
        .find(Path::new("Caddyfile"), &src)
        .unwrap_or_else(|d| panic!("{}: {d:?}", fx.name));
    let mut server = setup
        .serve(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
    if fx.template.contains("UPSTREAM") {
        // The proxy answers 502, without its header_down, until the upstream site listens.
        server
            .wait_listening(upstream)
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
    }
    let values = [Disposition::Enforce, Disposition::ReportOnly]
        .into_iter()
        .map(|d| (d, received(&server, fx.path, d)))
        .collect();
    Served { scan, src, values }
}

fn sent(s: &Served, d: Disposition) -> &[String] {
    s.values
        .iter()
        .find(|(x, _)| *x == d)
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

/// Every site must account for one value Caddy sent, in order, per disposition.
fn assert_sites_match(fx: &Fixture, s: &Served, sites: &[Site]) {
    for d in [Disposition::Enforce, Disposition::ReportOnly] {
        let mine: Vec<&Site> = sites.iter().filter(|x| x.disposition == d).collect();
        let got = sent(s, d);
        assert_eq!(
            mine.len(),
            got.len(),
            "{}: {d:?}: sites {mine:#?}, sent {got:?}",
            fx.name
        );
        for (site, value) in mine.iter().zip(got) {
            assert!(
                fits(&site.value, value),
                "{}: decoded {:?} (opaque {:?}) but Caddy sent {value:?}",
                fx.name,
                site.value.text,
                site.value.opaque
            );
        }
    }
}

#[test]
fn caddy_sends_what_csppatch_decodes() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    for fx in FIXTURES {
        let s = serve(fx, |setup, up| render(fx.template, setup, up).into_bytes());
        assert!(!s.scan.sites.is_empty(), "{}: no site found", fx.name);
        assert_sites_match(fx, &s, &s.scan.sites);
    }
}

/// A value with everything that needs escaping somewhere: quotes, braces, a backslash.
const NEW_TAIL: &str = " https://vendor.example \"q\" {lit} a\\b";

#[test]
fn caddy_sends_exactly_what_encode_value_writes() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    let (mut encoded, mut refused) = (0, 0);
    for fx in FIXTURES {
        let before = serve(fx, |setup, up| render(fx.template, setup, up).into_bytes());
        for (i, site) in before.scan.sites.iter().enumerate() {
            let new_value = format!("{}{NEW_TAIL}", site.policy_text());
            let raw = match caddy().encode_value(site, &before.src, &new_value) {
                Ok(raw) => raw,
                Err(why) => {
                    // A value with a `{$ENV}` part is patched only around it, never
                    // re-encoded whole (the splice refuses what would change or copy it).
                    let substituted = site
                        .value
                        .notes
                        .iter()
                        .any(|n| n.reach == csppatch::site::Reach::Any);
                    assert!(
                        site.refusal.is_some() || substituted,
                        "{}: encode_value failed: {why}",
                        fx.name
                    );
                    refused += 1;
                    continue;
                }
            };
            assert!(!raw.contains(&b'\n'), "{}: one line", fx.name);
            let after = serve(fx, |setup, up| {
                // The same file for this setup's ports, with site `i` re-encoded.
                let src = render(fx.template, setup, up).into_bytes();
                let scan = caddy().find(Path::new("Caddyfile"), &src).unwrap();
                let span = scan.sites[i].span.clone();
                [&src[..span.start], raw.as_slice(), &src[span.end..]].concat()
            });
            let mut want = before.scan.sites.clone();
            want[i] = after.scan.sites[i].clone();
            assert_eq!(
                want[i].value.text, new_value,
                "{}: the new token decodes to the new value",
                fx.name
            );
            assert_sites_match(fx, &after, &want);
            encoded += 1;
        }
    }
    eprintln!("encode_value: {encoded} values re-encoded and served as written, {refused} refused");
    assert!(
        encoded >= 14 && refused == 2,
        "{encoded} encoded, {refused} refused"
    );
}

#[test]
fn caddy_sends_what_encode_fragment_inserts() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    let fragment = " https://vendor.example";
    let mut spliced = 0;
    for fx in FIXTURES {
        let before = serve(fx, |setup, up| render(fx.template, setup, up).into_bytes());
        for (i, site) in before.scan.sites.iter().enumerate() {
            if site.refusal.is_some() || site.repaired.is_some() {
                continue;
            }
            let end = site.value.text.len();
            let Some(at) = site.value.raw_insertion_point(end) else {
                continue;
            };
            let Some(raw) = caddy().encode_fragment(site, &before.src, at, fragment) else {
                continue; // a bare word cannot take a space: encode_value's job
            };
            let after = serve(fx, |setup, up| {
                let src = render(fx.template, setup, up).into_bytes();
                let scan = caddy().find(Path::new("Caddyfile"), &src).unwrap();
                let at = scan.sites[i].value.raw_insertion_point(end).unwrap();
                [&src[..at], raw.as_slice(), &src[at..]].concat()
            });
            assert_eq!(
                after.scan.sites[i].value.text,
                format!("{}{fragment}", site.value.text)
            );
            assert_sites_match(fx, &after, &after.scan.sites);
            spliced += 1;
        }
    }
    eprintln!("encode_fragment: {spliced} insertions served as written");
    assert!(spliced >= 10);
}
