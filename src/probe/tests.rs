//! Verdicts on synthetic responses; every expectation is derived by hand from CSP3.

use super::*;
use crate::probe::fetch::Header;

fn page(headers: &[(&str, &str)], body: &str) -> Page {
    Page {
        url: url::Url::parse("https://site.example/").unwrap(),
        final_url: url::Url::parse("https://site.example/").unwrap(),
        status: 200,
        reason: "OK".into(),
        redirects: Vec::new(),
        headers: headers
            .iter()
            .map(|(n, v)| Header {
                name: n.to_string(),
                value: v.as_bytes().to_vec(),
                folded: v.contains(" \\ "),
            })
            .collect(),
        body: body.as_bytes().to_vec(),
        body_complete: true,
        dropped_headers: Vec::new(),
    }
}

fn req(directive: &str, source: &str) -> Requirement {
    Requirement::new(directive, source, "vendor")
}

const CSP: &str = "Content-Security-Policy";

#[test]
fn websocket_blocked_by_https_source_names_the_near_miss() {
    let p = page(
        &[(
            CSP,
            "default-src 'self'; connect-src 'self' https://muserelay.com",
        )],
        "",
    );
    let probe = evaluate(
        p,
        &[
            req("connect-src", "https://muserelay.com"),
            req("connect-src", "wss://muserelay.com"),
        ],
    );
    assert_eq!(probe.verdicts[0].allowed(), Some(true));
    let v = &probe.verdicts[1];
    assert_eq!(v.allowed(), Some(false));
    let b = &v.blocked_by[0];
    assert_eq!(
        (b.effective.as_str(), b.governing.as_str()),
        ("connect-src", "connect-src")
    );
    assert_eq!(b.directive, "connect-src 'self' https://muserelay.com");
    assert_eq!(
        b.reason,
        "no source matches wss://muserelay.com/; `https://muserelay.com` is for https:, not wss:"
    );
    assert_eq!(probe.outcome(), Outcome::Blocked);
    assert_eq!(probe.exit_code(), 1);
}

#[test]
fn fallback_to_default_src_is_named() {
    let probe = evaluate(
        page(&[(CSP, "default-src 'self'")], ""),
        &[req("img-src", "data:")],
    );
    let b = &probe.verdicts[0].blocked_by[0];
    assert_eq!(
        (b.effective.as_str(), b.governing.as_str()),
        ("img-src", "default-src")
    );
    assert_eq!(b.reason, "no source allows data: URLs");
}

#[test]
fn every_header_and_every_policy_of_a_list_is_enforced() {
    let p = page(
        &[(CSP, "img-src *"), (CSP, "img-src https:, img-src 'self'")],
        "",
    );
    let probe = evaluate(p, &[req("img-src", "https://cdn.example")]);
    let v = &probe.verdicts[0];
    assert_eq!(v.blocked_by.len(), 1);
    assert_eq!(v.blocked_by[0].policy, 1, "the second header");
    assert_eq!(v.blocked_by[0].list_position, Some((2, 2)));
}

#[test]
fn meta_in_head_counts_and_ignores_frame_ancestors() {
    let body = "<!doctype html><head><meta http-equiv=\"Content-Security-Policy\" content=\"frame-ancestors 'none'; img-src 'self'\"></head>";
    let probe = evaluate(
        page(&[], body),
        &[
            req("frame-ancestors", "https://portal.example"),
            req("img-src", "https://cdn.example"),
        ],
    );
    assert_eq!(probe.policies.len(), 1);
    assert_eq!(probe.policies[0].place, Place::Meta { index: 1, line: 1 });
    assert_eq!(
        probe.verdicts[0].allowed(),
        Some(true),
        "a meta's frame-ancestors is ignored"
    );
    assert_eq!(probe.verdicts[1].allowed(), Some(false));
    assert!(probe.warnings.iter().any(|w| w.diagnostic.code == "CSP110"));
}

#[test]
fn report_only_and_body_metas_do_not_block() {
    let body =
        "<p>text</p><meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\">";
    let p = page(
        &[("content-security-policy-report-only", "img-src 'none'")],
        body,
    );
    let probe = evaluate(p, &[req("img-src", "https://cdn.example")]);
    let v = &probe.verdicts[0];
    assert_eq!(v.allowed(), Some(true));
    assert_eq!(v.reported_by.len(), 1);
    assert_eq!(probe.policies[1].role(), Role::Ignored);
    assert_eq!(probe.outcome(), Outcome::NoCsp);
    assert!(probe.warnings.iter().any(|w| w.diagnostic.code == "HTM601"));
}

#[test]
fn legacy_browsers_are_reported_apart() {
    let p = page(
        &[(
            CSP,
            "script-src 'self'; script-src-elem 'self' https://v.example",
        )],
        "",
    );
    let probe = evaluate(p, &[req("script-src", "https://v.example")]);
    let v = &probe.verdicts[0];
    assert_eq!(v.allowed(), Some(true));
    assert_eq!(v.legacy_blocked_by[0].governing, "script-src");
    assert!(probe.warnings.iter().any(|w| w.diagnostic.code == "PRB804"));
    assert_eq!(probe.exit_code(), 0);
}

#[test]
fn strict_dynamic_says_the_script_needs_the_nonce() {
    let p = page(
        &[(
            CSP,
            "script-src 'nonce-r4nd' 'strict-dynamic' https://v.example",
        )],
        "",
    );
    let probe = evaluate(p, &[req("script-src", "https://v.example")]);
    assert!(probe.verdicts[0].blocked_by[0]
        .reason
        .starts_with("'strict-dynamic'"));
}

#[test]
fn inline_and_unverifiable_requirements() {
    let p = page(&[(CSP, "style-src 'self' 'nonce-a' 'unsafe-inline'")], "");
    let probe = evaluate(
        p,
        &[
            req("style-src", "'unsafe-inline'"),
            req("script-src", "'unsafe-hashes'"),
        ],
    );
    let v = &probe.verdicts[0];
    assert_eq!(
        v.blocked_by.len(),
        2,
        "inline <style> and style attributes: {v:?}"
    );
    assert!(v.blocked_by[0]
        .reason
        .starts_with("'unsafe-inline' is ignored"));
    assert_eq!(probe.verdicts[1].allowed(), None);
    assert!(probe.warnings.iter().any(|w| w.diagnostic.code == "PRB806"));
}

#[test]
fn an_error_page_has_no_verdict() {
    let mut p = page(&[], "<h1>Not Found</h1>");
    p.status = 404;
    let probe = evaluate(p, &[req("img-src", "https://cdn.example")]);
    assert_eq!(probe.outcome(), Outcome::NotAPage);
    assert_eq!(probe.exit_code(), 2);
}

#[test]
fn non_html_bodies_are_not_searched_for_metas() {
    let body = "<meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\">";
    let probe = evaluate(
        page(&[("Content-Type", "text/plain; charset=utf-8")], body),
        &[req("img-src", "https://cdn.example")],
    );
    assert!(probe.policies.is_empty());
    assert!(probe.warnings.iter().any(|w| w.diagnostic.code == "PRB805"));
}

#[test]
fn an_empty_header_is_no_policy() {
    let probe = evaluate(
        page(&[(CSP, "")], ""),
        &[req("img-src", "https://cdn.example")],
    );
    assert_eq!(probe.policies.len(), 1);
    assert_eq!(probe.outcome(), Outcome::NoCsp);
}

#[test]
fn a_meta_that_is_not_utf8_is_evaluated_and_said_so() {
    // `é` in windows-1252 (0xE9) inside the policy: the meta still applies in the browser.
    let mut p = page(
        &[("Content-Type", "text/html")],
        "<head><meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'self' \
         https://caf\u{0}.example\"></head>",
    );
    let at = p.body.iter().position(|&b| b == 0).unwrap();
    p.body[at] = 0xE9;
    let probe = evaluate(p, &[req("img-src", "https://cdn.example")]);
    assert_eq!(probe.policies.len(), 1, "the meta is evaluated");
    let notes: Vec<&str> = probe.warnings.iter().map(|w| w.diagnostic.code).collect();
    assert!(notes.contains(&"PRB809"), "{notes:?}");
    assert!(!notes.contains(&"PRB805"), "{notes:?}");
}

/// Chromium and Firefox block a same-origin blob: worker under 'self' (measured in
/// tests/e2e/probe_browsers.rs), the CSP3 text allows it: the verdict is the browsers', with a
/// note.
#[test]
fn blob_under_self_is_blocked_as_browsers_do_with_a_note() {
    let p = page(&[(CSP, "default-src 'self'")], "");
    let probe = evaluate(p, &[req("worker-src", "blob:")]);
    assert_eq!(probe.outcome(), Outcome::Blocked);
    let notes: Vec<&Warning> = probe
        .warnings
        .iter()
        .filter(|w| w.diagnostic.code == "PRB810")
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0]
        .diagnostic
        .message
        .contains("is blocked as Chromium"));
    // Where the text and the browsers agree, no note.
    let p = page(&[(CSP, "default-src 'self' blob:")], "");
    let probe = evaluate(p, &[req("worker-src", "blob:")]);
    assert_eq!(probe.outcome(), Outcome::Allowed);
    assert!(probe.warnings.iter().all(|w| w.diagnostic.code != "PRB810"));
}

/// `*` matches a wss: socket in the browsers, not by the text: allowed, with a note.
#[test]
fn star_allows_websockets_as_browsers_do_with_a_note() {
    let p = page(&[(CSP, "connect-src *")], "");
    let probe = evaluate(p, &[req("connect-src", "wss://rt.vendor.example")]);
    assert_eq!(probe.outcome(), Outcome::Allowed);
    assert!(probe
        .warnings
        .iter()
        .any(|w| w.diagnostic.code == "PRB810" && w.diagnostic.message.contains("is allowed")));
}

/// `http://host:8080` does not match https on that port in Chromium (measured): the reason
/// says why, not "not this port".
#[test]
fn an_upgrade_on_a_given_port_is_named() {
    let p = page(&[(CSP, "img-src http://cdn.example:8080")], "");
    let probe = evaluate(p, &[req("img-src", "https://cdn.example:8080")]);
    assert_eq!(probe.outcome(), Outcome::Blocked);
    assert_eq!(
        probe.verdicts[0].blocked_by[0].reason,
        "no source matches https://cdn.example:8080/; `http://cdn.example:8080` names the host, \
         but browsers upgrade http: to https: only on the default ports"
    );
}
