//! The CSP3 text (<https://www.w3.org/TR/CSP3/#match-url-to-source-list>), §6.7.2.8-§6.7.2.12
//! step by step. Ladybird's `LibWeb/ContentSecurityPolicy/Directives/DirectiveOperations.cpp`
//! follows the same text and was used for comparison; Servo's content-security-policy crate
//! departs from it in places, listed in `tests/csp/csp_eval.rs`. No shipping browser reads it this
//! way everywhere: see the parent module.

use url::{Host, Url};

use super::{default_port, percent_decode, Context, Origin};
use crate::csp::source::{HostSource, Port};

/// §6.7.2.9 scheme-part match: `a` (from the expression) matches URL scheme `b`.
pub(super) fn scheme_part_matches(a: &str, b: &str) -> bool {
    // Both compared lower-cased, without copies.
    let (ai, bi) = (
        |s: &str| a.eq_ignore_ascii_case(s),
        |s: &str| b.eq_ignore_ascii_case(s),
    );
    a.eq_ignore_ascii_case(b)
        || (ai("http") && bi("https"))
        || (ai("ws") && (bi("wss") || bi("http") || bi("https")))
        || (ai("wss") && bi("https"))
}

/// §6.7.2.8 step 1: `*` matches HTTP(S) URLs and URLs of the page's own scheme.
pub(super) fn star(page_scheme: &str, url_scheme: &str) -> bool {
    matches!(url_scheme, "http" | "https") || url_scheme == page_scheme
}

/// §6.7.2.10 host-part match.
fn host_part_matches(pattern: &str, host: Option<Host<&str>>) -> bool {
    // 1. If host is not a domain, return "Does Not Match" (IP addresses never match).
    let Some(Host::Domain(host)) = host else {
        return false;
    };
    // 2. If pattern is "*", return "Matches".
    if pattern == "*" {
        return true;
    }
    let host = host.to_ascii_lowercase();
    // 3. If pattern starts with "*.": the host must end with the rest (a strict subdomain).
    if let Some(remaining) = pattern.strip_prefix('*') {
        return host.ends_with(&remaining.to_ascii_lowercase());
    }
    // 4. Otherwise an ASCII case-insensitive match.
    pattern.eq_ignore_ascii_case(&host)
}

/// §6.7.2.11 port-part match. `url_port` is null for the scheme's default port.
fn port_part_matches(port: Option<Port>, url_scheme: &str, url_port: Option<u16>) -> bool {
    let normalized = match port {
        Some(Port::Any) => return true,
        Some(Port::Number(n)) => Some(n),
        None => None,
    };
    if normalized == url_port {
        return true;
    }
    url_port.is_none() && normalized == default_port(url_scheme)
}

/// The scheme and port steps of a host-source (3.2, 3.5 and the expression's scheme-part) for
/// a URL of `url_scheme` and `url_port` on a page of `page_scheme`.
pub(super) fn scheme_and_port(
    h: &HostSource,
    page_scheme: &str,
    url_scheme: &str,
    url_port: Option<u16>,
) -> bool {
    let scheme_ok = match &h.scheme {
        Some(scheme) => scheme_part_matches(scheme, url_scheme),
        None => scheme_part_matches(page_scheme, url_scheme),
    };
    scheme_ok && port_part_matches(h.port, url_scheme, url_port)
}

/// §6.7.2.12 path-part match. `b` is the URL's serialized path: the spec joins url's path
/// segments with "/", which drops the leading slash (and never matches a path-part); Ladybird
/// and Servo use the serialized path, "/a/b", and so does this.
fn path_part_matches(a: &str, b: &str) -> bool {
    if a.is_empty() {
        return true;
    }
    if a == "/" && b.is_empty() {
        return true;
    }
    let exact = !a.ends_with('/');
    let mut list_a: Vec<&str> = a.split('/').collect();
    let list_b: Vec<&str> = b.split('/').collect();
    if list_a.len() > list_b.len() {
        return false;
    }
    if exact && list_a.len() != list_b.len() {
        return false;
    }
    if !exact {
        list_a.pop();
    }
    list_a
        .iter()
        .zip(&list_b)
        .all(|(pa, pb)| percent_decode(pa) == percent_decode(pb))
}

/// §6.7.2.8 step 3 for a host-source.
pub(super) fn host_source(h: &HostSource, url: &Url, ctx: &Context) -> bool {
    // 3.1 If url's host is null, return "Does Not Match".
    if url.host().is_none() {
        return false;
    }
    if !scheme_and_port(h, &ctx.origin.scheme, url.scheme(), url.port()) {
        return false;
    }
    if !host_part_matches(&h.host, url.host()) {
        return false;
    }
    // 3.6 Paths are only compared before any redirect.
    match &h.path {
        Some(path) if ctx.redirect_count == 0 => path_part_matches(path, url.path()),
        _ => true,
    }
}

/// "origin is the same as url's origin" (step 4.1). A URL's origin is the URL Standard's: for
/// `blob:https://site.example/…` it is https://site.example, so `'self'` matches same-origin
/// blob URLs by the letter of the spec (Servo agrees; no shipping browser does).
fn same_origin(origin: &Origin, url: &Url) -> bool {
    match url.origin() {
        url::Origin::Tuple(scheme, host, port) => {
            scheme == origin.scheme
                && host.to_string() == origin.host
                && Some(port) == origin.port.or_else(|| default_port(&origin.scheme))
        }
        url::Origin::Opaque(_) => false,
    }
}

/// Step 4: 'self' is the same origin, or the same host upgraded to https/wss (or http->ws)
/// on the same port or on both default ports.
pub(super) fn self_matches(url: &Url, origin: &Origin) -> bool {
    if same_origin(origin, url) {
        return true;
    }
    let same_host = Some(origin.host.as_str()) == url.host_str();
    // Ports are stored null when they are their scheme's default (URL parser), so "the same,
    // or the default ports for their respective schemes" is equality of the two.
    let ports_ok = origin.port == url.port();
    same_host
        && ports_ok
        && (matches!(url.scheme(), "https" | "wss")
            || (origin.scheme == "http" && matches!(url.scheme(), "http" | "ws")))
}
