//! `--vendor`, `--region`, `--custom-domain`, nonce mode and `--allow`: what they resolve to
//! and every way they are refused.
use csppatch::csp::Requirement;
use csppatch::diag::Severity;
use csppatch::vendors::{parse_allow, Catalog, Selection, ALLOW_VENDOR};

fn vendors(names: &[&str]) -> Selection {
    Selection {
        vendors: names.iter().map(|n| n.to_string()).collect(),
        ..Selection::default()
    }
}

fn req(directive: &str, source: &str) -> Requirement {
    Requirement {
        directive: directive.into(),
        source: source.into(),
        vendor: ALLOW_VENDOR.into(),
    }
}

#[test]
fn allow_parses_directive_and_sources() {
    assert_eq!(
        parse_allow(
            "connect-src wss://chat.example.com https://chat.example.com",
            false
        )
        .unwrap(),
        [
            req("connect-src", "wss://chat.example.com"),
            req("connect-src", "https://chat.example.com")
        ]
    );
    // Directive names are case-insensitive; extra spaces and tabs separate like in a policy.
    assert_eq!(
        parse_allow("  IMG-SRC\tdata:  'self' data: ", false).unwrap(),
        [req("img-src", "data:"), req("img-src", "'self'")]
    );
    assert_eq!(
        parse_allow("connect-src ws://localhost:3000", true).unwrap(),
        [req("connect-src", "ws://localhost:3000")]
    );
}

#[test]
fn allow_errors_say_what_to_write() {
    let cases = [
        ("", "VND715", "--allow '': it is empty"),
        ("connect-src", "VND715", "--allow 'connect-src': it names the directive connect-src but no source"),
        (
            "connect-src wss://a.example; img-src data:",
            "VND715",
            "--allow 'connect-src wss://a.example; img-src data:': it holds `;`: give one directive per --allow and repeat --allow for each",
        ),
        (
            "https://a.example",
            "VND715",
            "--allow 'https://a.example': it starts with the source `https://a.example`; put the directive first",
        ),
        ("'self' script-src", "VND715", "--allow ''self' script-src': it starts with the source `'self'`; put the directive first"),
        (
            "conect-src wss://a.example",
            "VND703",
            "--allow 'conect-src wss://a.example': `conect-src` is not a CSP directive; did you mean `connect-src`?",
        ),
        ("default-src https://a.example", "VND703", "--allow 'default-src https://a.example': `default-src` cannot take a vendor source: csppatch never widens default-src"),
        (
            "connect-src https://*.ingest.*.sentry.io",
            "VND702",
            "--allow 'connect-src https://*.ingest.*.sentry.io': `https://*.ingest.*.sentry.io` is not a valid CSP source: a wildcard is only allowed as the leftmost label (`*.example.com`)",
        ),
        ("script-src unsafe-inline", "VND702", "--allow 'script-src unsafe-inline': `unsafe-inline` is not a valid CSP source: a keyword must be quoted: 'unsafe-inline'"),
        ("img-src http:", "VND702", "--allow 'img-src http:': `http:` is not a valid CSP source: http: is unencrypted; pass --allow-insecure if you really mean it"),
        ("script-src 'strict-dynamic'", "VND704", "--allow 'script-src 'strict-dynamic'': `'strict-dynamic'` is not a vendor requirement"),
    ];
    for (text, code, start) in cases {
        let e = parse_allow(text, false).unwrap_err();
        assert_eq!(e.code, code, "{text}");
        assert!(
            e.message.starts_with(start),
            "{text}:\n  got  {}\n  want {start}",
            e.message
        );
        assert!(e.location.is_none());
    }
    // Shape errors carry the syntax as help.
    let e = parse_allow("connect-src", false).unwrap_err();
    assert!(e
        .help
        .unwrap()
        .contains("--allow 'connect-src wss://chat.example.com'"));
}

#[test]
fn allow_goes_after_the_vendors_and_errors_are_all_reported() {
    let catalog = Catalog::builtin();
    let resolved = catalog
        .requirements(&Selection {
            allow: vec!["connect-src wss://extra.example.com".into()],
            ..vendors(&["turnstile"])
        })
        .unwrap();
    let last = resolved.requirements.last().unwrap();
    assert_eq!(
        (last.vendor.as_str(), last.source.as_str()),
        ("--allow", "wss://extra.example.com")
    );

    let errors = catalog
        .requirements(&Selection {
            allow: vec!["connect-src".into(), "img-src ftp:".into()],
            ..vendors(&["intercomm", "turnstile"])
        })
        .unwrap_err();
    let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
    assert_eq!(codes, ["VND710", "VND715"], "{errors:#?}");
}

#[test]
fn an_unknown_vendor_lists_the_known_ones_and_suggests_the_closest() {
    let errors = Catalog::builtin()
        .requirements(&vendors(&["intercomm"]))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "VND710");
    assert_eq!(
        errors[0].message,
        "unknown vendor `intercomm`; did you mean `intercom`?"
    );
    assert_eq!(
        errors[0].help.as_deref(),
        Some("known vendors: crisp, customerio, front, gtm, hcaptcha, helpscout, intercom, muserelay, ocelot, ortto, plausible, recaptcha, stripe, turnstile, zendesk (`csppatch vendors` lists them; --vendors-file adds your own)")
    );
    let errors = Catalog::builtin()
        .requirements(&vendors(&["salesforce"]))
        .unwrap_err();
    assert_eq!(errors[0].message, "unknown vendor `salesforce`");
}

#[test]
fn vendor_names_are_case_insensitive_and_repeats_count_once() {
    let catalog = Catalog::builtin();
    let once = catalog.requirements(&vendors(&["turnstile"])).unwrap();
    let twice = catalog
        .requirements(&vendors(&["Turnstile", "turnstile"]))
        .unwrap();
    assert_eq!(once, twice);
    assert_eq!(once.requirements.len(), 2);
}

#[test]
fn several_vendors_keep_their_own_requirements_in_order() {
    let r = Catalog::builtin()
        .requirements(&vendors(&["turnstile", "plausible"]))
        .unwrap();
    let got: Vec<String> = r
        .requirements
        .iter()
        .map(|r| format!("{} {} {}", r.vendor, r.directive, r.source))
        .collect();
    assert_eq!(
        got,
        [
            "turnstile script-src https://challenges.cloudflare.com",
            "turnstile frame-src https://challenges.cloudflare.com",
            "plausible script-src https://plausible.io",
            "plausible connect-src https://plausible.io",
        ]
    );
    assert_eq!(r.diagnostics.len(), 1, "plausible is unverified");
    assert_eq!(r.diagnostics[0].code, "VND716");
    assert_eq!(r.diagnostics[0].severity, Severity::Warning);
}

#[test]
fn regions() {
    let catalog = Catalog::builtin();
    // A region the vendor lacks is an error that lists the ones it has.
    let e = catalog
        .requirements(&Selection {
            region: Some("au".into()),
            ..vendors(&["customerio"])
        })
        .unwrap_err();
    assert_eq!(e[0].code, "VND711");
    assert_eq!(
        e[0].message,
        "customerio has no region `au`; its regions are us (default), eu"
    );
    // A vendor without regions gets a note, and its sources.
    let r = catalog
        .requirements(&Selection {
            region: Some("EU".into()),
            ..vendors(&["crisp", "intercom"])
        })
        .unwrap();
    // (Intercom's EU image hosts are unverified: a VND716 warning, not about regions.)
    let notes: Vec<_> = r
        .diagnostics
        .iter()
        .filter(|d| d.code != "VND716")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].code, "VND712");
    assert_eq!(notes[0].severity, Severity::Note);
    assert_eq!(
        notes[0].message,
        "crisp has no regional variants; --region eu does not change its sources"
    );
    assert!(r
        .requirements
        .iter()
        .any(|q| q.source == "wss://nexus-europe-websocket.intercom.io"));
    // Without --region each vendor uses its default.
    let us = catalog.requirements(&vendors(&["customerio"])).unwrap();
    assert!(us
        .requirements
        .iter()
        .any(|q| q.source == "https://track.customer.io"));
    assert!(!us
        .requirements
        .iter()
        .any(|q| q.source.contains("track-eu")));
    let eu = catalog
        .requirements(&Selection {
            region: Some("eu".into()),
            ..vendors(&["customerio"])
        })
        .unwrap();
    assert!(eu
        .requirements
        .iter()
        .any(|q| q.source == "https://track-eu.customer.io"));
    assert!(!eu
        .requirements
        .iter()
        .any(|q| q.source == "https://track.customer.io"));
}

#[test]
fn custom_domain_is_a_host_and_only_for_vendors_that_take_it() {
    let catalog = Catalog::builtin();
    for (bad, why) in [
        ("https://track.example.com/", "it is a URL"),
        ("track.example.com:443", "':' is not allowed"),
        ("*.example.com", "'*' is not allowed"),
        ("localhost", "a tracking domain has at least two labels"),
        ("track example.com", "' ' is not allowed"),
    ] {
        let e = catalog
            .requirements(&Selection {
                custom_domain: Some(bad.into()),
                ..vendors(&["ortto"])
            })
            .unwrap_err();
        assert_eq!(e[0].code, "VND713", "{bad}");
        assert!(
            e[0].message.starts_with(&format!(
                "--custom-domain `{bad}` is not a host name: {why}"
            )),
            "{}",
            e[0].message
        );
    }
    let e = catalog
        .requirements(&Selection {
            custom_domain: Some("track.example.com".into()),
            ..vendors(&["intercom", "crisp"])
        })
        .unwrap_err();
    assert_eq!(e[0].code, "VND714");
    assert_eq!(
        e[0].message,
        "--custom-domain does not apply to intercom, crisp: no selected vendor has a custom tracking domain"
    );
    assert_eq!(
        e[0].help.as_deref(),
        Some("it is for ortto; remove --custom-domain or select one of them")
    );
    // With ortto among others it applies to ortto only.
    let r = catalog
        .requirements(&Selection {
            custom_domain: Some("track.example.com".into()),
            ..vendors(&["ortto", "turnstile"])
        })
        .unwrap();
    assert!(r.diagnostics.is_empty());
    let hosts: Vec<&str> = r
        .requirements
        .iter()
        .filter(|q| q.source.contains("track.example.com"))
        .map(|q| q.vendor.as_str())
        .collect();
    assert_eq!(hosts, ["ortto"; 4]);
}

#[test]
fn nonce_mode_notes_vendors_without_one() {
    let r = Catalog::builtin()
        .requirements(&Selection {
            nonce: true,
            ..vendors(&["intercom", "muserelay", "front"])
        })
        .unwrap();
    assert!(r
        .requirements
        .iter()
        .all(|q| q.vendor != "intercom" || q.directive != "script-src"));
    assert!(r
        .requirements
        .iter()
        .any(|q| q.vendor == "muserelay" && q.directive == "script-src"));
    let notes: Vec<&str> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "VND718")
        .map(|d| d.message.as_str())
        .collect();
    // intercom and front have a nonce mode, so nothing to say about them.
    assert_eq!(
        notes,
        ["muserelay documents no nonce mode, so its script-src sources are added as usual"]
    );
}

#[test]
fn an_empty_selection_needs_nothing() {
    let r = Catalog::builtin()
        .requirements(&Selection::default())
        .unwrap();
    assert!(r.requirements.is_empty() && r.diagnostics.is_empty());
}
