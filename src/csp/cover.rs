//! "Is this source already covered by that list?": the test that lets the merge skip a source.
//!
//! The merge must never skip a source that was not really covered, or the vendor stays blocked.
//! So `covers(list, s)` answers "yes" only when, **in every browser reading csppatch knows**
//! ([`Reading::BROWSERS`], with Chromium's two processes, see [`super::matching`]), for **every
//! page scheme** a configuration file can serve (http and https), every URL that `s` matches is
//! matched by one source of `list`. These are the readings the probe's verdict follows, so the
//! merge adds a source exactly where the probe would call the vendor blocked (the CSP3 text is
//! not a reading here: where it differs, the browsers decide).
//!
//! The scheme and port rules come from [`super::matching`] itself, applied to every port a
//! vendor source can match (its own, the schemes' defaults, and 80 and 443, which the readings
//! treat as an upgrade pair); hosts and paths are compared as patterns.
//!
//! A single source of the list must cover the whole of `s` (two sources that together cover it
//! are not recognised): a conservative answer costs at worst a redundant source.

use super::fxhash::FxHashMap;
use super::matching::{
    host_scheme_and_port_match, lower_eq_bytes, scheme_source_matches, star_matches_scheme, Reading,
};
use super::source::{HostSource, Keyword, Port, Source};

/// A reading and whether the request is a navigation (Chromium reads those in another process).
const READERS: [(Reading, bool); 3] = [
    (Reading::Chromium, false),
    (Reading::Chromium, true),
    (Reading::Firefox, false),
];

/// The schemes of the pages whose policies csppatch edits (server configs and HTML files).
const PAGE_SCHEMES: [&str; 2] = ["http", "https"];

/// URL schemes a source's scheme part can reach (by upgrade) besides its own.
const NETWORK_SCHEMES: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// A set of URLs a vendor source matches, for one URL scheme.
struct UrlClass {
    scheme: String,
    /// `None`: any URL of the scheme, host or not (a scheme-source).
    host: Option<String>,
    /// `None`: any port. Otherwise every port it matches (`None` inside: the default).
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

fn candidate_schemes(own: &str) -> Vec<String> {
    let mut out = vec![own.to_string()];
    out.extend(
        NETWORK_SCHEMES
            .iter()
            .filter(|s| **s != own)
            .map(|s| s.to_string()),
    );
    out
}

/// Every URL port a host-source could match: its own, the defaults (`None`), 21, 80 and 443.
/// A reading's port rules never reach another (a source without `:*` matches its own port,
/// the URL scheme's default, or one of these by an upgrade rule).
fn candidate_ports(h: &HostSource) -> Vec<Option<u16>> {
    let mut out = vec![None, Some(21), Some(80), Some(443)];
    if let Some(Port::Number(n)) = h.port {
        if !out.contains(&Some(n)) {
            out.push(Some(n));
        }
    }
    out
}

fn vendor_classes(reader: (Reading, bool), page: &str, source: &Source) -> Vec<UrlClass> {
    let (reading, navigation) = reader;
    match source {
        Source::Scheme(x) => {
            let x = x.to_ascii_lowercase();
            candidate_schemes(&x)
                .into_iter()
                .filter(|b| scheme_source_matches(reading, &x, b))
                .map(|scheme| UrlClass {
                    scheme,
                    host: None,
                    ports: None,
                    path: PathSet::All,
                })
                .collect()
        }
        Source::Host(h) => {
            let own = h
                .scheme
                .as_deref()
                .map_or(page.to_string(), str::to_ascii_lowercase);
            let matches_at = |scheme: &str, port: Option<u16>| {
                host_scheme_and_port_match(reading, navigation, h, page, scheme, port)
            };
            candidate_schemes(&own)
                .into_iter()
                .filter_map(|scheme| {
                    let ports = match h.port {
                        Some(Port::Any) => None,
                        _ => Some(
                            candidate_ports(h)
                                .into_iter()
                                .filter(|p| matches_at(&scheme, *p))
                                .collect::<Vec<_>>(),
                        ),
                    };
                    let reachable = match &ports {
                        None => matches_at(&scheme, Some(8443)),
                        Some(p) => !p.is_empty(),
                    };
                    reachable.then(|| UrlClass {
                        host: Some(h.host.to_ascii_lowercase()),
                        ports,
                        path: path_set(h.path.as_deref()),
                        scheme,
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn host_pattern_covers(existing: &str, vendor: &str) -> bool {
    // `vendor` is lower-case; `existing` as written (compared as if lower-cased).
    if existing == "*" {
        return true;
    }
    if let Some(suffix) = existing.strip_prefix('*') {
        // `*.a.com` matches one or more labels in front of `.a.com`, never `a.com` itself.
        let (v, s) = (vendor.as_bytes(), suffix.as_bytes());
        return v.len() >= s.len() && lower_eq_bytes(s, &v[v.len() - s.len()..]) && vendor != "*";
    }
    lower_eq_bytes(existing.as_bytes(), vendor.as_bytes())
}

fn path_covers(existing: Option<&str>, vendor: &PathSet) -> bool {
    match existing {
        None | Some("") | Some("/") => true,
        Some(e) if e.ends_with('/') => match vendor {
            PathSet::All => false,
            PathSet::Prefix(v) | PathSet::Exact(v) => v.starts_with(e),
        },
        Some(e) => matches!(vendor, PathSet::Exact(v) if v == e),
    }
}

fn host_source_matches(
    reader: (Reading, bool),
    page: &str,
    e: &HostSource,
    class: &UrlClass,
) -> bool {
    let (reading, navigation) = reader;
    let Some(vendor_host) = &class.host else {
        return false;
    };
    let at = |port| host_scheme_and_port_match(reading, navigation, e, page, &class.scheme, port);
    let ports_ok = match &class.ports {
        // Every port: only `:*` matches them all.
        None => e.port == Some(Port::Any) && at(Some(8443)),
        Some(ports) => ports.iter().all(|p| at(*p)),
    };
    ports_ok
        && host_pattern_covers(&e.host, vendor_host)
        && path_covers(e.path.as_deref(), &class.path)
}

fn class_matched_by(
    reader: (Reading, bool),
    page: &str,
    existing: &Source,
    class: &UrlClass,
) -> bool {
    if existing.is_star() {
        return star_matches_scheme(reader.0, page, &class.scheme);
    }
    match existing {
        // The readings lower-case a scheme-source themselves.
        Source::Scheme(x) => scheme_source_matches(reader.0, x, &class.scheme),
        Source::Host(e) => host_source_matches(reader, page, e, class),
        _ => false,
    }
}

/// Base64 values compared as the same bytes (`-` is `+`, `_` is `/`).
fn same_base64(a: &str, b: &str) -> bool {
    let norm = |c: u8| match c {
        b'-' => b'+',
        b'_' => b'/',
        c => c,
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| norm(x) == norm(y))
}

/// The URL classes of a scheme- or host-source, for every reader and page scheme (in the order
/// of `READERS` x `PAGE_SCHEMES`): what `covers` checks each source of a list against.
type VendorSide = std::rc::Rc<[Vec<UrlClass>]>;

/// `covers_tokens` answers: the tokens, the vendor source, the answer.
type CoversMemo = FxHashMap<u64, (Vec<String>, Source, bool)>;

thread_local! {
    /// The vendor side of `covers`, once per vendor source and thread (a run merges the same
    /// few vendor sources into every site): bounded, a table of a few dozen entries.
    static VENDOR_SIDE: std::cell::RefCell<FxHashMap<Source, VendorSide>> =
        std::cell::RefCell::new(FxHashMap::default());
    /// `covers_tokens` results by the directive's tokens and the vendor source: policies that
    /// differ only in other directives share the answer. Keyed by the Fx hash of both, the
    /// entry holding them to rule out a collision; cleared when it reaches `COVERS_MEMO`.
    static COVERS: std::cell::RefCell<CoversMemo> = std::cell::RefCell::new(CoversMemo::default());
}

/// Entries of the `covers_tokens` memo before it starts over (well under a MiB).
const COVERS_MEMO: usize = 1024;

fn vendor_side(source: &Source) -> VendorSide {
    if let Some(hit) = VENDOR_SIDE.with(|m| m.borrow().get(source).cloned()) {
        return hit;
    }
    let side: VendorSide = READERS
        .iter()
        .flat_map(|&reader| {
            PAGE_SCHEMES
                .iter()
                .map(move |page| vendor_classes(reader, page, source))
        })
        .collect();
    VENDOR_SIDE.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(source.clone(), side.clone());
    });
    side
}

/// `existing` covers every class of the vendor side.
fn covers_side(existing: &Source, side: &[Vec<UrlClass>]) -> bool {
    let mut i = 0;
    READERS.iter().all(|&reader| {
        PAGE_SCHEMES.iter().all(|page| {
            let classes = &side[i];
            i += 1;
            classes
                .iter()
                .all(|class| class_matched_by(reader, page, existing, class))
        })
    })
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
            if a == alg && same_base64(e, v)),
        Source::Scheme(_) | Source::Host(_) => covers_side(existing, &vendor_side(vendor)),
    }
}

/// [`covers`] for a directive's tokens as written (tokens that are no source cover nothing),
/// memoized by the tokens and the source.
pub fn covers_tokens(tokens: &[String], source: &Source) -> bool {
    let key = super::fxhash::hash_of(&(tokens, source));
    let hit = COVERS.with(|m| {
        m.borrow()
            .get(&key)
            .filter(|(t, s, _)| t.as_slice() == tokens && s == source)
            .map(|e| e.2)
    });
    if let Some(hit) = hit {
        return hit;
    }
    let list: Vec<Source> = tokens
        .iter()
        .filter_map(|t| Source::parse(t).ok())
        .collect();
    let answer = covers(&list, source);
    COVERS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= COVERS_MEMO {
            m.clear();
        }
        m.insert(key, (tokens.to_vec(), source.clone(), answer));
    });
    answer
}

/// Is every request `source` would allow already allowed by `list`, in every browser csppatch
/// knows of, on an http or https page? A list that is empty or only `'none'` covers nothing;
/// `'none'` next to other sources is ignored, as browsers do (CSP3 §6.7.2.7 step 3).
pub fn covers(list: &[Source], source: &Source) -> bool {
    let existing = || {
        list.iter()
            .filter(|s| !matches!(s, Source::Keyword(Keyword::None)))
    };
    match source {
        // The vendor side once for the whole list, not once per source of it.
        Source::Scheme(_) | Source::Host(_) if !source.is_star() => {
            let side = vendor_side(source);
            existing().any(|e| covers_side(e, &side))
        }
        _ => existing().any(|e| source_covers(e, source)),
    }
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
    fn star_covers_network_hosts_only() {
        assert!(cov(&["*"], "https://a.example"));
        assert!(cov(&["*"], "a.example"));
        assert!(cov(&["*"], "http://a.example:8080/x"));
        // Chromium and Firefox let `*` match ws: and wss: (the CSP3 text does not): the
        // browsers decide, so patch mode adds nothing the probe would call allowed.
        assert!(cov(&["*"], "wss://a.example"));
        assert!(cov(&["*"], "ws:"));
        assert!(cov(&["*"], "wss:"));
        // Firefox lets `*` match any scheme but these three; Chromium only the network
        // schemes and the page's: mediastream: is not covered in both.
        for s in ["data:", "blob:", "filesystem:", "mediastream:"] {
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
        // ws->wss is an upgrade in both browsers.
        assert!(cov(&["ws://a.example"], "wss://a.example"));
        // The spec lets `wss://a` match https://a, the browsers do not: not covered.
        assert!(!cov(&["wss://a.example"], "https://a.example"));
        assert!(!cov(&["wss:"], "https://a.example"));
        assert!(!cov(&["https:"], "http://a.example"));
        // Chromium upgrades http->https only on the same port when one is given.
        assert!(!cov(&["http://a.example:8080"], "https://a.example:8080"));
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
        // The same function reads both sides, so a source always covers itself.
        assert!(cov(&["http://a.example:80"], "http://a.example:80"));
        assert!(cov(&["ws://a.example:80"], "ws://a.example:80"));
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
