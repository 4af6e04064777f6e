//! Real httpd as the oracle: what `find()` decodes is what httpd sends, and what
//! `encode_value` / `encode_fragment` write makes httpd send exactly the new text.

use crate::common;

use std::ops::Range;

use csppatch::diag::line_col;
use csppatch::dialect::apache::Apache;
use csppatch::dialect::Dialect;
use csppatch::site::{FileScan, Site};

use common::apache::{find, matches_with_opaque, Tree, FIXTURES, PORT, ROOT};
use common::server::Server;

/// What a response must carry: (lower-case header name, text, opaque ranges of the text).
type Expected = Vec<(String, String, Vec<Range<usize>>)>;

fn serve(site_conf: &[u8], setup: &str) -> Server {
    let tree = Tree::new(
        &format!("{setup}Include \"{ROOT}/site.conf\"\n"),
        &[
            ("site.conf", site_conf),
            ("www/embed/index.html", b"embed\n"),
        ],
    );
    tree.configtest().expect("apache2 -t accepts it");
    tree.start()
}

fn expected_of(scan: &FileScan) -> Expected {
    scan.sites
        .iter()
        .map(|s| {
            (
                s.disposition.header_name().to_ascii_lowercase(),
                s.value.text.clone(),
                s.value.opaque.clone(),
            )
        })
        .collect()
}

/// Every expected policy is received, and nothing else.
fn assert_sends(httpd: &Server, path: &str, expected: &Expected) {
    let response = httpd.get(path);
    assert_eq!(response.status, 200, "{}", httpd.log());
    let mut received = response.policies();
    for (name, text, opaque) in expected {
        let i = received
            .iter()
            .position(|(n, v)| n == name && matches_with_opaque(text, opaque, v))
            .unwrap_or_else(|| panic!("{name}: {text:?} not received; got {received:#?}"));
        received.remove(i);
    }
    assert!(received.is_empty(), "unexpected policies: {received:#?}");
}

/// Apply non-overlapping edits; insertions at the same offset keep their order.
fn splice(src: &[u8], edits: Vec<(Range<usize>, Vec<u8>)>) -> Vec<u8> {
    let mut edits: Vec<_> = edits.into_iter().enumerate().collect();
    edits.sort_by_key(|(i, (r, _))| std::cmp::Reverse((r.start, *i)));
    let mut out = src.to_vec();
    for (_, (range, bytes)) in edits {
        out.splice(range, bytes);
    }
    out
}

/// The fixtures whose every site applies to `GET /` and is sent as decoded.
fn plain_fixtures() -> impl Iterator<Item = &'static common::apache::Fixture> {
    FIXTURES
        .iter()
        .filter(|f| !matches!(f.name, "line-break" | "actions"))
}

#[test]
fn fixtures_decode_to_what_httpd_sends() {
    if !common::have("apache2") {
        return;
    }
    for f in plain_fixtures() {
        let src = f.bytes();
        let scan = find("site.conf", &src);
        assert!(!scan.sites.is_empty(), "{}", f.name);
        let httpd = serve(&src, f.setup);
        assert_sends(&httpd, "/", &expected_of(&scan));
    }
}

#[test]
fn h5bp_policy_is_sent_as_decoded_with_its_indentation() {
    if !common::have_corpus() || !common::have("apache2") {
        return;
    }
    let path = common::corpus_dir().join("apache/h5bp/h5bp/security/content-security-policy.conf");
    let src = std::fs::read(&path).unwrap();
    let scan = find("content-security-policy.conf", &src);
    assert_eq!(scan.sites.len(), 1);
    let text = &scan.sites[0].value.text;
    assert!(text.starts_with("        default-src 'self';        base-uri 'none';"));
    let httpd = serve(&src, "");
    assert_eq!(
        httpd.get("/").values("content-security-policy"),
        vec![text.clone()]
    );
}

fn appended(site: &Site) -> String {
    format!("{}; connect-src https://vendor.example", site.value.text)
}

#[test]
fn encode_value_makes_httpd_send_the_new_text() {
    if !common::have("apache2") {
        return;
    }
    for f in plain_fixtures() {
        let src = f.bytes();
        let scan = find("site.conf", &src);
        let mut edits = Vec::new();
        let mut expected = Expected::new();
        for site in &scan.sites {
            let text = appended(site);
            let bytes = Apache.encode_value(site, &src, &text).expect(f.name);
            assert!(!bytes.contains(&b'\n'), "one logical line");
            edits.push((site.span.clone(), bytes));
            let name = site.disposition.header_name().to_ascii_lowercase();
            expected.push((name, text, site.value.opaque.clone()));
        }
        let patched = splice(&src, edits);
        let rescan = find("site.conf", &patched);
        assert_eq!(expected_of(&rescan), expected, "{}", f.name);
        let httpd = serve(&patched, f.setup);
        assert_sends(&httpd, "/", &expected);
    }
}

/// Insert a source before the first `;` and a directive at the end of every site, at the
/// points `Decoded::raw_insertion_point` gives.
fn insert_fragments(src: &[u8], scan: &FileScan) -> (Vec<u8>, Expected, Vec<usize>) {
    let mut edits = Vec::new();
    let mut expected = Expected::new();
    let mut points = Vec::new();
    for site in &scan.sites {
        let text = &site.value.text;
        let first = text.find(';').unwrap_or(text.len());
        let (a, b) = (
            " https://vendor.example",
            "; connect-src https://vendor.example",
        );
        let mut new_text = text.clone();
        new_text.push_str(b);
        new_text.insert_str(first, a);
        let shifted = site
            .value
            .opaque
            .iter()
            .map(|r| {
                if r.start >= first {
                    r.start + a.len()..r.end + a.len()
                } else {
                    r.clone()
                }
            })
            .collect();
        let mut site_edits = Vec::new();
        for (pos, fragment) in [(first, a), (text.len(), b)] {
            assert!(!site.value.touches_opaque(pos..pos));
            let at = site.value.raw_insertion_point(pos).unwrap();
            assert!(site.span.contains(&at) || at == site.span.end);
            if let Some(bytes) = Apache.encode_fragment(site, src, at, fragment) {
                site_edits.push((at..at, bytes));
                points.push(at);
            }
        }
        if site_edits.len() == 2 {
            edits.extend(site_edits);
        } else {
            // Only a bare word refuses a fragment with a blank: the pipeline then rewrites
            // the whole value, quoted.
            assert!(!matches!(src[site.span.start], b'"' | b'\''), "{text:?}");
            let bytes = Apache.encode_value(site, src, &new_text).unwrap();
            assert_eq!(bytes[0], b'"');
            edits.push((site.span.clone(), bytes));
        }
        let name = site.disposition.header_name().to_ascii_lowercase();
        expected.push((name, new_text, shifted));
    }
    (splice(src, edits), expected, points)
}

#[test]
fn spliced_fragments_make_httpd_send_the_new_text_and_keep_the_layout() {
    if !common::have("apache2") {
        return;
    }
    for f in plain_fixtures() {
        let src = f.bytes();
        let scan = find("site.conf", &src);
        let (patched, expected, points) = insert_fragments(&src, &scan);
        // Insertions (and, for a bare word, one rewritten word): the line structure,
        // continuations included, is unchanged.
        let lf = |s: &[u8]| s.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lf(&patched), lf(&src));
        assert_eq!(
            patched.windows(2).filter(|w| w == b"\\\n").count(),
            src.windows(2).filter(|w| w == b"\\\n").count()
        );
        assert!(points.iter().all(|&p| scan
            .sites
            .iter()
            .any(|s| s.span.start < p && p <= s.span.end)));
        let rescan = find("site.conf", &patched);
        assert_eq!(expected_of(&rescan), expected, "{}", f.name);
        let httpd = serve(&patched, f.setup);
        assert_sends(&httpd, "/", &expected);
    }
}

#[test]
fn insertions_land_on_the_physical_line_of_the_text_before_them() {
    let f = FIXTURES.iter().find(|f| f.name == "continuations").unwrap();
    let src = f.bytes();
    let scan = find("site.conf", &src);
    let (patched, _, _) = insert_fragments(&src, &scan);
    let text = String::from_utf8(patched).unwrap();
    // The source goes after `'self'` on the `default-src` line, before its `;\`; the new
    // directive after `data:` on the last line, before the closing quote.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[2],
        "        default-src 'self' https://vendor.example;\\"
    );
    assert_eq!(
        lines[5],
        "        img-src 'self' data:; connect-src https://vendor.example\" \"expr=%{CONTENT_TYPE} =~ m#text/html#i\""
    );
    assert_eq!(&lines[3..5], &src_lines(&src)[3..5]);
}

fn src_lines(src: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(src)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_line_break_in_the_value_breaks_every_response_until_repaired() {
    if !common::have("apache2") {
        return;
    }
    let f = FIXTURES.iter().find(|f| f.name == "line-break").unwrap();
    let src = f.bytes();
    let scan = find("site.conf", &src);
    assert!(scan.diagnostics.iter().any(|d| d.code == "APA301"));
    let httpd = serve(&src, "");
    assert_eq!(httpd.get("/").status, 500);
    assert!(httpd.log().contains("AH02430"), "{}", httpd.log());
    drop(httpd);
    let site = &scan.sites[0];
    let repaired = &site.repaired.as_ref().unwrap().text;
    let bytes = Apache.encode_value(site, &src, repaired).unwrap();
    let patched = splice(&src, vec![(site.span.clone(), bytes)]);
    let httpd = serve(&patched, "");
    assert_eq!(
        httpd.get("/").values("content-security-policy"),
        vec![repaired.clone()]
    );
}

#[test]
fn actions_do_what_the_lints_say() {
    if !common::have("apache2") {
        return;
    }
    let f = FIXTURES.iter().find(|f| f.name == "actions").unwrap();
    let httpd = serve(&f.bytes(), "");
    // APA303 + APA305: `append` joins with `, ` (two policies), then `edit` rewrites it.
    assert_eq!(
        httpd.get("/").values("content-security-policy"),
        vec!["default-src 'self' https://cdn.example, img-src data:"]
    );
    // APA306, APA311: the unset in <Location /embed> removes the onsuccess policy there, but not
    // the `always` table, where setifempty (APA304) finds no policy and sets its own.
    assert_eq!(
        httpd.get("/embed/").values("content-security-policy"),
        vec!["frame-ancestors *"]
    );
}

#[test]
fn muserelay_seed_works_as_htaccess_with_fileinfo_and_in_a_vhost() {
    if !common::have_seeds() || !common::have("apache2") {
        return;
    }
    let seed = std::fs::read(common::seed("muserelay-apache.htaccess")).unwrap();
    let scan = find("www/.htaccess", &seed);
    let text = scan.sites[0].value.text.clone();
    assert!(scan.diagnostics.iter().any(|d| d.code == "APA307"));

    let allow = format!("<Directory \"{ROOT}/www\">\n    AllowOverride FileInfo\n</Directory>\n");
    let httpd = Tree::new(&allow, &[("www/.htaccess", &seed)]).start();
    assert_eq!(
        httpd.get("/").values("content-security-policy"),
        vec![text.clone()]
    );
    drop(httpd);

    // APA307: without FileInfo, httpd refuses the .htaccess on every request.
    let deny = format!("<Directory \"{ROOT}/www\">\n    AllowOverride AuthConfig\n</Directory>\n");
    let httpd = Tree::new(&deny, &[("www/.htaccess", &seed)]).start();
    assert_eq!(httpd.get("/").status, 500);
    assert!(httpd.log().contains("Header not allowed here"));
    drop(httpd);

    let vhost = format!(
        "<VirtualHost 127.0.0.1:{PORT}>\n    ServerName localhost\n    DocumentRoot \"{ROOT}/www\"\n{}</VirtualHost>\n",
        String::from_utf8_lossy(&seed)
    );
    let scan = find("vhost.conf", vhost.as_bytes());
    assert_eq!(scan.sites[0].value.text, text);
    // The vhost is the configuration itself, so that `@PORT@` is filled in.
    let httpd = Tree::new(&vhost, &[]).start();
    assert_eq!(httpd.get("/").values("content-security-policy"), vec![text]);
}

#[test]
fn hard_values_are_written_exactly_in_every_quoting_style() {
    if !common::have("apache2") {
        return;
    }
    let wild = r#"a%b\c"d'e% 100%% \n\t {x}"#;
    let starts = [
        "Header set Content-Security-Policy \"x\"\n",
        "Header set Content-Security-Policy 'x'\n",
        "Header set Content-Security-Policy x\n",
    ];
    let mut conf = Vec::new();
    let mut names = Vec::new();
    for (i, line) in starts.iter().enumerate() {
        let name = format!("X-Csp-{i}");
        let line = line.replace(
            "Content-Security-Policy",
            "Content-Security-Policy-Report-Only",
        );
        let src = line.as_bytes();
        let scan = find("s.conf", src);
        let bytes = Apache.encode_value(&scan.sites[0], src, wild).unwrap();
        conf.extend_from_slice(format!("Header add {name} ").as_bytes());
        conf.extend_from_slice(&bytes);
        conf.push(b'\n');
        names.push(name);
        let (l, _) = line_col(src, scan.sites[0].span.start);
        assert_eq!(l, 1);
    }
    let httpd = serve(&conf, "");
    let response = httpd.get("/");
    for name in names {
        assert_eq!(
            response.values(&name),
            vec![wild.to_string()],
            "{}",
            String::from_utf8_lossy(&conf)
        );
    }
}

#[test]
fn comments_continue_and_nul_bytes_end_lines_as_in_httpd() {
    if !common::have("apache2") {
        return;
    }
    let src = b"# a comment ending in a backslash swallows the next line \\\n\
Header set Content-Security-Policy \"swallowed\"\n\
Header set Content-Security-Policy-Report-Only \"b\"\0 unread \\\n\
Header always set Content-Security-Policy \"c\"\n";
    let scan = find("site.conf", src);
    let texts: Vec<&str> = scan.sites.iter().map(|s| s.value.text.as_str()).collect();
    assert_eq!(texts, ["b", "c"]);
    let httpd = serve(src, "");
    assert_sends(&httpd, "/", &expected_of(&scan));
}

#[test]
fn htaccess_lines_longer_than_8191_bytes_are_refused_like_httpd_does() {
    if !common::have("apache2") {
        return;
    }
    let allow = format!("<Directory \"{ROOT}/www\">\n    AllowOverride FileInfo\n</Directory>\n");
    // Physical lines of 3 KB continued: the limit is on the joined line.
    for (total, status) in [(8191, 200), (8192, 500)] {
        let head = "Header set Content-Security-Policy \"default-src 'self' https://";
        let fill = total - head.len() - "\"".len();
        let host = "a".repeat(fill);
        let mut line = String::from(head);
        for (i, ch) in host.chars().enumerate() {
            if i > 0 && i % 3000 == 0 {
                line.push_str("\\\n");
            }
            line.push(ch);
        }
        line.push_str("\"\n");
        let joined = line.replace("\\\n", "");
        assert_eq!(joined.len() - 1, total);
        let found = Apache.find(std::path::Path::new("www/.htaccess"), line.as_bytes());
        assert_eq!(found.is_ok(), status == 200, "{total}: {:?}", found.err());
        if status == 500 {
            assert_eq!(found.unwrap_err().code, "APA006");
        }
        let httpd = Tree::new(&allow, &[("www/.htaccess", line.as_bytes())]).start();
        assert_eq!(httpd.get("/").status, status, "{total} bytes");
    }
}
