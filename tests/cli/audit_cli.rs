//! `csppatch audit`: every CSP site with its scope, disposition and policy as sent, the lints
//! and traps, the vendors' verdicts, the exit codes, `--quiet`, grouping; nothing written.
//! (The JSON document: `json_contract.rs`; a trap checked against a real nginx:
//! `tests/e2e/audit_nginx.rs`.)

use crate::common;

use std::path::Path;

use serde_json::Value;

/// A vhost after h5bp/server-configs-nginx's `h5bp/security/content-security-policy.conf`
/// (`add_header Content-Security-Policy ... always;` at server level), with a static-files
/// location that sets its own Cache-Control and so drops the server's CSP (NGX202), and a
/// Report-Only policy added without `always` (NGX203).
const VHOST: &str = "server {
    listen 80;
    server_name shop.example.com;
    add_header Content-Security-Policy \"default-src 'self'; script-src 'self' self\" always;
    add_header Content-Security-Policy-Report-Only \"default-src 'self'; report-uri /csp\";
    location /static/ {
        add_header Cache-Control \"public\";
    }
}
";

/// The policy muserelay's preset needs, written out by hand from vendors-reference.md
/// (script, connect with wss, img with data:, style with 'unsafe-inline').
const ALLOWS_MUSERELAY: &str = "default-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'";

fn audit(dir: &Path, args: &[&str]) -> common::Run {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    common::run_in(dir, &all, &[("NO_COLOR", "1")])
}

fn stdout(r: &common::Run) -> String {
    String::from_utf8_lossy(&r.stdout).into_owned()
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    let r = audit(dir, &all);
    let doc = common::json::parse_checked("audit", &r.stdout);
    assert_eq!(doc["exit_code"].as_i64(), r.code.map(i64::from), "{doc:#}");
    doc
}

#[test]
fn lists_each_site_with_scope_disposition_lints_and_traps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), VHOST).unwrap();
    let r = audit(dir.path(), &["shop.conf"]);
    let out = stdout(&r);
    assert_eq!(r.code, Some(0), "{out}{}", r.stderr);
    assert!(
        out.contains("shop.conf:4: Content-Security-Policy (server shop.example.com)\n    default-src 'self'; script-src 'self' self\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "shop.conf:5: Content-Security-Policy-Report-Only (server shop.example.com)\n"
        ),
        "{out}"
    );
    assert!(out.contains("    lints: CSP113\n"), "{out}");
    assert!(out.contains("    traps: NGX203\n"), "{out}");
    assert!(out.contains("warning[CSP113]"), "{out}");
    assert!(
        out.contains("shop.conf:6:5: warning[NGX202]: `location /static/` has its own add_header"),
        "{out}"
    );
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        "csppatch audit: 1 file read, 2 CSP sites (1 enforced, 1 report-only), 2 traps, 0 errors, 3 warnings"
    );
    // An audit writes nothing.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shop.conf")).unwrap(),
        VHOST
    );

    let doc = json(dir.path(), &["shop.conf"]);
    assert_eq!(doc["sites"][1]["disposition"], "report_only");
    assert_eq!(doc["sites"][1]["traps"][0]["code"], "NGX203");
    assert_eq!(doc["traps"][0]["code"], "NGX202");
    assert_eq!(doc["sites"][0]["lints"][0]["code"], "CSP113");
}

#[test]
fn vendor_verdicts_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let conf = format!(
        "server {{\n    server_name a.example;\n    add_header Content-Security-Policy \"{ALLOWS_MUSERELAY}\" always;\n}}\nserver {{\n    server_name b.example;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}}\nserver {{\n    server_name c.example;\n    add_header Content-Security-Policy \"script-src 'nonce-r4nd0m' 'strict-dynamic'; object-src 'none'\" always;\n}}\nserver {{\n    server_name d.example;\n    add_header Content-Security-Policy-Report-Only \"default-src 'self'\" always;\n}}\n"
    );
    std::fs::write(dir.path().join("sites.conf"), &conf).unwrap();

    let r = audit(dir.path(), &["sites.conf", "--vendor", "muserelay"]);
    let out = stdout(&r);
    assert_eq!(
        r.code,
        Some(1),
        "an enforced policy blocks the vendor: {out}"
    );
    let block = |line: usize| -> String {
        let start = out
            .find(&format!("sites.conf:{line}: "))
            .unwrap_or_else(|| panic!("{out}"));
        out[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(block(3).ends_with("muserelay: passes"), "{out}");
    assert!(
        block(7).contains("muserelay: needs script-src (new) + https://muserelay.com"),
        "{out}"
    );
    assert!(
        block(11).contains("muserelay: blocked whatever is added (CSP101)"),
        "{out}"
    );
    assert!(block(15).contains("muserelay: needs"), "{out}");
    assert!(
        out.contains("sites.conf:7:40: error[AUD901]: muserelay is blocked by this Content-Security-Policy: a patch run adds"),
        "{out}"
    );
    assert!(
        out.contains(
            "note[AUD901]: muserelay would be reported by this Content-Security-Policy-Report-Only"
        ),
        "{out}"
    );
    assert!(out.ends_with("; muserelay passes at 1 of 4\n"), "{out}");

    let doc = json(dir.path(), &["sites.conf", "--vendor", "muserelay"]);
    let verdicts: Vec<&str> = doc["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["vendors"][0]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["passes", "needs_change", "blocked", "needs_change"]
    );
    assert_eq!(doc["vendors"][0]["passing_sites"], 1);
    assert_eq!(
        doc["sites"][2]["vendors"][0]["reasons"][0]["code"],
        "CSP101"
    );

    // Only the vendor's passing site: no error, exit 0.
    let only = format!(
        "server {{\n    add_header Content-Security-Policy \"{ALLOWS_MUSERELAY}\" always;\n}}\n"
    );
    std::fs::write(dir.path().join("a.conf"), only).unwrap();
    let r = audit(dir.path(), &["a.conf", "--vendor", "muserelay"]);
    assert_eq!(r.code, Some(0), "{}", stdout(&r));

    // Usage errors: an unknown vendor, no path, a path that does not exist.
    let r = audit(dir.path(), &["a.conf", "--vendor", "nosuchvendor"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("VND710"), "{}", r.stderr);
    assert_eq!(audit(dir.path(), &[]).code, Some(2));
    assert_eq!(audit(dir.path(), &["missing.conf"]).code, Some(2));
}

#[test]
fn quiet_prints_the_errors_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), VHOST).unwrap();
    let r = audit(
        dir.path(),
        &["shop.conf", "--vendor", "muserelay", "--quiet"],
    );
    let out = stdout(&r);
    assert_eq!(r.code, Some(1));
    let heads: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(heads.len(), 2, "{out}");
    assert!(
        heads[0].starts_with("shop.conf:4:40: error[AUD901]"),
        "{out}"
    );
    assert!(heads[1].starts_with("csppatch audit: 1 file read"), "{out}");
}

/// A request-time part (`$request_id`, as in nginx's own nonce recipes) is named; the rest
/// of the policy is what the `set` gives `$csp_base`.
#[test]
fn variables_expanded_and_request_time_parts_named() {
    let dir = tempfile::tempdir().unwrap();
    let conf = "server {\n    set $csp_base \"default-src 'self'; img-src 'self' data:\";\n    add_header Content-Security-Policy \"$csp_base; script-src 'self' 'nonce-$request_id'\" always;\n}\n";
    std::fs::write(dir.path().join("nonce.conf"), conf).unwrap();
    let doc = json(dir.path(), &["nonce.conf"]);
    let site = &doc["sites"][0];
    assert_eq!(
        site["policy"],
        "default-src 'self'; img-src 'self' data:; script-src 'self' 'nonce-$request_id'"
    );
    assert_eq!(site["unknown"][0]["text"], "$request_id", "{doc:#}");
    // The stand-in is no invalid source.
    assert_eq!(site["lints"], serde_json::json!([]), "{doc:#}");
    let out = stdout(&audit(dir.path(), &["nonce.conf"]));
    assert!(
        out.contains("    known at request time: `$request_id`"),
        "{out}"
    );
}

/// A static site's `<meta>` policy (after the Hugo and Jekyll themes that ship one): the
/// delivery is `meta`, so `frame-ancestors` is a lint there (CSP110).
#[test]
fn a_meta_policy() {
    let dir = tempfile::tempdir().unwrap();
    let page = "<!doctype html>\n<html><head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; frame-ancestors 'none'\">\n</head><body></body></html>\n";
    std::fs::write(dir.path().join("index.html"), page).unwrap();
    let doc = json(dir.path(), &["index.html"]);
    assert_eq!(doc["sites"][0]["delivery"], "meta");
    let codes: Vec<&str> = doc["sites"][0]["lints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"CSP110"), "{doc:#}");
}

/// Many vhosts with the same policy: one group, the places counted.
#[test]
fn identical_sites_are_grouped() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..8 {
        std::fs::write(
            dir.path().join(format!("site{i}.conf")),
            format!("server {{\n    server_name s{i}.example;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}}\n"),
        )
        .unwrap();
    }
    let r = audit(dir.path(), &[".", "--vendor", "muserelay"]);
    let out = stdout(&r);
    assert!(
        out.starts_with("8 sites: Content-Security-Policy, the same policy in each\n    default-src 'self'\n    muserelay: needs"),
        "{out}"
    );
    assert!(
        out.contains("  and 5 more (--format json lists every site)\n"),
        "{out}"
    );
    assert_eq!(
        json(dir.path(), &[".", "--vendor", "muserelay"])["sites"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
}

/// The README's audit example ("Auditing a configuration") is what csppatch prints for its
/// `shop.conf`.
#[test]
fn readme_example_is_what_audit_prints() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Auditing a configuration\n")
        .nth(1)
        .expect("the audit section");
    let conf = section
        .split("```nginx\n")
        .nth(1)
        .unwrap()
        .split("```\n")
        .next()
        .unwrap();
    let expected = section
        .split("`csppatch audit shop.conf --vendor muserelay` prints (exit 1):\n\n```\n")
        .nth(1)
        .unwrap()
        .split("```\n")
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), conf).unwrap();
    let r = audit(dir.path(), &["shop.conf", "--vendor", "muserelay"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        stdout(&r),
        expected,
        "README's audit example is out of date"
    );
}
