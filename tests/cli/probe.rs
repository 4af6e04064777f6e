//! `csppatch probe` on pages that real nginx serves on 127.0.0.1: the probe -> patch -> reload
//! -> probe story, metas, Report-Only, redirects, error pages. Verdicts are derived by hand from
//! CSP3 and, where Chromium is installed, compared with the violations Chromium itself reports.
//! The fetch's HTTP and TLS edge cases are in `probe_wire.rs`.

use crate::common;

use common::probe::{json, probe, stderr, stdout, FORGOT_WSS};

use std::fs;
use std::path::Path;
use std::process::Output;

use common::nginx::wrap_server;
use common::server::Server;
use common::widget::{self, Load};
use serde_json::Value;

/// The text report with the server's port replaced, for snapshots.
fn normalized(o: &Output, port: u16) -> String {
    stdout(o).replace(&format!("127.0.0.1:{port}"), "127.0.0.1:PORT")
}

/// nginx serving `root` with `server_lines` in its server block.
fn nginx(root: &Path, server_lines: &str) -> Server {
    let body = format!(
        "        root {};\n        index index.html;\n{server_lines}\n",
        root.display()
    );
    common::nginx::start(|dir, port| wrap_server(dir, port, body.as_bytes())).expect("nginx starts")
}

fn site(dir: &Path, index: &str) -> std::path::PathBuf {
    let root = dir.join("www");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("index.html"), index).unwrap();
    root
}

const PLAIN_PAGE: &str =
    "<!DOCTYPE html>\n<html><head><title>shop</title></head><body><p>Welcome</p></body></html>\n";

/// `(directive, source) -> allowed` of every requirement in a JSON report.
fn verdicts(doc: &Value) -> Vec<(String, bool)> {
    doc["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["directive"].as_str().unwrap(),
                    r["source"].as_str().unwrap()
                ),
                r["allowed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn blocked(doc: &Value) -> Vec<String> {
    verdicts(doc)
        .into_iter()
        .filter(|(_, allowed)| !allowed)
        .map(|(r, _)| r)
        .collect()
}

#[test]
fn probe_patch_reload_probe() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = site(tmp.path(), PLAIN_PAGE);
    let conf = tmp.path().join("csp.conf");
    fs::write(
        &conf,
        format!("add_header Content-Security-Policy \"{FORGOT_WSS}\" always;\n"),
    )
    .unwrap();
    let include = format!("        include {};", conf.display());

    // 1. Probe: the WebSocket is blocked, by the header's own connect-src.
    let before = {
        let server = nginx(&root, &include);
        let url = server.url("/");
        let out = probe(&[&url, "--vendor", "muserelay"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("connect-src wss://muserelay.com    BLOCKED by header 1: connect-src 'self' https://muserelay.com\n"),
            "{text}"
        );
        assert!(text.contains("`https://muserelay.com` is for https:, not wss:"));
        assert!(text.contains("csppatch <server config> --vendor muserelay --dry-run"));
        common::snapshots("probe")
            .bind(|| insta::assert_snapshot!("websocket-blocked", normalized(&out, server.port)));
        let doc = json(&probe(&[&url, "--vendor", "muserelay", "--format", "json"]));
        assert_eq!(blocked(&doc), vec!["connect-src wss://muserelay.com"]);
        let by = &doc["requirements"][2]["blocked_by"][0];
        assert_eq!(by["source"], "header");
        assert_eq!(by["index"], 1);
        assert_eq!(by["effective"], "connect-src");
        assert_eq!(by["governing"], "connect-src");
        assert_eq!(by["directive"], "connect-src 'self' https://muserelay.com");
        doc
    };
    assert_eq!(before["outcome"], "blocked");

    // 2. Patch the configuration the probe pointed at.
    let out = common::csppatch()
        .args([conf.to_str().unwrap(), "--vendor", "muserelay"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // 3. Reload (a fresh nginx on the patched file) and probe again: allowed.
    let server = nginx(&root, &include);
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["outcome"], "allowed");
    assert!(blocked(&doc).is_empty());
    assert_eq!(verdicts(&doc).len(), 7);
    assert!(
        doc["policies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("connect-src 'self' https://muserelay.com wss://muserelay.com"),
        "{}",
        doc["policies"][0]["text"]
    );
}

/// For each MuseRelay requirement, the load the widget page tries and Chromium's violation
/// text prefix (`effectiveDirective blockedURI`).
const MUSERELAY: &[(&str, Load, &str, &str)] = &[
    (
        "script-src https://muserelay.com",
        Load::Script,
        "https://muserelay.com/widget.js",
        "script-src-elem https://muserelay.com",
    ),
    (
        "connect-src https://muserelay.com",
        Load::Connect,
        "https://muserelay.com/api/session",
        "connect-src https://muserelay.com",
    ),
    (
        "connect-src wss://muserelay.com",
        Load::WebSocket,
        "wss://muserelay.com/live",
        "connect-src wss://muserelay.com",
    ),
    (
        "img-src https://muserelay.com",
        Load::Img,
        "https://muserelay.com/avatar.png",
        "img-src https://muserelay.com",
    ),
    (
        "style-src https://muserelay.com",
        Load::Style,
        "https://muserelay.com/theme.css",
        "style-src-elem https://muserelay.com",
    ),
];

#[test]
fn probe_agrees_with_chromium() {
    if !common::have_seeds() || !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("www");
    let loads: Vec<(Load, &str)> = MUSERELAY.iter().map(|m| (m.1, m.2)).collect();
    widget::write_site(&root, &loads);
    let repaired = fs::read_to_string(common::seed("muserelay-nginx.conf"))
        .unwrap()
        .replace("\\\n    ", "");
    let policies = [
        // The vendor's own snippet: nginx sends the backslash-newlines (NGX201).
        fs::read_to_string(common::seed("muserelay-nginx.conf")).unwrap(),
        repaired,
        format!("add_header Content-Security-Policy \"{FORGOT_WSS}\" always;\n"),
        "add_header Content-Security-Policy \"default-src 'self'; img-src *\" always;\n".into(),
    ];
    let mut seen_blocked = 0;
    for (i, policy) in policies.iter().enumerate() {
        let conf = tmp.path().join(format!("csp{i}.conf"));
        fs::write(&conf, policy).unwrap();
        let server = nginx(&root, &format!("        include {};", conf.display()));
        let url = server.url("/");
        let doc = json(&probe(&[&url, "--vendor", "muserelay", "--format", "json"]));
        let by_probe: Vec<(String, bool)> = verdicts(&doc);
        let violations = widget::violations(&url);
        for (requirement, _, _, violation) in MUSERELAY {
            let probe_says = by_probe
                .iter()
                .find(|(r, _)| r == requirement)
                .unwrap_or_else(|| panic!("{requirement} not in {by_probe:?}"))
                .1;
            let chromium_blocks = violations.iter().any(|v| v.starts_with(violation));
            assert_eq!(
                !probe_says, chromium_blocks,
                "policy {i}: `{requirement}`: probe allowed={probe_says}, Chromium saw {violations:?}"
            );
            seen_blocked += usize::from(chromium_blocks);
        }
    }
    // Seed: all 5 blocked; repaired: none; FORGOT_WSS: 1; default-src/img-src *: 4.
    assert_eq!(seen_blocked, 5 + 1 + 4);
}

#[test]
fn the_vendor_snippet_sent_on_several_lines_is_read_as_browsers_read_it() {
    if !common::have_seeds() || !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = site(tmp.path(), PLAIN_PAGE);
    let seed = common::seed("muserelay-nginx.conf");
    let server = nginx(&root, &format!("        include {};", seed.display()));
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    // Chromium folds each `\`<LF><spaces> to `\ `: only default-src 'self' survives.
    assert_eq!(
        doc["policies"][0]["text"],
        "default-src 'self'; \\ script-src 'self' https://muserelay.com 'unsafe-inline'; \\ connect-src 'self' https://muserelay.com wss://muserelay.com; \\ img-src 'self' https://muserelay.com data:; \\ style-src 'self' https://muserelay.com 'unsafe-inline';"
    );
    assert_eq!(blocked(&doc).len(), 7);
    for r in doc["requirements"].as_array().unwrap() {
        assert_eq!(r["blocked_by"][0]["governing"], "default-src", "{r}");
    }
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"PRB808"), "{codes:?}");
}

#[test]
fn meta_only_page() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let page = "<!DOCTYPE html>\n<html><head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; img-src *\">\n<title>t</title></head><body></body></html>\n";
    let root = site(tmp.path(), page);
    let server = nginx(&root, "");
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["policies"].as_array().unwrap().len(), 1);
    assert_eq!(doc["policies"][0]["source"], "meta");
    assert_eq!(doc["policies"][0]["line"], 3);
    // `*` allows https hosts but not data: (CSP3 §6.7.2.8 step 1); everything else falls back
    // to default-src 'self'.
    assert_eq!(
        verdicts(&doc),
        [
            ("script-src https://muserelay.com", false),
            ("connect-src https://muserelay.com", false),
            ("connect-src wss://muserelay.com", false),
            ("img-src https://muserelay.com", true),
            ("img-src data:", false),
            ("style-src https://muserelay.com", false),
            ("style-src 'unsafe-inline'", false),
        ]
        .map(|(r, a)| (r.to_string(), a))
    );
    let text = stdout(&probe(&[&url, "--vendor", "muserelay"]));
    assert!(
        text.contains("BLOCKED by meta line 3: default-src 'self'  (script-src-elem falls back to default-src)"),
        "{text}"
    );
    assert!(text.contains("csppatch <the page's HTML file or template> --vendor muserelay"));
}

#[test]
fn header_and_meta_are_both_enforced() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let page = "<!DOCTYPE html>\n<html><head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"connect-src 'self'\">\n</head><body></body></html>\n";
    let root = site(tmp.path(), page);
    let server = nginx(
        &root,
        &format!("        add_header Content-Security-Policy \"{FORGOT_WSS}\";"),
    );
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(
        blocked(&doc),
        [
            "connect-src https://muserelay.com",
            "connect-src wss://muserelay.com"
        ]
    );
    let places = |i: usize| -> Vec<String> {
        doc["requirements"][i]["blocked_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                format!(
                    "{} {}",
                    b["source"].as_str().unwrap(),
                    b["directive"].as_str().unwrap()
                )
            })
            .collect()
    };
    // https: the header allows it, the meta does not. wss: neither does.
    assert_eq!(places(1), ["meta connect-src 'self'"]);
    assert_eq!(
        places(2),
        [
            "header connect-src 'self' https://muserelay.com",
            "meta connect-src 'self'"
        ]
    );
}

#[test]
fn report_only_header_and_ignored_metas() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let page = "<!DOCTYPE html>\n<html><head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'self' data:; frame-ancestors 'none'\">\n<title>shop</title>\n</head><body>\n<p>Welcome</p>\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\n</body></html>\n";
    let root = site(tmp.path(), page);
    let lines = "        add_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'\";\n        add_header Content-Security-Policy-Report-Only \"default-src 'self'; report-uri /csp\";";
    let server = nginx(&root, lines);
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay"]);
    // Only the <head> meta's img-src blocks: https://muserelay.com images.
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    common::snapshots("probe").bind(|| {
        insta::assert_snapshot!(
            "header-report-only-and-metas",
            normalized(&out, server.port)
        )
    });
    let doc = json(&probe(&[&url, "--vendor", "muserelay", "--format", "json"]));
    assert_eq!(blocked(&doc), ["img-src https://muserelay.com"]);
    let roles: Vec<&str> = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["enforced", "report_only", "enforced", "ignored"]);
    for r in doc["requirements"].as_array().unwrap() {
        assert_eq!(r["reported_by"][0]["index"], 2, "{r}");
    }

    // The Report-Only header alone: nothing is blocked, everything would be reported.
    let server = nginx(
        &site(&tmp.path().join("ro"), PLAIN_PAGE),
        "        add_header Content-Security-Policy-Report-Only \"default-src 'self'\";",
    );
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("report-only: would be reported (not blocked)"),
        "{text}"
    );
    assert!(text.contains("result: no enforced CSP: nothing blocks the vendor"));
    assert!(text.contains("csppatch patches it too"));
}

#[test]
fn redirects_are_followed_and_the_final_origin_is_self() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = site(tmp.path(), PLAIN_PAGE);
    fs::create_dir_all(root.join("c")).unwrap();
    fs::write(root.join("c/index.html"), PLAIN_PAGE).unwrap();
    // 'self' is the final URL's origin (localhost): it allows http://localhost:PORT, which it
    // would not on 127.0.0.1.
    let lines = "        add_header Content-Security-Policy \"connect-src 'self'\" always;\n        location = /a { return 301 /b; }\n        location = /b { return 302 http://localhost:$server_port/c/; }\n        location = /loop { return 302 /loop; }";
    let server = nginx(&root, lines);
    let port = server.port;
    let out = probe(&[
        &format!("http://127.0.0.1:{port}/a"),
        "--allow",
        &format!("connect-src http://localhost:{port}"),
        "--allow-insecure",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["final_url"], format!("http://localhost:{port}/c/"));
    assert_eq!(doc["origin"], format!("http://localhost:{port}"));
    let hops: Vec<String> = doc["redirects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {} -> {}",
                h["status"],
                h["url"].as_str().unwrap(),
                h["location"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            format!("301 http://127.0.0.1:{port}/a -> http://127.0.0.1:{port}/b"),
            format!("302 http://127.0.0.1:{port}/b -> http://localhost:{port}/c/"),
        ]
    );

    let out = probe(&[
        &format!("http://127.0.0.1:{port}/loop"),
        "--vendor",
        "crisp",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error[PRB803]: http://127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("more than 5 redirects"));
}

#[test]
fn a_404_has_no_verdict() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = site(tmp.path(), PLAIN_PAGE);
    // Without `always`, nginx sends no CSP with the 404: "no CSP" would be a false all-clear.
    let server = nginx(
        &root,
        &format!("        add_header Content-Security-Policy \"{FORGOT_WSS}\";"),
    );
    let url = format!("http://127.0.0.1:{}/missing", server.port);
    let out = probe(&[&url, "--vendor", "muserelay"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("404 Not Found"), "{text}");
    assert!(text.contains("error[PRB802]"), "{text}");
    assert!(
        text.contains("result: no verdict: the page answered 404 Not Found"),
        "{text}"
    );
    assert!(!text.contains("nothing blocks"), "{text}");
    let doc = json(&probe(&[&url, "--vendor", "muserelay", "--format", "json"]));
    assert_eq!(doc["status"], 404);
    assert_eq!(doc["outcome"], "not_a_page");
    assert_eq!(doc["exit_code"], 2);
}

#[test]
fn no_csp_nothing_blocks() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = nginx(&site(tmp.path(), PLAIN_PAGE), "");
    let url = server.url("/");
    let out = probe(&[&url, "--vendor", "muserelay"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("result: no CSP: nothing blocks the vendor"),
        "{text}"
    );
    assert!(!text.contains("BLOCKED"));
    let doc = json(&probe(&[&url, "--vendor", "muserelay", "--format", "json"]));
    assert_eq!(doc["outcome"], "no_csp");
    assert!(doc["policies"].as_array().unwrap().is_empty());
    assert!(blocked(&doc).is_empty());
}
