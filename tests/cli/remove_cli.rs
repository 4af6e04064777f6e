//! `csppatch remove` from the command line: --help, --keep, what stays and why (CSP124), what
//! still lets the vendor through (CSP125), JSON, errors. The end-to-end runs per server are in
//! tests/e2e/e2e_remove.rs, the round-trip property in tests/csp/remove_props.rs.

use crate::common;

use std::process::Output;

use csppatch::commands::VendorChoice;
use csppatch::csp::remove::remove;
use csppatch::csp::Requirement;

fn reqs(vendor: &str) -> Vec<Requirement> {
    VendorChoice {
        vendors: vec![vendor.into()],
        ..Default::default()
    }
    .requirements()
    .unwrap()
    .requirements
}

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    common::csppatch()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn site(policy: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("site.conf");
    std::fs::write(
        &conf,
        format!("server {{\n    listen 8080;\n    add_header Content-Security-Policy \"{policy}\" always;\n}}\n"),
    )
    .unwrap();
    (tmp, conf)
}

#[test]
fn help_explains_what_is_removed_and_kept() {
    let o = common::csppatch()
        .args(["remove", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for needle in [
        "--keep <OTHER>",
        "--vendor <NAME>",
        "--check",
        "--validate",
        "CSP124",
        "csppatch remove --vendor muserelay",
    ] {
        assert!(help.contains(needle), "{needle} in\n{help}");
    }
    let top = common::csppatch().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&top.stdout).contains("remove"));
}

#[test]
fn keep_leaves_what_the_other_vendor_needs() {
    // muserelay then crisp merged in, as two patch runs would.
    let base = "default-src 'self'";
    let opts = csppatch::csp::MergeOptions {
        delivery: csppatch::csp::Delivery::Header,
    };
    let with_mr = csppatch::csp::merge(base, &reqs("muserelay"), &opts).text;
    let both = csppatch::csp::merge(&with_mr, &reqs("crisp"), &opts).text;
    let crisp_alone = csppatch::csp::merge(base, &reqs("crisp"), &opts).text;
    let out = remove(&both, &reqs("muserelay"), &reqs("crisp"));
    let list = csppatch::csp::parse::parse(&out.outcome.text);
    // Every crisp request still allowed; muserelay's host is gone.
    for r in reqs("crisp") {
        for req in csppatch::csp::eval::requests_for(&r, "https://site.example") {
            assert!(
                csppatch::csp::eval::allows_in(&list, &req, csppatch::csp::eval::Browser::Csp3),
                "{r:?} in {}",
                out.outcome.text
            );
        }
    }
    assert!(
        !out.outcome.text.contains("muserelay.com"),
        "{}",
        out.outcome.text
    );
    // 'unsafe-inline' (style-src) is both vendors': kept, and said so.
    assert!(out.outcome.text.contains("'unsafe-inline'"));
    assert!(
        out.outcome
            .diagnostics
            .iter()
            .any(|d| d.code == "CSP124" && d.message.contains("--keep crisp needs it")),
        "{:?}",
        out.outcome.diagnostics
    );
    // Without --keep, crisp's sources after muserelay's look like the site's own: muserelay's
    // stand before them, so they stay, each named.
    let stays = remove(&both, &reqs("muserelay"), &[]);
    assert!(stays.outcome.text.contains("https://muserelay.com"));
    assert!(stays
        .outcome
        .diagnostics
        .iter()
        .any(|d| d.code == "CSP124" && d.message.contains("https://muserelay.com")));
    // Removing crisp (merged last) with --keep muserelay gives back the muserelay-only policy;
    // without it, the sources both list (data:, 'unsafe-inline') go with crisp.
    assert_eq!(
        remove(&both, &reqs("crisp"), &reqs("muserelay"))
            .outcome
            .text,
        with_mr
    );
    let alone = remove(&both, &reqs("crisp"), &[]).outcome.text;
    assert!(
        !alone.contains("'unsafe-inline'") && alone.contains("https://muserelay.com"),
        "{alone}"
    );
    let _ = crisp_alone;
}

#[test]
fn a_broader_source_that_still_allows_the_vendor_is_named() {
    let out = remove(
        "script-src 'self' https: https://muserelay.com",
        &reqs("muserelay"),
        &[],
    );
    assert_eq!(out.outcome.text, "script-src 'self' https:");
    let warn = out
        .outcome
        .diagnostics
        .iter()
        .find(|d| d.code == "CSP125")
        .expect("CSP125");
    assert!(
        warn.message.contains("`https:` in `script-src`"),
        "{}",
        warn.message
    );
}

#[test]
fn vendor_sources_the_policy_had_first_stay_with_a_note() {
    let p = "default-src 'self' https://muserelay.com; script-src https://muserelay.com 'self'";
    let out = remove(p, &reqs("muserelay"), &[]);
    assert_eq!(out.outcome.text, p, "nothing of it was csppatch's");
    let notes: Vec<&str> = out
        .outcome
        .diagnostics
        .iter()
        .filter(|d| d.code == "CSP124")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].contains("never adds to default-src"),
        "{}",
        notes[0]
    );
    assert!(
        notes[1].contains("the policy had it already"),
        "{}",
        notes[1]
    );
}

#[test]
fn remove_writes_then_check_passes_and_json_lists_the_removal() {
    let (tmp, conf) =
        site("default-src 'self'; script-src 'self' https://muserelay.com; frame-ancestors 'none'");
    let before = std::fs::read(&conf).unwrap();
    let check = run(
        tmp.path(),
        &["remove", "--vendor", "muserelay", "site.conf", "--check"],
    );
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("-    add_header"));
    assert_eq!(
        std::fs::read(&conf).unwrap(),
        before,
        "--check writes nothing"
    );

    let json = run(
        tmp.path(),
        &[
            "remove",
            "--vendor",
            "muserelay",
            "site.conf",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(json.status.code(), Some(0));
    let v = common::json::parse_checked("patch", &json.stdout);
    assert_eq!(v["removal"], true);
    let removed = &v["sites"][0]["removed"][0];
    assert_eq!(removed["directive"], "script-src");
    assert_eq!(
        removed["sources"],
        serde_json::json!(["https://muserelay.com"])
    );
    // script-src 'self' is the site's own: it does not end the policy, as a created copy would.
    assert_eq!(removed["dropped"], false);

    let done = run(
        tmp.path(),
        &["remove", "--vendor", "muserelay", "site.conf"],
    );
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("script-src  - https://muserelay.com"), "{err}");
    assert!(
        err.contains("1 source removed in 1 file (written)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "server {\n    listen 8080;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self'; frame-ancestors 'none'\" always;\n}\n"
    );
    let again = run(
        tmp.path(),
        &["remove", "--vendor", "muserelay", "site.conf", "--check"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 sources removed"));
}

#[test]
fn an_unknown_vendor_or_keep_is_bad_input_and_nothing_is_written() {
    let (tmp, conf) = site("default-src 'self'");
    let before = std::fs::read(&conf).unwrap();
    for args in [
        &["remove", "--vendor", "nosuchvendor", "site.conf"][..],
        &[
            "remove",
            "--vendor",
            "muserelay",
            "--keep",
            "nosuchvendor",
            "site.conf",
        ][..],
    ] {
        let o = run(tmp.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("nosuchvendor"));
    }
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}
