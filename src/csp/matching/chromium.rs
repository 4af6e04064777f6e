//! Chromium's reading, as measured in headless Chromium (tests/e2e/probe_browsers.rs) and as its
//! source reads: subresources are checked in the renderer
//! (`third_party/blink/renderer/core/frame/csp/csp_source.cc`, `CSPSourceMatches`,
//! `CSPSourceMatchesAsSelf`), navigations (frames, form submissions, frame-ancestors) in the
//! browser process (`services/network/public/cpp/content_security_policy/csp_source.cc`,
//! `CheckCSPSource`, which also reads `'self'`). Both take only http->https and ws->wss as
//! scheme upgrades, and allow an upgrade only when the port allows it too: `http://a:8080` does
//! not match `https://a:8080`. Hosts are compared as strings, so IP addresses match.

use url::Url;

use super::{default_port, default_port_ignore_case, lower_eq, lower_eq_bytes, Context, Origin};
use crate::csp::source::{HostSource, Port};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemeMatch {
    No,
    Upgrade,
    Exact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatch {
    No,
    Wildcard,
    Upgrade,
    Exact,
}

fn scheme_match(allowed: &str, url_scheme: &str) -> SchemeMatch {
    // `allowed` is compared lower-cased (without a copy: this runs for every port of every
    // source the merge checks).
    if lower_eq(allowed, url_scheme) {
        SchemeMatch::Exact
    } else if (allowed.eq_ignore_ascii_case("http") && url_scheme == "https")
        || (allowed.eq_ignore_ascii_case("ws") && url_scheme == "wss")
    {
        SchemeMatch::Upgrade
    } else {
        SchemeMatch::No
    }
}

/// A scheme-source (`https:`) in both processes.
pub(super) fn scheme_source(scheme: &str, url_scheme: &str) -> bool {
    scheme_match(scheme, url_scheme) != SchemeMatch::No
}

/// `*` (csp_source_list.cc, `CheckCSPSourceList`; blink's `CSPSourceListAllows`): the network
/// schemes and the page's own.
pub(super) fn star(page_scheme: &str, url_scheme: &str) -> bool {
    matches!(url_scheme, "http" | "https" | "ws" | "wss" | "ftp") || url_scheme == page_scheme
}

/// The port a source names: `None` for `:*` (matches any port), `Some(None)` when it names
/// none.
fn given_port(port: Option<Port>) -> Option<Option<u16>> {
    match port {
        Some(Port::Any) => None,
        Some(Port::Number(n)) => Some(Some(n)),
        None => Some(None),
    }
}

/// Blink's `PortMatches`. `None` is "unspecified": no port in the source, or the URL's default.
fn renderer_port(
    port: Option<Port>,
    source_is_http: bool,
    url_scheme: &str,
    url_port: Option<u16>,
) -> PortMatch {
    let Some(source) = given_port(port) else {
        return PortMatch::Wildcard;
    };
    if source == url_port {
        return if source.is_none() {
            PortMatch::Wildcard
        } else {
            PortMatch::Exact
        };
    }
    let to_443 =
        url_port == Some(443) || (url_port.is_none() && default_port(url_scheme) == Some(443));
    if (source == Some(80) || (matches!(source, None | Some(443)) && source_is_http)) && to_443 {
        return PortMatch::Upgrade;
    }
    let default_of_url = |p: Option<u16>| p.is_some() && p == default_port(url_scheme);
    match (source, url_port) {
        (Some(_), None) if default_of_url(source) => PortMatch::Exact,
        (None, Some(_)) if default_of_url(url_port) => PortMatch::Exact,
        _ => PortMatch::No,
    }
}

/// The network service's `SourceAllowPort`, on the URL's effective port.
fn browser_port(
    port: Option<Port>,
    source_scheme: Option<&str>,
    url_scheme: &str,
    url_port: Option<u16>,
) -> PortMatch {
    let Some(source) = given_port(port) else {
        return PortMatch::Wildcard;
    };
    let effective = url_port.or_else(|| default_port(url_scheme));
    if source == effective {
        return if source.is_none() {
            PortMatch::Wildcard
        } else {
            PortMatch::Exact
        };
    }
    if source.is_none() && default_port(url_scheme) == effective {
        return PortMatch::Wildcard;
    }
    if effective.is_none() && source.is_some() && source == default_port(url_scheme) {
        return PortMatch::Wildcard;
    }
    // A source without a scheme has none here (the page's is not filled in). `source_scheme`
    // as written: its default port as if lower-cased.
    let source = source.or_else(|| source_scheme.and_then(default_port_ignore_case));
    if source == Some(80) && effective == Some(443) {
        return PortMatch::Upgrade;
    }
    PortMatch::No
}

/// The scheme and port part of a host-source, coupled as Chromium couples them.
pub(super) fn scheme_and_port(
    h: &HostSource,
    page_scheme: &str,
    url_scheme: &str,
    url_port: Option<u16>,
    navigation: bool,
) -> bool {
    // The source's scheme as written, compared lower-cased.
    let source_scheme = h.scheme.as_deref();
    let allowed = source_scheme.unwrap_or(page_scheme);
    let scheme = scheme_match(allowed, url_scheme);
    if scheme == SchemeMatch::No {
        return false;
    }
    let port = if navigation {
        browser_port(h.port, source_scheme, url_scheme, url_port)
    } else {
        let is_http = match source_scheme {
            Some(s) => s.eq_ignore_ascii_case("http"),
            None => page_scheme == "http",
        };
        renderer_port(h.port, is_http, url_scheme, url_port)
    };
    let port_can_upgrade = matches!(port, PortMatch::Upgrade | PortMatch::Wildcard);
    if scheme == SchemeMatch::Upgrade && !port_can_upgrade {
        return false;
    }
    if port == PortMatch::Upgrade && scheme != SchemeMatch::Upgrade {
        return false;
    }
    port != PortMatch::No
}

/// `HostMatches` / `SourceAllowHost`: a string comparison, so IP addresses match too.
pub(super) fn host_matches(pattern: &str, url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // The pattern compared lower-cased (the URL's host already is).
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => {
            let h = host.as_bytes();
            h.len() >= suffix.len()
                && lower_eq_bytes(suffix.as_bytes(), &h[h.len() - suffix.len()..])
        }
        None => lower_eq(pattern, host),
    }
}

pub(super) fn host_source(h: &HostSource, url: &Url, ctx: &Context) -> bool {
    url.host().is_some()
        && scheme_and_port(
            h,
            &ctx.origin.scheme,
            url.scheme(),
            url.port(),
            ctx.navigation,
        )
        && host_matches(&h.host, url)
        && (ctx.redirect_count > 0 || super::path_prefix_matches(h.path.as_deref(), url))
}

/// `'self'`. In the renderer (`CSPSourceMatchesAsSelf`): the page's scheme, host and port, or
/// the same host on the same (or both default) ports with https, wss, or any scheme from an
/// http page. Never a blob: or filesystem: URL, whose host is empty: measured, where the CSP3
/// text goes by the URL's origin. For a navigation the browser process matches the page's
/// origin as a host-source, so an http page on port 8080 may not frame https on 8080.
pub(super) fn self_matches(url: &Url, origin: &Origin, navigation: bool) -> bool {
    if url.host_str() != Some(origin.host.as_str()) {
        return false;
    }
    let as_source = HostSource {
        scheme: Some(origin.scheme.clone()),
        host: origin.host.clone(),
        port: origin.port.map(Port::Number),
        path: None,
    };
    if navigation {
        return scheme_and_port(&as_source, &origin.scheme, url.scheme(), url.port(), true);
    }
    let scheme = scheme_match(&origin.scheme, url.scheme());
    let port = renderer_port(
        as_source.port,
        origin.scheme == "http",
        url.scheme(),
        url.port(),
    );
    if scheme == SchemeMatch::Exact && matches!(port, PortMatch::Exact | PortMatch::Wildcard) {
        return true;
    }
    let ports_or_defaults =
        port == PortMatch::Exact || (origin.port.is_none() && url.port().is_none());
    ports_or_defaults && (matches!(url.scheme(), "https" | "wss") || origin.scheme == "http")
}
