//! Every CDY4xx lint says what Caddy does; here real Caddy 2.6.2 shows it does that, and the
//! lint points at the right file:line:col (positions derived by hand from the fixtures).
use crate::common;

use std::path::Path;

use common::caddy::Setup;
use csppatch::dialect::DialectKind;
use csppatch::site::FileScan;

fn scan(src: &str) -> FileScan {
    DialectKind::Caddy
        .dialect()
        .find(Path::new("Caddyfile"), src.as_bytes())
        .expect("parses")
}

/// `CODE line:col` of every diagnostic.
fn lints(scan: &FileScan) -> Vec<String> {
    scan.diagnostics
        .iter()
        .map(|d| {
            let l = d.location.as_ref().expect("located");
            format!("{} {}:{}", d.code, l.line, l.col)
        })
        .collect()
}

/// Serve `site` (the site block's body) and GET `path`: the CSP values Caddy sent.
fn served_csp(site: &str, path: &str) -> Vec<String> {
    let server = Setup::new().serve_site(site).expect("caddy starts");
    server.get(path).csp()
}

const UNQUOTED: &str =
    "\theader Content-Security-Policy default-src 'self' https://cdn.example\n\trespond ok";
const UNQUOTED_ADD: &str = "\theader +Content-Security-Policy default-src 'self'\n\trespond ok";
const COLON: &str = "\theader Content-Security-Policy: \"default-src 'self'\"\n\trespond ok";
const DEFER: &str = "\theader >Content-Security-Policy \"default-src 'self'\"\n\trespond ok";
const COMMENT: &str = "\theader X-Frame-Options DENY # see C:\\docs\n\theader Content-Security-Policy \"default-src 'self'\"\n\trespond ok";
const NESTED_DELETE: &str = "\theader Content-Security-Policy \"default-src 'self'\"\n\thandle /legacy/* {\n\t\theader -Content-Security-Policy\n\t\trespond legacy\n\t}\n\trespond ok";
const DEFAULT_ONLY: &str = "\theader ?Content-Security-Policy \"default-src 'self'\"\n\trespond ok";
const NESTED_OTHER: &str = "\theader Content-Security-Policy \"default-src 'self'\"\n\thandle /h {\n\t\theader X-Other o\n\t\trespond h\n\t}\n\thandle_errors {\n\t\trespond err\n\t}\n\terror /e 500\n\trespond ok";

/// The fixtures as csppatch reads them (a site block around the body).
fn file(body: &str) -> String {
    format!("example.com {{\n{body}\n}}\n")
}

#[test]
fn lints_point_at_the_place() {
    assert_eq!(lints(&scan(&file(UNQUOTED))), vec!["CDY401 2:9"]);
    assert!(
        scan(&file(UNQUOTED)).sites.is_empty(),
        "a replacement sets nothing"
    );
    let add = scan(&file(UNQUOTED_ADD));
    assert_eq!(lints(&add), vec!["CDY401 2:34"]);
    assert_eq!(add.sites.len(), 1);
    assert!(add.sites[0]
        .refusal
        .as_deref()
        .unwrap()
        .contains("`default-src`"));
    assert_eq!(lints(&scan(&file(COLON))), vec!["CDY404 2:9"]);
    assert!(scan(&file(COLON)).sites.is_empty());
    let defer = scan(&file(DEFER));
    assert_eq!(lints(&defer), vec!["CDY403 2:9"]);
    assert_eq!(defer.sites.len(), 1, "patched for Caddy 2.7 and newer");
    assert_eq!(lints(&scan(&file(COMMENT))), vec!["CDY405 2:38"]);
    assert_eq!(lints(&scan(&file(NESTED_DELETE))), vec!["CDY406 4:10"]);
    assert!(lints(&scan(&file(NESTED_OTHER))).is_empty());
    let default = scan(&file(DEFAULT_ONLY));
    assert_eq!(lints(&default), vec!["CDY408 2:9"]);
    assert_eq!(
        default.sites.len(),
        1,
        "patched: it is sent when nothing else is"
    );
}

/// CDY408's claim (the shape of jwpconsulting/projectify's Caddyfile): a `?` policy in front
/// of a `reverse_proxy` is sent only when the upstream sends none; when it sends its own, the
/// browser gets the upstream's alone. The upstream here is the same Caddy, on another path.
#[test]
fn a_default_policy_gives_way_to_the_upstreams() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    let setup = Setup::new();
    let body = format!(
        "\thandle /app {{\n\t\theader Content-Security-Policy \"script-src 'self'\"\n\t\trespond app\n\t}}\n\
         \thandle /bare {{\n\t\trespond bare\n\t}}\n\
         \thandle /p/* {{\n\t\theader ?Content-Security-Policy \"default-src 'self' https://w.example\"\n\
         \t\turi strip_prefix /p\n\t\treverse_proxy 127.0.0.1:{}\n\t}}",
        setup.port
    );
    assert_eq!(
        lints(&scan(&file(&body))),
        vec!["CDY408 10:10"],
        "the note is on the `?` line"
    );
    let server = setup.serve_site(&body).expect("caddy starts");
    assert_eq!(server.get("/p/app").csp(), vec!["script-src 'self'"]);
    assert_eq!(
        server.get("/p/bare").csp(),
        vec!["default-src 'self' https://w.example"]
    );
}

#[test]
fn caddy_does_what_the_lints_say() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    // CDY401: three words are a replacement of nothing: no policy.
    assert_eq!(served_csp(UNQUOTED, "/"), Vec::<String>::new());
    // CDY401 with `+`: only the first word is sent.
    assert_eq!(served_csp(UNQUOTED_ADD, "/"), vec!["default-src"]);
    // CDY404: a header named `Content-Security-Policy:` is never sent.
    assert_eq!(served_csp(COLON, "/"), Vec::<String>::new());
    // CDY403: Caddy 2.6 has no `>` prefix.
    assert_eq!(served_csp(DEFER, "/"), Vec::<String>::new());
    // CDY405: the comment's backslash makes the CSP line more words of the line above.
    assert_eq!(served_csp(COMMENT, "/"), Vec::<String>::new());
    // CDY406: the nested delete wins in its block only.
    assert_eq!(served_csp(NESTED_DELETE, "/legacy/x"), Vec::<String>::new());
    assert_eq!(served_csp(NESTED_DELETE, "/"), vec!["default-src 'self'"]);
}

/// Why csppatch has no nginx-style "nested block loses the site's headers" lint for Caddy:
/// a `handle` with a `header` of its own, and error pages, still carry the site's policy.
#[test]
fn nested_headers_do_not_drop_the_site_policy() {
    if !common::have(common::caddy::BIN) {
        return;
    }
    let server = Setup::new().serve_site(NESTED_OTHER).expect("caddy starts");
    for path in ["/", "/h", "/e"] {
        assert_eq!(server.get(path).csp(), vec!["default-src 'self'"], "{path}");
    }
    assert_eq!(server.get("/e").status, 500);
}

/// CDY402's claim: over HTTP/2 a value with a line break is not sent at all; over HTTP/1.1
/// the backslash arrives.
#[test]
fn a_multi_line_value_is_dropped_over_http2() {
    if !common::have(common::caddy::BIN) || !common::have("curl") {
        return;
    }
    for body in [
        "\theader Content-Security-Policy \"default-src 'self'; \\\n\t\tscript-src https://w.example\"\n\trespond ok",
        "\theader Content-Security-Policy \"default-src 'self';\n\t\tscript-src https://w.example\"\n\trespond ok",
    ] {
        let server = Setup::new().h2c().serve_site(body).expect("caddy starts");
        assert!(common::caddy::get_h2(&server, "/", "content-security-policy").is_empty(), "{body}");
        let h1 = server.get("/").csp();
        assert_eq!(h1.len(), 1);
        assert!(h1[0].contains("script-src"));
        assert_eq!(h1[0].contains('\\'), body.contains('\\'));
    }
    let one_line = "\theader Content-Security-Policy \"default-src 'self'; script-src https://w.example\"\n\trespond ok";
    let server = Setup::new()
        .h2c()
        .serve_site(one_line)
        .expect("caddy starts");
    assert_eq!(
        common::caddy::get_h2(&server, "/", "content-security-policy"),
        vec!["default-src 'self'; script-src https://w.example"]
    );
}
