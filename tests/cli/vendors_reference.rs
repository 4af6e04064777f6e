//! Each built-in preset against the vendor's section of `../shared/vendors-reference.md`, read
//! as text: every preset source must be written in that section, and every valid source the
//! section writes must be in the preset (or be one of the few deliberate exclusions below).
//! Which directive each source sits under is checked by the reviewed snapshots
//! (`vendors_presets.rs`), since the reference states it in prose.
//!
//! The reference was written before the vendors' current pages were read again (issue 13):
//! a source a preset has beyond it is listed in [`BEYOND`] with the page that says so, and
//! must be needed by one of the preset's known requests or explained by a `[[reason]]`.
use crate::common;

use std::collections::BTreeSet;

use csppatch::csp::source::parse_vendor_source;
use csppatch::vendors::Catalog;

/// Sources the reference writes that a preset deliberately does not require, and why.
const EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "ortto",
        "'strict-dynamic'",
        "part of the site's own Level 3 policy, not a requirement",
    ),
    (
        "ortto",
        "https:",
        "Level 3 fallback for old browsers, part of the site's own policy",
    ),
    (
        "ortto",
        "'none'",
        "Level 3 object-src/base-uri hardening, the site's own policy",
    ),
    (
        "intercom",
        "'strict-dynamic'",
        "the strict variant is the nonce mode",
    ),
    (
        "gtm",
        "'unsafe-eval'",
        "only for custom JavaScript variables; notes say to --allow it",
    ),
    (
        "recaptcha",
        "https://www.gstatic.com/recaptcha/release/",
        "blocks the releases/<version>/ script api.js loads; Google's FAQ has the prefix https://www.gstatic.com/recaptcha/",
    ),
];

/// Sources a preset has that the reference does not write, and where they come from.
const BEYOND: &[(&str, &str, &str)] = &[
    (
        "recaptcha",
        "https://www.gstatic.com/recaptcha/",
        "Google's reCAPTCHA FAQ (script-src), the prefix of the releases/ path api.js loads",
    ),
    (
        "recaptcha",
        "https://www.recaptcha.net/recaptcha/",
        "Google's reCAPTCHA FAQ: www.recaptcha.net where www.google.com is not accessible",
    ),
    (
        "gtm",
        "https://www.google.com",
        "Google's current Tag Manager CSP page, connect-src",
    ),
    (
        "front",
        "https://chat-assets.frontapp.com",
        "script-src: Front's SDK and embed code load /v1/chat.bundle.js from it",
    ),
    (
        "zendesk",
        "https://zendesk-eu.my.sentry.io",
        "connect-src: the Sentry host Zendesk names on its Web Widget (Classic) CSP page",
    ),
    (
        "intercom",
        "https://downloads.intercomcdn.com",
        "media-src, US: Intercom's page has regional downloads.* hosts (names: third-party copies)",
    ),
    (
        "intercom",
        "https://downloads.intercomcdn.eu",
        "EU img-src and media-src: regional downloads.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://messenger-apps.eu.intercom.io",
        "EU img-src: regional messenger-apps.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://*.intercom-attachments.eu",
        "EU img-src: regional intercom-attachments.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://static.intercomassets.eu",
        "EU img-src: regional static.intercomassets.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://downloads.au.intercomcdn.com",
        "AU img-src and media-src: regional downloads.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://messenger-apps.au.intercom.io",
        "AU img-src: regional messenger-apps.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://*.au.intercom-attachments.com",
        "AU img-src: regional intercom-attachments.* host (name: third-party copies)",
    ),
    (
        "intercom",
        "https://static.au.intercomassets.com",
        "AU img-src: regional static.intercomassets.* host (name: third-party copies)",
    ),
];

/// The vendor's part of the reference: from `**name**` to the next vendor or heading.
fn section<'a>(reference: &'a str, name: &str) -> &'a str {
    let marker = format!("**{name}**");
    let start = reference
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} is not in vendors-reference.md"));
    let rest = &reference[start + marker.len()..];
    let end = ["\n**", "\n- **", "\n## "]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `https://m.autopilotapp.com/` and the reference's bare `m.autopilotapp.com` compare equal.
fn normalized(source: &str) -> String {
    let s = source.split_once("://").map_or(source, |(_, rest)| rest);
    s.strip_suffix('/').unwrap_or(s).to_ascii_lowercase()
}

#[test]
fn presets_match_vendors_reference() {
    if !common::have_shared("vendors-reference.md") {
        return;
    }
    let reference = std::fs::read_to_string(common::shared_dir().join("vendors-reference.md"))
        .expect("../shared/vendors-reference.md");
    let catalog = Catalog::builtin();
    let mut checked = 0;
    for v in catalog.vendors() {
        let text = section(&reference, &v.name);
        // Backticked spans, one token each (some spans are prose, skipped by the parse below).
        let written: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
        let written_norm: BTreeSet<String> = written.iter().map(|t| normalized(t)).collect();
        let preset: BTreeSet<String> = v.all_sources().map(|(_, s)| normalized(s)).collect();

        for (directive, source) in v.all_sources() {
            if BEYOND.iter().any(|(n, s, _)| *n == v.name && *s == source) {
                assert!(
                    v.requests.iter().any(|r| r.needs(directive, source))
                        || v.reasons
                            .iter()
                            .any(|r| r.directive == directive && r.source == source),
                    "{}: {directive} {source} goes beyond the reference, so a known request must need it or a [[reason]] explain it",
                    v.name
                );
                continue;
            }
            assert!(
                written.contains(&source) || written_norm.contains(&normalized(source)),
                "{}: {directive} {source} is not in its vendors-reference.md section",
                v.name
            );
            checked += 1;
        }
        for token in written {
            if parse_vendor_source(token, false).is_err() {
                continue; // prose, placeholders, `http:`, the invalid Sentry wildcard
            }
            if EXCLUDED.iter().any(|(n, s, _)| *n == v.name && *s == token) {
                assert!(
                    !preset.contains(&normalized(token)),
                    "{}: {token} is excluded",
                    v.name
                );
                continue;
            }
            assert!(
                preset.contains(&normalized(token)),
                "{}: vendors-reference.md writes `{token}` and the preset lacks it",
                v.name
            );
        }
    }
    assert!(checked > 150, "only {checked} sources checked");
    for (name, source, _) in BEYOND {
        let v = catalog.get(name).unwrap();
        assert!(
            v.all_sources().any(|(_, s)| s == *source),
            "BEYOND lists {name} {source}, which the preset no longer has"
        );
    }
}

#[test]
fn the_reference_section_split_finds_each_vendor() {
    if !common::have_shared("vendors-reference.md") {
        return;
    }
    let reference =
        std::fs::read_to_string(common::shared_dir().join("vendors-reference.md")).unwrap();
    assert!(section(&reference, "zendesk").contains("sentry"));
    assert!(!section(&reference, "crisp").contains("zendesk"));
    assert!(section(&reference, "plausible").contains("plausible.io"));
    assert!(section(&reference, "ortto").contains("Level 3"));
}
