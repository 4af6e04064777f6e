//! One fixture per lint (CSP1xx), snapshotted, plus the vendors' seed snippets.
use crate::common;
use crate::csp_support;

use csp_support::{render_diagnostics, reqs};
use csppatch::csp::lint::{check, RULES};
use csppatch::csp::parse::parse;
use csppatch::csp::Delivery;
use csppatch::csp::{merge, MergeOptions};
use csppatch::diag::Diagnostic;

struct Fixture {
    code: &'static str,
    policy: &'static str,
    delivery: Delivery,
    requirements: &'static [(&'static str, &'static str)],
}

const H: Delivery = Delivery::Header;

const FIXTURES: &[Fixture] = &[
    Fixture { code: "CSP101", policy: "script-src 'nonce-abc123' 'strict-dynamic'", delivery: H, requirements: &[("script-src", "https://vendor.example")] },
    Fixture { code: "CSP102", policy: "script-src 'nonce-abc123' 'unsafe-inline'; style-src 'sha256-abc=' 'unsafe-inline'; default-src 'strict-dynamic' 'unsafe-inline'", delivery: H, requirements: &[] },
    Fixture { code: "CSP103", policy: "default-src 'self' 'unsafe-inline'", delivery: H, requirements: &[("style-src", "'sha256-abc='")] },
    Fixture { code: "CSP104", policy: "default-src 'self'", delivery: H, requirements: &[("script-src", "'unsafe-eval'"), ("script-src", "https:")] },
    Fixture { code: "CSP105", policy: "script-src 'self' 'nonce-abc123'", delivery: H, requirements: &[("script-src", "'unsafe-inline'")] },
    Fixture { code: "CSP106", policy: "default-src 'self'; block-all-mixed-content; plugin-types application/pdf; report-uri /csp; referrer no-referrer; navigate-to 'self'", delivery: H, requirements: &[] },
    Fixture { code: "CSP107", policy: "default-src 'self'; scirpt-src 'self'; # allow the CDN; x-custom foo", delivery: H, requirements: &[] },
    Fixture { code: "CSP108", policy: "script-src 'self' style-src 'self' https://fonts.googleapis.com", delivery: H, requirements: &[] },
    Fixture { code: "CSP109", policy: "img-src 'self'; //if needed, replace X; connect-src 'self'", delivery: H, requirements: &[] },
    Fixture { code: "CSP110", policy: "default-src 'self'; frame-ancestors 'self'; report-uri /r; sandbox", delivery: Delivery::Meta, requirements: &[("frame-ancestors", "https://vendor.example")] },
    Fixture { code: "CSP111", policy: "img-src 'self'; IMG-SRC https://cdn.example", delivery: H, requirements: &[] },
    Fixture { code: "CSP112", policy: "media-src <customdomain>; script-src 'nonce-{random}' https://cdn.example/a.js?v=1 https://*.ingest.*.sentry.io", delivery: H, requirements: &[] },
    Fixture { code: "CSP113", policy: "default-src self; script-src 'self' unsafe-inline", delivery: H, requirements: &[] },
    Fixture { code: "CSP114", policy: "default-src 'self'; script-src ‘self’", delivery: H, requirements: &[("script-src", "https://vendor.example")] },
    Fixture { code: "CSP115", policy: "default-src 'self'", delivery: H, requirements: &[("scirpt-src", "https://vendor.example"), ("report-to", "csp-endpoint")] },
    Fixture { code: "CSP116", policy: "default-src 'self'", delivery: H, requirements: &[("img-src", "'unsafe-inline'"), ("script-src-attr", "https://vendor.example"), ("script-src", "'report-sample'")] },
    Fixture { code: "CSP117", policy: "style-src 'self'", delivery: H, requirements: &[("style-src-attr", "'unsafe-inline'")] },
    Fixture { code: "CSP118", policy: "default-src 'self'", delivery: H, requirements: &[("default-src", "https://cdn.vendor.example")] },
    Fixture { code: "CSP119", policy: "img-src 'none' data:", delivery: H, requirements: &[] },
    Fixture { code: "CSP121", policy: "script-src 'self', style-src 'self' https://fonts.example", delivery: Delivery::Meta, requirements: &[] },
    Fixture { code: "CSP122", policy: "default-src 'self'", delivery: Delivery::Meta, requirements: &[("frame-ancestors", "https://vendor.example"), ("report-to", "csp-endpoint")] },
    Fixture { code: "CSP123", policy: "require-trusted-types-for 'script'; script-src 'self'", delivery: H, requirements: &[("script-src", "https://vendor.example")] },
];

fn diagnostics_for(f: &Fixture) -> Vec<Diagnostic> {
    if f.requirements.is_empty() {
        check(&parse(f.policy), f.delivery)
    } else {
        merge(
            f.policy,
            &reqs(f.requirements),
            &MergeOptions {
                delivery: f.delivery,
            },
        )
        .diagnostics
    }
}

#[test]
fn every_lint_has_a_fixture_that_fires_it() {
    for f in FIXTURES {
        let diags = diagnostics_for(f);
        assert!(
            diags.iter().any(|d| d.code == f.code),
            "{} does not fire on {:?}: {diags:#?}",
            f.code,
            f.policy
        );
        let mut text = format!("policy ({:?}):\n  {}\n", f.delivery, f.policy);
        if !f.requirements.is_empty() {
            text.push_str("requirements:\n");
            for (d, s) in f.requirements {
                text.push_str(&format!("  {d} {s}\n"));
            }
        }
        text.push_str(&render_diagnostics(&diags));
        common::snapshots("csp").bind(|| insta::assert_snapshot!(format!("lint_{}", f.code), text));
    }
    // CSP120 is a safety net no known policy reaches; CSP124 and CSP125 come from
    // `csppatch remove`, not from a merge, and are fired by tests/cli/remove_cli.rs and
    // tests/csp/remove_props.rs; every other code has a fixture here.
    for rule in RULES {
        assert!(
            ["CSP120", "CSP124", "CSP125"].contains(&rule.code)
                || FIXTURES.iter().any(|f| f.code == rule.code),
            "{} has no fixture",
            rule.code
        );
    }
}

#[test]
fn rules_are_documented_in_three_parts() {
    for (i, r) in RULES.iter().enumerate() {
        assert_eq!(r.code, format!("CSP{}", 101 + i), "codes are consecutive");
        assert!(!r.what.is_empty() && !r.why.is_empty(), "{}", r.code);
        assert!(
            r.example.contains("Use instead"),
            "{} example lacks `Use instead`",
            r.code
        );
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}",
            r.name
        );
    }
}

#[test]
fn clean_policies_are_quiet() {
    for policy in [
        "default-src 'self'; script-src 'self' https://cdn.example; object-src 'none'; base-uri 'self'",
        "script-src 'nonce-r4nd0m' 'strict-dynamic' https:; object-src 'none'; report-to csp",
        "default-src 'none'; img-src 'self' data: blob:; connect-src 'self' wss://rt.example",
    ] {
        let diags = check(&parse(policy), Delivery::Header);
        assert!(diags.is_empty(), "{policy}: {diags:#?}");
    }
}

#[test]
fn seed_snippets() {
    if !common::have_seeds() {
        return;
    }
    for name in [
        "ortto-us.csp",
        "ortto-custom-domain-eu.csp",
        "ortto-level3.csp",
    ] {
        let text = std::fs::read_to_string(common::seed(name)).unwrap();
        let diags = check(&parse(text.trim_end()), Delivery::Header);
        let rendered = format!("{}\n{}", text.trim_end(), render_diagnostics(&diags));
        common::snapshots("csp")
            .bind(|| insta::assert_snapshot!(format!("lint_seed_{name}"), rendered));
    }
}

#[test]
fn ortto_remark_is_explained() {
    if !common::have_seeds() {
        return;
    }
    let text = std::fs::read_to_string(common::seed("ortto-us.csp")).unwrap();
    let diags = check(&parse(text.trim_end()), Delivery::Header);
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    // The remark becomes a directive `//if`, its comma starts a second policy, and the
    // style-src after it is swallowed by the directive `replace`.
    assert!(codes.contains(&"CSP107"));
    assert!(codes.contains(&"CSP109"));
    assert!(diags
        .iter()
        .any(|d| d.code == "CSP108" && d.message.contains("style-src")));
    assert!(diags.iter().any(|d| d
        .help
        .as_deref()
        .is_some_and(|h| h.contains("CSP has no comments"))));
}

#[test]
fn commas_in_meta_policies_are_ambiguous() {
    let diags = check(&parse("default-src 'self', img-src data:"), Delivery::Meta);
    let text = render_diagnostics(&diags);
    assert!(diags
        .iter()
        .any(|d| d.code == "CSP121" && d.message.contains("<meta>")));
    common::snapshots("csp").bind(|| insta::assert_snapshot!("lint_CSP121_meta", text));
    assert!(check(
        &parse("default-src 'self', img-src data:"),
        Delivery::Header
    )
    .is_empty());
}
