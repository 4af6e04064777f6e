//! URL matching as CSP3 defines it (<https://www.w3.org/TR/CSP3/#match-url-to-source-list>).
//!
//! Each function mirrors one algorithm of §6.7.2, step by step; Ladybird's
//! `LibWeb/ContentSecurityPolicy/Directives/DirectiveOperations.cpp` follows the same text and was
//! used for comparison. Servo's content-security-policy crate departs from it in places, listed
//! in `tests/csp/csp_eval.rs`.

use url::{Host, Url};

use super::parse::Token;
use super::source::{HostSource, Keyword, Port, Source};

/// The default port of a scheme (WHATWG URL "default port").
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "ftp" => Some(21),
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// A tuple origin: the page a policy protects (its "self-origin").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Lower-case scheme.
    pub scheme: String,
    /// Canonical host as the URL parser gives it (lower-case, punycode).
    pub host: String,
    /// `None` when it is the scheme's default port (as URL origins store it).
    pub port: Option<u16>,
}

impl Origin {
    /// The origin of `url`; `None` for URLs without a host (opaque origins).
    pub fn of(url: &Url) -> Option<Origin> {
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_string(),
            port: url.port(),
        })
    }

    /// Parse `https://example.com[:port]`.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        Origin::of(&url).ok_or_else(|| format!("`{text}` has no host, so no tuple origin"))
    }

    /// `scheme://host[:port]`.
    pub fn serialize(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// "origin is the same as url's origin" (CSP3 §6.7.2.8 step 4.1). A URL's origin is the URL
    /// Standard's: for `blob:https://site.example/…` it is https://site.example, so `'self'`
    /// matches same-origin blob URLs by the letter of the spec (Servo agrees; Chromium and
    /// Firefox compare scheme, host and port and require `blob:`).
    fn same_origin(&self, url: &Url) -> bool {
        match url.origin() {
            url::Origin::Tuple(scheme, host, port) => {
                scheme == self.scheme
                    && host.to_string() == self.host
                    && Some(port) == self.port.or_else(|| default_port(&self.scheme))
            }
            url::Origin::Opaque(_) => false,
        }
    }
}

/// §6.7.2.9 scheme-part match: `a` (from the expression) matches URL scheme `b`.
pub fn scheme_part_matches(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b
        || matches!(
            (a.as_str(), b.as_str()),
            ("http", "https") | ("ws", "wss" | "http" | "https") | ("wss", "https")
        )
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

/// §6.7.2.11 port-part match. `url.port()` is null for the scheme's default port.
fn port_part_matches(port: Option<Port>, url: &Url) -> bool {
    let normalized = match port {
        Some(Port::Any) => return true,
        Some(Port::Number(n)) => Some(n),
        None => None,
    };
    if normalized == url.port() {
        return true;
    }
    url.port().is_none() && normalized == default_port(url.scheme())
}

/// §6.7.2.12 path-part match. `path` is the URL's serialized path (see the note in
/// [`url_matches_expression`]).
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

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn host_source_matches(h: &HostSource, url: &Url, origin: &Origin, redirect_count: u32) -> bool {
    // 3.1 If url's host is null, return "Does Not Match".
    if url.host().is_none() {
        return false;
    }
    // 3.2 Without a scheme-part, the page's scheme must scheme-part match the URL's.
    if h.scheme.is_none() && !scheme_part_matches(&origin.scheme, url.scheme()) {
        return false;
    }
    if !host_part_matches(&h.host, url.host()) {
        return false;
    }
    if !port_part_matches(h.port, url) {
        return false;
    }
    // 3.6 Paths are only compared before any redirect. The spec joins url's path segments
    // with "/", which drops the leading slash (and never matches a path-part); Ladybird and
    // Servo use the serialized path, "/a/b", and so does this.
    if let Some(path) = &h.path {
        if !path.is_empty() && redirect_count == 0 && !path_part_matches(path, url.path()) {
            return false;
        }
    }
    true
}

/// §6.7.2.8 "Does url match expression in origin with redirect count?"
pub fn url_matches_expression(
    url: &Url,
    expression: &Source,
    origin: &Origin,
    redirect_count: u32,
) -> bool {
    // 1. "*" matches HTTP(S) URLs and URLs with the page's own scheme.
    if expression.is_star()
        && (matches!(url.scheme(), "http" | "https") || url.scheme() == origin.scheme)
    {
        return true;
    }
    match expression {
        // 2. A scheme-source matches by scheme alone.
        Source::Scheme(scheme) => scheme_part_matches(scheme, url.scheme()),
        // 3. A host-source.
        Source::Host(h) => {
            if let Some(scheme) = &h.scheme {
                if !scheme_part_matches(scheme, url.scheme()) {
                    return false;
                }
            }
            host_source_matches(h, url, origin, redirect_count)
        }
        // 4. 'self': same origin, or the same host upgraded to https/wss (or http->ws) on the
        // same port or on both default ports.
        Source::Keyword(Keyword::SelfOrigin) => {
            if origin.same_origin(url) {
                return true;
            }
            let same_host = Some(origin.host.as_str()) == url.host_str();
            // Ports are stored null when they are their scheme's default (URL parser), so "the
            // same, or the default ports for their respective schemes" is equality of the two.
            let ports_ok = origin.port == url.port();
            same_host
                && ports_ok
                && (matches!(url.scheme(), "https" | "wss")
                    || (origin.scheme == "http" && matches!(url.scheme(), "http" | "ws")))
        }
        _ => false,
    }
}

/// §6.7.2.7 "Does url match source list in origin with redirect count?"
pub fn url_matches_list(url: &Url, list: &[Token], origin: &Origin, redirect_count: u32) -> bool {
    // 2./3. An empty list, or the single expression 'none', matches nothing.
    if list.is_empty() || (list.len() == 1 && list[0].is_none_keyword()) {
        return false;
    }
    list.iter().any(|t| match &t.source {
        Ok(s) => url_matches_expression(url, s, origin, redirect_count),
        // A token that is no source expression never matches (browsers ignore it).
        Err(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csp::parse::parse;

    fn m(list: &str, url: &str, origin: &str) -> bool {
        let parsed = parse(&format!("x {list}"));
        let tokens = &parsed.policies[0].directives[0].sources;
        url_matches_list(
            &Url::parse(url).unwrap(),
            tokens,
            &Origin::parse(origin).unwrap(),
            0,
        )
    }

    const PAGE: &str = "https://site.example";

    #[test]
    fn star() {
        assert!(m("*", "https://x.example/a", PAGE));
        assert!(m("*", "http://x.example/a", PAGE));
        assert!(!m("*", "wss://x.example/", PAGE));
        assert!(!m("*", "data:text/plain,x", PAGE));
        assert!(!m("*", "blob:https://site.example/1", PAGE));
        assert!(
            m("'self'", "blob:https://site.example/1", PAGE),
            "a blob URL has its creator's origin"
        );
        assert!(!m("'self'", "blob:https://other.example/1", PAGE));
        assert!(m("*", "http://127.0.0.1/", PAGE), "step 1 has no host rule");
    }

    #[test]
    fn self_and_upgrades() {
        assert!(m("'self'", "https://site.example/x", PAGE));
        assert!(m("'self'", "wss://site.example/socket", PAGE));
        assert!(!m("'self'", "ws://site.example/socket", PAGE));
        assert!(!m("'self'", "http://site.example/", PAGE));
        assert!(m("'self'", "https://site.example/", "http://site.example"));
        assert!(m("'self'", "ws://site.example/", "http://site.example"));
        assert!(!m("'self'", "https://site.example:8443/", PAGE));
        assert!(m(
            "'self'",
            "https://site.example:8443/",
            "https://site.example:8443"
        ));
        assert!(!m("'self'", "https://sub.site.example/", PAGE));
    }

    #[test]
    fn schemes() {
        assert!(m("https:", "https://a.example/", PAGE));
        assert!(!m("https:", "wss://a.example/", PAGE));
        assert!(m("http:", "https://a.example/", PAGE));
        assert!(
            m("ws:", "https://a.example/", PAGE),
            "spec: ws matches http(s)"
        );
        assert!(
            m("wss:", "https://a.example/", PAGE),
            "spec: wss matches https"
        );
        assert!(m("data:", "data:image/png;base64,AA", PAGE));
        assert!(m("DATA:", "data:image/png;base64,AA", PAGE));
    }

    #[test]
    fn hosts_ports_paths() {
        assert!(m("a.example", "https://a.example/", PAGE));
        assert!(
            !m("a.example", "http://a.example/", PAGE),
            "schemeless: page scheme"
        );
        assert!(m("a.example", "http://a.example/", "http://site.example"));
        assert!(m("*.a.example", "https://b.c.a.example/", PAGE));
        assert!(!m("*.a.example", "https://a.example/", PAGE));
        assert!(m("https://A.EXAMPLE", "https://a.example/", PAGE));
        assert!(m("https://a.example:443", "https://a.example/", PAGE));
        assert!(!m("https://a.example", "https://a.example:8443/", PAGE));
        assert!(m("https://a.example:*", "https://a.example:8443/", PAGE));
        assert!(m(
            "https://a.example/js/",
            "https://a.example/js/x.js",
            PAGE
        ));
        assert!(!m(
            "https://a.example/js/",
            "https://a.example/css/x.css",
            PAGE
        ));
        assert!(m(
            "https://a.example/js/x.js",
            "https://a.example/js/x.js?v=1",
            PAGE
        ));
        assert!(!m(
            "https://a.example/js/x.js",
            "https://a.example/js/x.js/",
            PAGE
        ));
        assert!(m(
            "https://a.example/a%20b/",
            "https://a.example/a%20b/c",
            PAGE
        ));
        assert!(
            !m("https://1.2.3.4", "https://1.2.3.4/", PAGE),
            "IPs are not domains"
        );
    }

    #[test]
    fn none_and_empty() {
        assert!(!m("'none'", "https://a.example/", PAGE));
        assert!(!m("", "https://a.example/", PAGE));
        assert!(m("'none' https://a.example", "https://a.example/", PAGE));
        assert!(!m("<customdomain>", "https://a.example/", PAGE));
    }
}
