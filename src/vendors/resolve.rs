//! A [`Selection`] (what the user asked for on the command line) -> the [`Requirement`]s the
//! merge adds, plus the warnings and notes the user should see.

use super::directive::{self, closest};
use super::load::{check_source, source_help, Entry, Vendor, CUSTOM_DOMAIN_PLACEHOLDER};
use crate::csp::source::{Keyword, Source};
use crate::csp::Requirement;
use crate::diag::Diagnostic;

/// The vendor name `--allow` requirements carry.
pub const ALLOW_VENDOR: &str = "--allow";

/// What the user asked for: `--vendor`, `--region`, `--custom-domain`, the nonce mode,
/// `--allow`, `--allow-insecure`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Vendor names, in the order given (case-insensitive; repeats are ignored).
    pub vendors: Vec<String>,
    /// `None`: each vendor's default region.
    pub region: Option<String>,
    /// A host name (`track.example.com`), for vendors with a custom tracking domain.
    pub custom_domain: Option<String>,
    /// The site puts its nonce on the vendors' script tags (vendors with a nonce mode).
    pub nonce: bool,
    /// `--allow 'DIRECTIVE SOURCE...'` strings.
    pub allow: Vec<String>,
    /// Accept `http:` and `ws:` sources.
    pub allow_insecure: bool,
}

/// The requirements of a selection, and what the user should be told about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resolved {
    /// In selection order: each vendor's sources in file order, then `--allow` ones.
    pub requirements: Vec<Requirement>,
    /// Warnings (unverified presets) and notes (a region or nonce mode that does not apply).
    pub diagnostics: Vec<Diagnostic>,
}

pub(crate) fn resolve(all: &[Vendor], sel: &Selection) -> Result<Resolved, Vec<Diagnostic>> {
    let mut out = Resolved::default();
    let mut errors = Vec::new();

    let mut chosen: Vec<&Vendor> = Vec::new();
    for asked in &sel.vendors {
        let name = asked.trim().to_ascii_lowercase();
        match all.iter().find(|v| v.name == name) {
            Some(v) if chosen.iter().any(|c| c.name == v.name) => {}
            Some(v) => chosen.push(v),
            None => errors.push(unknown_vendor(all, asked)),
        }
    }

    let region = sel.region.as_deref().map(|r| r.trim().to_ascii_lowercase());
    let custom_domain = match &sel.custom_domain {
        Some(host) => match check_host(host) {
            Ok(()) => Some(host.as_str()),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        None => None,
    };
    if sel.custom_domain.is_some()
        && !chosen.is_empty()
        && !chosen.iter().any(|v| v.has_custom_domain())
    {
        let takers: Vec<&str> = all
            .iter()
            .filter(|v| v.has_custom_domain())
            .map(|v| v.name.as_str())
            .collect();
        errors.push(
            Diagnostic::error(
                "VND714",
                format!(
                    "--custom-domain does not apply to {}: no selected vendor has a custom tracking domain",
                    names(&chosen)
                ),
            )
            .with_help(format!(
                "it is for {}; remove --custom-domain or select one of them",
                takers.join(", ")
            )),
        );
    }

    for v in chosen {
        match vendor_requirements(
            v,
            sel,
            region.as_deref(),
            custom_domain,
            &mut out.diagnostics,
        ) {
            Ok(mut reqs) => out.requirements.append(&mut reqs),
            Err(mut e) => errors.append(&mut e),
        }
    }
    for allow in &sel.allow {
        match parse_allow(allow, sel.allow_insecure) {
            Ok(mut reqs) => out.requirements.append(&mut reqs),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn names(vendors: &[&Vendor]) -> String {
    vendors
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn unknown_vendor(all: &[Vendor], asked: &str) -> Diagnostic {
    let known: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
    let lower = asked.trim().to_ascii_lowercase();
    let hint = closest(&lower, known.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    Diagnostic::error("VND710", format!("unknown vendor `{asked}`{hint}")).with_help(format!(
        "known vendors: {} (`csppatch vendors` lists them; --vendors-file adds your own)",
        known.join(", ")
    ))
}

/// One vendor's requirements for the selection, in file order.
fn vendor_requirements(
    v: &Vendor,
    sel: &Selection,
    region: Option<&str>,
    custom_domain: Option<&str>,
    notes: &mut Vec<Diagnostic>,
) -> Result<Vec<Requirement>, Vec<Diagnostic>> {
    let name = &v.name;
    let mut entries: Vec<Entry> = v.sources.clone();
    if v.regions.is_empty() {
        if let Some(r) = region {
            notes.push(Diagnostic::note(
                "VND712",
                format!(
                    "{name} has no regional variants; --region {r} does not change its sources"
                ),
            ));
        }
    } else {
        // A vendor file always has a default region when it has regions (checked on load).
        let wanted = region.or(v.default_region.as_deref()).unwrap_or_default();
        match v.regions.iter().find(|r| r.name == wanted) {
            Some(r) => entries.extend(r.entries.iter().cloned()),
            None => {
                let list: Vec<String> = v
                    .regions
                    .iter()
                    .map(|r| match &v.default_region {
                        Some(d) if *d == r.name => format!("{} (default)", r.name),
                        _ => r.name.clone(),
                    })
                    .collect();
                return Err(vec![Diagnostic::error(
                    "VND711",
                    format!(
                        "{name} has no region `{wanted}`; its regions are {}",
                        list.join(", ")
                    ),
                )
                .with_help(format!(
                    "pass --region {}, or leave it out for the default",
                    v.regions[0].name
                ))]);
            }
        }
    }

    if let (Some(host), Some(param)) = (custom_domain, &v.custom_domain) {
        for rep in &param.replace {
            for e in entries
                .iter_mut()
                .filter(|e| e.directive == rep.directive && e.source == rep.source)
            {
                e.source = rep.with.replace(CUSTOM_DOMAIN_PLACEHOLDER, host);
                e.at = rep.at.clone();
            }
        }
    }

    if sel.nonce {
        if v.has_nonce_mode() {
            entries.retain(|e| !nonce_makes_redundant(e));
        } else if entries.iter().any(|e| is_script_directive(&e.directive)) {
            notes.push(Diagnostic::note(
                "VND718",
                format!(
                    "{name} documents no nonce mode, so its script-src sources are added as usual"
                ),
            ));
        }
    }

    if !v.verified {
        notes.push(
            Diagnostic::warning(
                "VND716",
                format!(
                    "{name} is an unverified preset: its list comes from third-party copies of the vendor's page, not from the vendor"
                ),
            )
            .with_help(match &v.source_url {
                Some(url) => format!("compare it with {url} before relying on it"),
                None => "compare it with the vendor's documentation before relying on it".into(),
            }),
        );
    } else {
        let unverified: Vec<String> = entries
            .iter()
            .filter(|e| e.unverified)
            .map(|e| format!("{} {}", e.directive, e.source))
            .collect();
        if !unverified.is_empty() {
            notes.push(Diagnostic::warning(
                "VND716",
                format!(
                    "{name}: these sources come from third-party copies of the vendor's page, not from the vendor: {}",
                    unverified.join(", ")
                ),
            ));
        }
    }

    let mut errors = Vec::new();
    let mut out: Vec<Requirement> = Vec::new();
    for e in entries {
        if let Err((code, why)) = check_source(&e.source, sel.allow_insecure) {
            errors.push(
                Diagnostic::error(code, format!("{name}: {}: {why}", e.directive)).at(e.at.clone()),
            );
            continue;
        }
        let req = Requirement {
            directive: e.directive,
            source: e.source,
            vendor: name.clone(),
        };
        if !out.contains(&req) {
            out.push(req);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn is_script_directive(directive: &str) -> bool {
    matches!(directive, "script-src" | "script-src-elem")
}

/// In nonce mode the site's nonce (usually with 'strict-dynamic') lets the vendor's script
/// in: hosts, schemes and 'self' are then ignored by CSP3 browsers, and 'unsafe-inline' is
/// ignored next to a nonce (CSP3 §8.3 "Allowing inline scripts"). 'unsafe-eval' and hashes
/// keep their meaning, so they stay.
pub(crate) fn nonce_makes_redundant(e: &Entry) -> bool {
    if !is_script_directive(&e.directive) {
        return false;
    }
    match Source::parse(&e.source) {
        Ok(Source::Host(_) | Source::Scheme(_)) => true,
        Ok(Source::Keyword(k)) => matches!(k, Keyword::SelfOrigin | Keyword::UnsafeInline),
        _ => false,
    }
}

/// `--custom-domain` must be one host name, as a tracking domain is.
fn check_host(host: &str) -> Result<(), Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error(
            "VND713",
            format!("--custom-domain `{host}` is not a host name: {why}"),
        )
        .with_help("give the host name only, e.g. --custom-domain track.example.com")
    };
    if let Some(rest) = host.split_once("://").map(|(_, rest)| rest) {
        let bare = rest.split(['/', ':']).next().unwrap_or_default();
        return Err(bad("it is a URL")
            .with_help(format!("give the host name only: --custom-domain {bare}")));
    }
    if !host.is_ascii() {
        return Err(bad(
            "it is not ASCII; write an internationalised name in punycode (xn--...)",
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
    {
        return Err(bad(&format!(
            "{c:?} is not allowed (a host has letters, digits, `-` and `.`; no port, path or wildcard)"
        )));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Err(bad("it is longer than 253 characters"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(bad(
            "a tracking domain has at least two labels (track.example.com)",
        ));
    }
    for label in labels {
        if label.is_empty() {
            return Err(bad("it has an empty label"));
        }
        if label.len() > 63 {
            return Err(bad(&format!(
                "the label `{label}` is longer than 63 characters"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad(&format!("the label `{label}` starts or ends with `-`")));
        }
    }
    Ok(())
}

/// Parse one `--allow 'DIRECTIVE SOURCE...'`.
pub fn parse_allow(text: &str, allow_insecure: bool) -> Result<Vec<Requirement>, Diagnostic> {
    let shape = |why: String| {
        Diagnostic::error("VND715", format!("--allow '{text}': {why}"))
            .with_help("write --allow 'DIRECTIVE SOURCE...', e.g. --allow 'connect-src wss://chat.example.com'")
    };
    if text.contains(';') {
        return Err(shape(
            "it holds `;`: give one directive per --allow and repeat --allow for each".into(),
        ));
    }
    let mut words = text.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Err(shape("it is empty".into()));
    };
    let directive = first.to_ascii_lowercase();
    if let Some(why) = directive::check(&directive) {
        if looks_like_source(first) {
            return Err(shape(format!(
                "it starts with the source `{first}`; put the directive first"
            )));
        }
        return Err(Diagnostic::error(
            "VND703",
            format!("--allow '{text}': {why}"),
        ));
    }
    let sources: Vec<&str> = words.collect();
    if sources.is_empty() {
        return Err(shape(format!(
            "it names the directive {directive} but no source"
        )));
    }
    let mut out: Vec<Requirement> = Vec::new();
    for source in sources {
        check_source(source, allow_insecure).map_err(|(code, why)| {
            Diagnostic::error(code, format!("--allow '{text}': {why}")).with_help(source_help(&why))
        })?;
        let req = Requirement {
            directive: directive.clone(),
            source: source.to_string(),
            vendor: ALLOW_VENDOR.to_string(),
        };
        if !out.contains(&req) {
            out.push(req);
        }
    }
    Ok(out)
}

/// A word that can only be a source: a keyword, scheme, URL or dotted host. A bare word
/// (`scirpt-src`) parses as a host too, but is far likelier a misspelt directive.
fn looks_like_source(word: &str) -> bool {
    match Source::parse(word) {
        Ok(Source::Host(h)) => h.scheme.is_some() || h.host.contains('.'),
        Ok(_) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(check_host("track.example.com").is_ok());
        assert!(check_host("xn--bcher-kva.example").is_ok());
        for bad in [
            "https://track.example.com/",
            "track.example.com:8443",
            "*.example.com",
            "localhost",
            "a..b",
            "-a.example",
            "bücher.example",
            "track.example.com/x",
            "",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
        let url = check_host("https://track.example.com/x").unwrap_err();
        assert_eq!(
            url.help.as_deref(),
            Some("give the host name only: --custom-domain track.example.com")
        );
    }
}
