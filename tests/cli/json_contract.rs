//! One JSON contract: every document `--format json` (and `vendors --json`) can print, for
//! each subcommand, success and each kind of error, is checked against its schema in
//! `schemas/` with an independent validator (the `jsonschema` crate), so that the schemas
//! and the output cannot drift apart. The schemas forbid fields they do not name: a new
//! field must be documented there (and in the README) before this test passes.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::json::{schema, KINDS};

/// The document csppatch printed on stdout, valid against `kind`'s schema, with the exit
/// code it says equal to the process's.
fn checked(kind: &str, out: &Output) -> Value {
    if serde_json::from_slice::<Value>(&out.stdout).is_err() {
        panic!(
            "{kind}: stdout is not one JSON document:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let doc = common::json::parse_checked(kind, &out.stdout);
    assert_eq!(
        doc["exit_code"].as_u64(),
        out.status.code().map(|c| c as u64),
        "{doc:#}"
    );
    doc
}

fn run(args: &[&str], cwd: &Path) -> Output {
    common::csppatch()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run csppatch")
}

fn codes(doc: &Value) -> Vec<String> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// A server block with a CSP, modelled on the `add_header Content-Security-Policy ... always;`
/// of h5bp/server-configs-nginx (h5bp/security/content-security-policy.conf).
const SITE: &str = "server {\n    listen 80;\n    server_name shop.example.com;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self'\" always;\n    location /api/ {\n        add_header X-Api 1;\n    }\n}\n";

#[test]
fn every_schema_is_a_valid_schema_with_the_common_fields() {
    for kind in KINDS {
        let s = schema(kind);
        assert!(jsonschema::meta::is_valid(&s), "{kind}");
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for field in ["schema_version", "exit_code", "diagnostics"] {
            assert!(required.contains(&field), "{kind} lacks {field}");
        }
    }
}

#[test]
fn patch_documents_success_and_every_kind_of_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), SITE).unwrap();
    let j: &[&str] = &["--format", "json"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [extra, j].concat() };

    // A dry run that changes a site and warns (the location's own add_header).
    let a = with(&["shop.conf", "--vendor", "muserelay", "--dry-run"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["mode"], "dry_run");
    assert_eq!(doc["sites"][0]["disposition"], "enforce");
    assert!(doc["files"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("https://muserelay.com"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shop.conf")).unwrap(),
        SITE
    );

    // --check finds the change: exit 1.
    let a = with(&["shop.conf", "--vendor", "muserelay", "--check"]);
    assert_eq!(checked("patch", &run(&a, dir.path()))["exit_code"], 1);

    // An unknown vendor, before anything is read.
    let a = with(&["shop.conf", "--vendor", "nosuchvendor"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(codes(&doc), ["VND710"]);
    assert_eq!(doc["files_read"], 0);

    // An unreadable path.
    let a = with(&["missing.conf", "--vendor", "muserelay"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert!(codes(&doc).contains(&"E002".to_string()), "{doc:#}");

    // A subcommand's name, mistyped, where a PATH goes.
    let a = with(&["vendor", "--vendor", "muserelay"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(codes(&doc), ["E002"]);
    assert!(doc["diagnostics"][0]["help"]
        .as_str()
        .unwrap()
        .contains("did you mean `csppatch vendors`?"));

    // A failed validation: exit 3, nothing written.
    let a = with(&[
        "shop.conf",
        "--vendor",
        "muserelay",
        "--validate-cmd",
        "false",
    ]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["exit_code"], 3, "{doc:#}");
    assert_eq!(doc["written"], false);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shop.conf")).unwrap(),
        SITE
    );

    // A usage error clap reports.
    let a = with(&["shop.conf", "--vendr", "muserelay"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(codes(&doc), ["E001"]);

    // Written.
    let a = with(&["shop.conf", "--vendor", "muserelay"]);
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["written"], true);
    assert_eq!(doc["mode"], "write");
}

/// The honest-run fields: a locked policy (`sites[].locked`, the nginx-locked fixture, after
/// shopware/docker's svg location) and what a run could not check (`not_checked`, the
/// php-unread fixture, a policy built at run time that csppatch cannot read).
#[test]
fn locked_sites_and_what_was_not_checked() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e/honest");
    let dir = tempfile::tempdir().unwrap();
    for name in ["nginx-locked", "php-unread"] {
        let to = dir.path().join(name);
        std::fs::create_dir(&to).unwrap();
        for entry in std::fs::read_dir(fixtures.join(name)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    let a = [
        "nginx-locked",
        "--vendor",
        "muserelay",
        "--dry-run",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    let sites = doc["sites"].as_array().unwrap();
    assert!(sites.iter().any(|s| s["locked"].is_string()), "{doc:#}");
    assert!(sites.iter().any(|s| s["changed"] == true), "{doc:#}");
    assert_eq!(doc["not_checked"], serde_json::json!([]));

    let a = [
        "php-unread",
        "--vendor",
        "muserelay",
        "--check",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["exit_code"], 1, "{doc:#}");
    assert_eq!(
        doc["not_checked"],
        serde_json::json!([{ "count": 2, "what": "CSP not readable" }])
    );
    assert!(codes(&doc).contains(&"E041".to_string()), "{doc:#}");
}

/// `csppatch remove` prints the patch document, with `removal: true` and what each site lost
/// (`sites[].removed`), and its errors the same way.
#[test]
fn remove_documents() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), SITE).unwrap();
    let patched = run(&["shop.conf", "--vendor", "muserelay"], dir.path());
    assert_eq!(patched.status.code(), Some(0), "{patched:?}");

    let a = [
        "remove",
        "--vendor",
        "muserelay",
        "shop.conf",
        "--dry-run",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["removal"], true, "{doc:#}");
    assert_eq!(doc["mode"], "dry_run");
    let removed = doc["sites"][0]["removed"].as_array().unwrap();
    assert!(
        removed
            .iter()
            .any(|r| r["sources"].to_string().contains("https://muserelay.com")),
        "{doc:#}"
    );

    let a = [
        "remove",
        "--vendor",
        "muserelay",
        "shop.conf",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["written"], true, "{doc:#}");
    // The vendor is gone (`script-src 'self'` left equal to default-src's copy goes too, as
    // `dropped` says: the same policy, csp::remove's rule).
    let after = std::fs::read_to_string(dir.path().join("shop.conf")).unwrap();
    assert!(!after.contains("muserelay"), "{after}");
    assert!(
        after.contains("Content-Security-Policy \"default-src 'self'"),
        "{after}"
    );

    // A --keep vendor that does not exist, before anything is read.
    let a = [
        "remove",
        "--vendor",
        "muserelay",
        "--keep",
        "nosuchvendor",
        "shop.conf",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["removal"], true, "{doc:#}");
    assert_eq!(doc["files_read"], 0);

    // A usage error under `remove`.
    let a = [
        "remove",
        "--vendr",
        "muserelay",
        "shop.conf",
        "--format",
        "json",
    ];
    let doc = checked("patch", &run(&a, dir.path()));
    assert_eq!(codes(&doc), ["E001"]);
}

#[test]
fn merge_documents() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let doc = checked(
        "merge",
        &run(
            &[
                "merge",
                "--vendor",
                "crisp",
                "--format",
                "json",
                "default-src 'self'",
            ],
            p,
        ),
    );
    assert!(doc["policy"].as_str().unwrap().contains("crisp.chat"));
    // An invalid policy gives errors in the document, with the policy it could not merge.
    let out = run(
        &[
            "merge",
            "--vendor",
            "crisp",
            "--format",
            "json",
            "script-src 'none' https://a.example",
        ],
        p,
    );
    checked("merge", &out);
    let doc = checked(
        "merge",
        &run(
            &[
                "merge",
                "--vendor",
                "nope",
                "--format",
                "json",
                "default-src 'self'",
            ],
            p,
        ),
    );
    assert_eq!(doc["policy"], Value::Null);
    assert_eq!(codes(&doc), ["VND710"]);
    let doc = checked(
        "merge",
        &run(&["merge", "--format", "json", "--bogus", "x"], p),
    );
    assert_eq!(codes(&doc), ["E001"]);
}

#[test]
fn vendors_and_rules_documents() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let doc = checked("vendors", &run(&["vendors", "--json"], p));
    assert!(doc["vendors"].as_array().unwrap().len() > 10);
    checked("vendors", &run(&["vendors", "intercom", "--json"], p));
    let doc = checked("vendors", &run(&["vendors", "intercomm", "--json"], p));
    assert_eq!(codes(&doc), ["VND710"]);
    let doc = checked(
        "vendors",
        &run(&["vendors", "--json", "--vendors-file", "nope.toml"], p),
    );
    assert_eq!(doc["exit_code"], 2);

    let doc = checked("rules", &run(&["rules", "--format", "json"], p));
    assert!(doc["rules"].as_array().unwrap().len() > 50);
    let doc = checked("rules", &run(&["rules", "CSP101", "--format", "json"], p));
    assert_eq!(doc["rules"][0]["code"], "CSP101");
    let doc = checked("rules", &run(&["rules", "CSP10", "--format", "json"], p));
    assert_eq!(codes(&doc), ["E001"]);
}

/// Serve one page with `headers` on 127.0.0.1, once.
fn serve_once(headers: &'static str, body: &'static str) -> String {
    let port = common::free_port();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn probe_documents() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let url = serve_once(
        "Content-Security-Policy: default-src 'self'; script-src 'self' 'strict-dynamic' 'nonce-abc'\r\nContent-Security-Policy-Report-Only: default-src 'none'\r\n",
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"img-src *\"></head><body></body></html>",
    );
    let doc = checked(
        "probe",
        &run(
            &["probe", &url, "--vendor", "muserelay", "--format", "json"],
            p,
        ),
    );
    assert_eq!(doc["outcome"], "blocked");
    assert!(doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["role"] == "report_only"));
    // Not an http(s) URL; an unknown vendor; nothing listening.
    let doc = checked(
        "probe",
        &run(
            &[
                "probe",
                "shop.example.com",
                "--vendor",
                "crisp",
                "--format",
                "json",
            ],
            p,
        ),
    );
    assert_eq!(doc["outcome"], "error");
    assert_eq!(codes(&doc), ["PRB800"]);
    let doc = checked(
        "probe",
        &run(&["probe", &url, "--vendor", "nope", "--format", "json"], p),
    );
    assert_eq!(codes(&doc), ["VND710"]);
    let closed = format!("http://127.0.0.1:{}/", common::free_port());
    let doc = checked(
        "probe",
        &run(
            &["probe", &closed, "--vendor", "crisp", "--format", "json"],
            p,
        ),
    );
    assert_eq!(codes(&doc), ["PRB801"]);
    let doc = checked("probe", &run(&["probe", "--format", "json"], p));
    assert_eq!(codes(&doc), ["E001"]);
}

/// `csppatch audit`: no vendor (the SITE's location drops the server's CSP: NGX202 in
/// `traps`), with vendors (AUD901 for the enforced policy, exit 1), and each kind of error.
#[test]
fn audit_documents() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.conf"), SITE).unwrap();
    let p = dir.path();

    let doc = checked(
        "audit",
        &run(&["audit", "shop.conf", "--format", "json"], p),
    );
    assert_eq!(doc["exit_code"], 0, "{doc:#}");
    assert_eq!(
        doc["sites"][0]["policy"],
        "default-src 'self'; script-src 'self'"
    );
    assert_eq!(doc["sites"][0]["disposition"], "enforce");
    assert_eq!(doc["sites"][0]["delivery"], "header");
    assert_eq!(doc["traps"][0]["code"], "NGX202", "{doc:#}");
    assert_eq!(doc["summary"]["traps"], 1);

    let a = [
        "audit",
        "shop.conf",
        "--vendor",
        "muserelay",
        "--vendor",
        "crisp",
        "--format",
        "json",
    ];
    let doc = checked("audit", &run(&a, p));
    assert_eq!(doc["exit_code"], 1, "{doc:#}");
    assert_eq!(doc["vendors"][0]["name"], "muserelay");
    assert_eq!(doc["vendors"][1]["name"], "crisp");
    let checks = doc["sites"][0]["vendors"].as_array().unwrap();
    assert_eq!(checks[0]["verdict"], "needs_change");
    assert!(codes(&doc).contains(&"AUD901".to_string()), "{doc:#}");

    // An unknown vendor, a path that does not exist, a usage error.
    let a = [
        "audit",
        "shop.conf",
        "--vendor",
        "nosuchvendor",
        "--format",
        "json",
    ];
    let doc = checked("audit", &run(&a, p));
    assert_eq!(codes(&doc), ["VND710"]);
    let doc = checked(
        "audit",
        &run(&["audit", "missing.conf", "--format", "json"], p),
    );
    assert_eq!(doc["exit_code"], 2, "{doc:#}");
    assert!(codes(&doc).contains(&"E002".to_string()), "{doc:#}");
    let doc = checked(
        "audit",
        &run(&["audit", "shop.conf", "--bogus", "--format", "json"], p),
    );
    assert_eq!(codes(&doc), ["E001"]);
}
