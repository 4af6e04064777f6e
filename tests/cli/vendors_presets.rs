//! The built-in presets: they load, every source is valid, and they say what the vendors'
//! published documents say (the seed snippets and vendors-reference.md are the oracles).
use crate::common;

use std::collections::BTreeSet;

use csppatch::csp::source::parse_vendor_source;
use csppatch::csp::Requirement;
use csppatch::vendors::{Catalog, Resolved, Selection};

fn select(vendor: &str) -> Selection {
    Selection {
        vendors: vec![vendor.to_string()],
        ..Selection::default()
    }
}

fn resolve(sel: &Selection) -> Resolved {
    Catalog::builtin()
        .requirements(sel)
        .unwrap_or_else(|e| panic!("{sel:?}: {e:#?}"))
}

/// Requirements grouped by directive, in first-appearance order, then the diagnostics:
/// the shape a reviewer compares with the vendor's page.
fn render(resolved: &Resolved) -> String {
    let mut directives: Vec<&str> = Vec::new();
    for r in &resolved.requirements {
        if !directives.contains(&r.directive.as_str()) {
            directives.push(&r.directive);
        }
    }
    let mut out = String::new();
    for d in directives {
        let sources: Vec<String> = resolved
            .requirements
            .iter()
            .filter(|r| r.directive == d)
            .map(|r| format!("{} ({})", r.source, r.vendor))
            .collect();
        out.push_str(&format!("{d}:\n  {}\n", sources.join("\n  ")));
    }
    for diag in &resolved.diagnostics {
        out.push_str(&format!(
            "{} {}: {}\n",
            diag.severity, diag.code, diag.message
        ));
    }
    out
}

/// directive -> set of sources.
fn as_sets(reqs: &[Requirement]) -> BTreeSet<(String, String)> {
    reqs.iter()
        .map(|r| (r.directive.clone(), r.source.clone()))
        .collect()
}

/// A published policy (one of the seed snippets) as (directive, source) pairs.
fn published(policy: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for segment in policy.split(';') {
        let mut segment = segment.trim();
        // ortto-us.csp carries Ortto's inline `//If using a custom tracking domain, replace
        // https://cdn2l.ink with your domain` remark before `style-src`: it is prose, not policy.
        if segment.starts_with("//") {
            segment = &segment[segment.find("style-src").expect("remark before style-src")..];
        }
        let mut words = segment.split_ascii_whitespace();
        let Some(name) = words.next() else { continue };
        for w in words {
            out.insert((name.to_string(), w.to_string()));
        }
    }
    out
}

#[test]
fn every_source_of_every_preset_is_valid_without_allow_insecure() {
    let catalog = Catalog::builtin();
    assert!(catalog.vendors().len() >= 15, "all presets are shipped");
    for v in catalog.vendors() {
        let mut n = 0;
        for (directive, source) in v.all_sources() {
            parse_vendor_source(source, false)
                .unwrap_or_else(|e| panic!("{}: {directive}: {e}", v.name));
            n += 1;
        }
        assert!(n > 0, "{} has sources", v.name);
        if v.verified {
            assert!(
                v.source_url.is_some()
                    || v.notes
                        .as_deref()
                        .is_some_and(|n| n.contains("no public URL recorded")),
                "{}: a verified preset says where its list comes from",
                v.name
            );
        }
    }
    for name in ["stripe", "plausible"] {
        assert!(!catalog.get(name).unwrap().verified, "{name} is unverified");
    }
}

#[test]
fn every_region_of_every_preset_resolves() {
    let catalog = Catalog::builtin();
    for v in catalog.vendors() {
        let regions: Vec<Option<String>> = if v.region_names().is_empty() {
            vec![None]
        } else {
            v.region_names()
                .iter()
                .map(|r| Some(r.to_string()))
                .collect()
        };
        for region in regions {
            let sel = Selection {
                region,
                ..select(&v.name)
            };
            let resolved = catalog.requirements(&sel).unwrap();
            assert!(!resolved.requirements.is_empty());
            assert!(resolved.requirements.iter().all(|r| r.vendor == v.name));
        }
    }
}

#[test]
fn ortto_us_is_the_published_us_policy() {
    if !common::have_seeds() {
        return;
    }
    let seed = std::fs::read_to_string(common::seed("ortto-us.csp")).unwrap();
    assert_eq!(
        as_sets(&resolve(&select("ortto")).requirements),
        published(&seed)
    );
}

#[test]
fn ortto_custom_domain_eu_is_the_published_policy() {
    if !common::have_seeds() || !common::have_shared("vendors-reference.md") {
        return;
    }
    let host = "track.example.com";
    let sel = Selection {
        region: Some("eu".into()),
        custom_domain: Some(host.into()),
        ..select("ortto")
    };
    let got = as_sets(&resolve(&sel).requirements);
    let seed = std::fs::read_to_string(common::seed("ortto-custom-domain-eu.csp")).unwrap();
    let from_seed: BTreeSet<(String, String)> = published(&seed)
        .into_iter()
        .map(|(d, s)| (d, s.replace("<customdomain>", host)))
        .collect();
    assert_eq!(got, from_seed);

    // The same, written out by hand from vendors-reference.md ("media-src and script-src use
    // <customdomain> in place of https://cdn2l.ink/; style-src and connect-src use
    // https://<customdomain> in place of https://capture-api.ap3prod.com/"; EU: m.eu. and
    // talk-api.eu. hosts, no https://*.youtube.com in connect-src).
    let by_hand: BTreeSet<(String, String)> = [
        ("font-src", "https://m.eu.autopilotapp.com/"),
        ("font-src", "https://fonts.gstatic.com/"),
        ("img-src", "https://m.eu.autopilotapp.com/"),
        ("img-src", "https://*.gyazo.com"),
        ("img-src", "https://*.ytimg.com"),
        ("media-src", "track.example.com"),
        ("media-src", "mediastream:"),
        ("script-src", "track.example.com"),
        ("script-src", "'unsafe-inline'"),
        ("script-src", "blob:"),
        ("style-src", "'self'"),
        ("style-src", "https://track.example.com"),
        ("style-src", "https://fonts.googleapis.com/"),
        ("style-src", "'unsafe-inline'"),
        ("frame-src", "https://*.youtube.com"),
        ("frame-src", "https://*.spotify.com"),
        ("connect-src", "https://track.example.com"),
        ("connect-src", "https://talk-api.eu.autopilotapp.com/"),
        ("connect-src", "wss://talk-api.eu.autopilotapp.com/"),
        ("connect-src", "wss://global.vss.twilio.com/"),
        ("connect-src", "wss://sdkgw.us1.twilio.com/"),
    ]
    .into_iter()
    .map(|(d, s)| (d.to_string(), s.to_string()))
    .collect();
    assert_eq!(got, by_hand);
}

#[test]
fn ortto_nonce_mode_adds_nothing_to_script_src_and_keeps_the_rest() {
    if !common::have_seeds() {
        return;
    }
    let plain = as_sets(&resolve(&select("ortto")).requirements);
    let nonce = resolve(&Selection {
        nonce: true,
        ..select("ortto")
    });
    assert!(nonce.diagnostics.is_empty(), "{:?}", nonce.diagnostics);
    let expected: BTreeSet<_> = plain
        .into_iter()
        .filter(|(d, _)| d != "script-src")
        .collect();
    assert_eq!(as_sets(&nonce.requirements), expected);
    // The Level 3 policy needs the nonce on the script, never a host.
    let level3 = std::fs::read_to_string(common::seed("ortto-level3.csp")).unwrap();
    assert!(level3.contains("'strict-dynamic'"));
}

#[test]
fn nonce_mode_keeps_unsafe_eval() {
    // customerio documents no nonce mode: its script-src stays, with a note.
    let cio = resolve(&Selection {
        nonce: true,
        ..select("customerio")
    });
    assert!(cio
        .requirements
        .iter()
        .any(|r| r.directive == "script-src" && r.source == "'unsafe-eval'"));
    assert_eq!(cio.diagnostics[0].code, "VND718");
    // gtm has a nonce mode: neither its host nor 'unsafe-inline' is added to script-src.
    let gtm = resolve(&Selection {
        nonce: true,
        ..select("gtm")
    });
    assert!(gtm.requirements.iter().all(|r| r.directive != "script-src"));
    // img-src www.googletagmanager.com; connect-src www.googletagmanager.com www.google.com.
    assert_eq!(gtm.requirements.len(), 3);
}

#[test]
fn ocelot_is_the_complete_support_article_list() {
    // From https://support.ocelotbot.com/support/solutions/articles/64000260125 as quoted in
    // vendors-reference.md; it includes the product document's two.
    let expected: BTreeSet<(String, String)> = [
        ("connect-src", "wss://ai.ocelotbot.com"),
        ("connect-src", "https://ai.ocelotbot.com"),
        ("font-src", "https://fonts.gstatic.com"),
        ("frame-src", "https://embed.ocelotbot.com"),
        ("img-src", "https://id.ocelotbot.com"),
        ("style-src", "https://ai.ocelotbot.com"),
        ("style-src", "https://fonts.googleapis.com"),
        ("style-src", "'unsafe-inline'"),
        ("script-src", "https://ai.ocelotbot.com"),
    ]
    .into_iter()
    .map(|(d, s)| (d.to_string(), s.to_string()))
    .collect();
    assert_eq!(as_sets(&resolve(&select("ocelot")).requirements), expected);
}

#[test]
fn muserelay_has_the_websocket() {
    let reqs = as_sets(&resolve(&select("muserelay")).requirements);
    assert!(reqs.contains(&("connect-src".into(), "wss://muserelay.com".into())));
    assert!(!reqs.iter().any(|(_, s)| s.starts_with("ws:")));
    assert_eq!(reqs.len(), 7);
}

#[test]
fn zendesk_has_no_invalid_sentry_source_and_never_default_src() {
    let catalog = Catalog::builtin();
    let z = catalog.get("zendesk").unwrap();
    // The page's `https://*.ingest.*.sentry.io` is invalid; the one Sentry host Zendesk
    // names (on its Classic widget page) is there instead.
    assert!(z.all_sources().all(|(_, s)| !s.contains("*.ingest.")));
    assert!(z
        .all_sources()
        .any(|(d, s)| d == "connect-src" && s == "https://zendesk-eu.my.sentry.io"));
    for v in catalog.vendors() {
        assert!(v
            .all_sources()
            .all(|(d, _)| d != "default-src" && d != "child-src"));
    }
    // The page's wss hosts reach connect-src.
    let reqs = as_sets(&resolve(&select("zendesk")).requirements);
    for wss in [
        "wss://*.zendesk.com",
        "wss://api.smooch.io",
        "wss://voice-js.roaming.twilio.com",
    ] {
        assert!(reqs.contains(&("connect-src".into(), wss.into())), "{wss}");
    }
}

#[test]
fn crisp_lists_the_fallback_relay_the_wildcard_misses() {
    // Oracle: servo's CSP implementation (content-security-policy crate) on the relay URLs.
    use content_security_policy::{
        CheckResult, CspList, Destination, Initiator, Origin, ParserMetadata, PolicyDisposition,
        PolicySource, Request, Url,
    };
    let allowed = |policy: &str, url: &str| {
        let list = CspList::parse(policy, PolicySource::Header, PolicyDisposition::Enforce);
        let request = Request {
            url: Url::parse(url).unwrap(),
            origin: Origin::Tuple(
                "https".into(),
                url::Host::Domain("site.example".into()),
                443,
            ),
            redirect_count: 0,
            destination: Destination::None,
            initiator: Initiator::None,
            nonce: String::new(),
            integrity_metadata: String::new(),
            parser_metadata: ParserMetadata::None,
        };
        list.should_request_be_blocked(&request).0 == CheckResult::Allowed
    };
    let wildcard_only = "connect-src wss://*.relay.crisp.chat";
    assert!(allowed(wildcard_only, "wss://client.relay.crisp.chat/"));
    assert!(!allowed(
        wildcard_only,
        "wss://client.relay.rescue.crisp.chat/"
    ));

    let connect: Vec<String> = resolve(&select("crisp"))
        .requirements
        .into_iter()
        .filter(|r| r.directive == "connect-src")
        .map(|r| r.source)
        .collect();
    let policy = format!("connect-src {}", connect.join(" "));
    assert!(
        allowed(&policy, "wss://client.relay.rescue.crisp.chat/"),
        "{policy}"
    );
    assert!(
        allowed(&policy, "wss://client.relay.crisp.chat/"),
        "{policy}"
    );
}

#[test]
fn snapshots_of_resolved_requirements() {
    let cases: Vec<(&str, Selection)> = vec![
        ("muserelay", select("muserelay")),
        ("ocelot", select("ocelot")),
        ("ortto-us", select("ortto")),
        (
            "ortto-eu",
            Selection {
                region: Some("eu".into()),
                ..select("ortto")
            },
        ),
        (
            "ortto-au",
            Selection {
                region: Some("au".into()),
                ..select("ortto")
            },
        ),
        (
            "ortto-custom-domain-eu",
            Selection {
                region: Some("eu".into()),
                custom_domain: Some("track.example.com".into()),
                ..select("ortto")
            },
        ),
        (
            "ortto-nonce",
            Selection {
                nonce: true,
                ..select("ortto")
            },
        ),
        (
            "intercom-eu",
            Selection {
                region: Some("eu".into()),
                ..select("intercom")
            },
        ),
        ("zendesk", select("zendesk")),
        ("helpscout", select("helpscout")),
        ("stripe", select("stripe")),
    ];
    for (name, sel) in cases {
        let text = render(&resolve(&sel));
        common::snapshots("vendors")
            .bind(|| insta::assert_snapshot!(format!("requirements-{name}"), text));
    }
}
