//! Property tests over generated policy lists and vendor requirements.
//!
//! The generators produce what real headers contain: default-src-only policies, fallback chains
//! (script-src/-elem/-attr, child-src/worker-src/frame-src), 'none' and empty directives,
//! duplicates, several comma-separated policies, nonces, hashes, 'strict-dynamic', wildcards,
//! mixed-case names and the separator styles found in configs. Every merge goes through
//! `check_merge`: edits give the text, untouched directives stay byte-identical, a second merge
//! changes nothing, every requirement is allowed afterwards, and no other (request, URL) pair of
//! the probe set changes verdict, in CSP3 browsers, in browsers without -elem/-attr, and in
//! Servo's crate (which must also agree with our evaluator on every probe).
use crate::csp_support;

use csp_support::{check_merge, inline_digest, PAGE};
use csppatch::csp::matching::{url_matches_expression, url_matches_list, Origin};
use csppatch::csp::parse::parse;
use csppatch::csp::source::{covers, Source};
use csppatch::csp::Requirement;
use proptest::prelude::*;

fn hash_token() -> String {
    format!("'sha256-{}'", inline_digest())
}

fn source_token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("'self'".to_string()),
        3 => Just("'none'".to_string()),
        2 => Just("*".to_string()),
        2 => Just("https:".to_string()),
        1 => Just("http:".to_string()),
        2 => Just("data:".to_string()),
        2 => Just("blob:".to_string()),
        1 => Just("wss:".to_string()),
        1 => Just("mediastream:".to_string()),
        3 => Just("https://cdn.example".to_string()),
        1 => Just("cdn.example".to_string()),
        1 => Just("*.example".to_string()),
        2 => Just("https://*.vendor.example".to_string()),
        2 => Just("https://vendor.example".to_string()),
        1 => Just("https://vendor.example:8443".to_string()),
        1 => Just("https://vendor.example:*".to_string()),
        2 => Just("https://vendor.example/widget/".to_string()),
        1 => Just("https://vendor.example/widget/x.js".to_string()),
        1 => Just("wss://vendor.example".to_string()),
        1 => Just("http://legacy.example".to_string()),
        1 => Just("ws://sock.example".to_string()),
        1 => Just("https://site.example".to_string()),
        3 => Just("'unsafe-inline'".to_string()),
        2 => Just("'unsafe-eval'".to_string()),
        1 => Just("'wasm-unsafe-eval'".to_string()),
        2 => Just("'nonce-abc123'".to_string()),
        1 => Just(hash_token()),
        2 => Just("'strict-dynamic'".to_string()),
        1 => Just("'unsafe-hashes'".to_string()),
        1 => Just("'report-sample'".to_string()),
        1 => Just("<customdomain>".to_string()),
    ]
}

fn directive_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("default-src"),
        5 => Just("script-src"),
        2 => Just("script-src-elem"),
        2 => Just("script-src-attr"),
        3 => Just("style-src"),
        1 => Just("style-src-elem"),
        2 => Just("style-src-attr"),
        3 => Just("img-src"),
        3 => Just("connect-src"),
        1 => Just("font-src"),
        2 => Just("frame-src"),
        2 => Just("child-src"),
        2 => Just("worker-src"),
        1 => Just("media-src"),
        2 => Just("object-src"),
        1 => Just("manifest-src"),
        1 => Just("form-action"),
        1 => Just("base-uri"),
        1 => Just("frame-ancestors"),
        1 => Just("upgrade-insecure-requests"),
        1 => Just("x-unknown"),
    ]
    .prop_flat_map(|name| {
        // Directive names are case-insensitive: sometimes shout them.
        prop_oneof![4 => Just(name.to_string()), 1 => Just(name.to_ascii_uppercase())]
    })
}

fn directive() -> impl Strategy<Value = String> {
    (
        directive_name(),
        prop::collection::vec(source_token(), 0..4),
    )
        .prop_map(|(name, sources)| {
            let mut d = name;
            for s in sources {
                d.push(' ');
                d.push_str(&s);
            }
            d
        })
}

fn policy() -> impl Strategy<Value = String> {
    let separator = prop_oneof![
        Just("; "),
        Just(";"),
        Just(" ; "),
        Just(";\n  "),
        Just("; ;")
    ];
    let trailer = prop_oneof![Just(""), Just(";"), Just(" "), Just("; ")];
    let general = (prop::collection::vec(directive(), 1..6), separator, trailer)
        .prop_map(|(ds, sep, end)| format!("{}{end}", ds.join(sep)));
    let default_only = prop::collection::vec(source_token(), 0..4).prop_map(|sources| {
        format!("default-src {}", sources.join(" "))
            .trim_end()
            .to_string()
    });
    prop_oneof![3 => general, 1 => default_only]
}

pub(crate) fn policy_list() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(policy(), 1..3),
        prop_oneof![Just(", "), Just(",")],
    )
        .prop_map(|(ps, sep)| ps.join(sep))
}

fn requirement() -> impl Strategy<Value = (String, String)> {
    let directive = prop_oneof![
        5 => Just("script-src"),
        4 => Just("style-src"),
        3 => Just("img-src"),
        4 => Just("connect-src"),
        1 => Just("font-src"),
        2 => Just("frame-src"),
        2 => Just("child-src"),
        2 => Just("worker-src"),
        1 => Just("media-src"),
        2 => Just("default-src"),
        1 => Just("script-src-elem"),
        1 => Just("script-src-attr"),
        1 => Just("style-src-elem"),
        1 => Just("style-src-attr"),
        1 => Just("form-action"),
        1 => Just("frame-ancestors"),
        1 => Just("manifest-src"),
    ];
    let source = prop_oneof![
        5 => Just("https://vendor.example".to_string()),
        2 => Just("https://cdn.vendor.example".to_string()),
        2 => Just("https://*.vendor.example".to_string()),
        3 => Just("wss://rt.vendor.example".to_string()),
        2 => Just("https://vendor.example/widget/".to_string()),
        2 => Just("data:".to_string()),
        2 => Just("blob:".to_string()),
        1 => Just("mediastream:".to_string()),
        2 => Just("'self'".to_string()),
        3 => Just("'unsafe-inline'".to_string()),
        2 => Just("'unsafe-eval'".to_string()),
        1 => Just("'nonce-vendor9'".to_string()),
        1 => Just(hash_token()),
        2 => Just("https://cdn.example".to_string()),
    ];
    (directive, source).prop_map(|(d, s)| (d.to_string(), s))
}

pub(crate) fn requirements() -> impl Strategy<Value = Vec<Requirement>> {
    prop::collection::vec(requirement(), 1..5).prop_map(|pairs| {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (d, s))| Requirement::new(d, s, &format!("v{i}x")))
            .collect()
    })
}

proptest! {
    // 400 cases by default; PROPTEST_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(400),
        // Failures print the minimal case; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn merge_keeps_every_invariant(
        list in policy_list(),
        reqs in requirements(),
        origin in prop_oneof![4 => Just(PAGE), 1 => Just("http://site.example")],
    ) {
        check_merge(&list, &reqs, origin);
    }

    /// `covers` is sound against the spec evaluator: whatever URL the vendor source matches,
    /// the list matches too, on http and https pages.
    #[test]
    fn covers_is_sound(
        list in prop::collection::vec(source_token(), 0..4),
        (_, vendor) in requirement(),
    ) {
        let Ok(vendor) = Source::parse(&vendor) else { return Ok(()) };
        let sources: Vec<Source> = list.iter().filter_map(|t| Source::parse(t).ok()).collect();
        if !covers(&sources, &vendor) {
            return Ok(());
        }
        let tokens = parse(&format!("img-src {}", list.join(" "))).policies[0].directives[0].sources.clone();
        for page in ["https://site.example", "http://site.example"] {
            let origin = Origin::parse(page).unwrap();
            for url in csp_support::PROBE_URLS {
                let url = url::Url::parse(url).unwrap();
                if url_matches_expression(&url, &vendor, &origin, 0) {
                    prop_assert!(
                        url_matches_list(&url, &tokens, &origin, 0),
                        "{list:?} said to cover {vendor} but misses {url} on {page}"
                    );
                }
            }
        }
    }
}

/// Guards the property test against going vacuous: the generators must keep producing merges
/// that edit, create, pin, patch later policies, and hit the interesting diagnostics.
#[test]
fn generators_exercise_the_merge() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut edited, mut created, mut pinned, mut later_policy) = (0, 0, 0, 0);
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..1000 {
        let list = policy_list().new_tree(&mut runner).unwrap().current();
        let reqs = requirements().new_tree(&mut runner).unwrap().current();
        let o = csppatch::csp::merge(&list, &reqs, &csp_support::header());
        edited += usize::from(!o.edits.is_empty());
        created += usize::from(o.added.iter().any(|a| a.created));
        pinned += usize::from(!o.pins.is_empty());
        later_policy += usize::from(o.added.iter().any(|a| a.policy > 0));
        codes.extend(o.diagnostics.iter().map(|d| d.code));
    }
    assert!(
        edited > 500 && created > 200 && pinned > 100 && later_policy > 200,
        "{edited} {created} {pinned} {later_policy}"
    );
    for code in [
        "CSP101", "CSP103", "CSP104", "CSP105", "CSP111", "CSP116", "CSP117", "CSP118", "CSP119",
    ] {
        assert!(codes.contains(code), "generators never reach {code}");
    }
    assert!(
        !codes.contains("CSP120"),
        "a generated merge was impossible"
    );
}
