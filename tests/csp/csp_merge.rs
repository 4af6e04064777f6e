//! One fixture per merge rule (DESIGN.md "Merge rules"), each checked by the invariant checker
//! (edits reproduce the text, untouched directives byte-identical, idempotent, vendor allowed,
//! no other verdict changed in CSP3 / no-elem browsers / Servo) and snapshotted for review.
use crate::common;
use crate::csp_support;

use csp_support::{check_merge, header, render_outcome, reqs, PAGE};
use csppatch::csp::Delivery;
use csppatch::csp::{merge, MergeOptions};

fn case(name: &str, input: &str, pairs: &[(&str, &str)]) -> csppatch::csp::MergeOutcome {
    let requirements = reqs(pairs);
    let outcome = check_merge(input, &requirements, PAGE);
    let text = render_outcome(input, &requirements, &outcome);
    common::snapshots("csp").bind(|| insta::assert_snapshot!(format!("merge_{name}"), text));
    outcome
}

fn codes(o: &csppatch::csp::MergeOutcome) -> Vec<&'static str> {
    o.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn appends_to_present_directive() {
    let o = case(
        "append_present",
        "default-src 'self'; script-src 'self'; worker-src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; script-src 'self' https://vendor.example; worker-src 'self'"
    );
}

#[test]
fn creates_missing_directive_from_default_src() {
    // The DESIGN.md trap: a bare connect-src would block the site's own requests.
    let o = case(
        "connect_from_default",
        "default-src 'self'",
        &[("connect-src", "https://api.vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; connect-src 'self' https://api.vendor.example"
    );
}

#[test]
fn widening_script_src_pins_workers() {
    let o = case(
        "script_src_pins_worker",
        "script-src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "script-src 'self' https://vendor.example; worker-src 'self'"
    );
}

#[test]
fn creating_script_src_pins_workers_to_default_src() {
    let o = case(
        "script_src_from_default",
        "default-src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert!(o.text.contains("worker-src 'self'"));
    assert!(o.text.contains("script-src 'self' https://vendor.example"));
}

#[test]
fn workers_governed_by_child_src_need_no_pin() {
    let o = case(
        "script_src_child_src_present",
        "script-src 'self'; child-src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "script-src 'self' https://vendor.example; child-src 'self'"
    );
}

#[test]
fn script_src_elem_present_is_widened_with_script_src_for_old_browsers() {
    case(
        "elem_and_script_src",
        "script-src 'self'; script-src-elem 'self'",
        &[("script-src", "https://vendor.example")],
    );
    case(
        "elem_with_default_only",
        "default-src 'self'; script-src-elem 'self'",
        &[("script-src", "https://vendor.example")],
    );
}

#[test]
fn elem_only_requirement_cannot_reach_old_browsers() {
    let o = case(
        "elem_inline_legacy",
        "script-src 'self'",
        &[("script-src-elem", "'unsafe-inline'")],
    );
    assert_eq!(
        o.text,
        "script-src 'self'; script-src-elem 'self' 'unsafe-inline'"
    );
    assert!(codes(&o).contains(&"CSP117"));
}

#[test]
fn style_unsafe_inline_means_elements_and_attributes() {
    let o = case(
        "style_unsafe_inline",
        "default-src 'self'; style-src 'self'",
        &[("style-src", "'unsafe-inline'")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; style-src 'self' 'unsafe-inline'"
    );
    case(
        "style_attr_separate",
        "style-src 'self'; style-src-attr 'none'",
        &[("style-src", "'unsafe-inline'")],
    );
    case(
        "style_from_default",
        "default-src 'self'",
        &[("style-src", "'unsafe-inline'")],
    );
}

#[test]
fn unsafe_eval_goes_to_script_src_only() {
    let o = case(
        "unsafe_eval",
        "default-src 'self'; script-src-elem 'self'",
        &[("script-src", "'unsafe-eval'")],
    );
    assert!(o.text.ends_with("; script-src 'self' 'unsafe-eval'"));
    let o = case(
        "unsafe_eval_under_style",
        "default-src 'self'",
        &[("style-src", "'unsafe-eval'")],
    );
    assert!(o.edits.is_empty());
    assert_eq!(codes(&o), ["CSP116"]);
}

#[test]
fn none_is_replaced() {
    let o = case(
        "none_replaced",
        "default-src 'self'; img-src 'none'",
        &[("img-src", "https://vendor.example"), ("img-src", "data:")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; img-src https://vendor.example data:"
    );
    assert_eq!(o.edits.len(), 1, "one replacement");
    let o = case(
        "empty_directive_is_none",
        "default-src 'self'; img-src;",
        &[("img-src", "data:")],
    );
    assert_eq!(o.text, "default-src 'self'; img-src data:;");
    case(
        "none_with_other_sources",
        "img-src 'none' https://a.example 'NONE'",
        &[("img-src", "data:")],
    );
    let o = case(
        "default_none",
        "default-src 'none'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'none'; worker-src 'none'; script-src https://vendor.example"
    );
}

#[test]
fn covered_sources_are_not_added() {
    let o = case(
        "covered",
        "default-src 'self'; img-src *; connect-src https:",
        &[
            ("img-src", "https://vendor.example"),
            ("connect-src", "https://vendor.example"),
            ("connect-src", "wss://rt.vendor.example"),
            ("img-src", "data:"),
        ],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; img-src * data:; connect-src https: wss://rt.vendor.example"
    );
    let o = case(
        "covered_case_insensitive",
        "SCRIPT-SRC 'SELF' HTTPS://VENDOR.EXAMPLE; Worker-Src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert!(o.edits.is_empty());
    case(
        "covered_paths_and_ports",
        "script-src https://vendor.example/widget/; connect-src https://vendor.example:8443; worker-src 'none'",
        &[
            ("script-src", "https://vendor.example/widget/app.js"),
            ("script-src", "https://vendor.example"),
            ("connect-src", "https://vendor.example"),
        ],
    );
    case(
        "wildcard_scheme_matters",
        "connect-src https://*.crisp.chat",
        &[
            ("connect-src", "wss://*.relay.crisp.chat"),
            ("connect-src", "https://client.crisp.chat"),
        ],
    );
}

#[test]
fn child_src_means_frames_and_workers() {
    let o = case(
        "child_src_requirement",
        "default-src 'self'",
        &[("child-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; frame-src 'self' https://vendor.example; worker-src 'self' https://vendor.example"
    );
    let o = case(
        "frame_from_child_src",
        "default-src 'self'; child-src 'none'",
        &[
            ("frame-src", "https://vendor.example"),
            ("worker-src", "blob:"),
        ],
    );
    assert!(
        o.text.starts_with("default-src 'self'; child-src 'none';"),
        "child-src itself untouched"
    );
}

#[test]
fn default_src_requirement_is_spread_never_widened() {
    let o = case(
        "default_src_requirement",
        "default-src 'self'; object-src 'none'; img-src *",
        &[("default-src", "https://vendor.example")],
    );
    assert!(o
        .text
        .starts_with("default-src 'self'; object-src 'none'; img-src *;"));
    assert!(codes(&o).contains(&"CSP118"));
}

#[test]
fn non_fetch_directives_only_when_present() {
    let o = case(
        "non_fetch",
        "default-src 'self'; form-action 'self'",
        &[
            ("form-action", "https://vendor.example"),
            ("frame-ancestors", "https://vendor.example"),
            ("base-uri", "'self'"),
        ],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; form-action 'self' https://vendor.example"
    );
}

#[test]
fn every_policy_of_a_list_is_patched() {
    let o = case(
        "policy_list",
        "default-src 'self', script-src 'self' https:, img-src 'none',",
        &[
            ("script-src", "https://vendor.example"),
            ("img-src", "data:"),
        ],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; worker-src 'self'; script-src 'self' https://vendor.example; img-src 'self' data:, script-src 'self' https:, img-src data:,"
    );
}

#[test]
fn new_directives_keep_the_separator_style() {
    let o = case(
        "separator_tight",
        "default-src 'self';img-src 'self';",
        &[("connect-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self';img-src 'self';connect-src 'self' https://vendor.example;"
    );
    let o = case(
        "separator_multiline",
        "default-src 'self';\n    img-src 'self'\n",
        &[("connect-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self';\n    img-src 'self';\n    connect-src 'self' https://vendor.example\n"
    );
    let o = case(
        "separator_trailing_space",
        "default-src 'self'; ",
        &[("font-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "default-src 'self'; font-src 'self' https://vendor.example; "
    );
}

#[test]
fn duplicates_edit_the_first() {
    let o = case(
        "duplicate_first_wins",
        "script-src 'self'; script-src https://vendor.example; worker-src 'self'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "script-src 'self' https://vendor.example; script-src https://vendor.example; worker-src 'self'"
    );
    assert!(codes(&o).contains(&"CSP111"));
}

#[test]
fn strict_dynamic_warns() {
    let o = case(
        "strict_dynamic_covered",
        "script-src 'nonce-abc123' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'",
        &[("script-src", "https://vendor.example")],
    );
    assert!(o.edits.is_empty());
    assert!(codes(&o).contains(&"CSP101"));
    let o = case(
        "strict_dynamic_added",
        "script-src 'nonce-abc123' 'strict-dynamic'",
        &[("script-src", "https://vendor.example")],
    );
    assert_eq!(
        o.text,
        "script-src 'nonce-abc123' 'strict-dynamic' https://vendor.example"
    );
}

#[test]
fn vendor_hash_never_disables_unsafe_inline() {
    let o = case(
        "vendor_hash_refused",
        "script-src 'self' 'unsafe-inline'",
        &[(
            "script-src",
            "'sha256-RFWPLDbv2BY+rCkDzsE+0fr8ylGr2R2faWMhq4lfEQc='",
        )],
    );
    assert!(o.edits.is_empty() && o.refused());
    let o = case(
        "vendor_nonce_added",
        "script-src 'self'",
        &[("script-src", "'nonce-vendor9'")],
    );
    assert_eq!(o.text, "script-src 'self' 'nonce-vendor9'");
}

#[test]
fn ineffective_unsafe_inline_is_not_added() {
    let o = case(
        "unsafe_inline_with_nonce",
        "style-src 'self' 'nonce-abc123'",
        &[("style-src", "'unsafe-inline'")],
    );
    assert!(o.edits.is_empty());
    assert!(codes(&o).contains(&"CSP105"));
    let o = case(
        "unsafe_inline_attr_only",
        "style-src 'nonce-abc123'; style-src-attr 'self'",
        &[("style-src", "'unsafe-inline'")],
    );
    assert_eq!(
        o.text,
        "style-src 'nonce-abc123'; style-src-attr 'self' 'unsafe-inline'"
    );
}

#[test]
fn risky_script_sources_are_named() {
    let o = case(
        "risky_unsafe_inline",
        "script-src 'self'",
        &[("script-src", "'unsafe-inline'")],
    );
    assert_eq!(
        o.text, "script-src 'self' 'unsafe-inline'",
        "no worker pin: inline does not affect loads"
    );
    assert!(codes(&o).contains(&"CSP104"));
    case(
        "risky_wildcards",
        "default-src 'self'",
        &[("script-src", "*"), ("script-src", "data:")],
    );
}

#[test]
fn unrestricted_types_need_nothing() {
    let o = case(
        "unrestricted",
        "img-src 'self'",
        &[
            ("connect-src", "https://vendor.example"),
            ("script-src", "'unsafe-eval'"),
        ],
    );
    assert!(o.edits.is_empty() && o.added.is_empty());
}

#[test]
fn self_and_keywords_from_vendors() {
    case(
        "vendor_self",
        "default-src https://cdn.example; style-src https://cdn.example",
        &[
            ("style-src", "'self'"),
            ("script-src", "'wasm-unsafe-eval'"),
        ],
    );
}

#[test]
fn refusals() {
    let input = "default-src 'self'";
    let requirements = reqs(&[
        ("scirpt-src", "https://vendor.example"),
        ("sandbox", "allow-scripts"),
        ("script-src", "'strict-dynamic'"),
        ("script-src", "https://exa mple.com"),
        ("prefetch-src", "https://vendor.example"),
        ("script-src", "self"),
    ]);
    let o = merge(input, &requirements, &header());
    assert!(o.edits.is_empty() && o.refused());
    let text = render_outcome(input, &requirements, &o);
    common::snapshots("csp").bind(|| insta::assert_snapshot!("merge_refusals", text));
}

#[test]
fn meta_policies_cannot_carry_frame_ancestors() {
    let input = "default-src 'self'; script-src 'self'";
    let requirements = reqs(&[
        ("frame-ancestors", "https://vendor.example"),
        ("script-src", "https://vendor.example"),
    ]);
    let o = merge(
        input,
        &requirements,
        &MergeOptions {
            delivery: Delivery::Meta,
        },
    );
    assert!(o.refused());
    assert!(o.diagnostics.iter().any(|d| d.code == "CSP122"));
    let text = render_outcome(input, &requirements, &o);
    common::snapshots("csp").bind(|| insta::assert_snapshot!("merge_meta_frame_ancestors", text));
}

#[test]
fn non_ascii_policies_are_not_patched() {
    let o = case(
        "non_ascii_refused",
        "default-src 'self'; script-src ‘self’, img-src 'self'",
        &[("img-src", "https://vendor.example")],
    );
    assert!(o.refused());
    assert_eq!(
        o.text,
        "default-src 'self'; script-src ‘self’, img-src 'self' https://vendor.example"
    );
}

// ---- The vendors' own snippets as inputs ----

fn seed(name: &str) -> String {
    std::fs::read_to_string(common::seed(name)).unwrap()
}

const MUSERELAY: &[(&str, &str)] = &[
    ("script-src", "https://muserelay.com"),
    ("connect-src", "https://muserelay.com"),
    ("connect-src", "wss://muserelay.com"),
    ("img-src", "https://muserelay.com"),
    ("img-src", "data:"),
    ("style-src", "https://muserelay.com"),
    ("style-src", "'unsafe-inline'"),
];

#[test]
fn ortto_us_snippet_as_the_site_policy() {
    if !common::have_seeds() {
        return;
    }
    let input = seed("ortto-us.csp");
    let o = case("seed_ortto_us_plus_muserelay", input.trim_end(), MUSERELAY);
    // The remark's comma makes two policies; both are patched.
    assert!(o.added.iter().any(|a| a.policy == 0) && o.added.iter().any(|a| a.policy == 1));
    assert!(codes(&o).contains(&"CSP109") && codes(&o).contains(&"CSP108"));
}

#[test]
fn ortto_custom_domain_snippet() {
    if !common::have_seeds() {
        return;
    }
    let input = seed("ortto-custom-domain-eu.csp");
    let o = case(
        "seed_ortto_eu_custom_domain",
        input.trim_end(),
        &[
            ("script-src", "https://t.example.com"),
            ("connect-src", "https://t.example.com"),
        ],
    );
    assert!(codes(&o).contains(&"CSP112"));
}

#[test]
fn ortto_level3_snippet() {
    if !common::have_seeds() {
        return;
    }
    let input = seed("ortto-level3.csp");
    case(
        "seed_ortto_level3",
        input.trim_end(),
        &[
            ("script-src", "https://cdn2l.ink/"),
            ("style-src", "'unsafe-inline'"),
            ("connect-src", "wss://talk-api.autopilotapp.com/"),
            ("frame-src", "https://*.youtube.com"),
            ("base-uri", "https://vendor.example"),
        ],
    );
}

#[test]
fn ortto_requirements_into_a_strict_site_policy() {
    if !common::have_seeds() {
        return;
    }
    // Ortto's US list (ortto-us.csp without the remark) as vendor requirements.
    let policy = "default-src 'self'; script-src 'self' 'nonce-abc123'; style-src 'self'; object-src 'none'; base-uri 'self'";
    let ortto: Vec<(String, String)> = seed("ortto-us.csp")
        .replace(
            "//If using a custom tracking domain, replace https://cdn2l.ink with your domain ",
            "",
        )
        .split(';')
        .filter_map(|d| {
            let mut w = d.split_whitespace();
            let name = w.next()?.to_string();
            Some(w.map(|s| (name.clone(), s.to_string())).collect::<Vec<_>>())
        })
        .flatten()
        .collect();
    let pairs: Vec<(&str, &str)> = ortto
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let o = case("seed_ortto_into_strict_policy", policy, &pairs);
    assert!(
        codes(&o).contains(&"CSP105"),
        "script-src has a nonce: Ortto's 'unsafe-inline' is useless there"
    );
}
