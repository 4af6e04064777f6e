//! "Is this source already covered by that list?": the test that lets the merge skip a source.
//!
//! The merge must never skip a source that was not really covered, or the vendor stays blocked.
//! So `covers(list, s)` answers "yes" only when, **in every reading of the matching rules csppatch
//! knows**, for **every page scheme** a configuration file can serve (http and https), every URL
//! that `s` matches is matched by one source of `list`. The readings:
//!
//! - the CSP3 specification, §6.7.2.8-§6.7.2.12 ("Does url match expression in origin with
//!   redirect count?", scheme-part/host-part/port-part/path-part match): `http` matches https,
//!   `ws` matches wss/http/https, `wss` matches https; `*` matches http(s) and the page's scheme;
//! - Chromium (`services/network/public/cpp/content_security_policy/csp_source.cc`,
//!   `MatchScheme`/`SourceAllowPort`, and `csp_source_list.cc`): only http->https and ws->wss
//!   upgrades, `*` also matches ws/wss/ftp, an explicit port 80 also matches 443 on upgrade;
//! - Servo's content-security-policy crate 0.5 (`scheme_part_match`): http->https, ws->wss,
//!   wss->https; `*` also matches ftp.
//!
//! A single source of the list must cover the whole of `s` (two sources that together cover it
//! are not recognised): a conservative answer costs at worst a redundant source.

use super::matching::default_port;
use super::source::{HostSource, Keyword, Port, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Spec,
    Chromium,
    Servo,
}

const READINGS: [Reading; 3] = [Reading::Spec, Reading::Chromium, Reading::Servo];

/// The schemes of the pages whose policies csppatch edits (server configs and HTML files).
const PAGE_SCHEMES: [&str; 2] = ["http", "https"];

fn scheme_part_matches(reading: Reading, a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match reading {
        Reading::Spec => matches!(
            (a, b),
            ("http", "https") | ("ws", "wss" | "http" | "https") | ("wss", "https")
        ),
        Reading::Chromium => matches!((a, b), ("http", "https") | ("ws", "wss")),
        Reading::Servo => matches!((a, b), ("http", "https") | ("ws", "wss") | ("wss", "https")),
    }
}

/// Every URL scheme that scheme-part `a` matches in `reading`.
fn url_schemes(reading: Reading, a: &str) -> Vec<String> {
    let mut out = vec![a.to_string()];
    for b in ["http", "https", "ws", "wss"] {
        if b != a && scheme_part_matches(reading, a, b) {
            out.push(b.to_string());
        }
    }
    out
}

fn star_matches_scheme(reading: Reading, page: &str, scheme: &str) -> bool {
    let network = match reading {
        Reading::Spec => &["http", "https"][..],
        Reading::Chromium => &["http", "https", "ws", "wss", "ftp"][..],
        Reading::Servo => &["http", "https", "ftp"][..],
    };
    network.contains(&scheme) || scheme == page
}

/// A set of URLs a vendor source matches, for one URL scheme.
struct UrlClass {
    scheme: String,
    /// `None`: any URL of the scheme, host or not (a scheme-source).
    host: Option<String>,
    /// `None`: any port. Otherwise the effective ports (`None` inside: no port and no default).
    ports: Option<Vec<Option<u16>>>,
    path: PathSet,
}

enum PathSet {
    All,
    Prefix(String),
    Exact(String),
}

fn path_set(path: Option<&str>) -> PathSet {
    match path {
        None | Some("") | Some("/") => PathSet::All,
        Some(p) if p.ends_with('/') => PathSet::Prefix(p.to_string()),
        Some(p) => PathSet::Exact(p.to_string()),
    }
}

fn vendor_classes(reading: Reading, page: &str, source: &Source) -> Vec<UrlClass> {
    match source {
        Source::Scheme(x) => url_schemes(reading, &x.to_ascii_lowercase())
            .into_iter()
            .map(|scheme| UrlClass {
                scheme,
                host: None,
                ports: None,
                path: PathSet::All,
            })
            .collect(),
        Source::Host(h) => {
            let base = h
                .scheme
                .as_deref()
                .map_or(page.to_string(), str::to_ascii_lowercase);
            url_schemes(reading, &base)
                .into_iter()
                .map(|scheme| {
                    let ports = match h.port {
                        Some(Port::Any) => None,
                        None => Some(vec![default_port(&scheme)]),
                        Some(Port::Number(n)) => {
                            let mut ports = vec![Some(n)];
                            // Chromium `SourceAllowPort`: port 80 also matches 443 when the
                            // scheme was upgraded (http->https, ws->wss).
                            if reading == Reading::Chromium && n == 80 && scheme != base {
                                ports.push(Some(443));
                            }
                            Some(ports)
                        }
                    };
                    UrlClass {
                        host: Some(h.host.to_ascii_lowercase()),
                        ports,
                        path: path_set(h.path.as_deref()),
                        scheme,
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn host_pattern_covers(existing: &str, vendor: &str) -> bool {
    if existing == "*" {
        return true;
    }
    if let Some(suffix) = existing.strip_prefix('*') {
        // `*.a.com` matches one or more labels in front of `.a.com`, never `a.com` itself.
        return vendor.ends_with(suffix) && vendor != "*";
    }
    existing == vendor
}

/// `upgraded`: Chromium, and the URL scheme is an upgrade of the existing source's scheme
/// (http->https, ws->wss), where its port 80 also matches 443, as on the vendor's side in
/// [`vendor_classes`]. Without it `http://a.example:80` did not cover itself, and every merge
/// added it again.
fn ports_cover(
    existing: Option<Port>,
    vendor: &Option<Vec<Option<u16>>>,
    scheme: &str,
    upgraded: bool,
) -> bool {
    match (existing, vendor) {
        (Some(Port::Any), _) => true,
        (_, None) => false,
        (None, Some(ports)) => ports.iter().all(|p| *p == default_port(scheme)),
        (Some(Port::Number(n)), Some(ports)) => ports
            .iter()
            .all(|p| *p == Some(n) || upgraded && n == 80 && *p == Some(443)),
    }
}

fn path_covers(existing: Option<&str>, vendor: &PathSet) -> bool {
    match path_set(existing) {
        PathSet::All => true,
        PathSet::Prefix(e) => match vendor {
            PathSet::All => false,
            PathSet::Prefix(v) | PathSet::Exact(v) => v.starts_with(&e),
        },
        PathSet::Exact(e) => matches!(vendor, PathSet::Exact(v) if *v == e),
    }
}

fn host_source_matches(reading: Reading, page: &str, e: &HostSource, class: &UrlClass) -> bool {
    let base = e
        .scheme
        .as_deref()
        .map_or(page.to_string(), str::to_ascii_lowercase);
    if !scheme_part_matches(reading, &base, &class.scheme) {
        return false;
    }
    let Some(vendor_host) = &class.host else {
        return false;
    };
    host_pattern_covers(&e.host.to_ascii_lowercase(), vendor_host)
        && ports_cover(
            e.port,
            &class.ports,
            &class.scheme,
            reading == Reading::Chromium && class.scheme != base,
        )
        && path_covers(e.path.as_deref(), &class.path)
}

fn class_matched_by(reading: Reading, page: &str, existing: &Source, class: &UrlClass) -> bool {
    if existing.is_star() {
        return star_matches_scheme(reading, page, &class.scheme);
    }
    match existing {
        Source::Scheme(x) => scheme_part_matches(reading, &x.to_ascii_lowercase(), &class.scheme),
        Source::Host(e) => host_source_matches(reading, page, e, class),
        _ => false,
    }
}

fn normalized_base64(v: &str) -> String {
    v.replace('-', "+").replace('_', "/")
}

/// Does the single source `existing` allow everything `vendor` allows?
pub fn source_covers(existing: &Source, vendor: &Source) -> bool {
    if vendor.is_star() {
        return existing.is_star();
    }
    match vendor {
        Source::Keyword(k) => match existing {
            Source::Keyword(e) => {
                e == k || (*k == Keyword::WasmUnsafeEval && *e == Keyword::UnsafeEval)
            }
            _ => false,
        },
        Source::Nonce(v) => matches!(existing, Source::Nonce(e) if e == v),
        Source::Hash(alg, v) => matches!(existing, Source::Hash(a, e)
            if a == alg && normalized_base64(e) == normalized_base64(v)),
        Source::Scheme(_) | Source::Host(_) => READINGS.iter().all(|&reading| {
            PAGE_SCHEMES.iter().all(|page| {
                vendor_classes(reading, page, vendor)
                    .iter()
                    .all(|class| class_matched_by(reading, page, existing, class))
            })
        }),
    }
}

/// Is every request `source` would allow already allowed by `list`, in every browser csppatch
/// knows of, on an http or https page? A list that is empty or only `'none'` covers nothing;
/// `'none'` next to other sources is ignored, as browsers do (CSP3 §6.7.2.7 step 3).
pub fn covers(list: &[Source], source: &Source) -> bool {
    list.iter()
        .filter(|s| !matches!(s, Source::Keyword(Keyword::None)))
        .any(|existing| source_covers(existing, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cov(list: &[&str], s: &str) -> bool {
        let list: Vec<Source> = list.iter().map(|t| Source::parse(t).unwrap()).collect();
        covers(&list, &Source::parse(s).unwrap())
    }

    #[test]
    fn host_and_scheme_are_case_insensitive() {
        assert!(cov(&["HTTPS://CDN.Example.com"], "https://cdn.example.COM"));
        assert!(cov(&["cdn.example.com"], "https://cdn.example.com"));
        assert!(!cov(&["https://cdn.example.com"], "cdn.example.com"));
    }

    #[test]
    fn star_covers_http_hosts_only() {
        assert!(cov(&["*"], "https://a.example"));
        assert!(cov(&["*"], "a.example"));
        assert!(cov(&["*"], "http://a.example:8080/x"));
        for s in [
            "data:",
            "blob:",
            "filesystem:",
            "wss://a.example",
            "ws:",
            "wss:",
            "mediastream:",
        ] {
            assert!(!cov(&["*"], s), "{s}");
        }
        assert!(!cov(&["https://*"], "*"));
        assert!(cov(&["*"], "*"));
    }

    #[test]
    fn https_does_not_cover_wss_but_http_covers_https() {
        assert!(!cov(&["https:"], "wss://a.example"));
        assert!(!cov(&["https://a.example"], "wss://a.example"));
        assert!(cov(&["http:"], "https://a.example"));
        assert!(cov(&["http://a.example"], "https://a.example"));
        assert!(cov(&["ws://a.example"], "ws://a.example"));
        // Servo reads wss://a as also matching https://a, which its ws:// does not match.
        assert!(!cov(&["ws://a.example"], "wss://a.example"));
        // The spec lets `wss://a` match https://a, Chromium does not: not covered.
        assert!(!cov(&["wss://a.example"], "https://a.example"));
        assert!(!cov(&["https:"], "http://a.example"));
    }

    #[test]
    fn wildcard_hosts_cover_subdomains_only() {
        assert!(!cov(&["https://*.crisp.chat"], "wss://*.relay.crisp.chat"));
        assert!(cov(&["wss://*.crisp.chat"], "wss://*.relay.crisp.chat"));
        assert!(cov(&["*.crisp.chat"], "https://client.crisp.chat"));
        assert!(!cov(&["*.crisp.chat"], "https://crisp.chat"));
        assert!(!cov(&["https://client.crisp.chat"], "https://*.crisp.chat"));
    }

    #[test]
    fn ports_and_default_ports() {
        assert!(cov(&["https://a.example:443"], "https://a.example"));
        assert!(cov(&["https://a.example"], "https://a.example:443"));
        assert!(!cov(&["https://a.example"], "https://a.example:8443"));
        assert!(cov(&["https://a.example:*"], "https://a.example:8443"));
        assert!(!cov(&["https://a.example:8443"], "https://a.example:*"));
        // Chromium reads http://a:80 as also matching https://a:443.
        assert!(!cov(&["https://a.example"], "http://a.example:80"));
    }

    #[test]
    fn paths_narrow_what_is_covered() {
        assert!(cov(
            &["https://a.example/js/"],
            "https://a.example/js/app.js"
        ));
        assert!(cov(&["https://a.example/js/"], "https://a.example/js/v2/"));
        assert!(!cov(&["https://a.example/js/"], "https://a.example"));
        assert!(!cov(
            &["https://a.example/js/app.js"],
            "https://a.example/js/"
        ));
        assert!(cov(&["https://a.example"], "https://a.example/any/thing"));
        assert!(cov(&["https://a.example/"], "https://a.example"));
        assert!(cov(
            &["https://m.autopilotapp.com"],
            "https://m.autopilotapp.com/"
        ));
    }

    #[test]
    fn keywords_nonces_and_none() {
        assert!(cov(&["'self'"], "'SELF'"));
        assert!(!cov(&["'self'"], "https://a.example"));
        assert!(!cov(&["*"], "'self'"));
        assert!(cov(&["'unsafe-eval'"], "'wasm-unsafe-eval'"));
        assert!(!cov(&["'wasm-unsafe-eval'"], "'unsafe-eval'"));
        assert!(cov(&["'nonce-abc'"], "'nonce-abc'"));
        assert!(!cov(&["'nonce-abc'"], "'nonce-ABC'"));
        assert!(cov(&["'sha256-ab+/'"], "'sha256-ab-_'"));
        assert!(!cov(&["'none'"], "'none'"), "'none' alone covers nothing");
        assert!(!cov(&[], "https://a.example"));
        assert!(cov(&["'none'", "https://a.example"], "https://a.example"));
    }

    #[test]
    fn scheme_sources() {
        assert!(cov(&["data:"], "data:"));
        assert!(!cov(&["data:"], "blob:"));
        assert!(cov(&["https:"], "https://x.example:1234/p"));
        assert!(cov(&["http:"], "https:"));
        assert!(!cov(&["https:"], "http:"));
        assert!(cov(&["wss:"], "wss://x.example"));
        assert!(!cov(&["https:"], "wss:"));
    }
}
