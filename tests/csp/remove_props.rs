//! `csppatch remove` undoes `csppatch`: for any policy P without the vendor's sources,
//! remove(merge(P, V), V) == P byte for byte; a vendor source P already had (before its own
//! sources) stays, and a CSP124 note names it. The generators produce what real headers hold
//! (fallback chains, 'none', nonces, hashes, 'strict-dynamic', several policies, the separator
//! styles of configs); V is a built-in preset (every region and option) or random requirements.

use csppatch::commands::VendorChoice;
use csppatch::csp::parse::parse;
use csppatch::csp::remove::{look_created, remove};
use csppatch::csp::{merge, Delivery, MergeOptions, Requirement};
use csppatch::vendors::Catalog;
use proptest::prelude::*;

fn source_token() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("'self'"),
        1 => Just("*"),
        2 => Just("https:"),
        2 => Just("data:"),
        2 => Just("blob:"),
        3 => Just("https://cdn.example"),
        1 => Just("*.example"),
        1 => Just("https://site.example/static/"),
        3 => Just("'unsafe-inline'"),
        2 => Just("'unsafe-eval'"),
        2 => Just("'nonce-abc123'"),
        1 => Just("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"),
        2 => Just("'strict-dynamic'"),
        1 => Just("'unsafe-hashes'"),
        1 => Just("'report-sample'"),
    ]
    .prop_map(str::to_string)
}

fn directive() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => Just("default-src"),
        5 => Just("script-src"),
        2 => Just("script-src-elem"),
        1 => Just("script-src-attr"),
        3 => Just("style-src"),
        1 => Just("style-src-elem"),
        1 => Just("style-src-attr"),
        3 => Just("img-src"),
        3 => Just("connect-src"),
        1 => Just("font-src"),
        2 => Just("frame-src"),
        2 => Just("child-src"),
        2 => Just("worker-src"),
        1 => Just("media-src"),
        1 => Just("object-src"),
        1 => Just("form-action"),
        1 => Just("frame-ancestors"),
        1 => Just("upgrade-insecure-requests"),
    ];
    // `'none'` alone (beside other sources it means nothing, and an empty list means
    // `'none'`: see `has_mixed_none`, `has_empty_list`).
    let value = prop_oneof![
        1 => Just(vec!["'none'".to_string()]),
        6 => prop::collection::vec(source_token(), 1..4),
    ];
    (name, value).prop_map(|(name, sources)| {
        let mut d = name.to_string();
        for s in sources {
            d.push(' ');
            d.push_str(&s);
        }
        d
    })
}

fn policy() -> impl Strategy<Value = String> {
    let separator = prop_oneof![Just("; "), Just(";"), Just(" ; "), Just(";\n  ")];
    let trailer = prop_oneof![Just(""), Just(";"), Just("; ")];
    (prop::collection::vec(directive(), 1..6), separator, trailer)
        .prop_map(|(ds, sep, end)| format!("{}{end}", ds.join(sep)))
}

fn policy_list() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => policy(),
        1 => (policy(), policy()).prop_map(|(a, b)| format!("{a}, {b}")),
    ]
}

/// Every preset, in each of its regions, with and without `--nonce`.
fn presets() -> Vec<Vec<Requirement>> {
    let catalog = Catalog::builtin();
    let mut out = Vec::new();
    for v in catalog.vendors() {
        let mut regions: Vec<Option<String>> = vec![None];
        regions.extend(v.region_names().into_iter().map(|r| Some(r.to_string())));
        for region in regions {
            for nonce in [false, true] {
                let choice = VendorChoice {
                    vendors: vec![v.name.clone()],
                    region: region.clone(),
                    custom_domain: v.has_custom_domain().then(|| "t.site.example".to_string()),
                    nonce,
                    ..Default::default()
                };
                if let Ok(r) = choice.requirements() {
                    out.push(r.requirements);
                }
            }
        }
    }
    out
}

fn random_requirements() -> impl Strategy<Value = Vec<Requirement>> {
    let directive = prop_oneof![
        5 => Just("script-src"),
        4 => Just("style-src"),
        3 => Just("img-src"),
        4 => Just("connect-src"),
        1 => Just("font-src"),
        2 => Just("frame-src"),
        1 => Just("child-src"),
        2 => Just("worker-src"),
        2 => Just("default-src"),
        1 => Just("script-src-elem"),
        1 => Just("style-src-attr"),
        1 => Just("form-action"),
        1 => Just("frame-ancestors"),
    ];
    let source = prop_oneof![
        5 => Just("https://vendor.example"),
        2 => Just("https://cdn.vendor.example"),
        2 => Just("https://*.vendor.example"),
        3 => Just("wss://rt.vendor.example"),
        2 => Just("https://vendor.example/widget/"),
        1 => Just("'unsafe-inline'"),
        1 => Just("'unsafe-eval'"),
    ];
    prop::collection::vec((directive, source), 1..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(d, s)| Requirement::new(d, s, "vendorx"))
            .collect()
    })
}

fn vendor() -> impl Strategy<Value = Vec<Requirement>> {
    let all = presets();
    prop_oneof![
        2 => prop::sample::select(all),
        1 => random_requirements(),
    ]
}

/// P holds one of the vendor's sources (any case).
fn has_vendor_source(list: &str, reqs: &[Requirement]) -> bool {
    parse(list)
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .any(|t| reqs.iter().any(|r| r.source.eq_ignore_ascii_case(&t.text)))
}

/// P has a source list with no source (`style-src` alone, meaning `'none'`): remove writes
/// `'none'` back there (it cannot tell a `'none'` the merge replaced from nothing at all).
fn has_empty_list(list: &str) -> bool {
    parse(list)
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .any(|d| d.sources.is_empty() && d.name != "upgrade-insecure-requests")
}

/// P has `'none'` beside other sources (browsers ignore it there, CSP112 says so): the merge
/// replaces that `'none'`, and nothing says where it stood.
fn has_mixed_none(list: &str) -> bool {
    parse(list)
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .any(|d| d.sources.len() > 1 && d.sources.iter().any(|t| t.is_none_keyword()))
}

/// P has a directive whose only source is `'none'`. Once a vendor source is in that
/// directive's fallback too, `remove` cannot tell the `'none'` the merge replaced from a copy of
/// the fallback: `default-src X; connect-src 'none'` and `default-src X; connect-src X` merge to
/// the same `connect-src X Y`, and remove keeps X (the reading that drops nothing P may have
/// had), with a CSP124 note. `remove_undoes_merge` covers lone `'none'` where P holds no vendor
/// source.
fn has_lone_none(list: &str) -> bool {
    parse(list)
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .any(|d| d.sources.len() == 1 && d.sources[0].is_none_keyword())
}

fn header(list: &str, reqs: &[Requirement]) -> String {
    merge(
        list,
        reqs,
        &MergeOptions {
            delivery: Delivery::Header,
        },
    )
    .text
}

/// Cases to run: `PROPTEST_CASES`, else 400.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400)
}

proptest! {
    // About half the generated policies hold a vendor source or another shape a property
    // leaves out (`prop_assume!`): proptest's fixed 1,024 rejects stopped a 5,000-case run
    // with "Too many global rejects" before any property failed, so they scale with the cases.
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_global_rejects: cases().saturating_mul(4).max(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn remove_undoes_merge(p in policy_list(), v in vendor()) {
        prop_assume!(!has_vendor_source(&p, &v) && !has_empty_list(&p) && !has_mixed_none(&p));
        let merged = header(&p, &v);
        let out = remove(&merged, &v, &[]);
        let alike = look_created(&p);
        if alike.is_empty() {
            prop_assert_eq!(&out.outcome.text, &p, "merged: {}", merged);
        } else {
            // A directive of P that says what a created copy would say: remove cannot tell
            // it from one csppatch created; it is the only thing that may go.
            let (a, b) = (parse(&p), parse(&out.outcome.text));
            prop_assert_eq!(a.policies.len(), b.policies.len());
            for (pa, pb) in a.policies.iter().zip(&b.policies) {
                for d in pa.directives.iter().filter(|d| d.is_effective()) {
                    match pb.get(&d.name) {
                        Some(e) => prop_assert_eq!(e.values(), d.values(), "{} in {}", d.name, out.outcome.text),
                        None => prop_assert!(alike.contains(&(pa.index, d.name.clone())),
                            "{} went from {}: {}", d.name, p, out.outcome.text),
                    }
                }
            }
        }
        if merged != p {
            prop_assert!(out.source_count() > 0);
        }
    }

    /// A vendor source P had before its own sources stays, and is named.
    #[test]
    fn sources_p_had_are_kept(p in policy_list(), v in vendor(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!has_vendor_source(&p, &v) && !has_empty_list(&p) && !has_mixed_none(&p));
        prop_assume!(look_created(&p).is_empty() && !has_lone_none(&p));
        // Put the vendor's first URL source at the front of a directive that has sources.
        let list = parse(&p);
        let slots: Vec<usize> = list.policies.iter().flat_map(|pol| &pol.directives)
            .filter(|d| d.is_effective() && !d.sources.is_empty() && d.sources.iter().all(|t| !t.is_none_keyword()))
            .map(|d| d.sources[0].span.start)
            .collect();
        prop_assume!(!slots.is_empty());
        let Some(req) = v.iter().find(|r| r.source.contains("://") && !r.directive.ends_with("-attr")) else { return Ok(()); };
        let at = slots[pick.index(slots.len())];
        let had = format!("{}{} {}", &p[..at], req.source, &p[at..]);
        prop_assume!(look_created(&had).is_empty());
        let merged = header(&had, &v);
        let out = remove(&merged, &v, &[]);
        prop_assert_eq!(&out.outcome.text, &had, "merged: {}", merged);
        prop_assert!(out.outcome.diagnostics.iter().any(|d| d.code == "CSP124" && d.message.contains(&req.source)),
            "{:?}", out.outcome.diagnostics);
    }
}

#[test]
fn the_readme_example_round_trips() {
    let p = "default-src 'self'; script-src 'self' https://cdn.example.com; img-src 'self' data:; frame-ancestors 'none'";
    let v = VendorChoice {
        vendors: vec!["muserelay".into()],
        ..Default::default()
    }
    .requirements()
    .unwrap()
    .requirements;
    let merged = header(p, &v);
    assert_ne!(merged, p);
    let out = remove(&merged, &v, &[]);
    assert_eq!(out.outcome.text, p);
}

/// Found by `sources_p_had_are_kept`: the merge pinned `worker-src` to what `script-src` had
/// allowed (`https://x.example`, from default-src), which is also the vendor's worker source;
/// removing the vendor took that source out and left `worker-src 'none'` behind instead of
/// dropping the pin.
#[test]
fn a_pin_holding_a_vendor_source_copied_from_its_fallback_goes_with_the_vendor() {
    let p = "default-src https://x.example 'unsafe-inline'";
    let v = VendorChoice {
        allow: vec![
            "worker-src https://x.example".into(),
            "script-src https://y.example".into(),
        ],
        ..Default::default()
    }
    .requirements()
    .unwrap()
    .requirements;
    let merged = header(p, &v);
    assert!(merged.contains("worker-src https://x.example"), "{merged}");
    let out = remove(&merged, &v, &[]);
    assert_eq!(out.outcome.text, p, "merged: {merged}");
}

/// Found by `PROPTEST_CASES=20000` (`sources_p_had_are_kept`): for `child-src`, the merge
/// creates `frame-src` and `worker-src` from `default-src`, then `script-src` (worker-src's
/// nearer fallback) after them; remove took `script-src` for worker-src's fallback, found no
/// copy at worker-src's start, took the copied vendor source for the vendor's own, and left
/// `worker-src 'none'` behind (and `frame-src` with it).
#[test]
fn a_copy_made_before_a_nearer_fallback_was_created_is_still_a_copy() {
    let had = "default-src https://cdn.vendor.example 'strict-dynamic'";
    let v = [
        Requirement::new("child-src", "https://cdn.vendor.example", "vendorx"),
        Requirement::new("child-src", "https://vendor.example", "vendorx"),
    ];
    let merged = header(had, &v);
    assert!(
        merged.contains("worker-src") && merged.find("worker-src") < merged.find("script-src"),
        "the case needs worker-src created before script-src: {merged}"
    );
    let out = remove(&merged, &v, &[]);
    assert_eq!(out.outcome.text, had, "merged: {merged}");
}
