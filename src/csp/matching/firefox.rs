//! Firefox's reading, from its source (`dom/security/nsCSPUtils.cpp`: `permitsScheme`,
//! `permitsPort`, `nsCSPHostSrc::permits`; `nsCSPParser.cpp`), not measured here. A source
//! without a scheme gets the page's. Scheme upgrades are http->https and ws->wss, plus, for the
//! source `'self'` makes, http->ws/wss and https->wss. Ports are checked apart from schemes, and
//! a port 80 (given or the scheme's default) also matches 443. A bare `*` matches every scheme
//! but blob:, data: and filesystem:.

use url::Url;

use super::{default_port, lower_eq, Context, Origin};
use crate::csp::source::{HostSource, Port};

/// `permitsScheme`; `from_self` is `mGeneratedFromSelfKeyword`.
fn permits_scheme(enforced: &str, url_scheme: &str, from_self: bool) -> bool {
    // `enforced` compared lower-cased, without a copy.
    let is = |s: &str| enforced.eq_ignore_ascii_case(s);
    lower_eq(enforced, url_scheme)
        || (is("http") && url_scheme == "https")
        || (is("ws") && url_scheme == "wss")
        || (from_self
            && ((is("http") && matches!(url_scheme, "ws" | "wss"))
                || (is("https") && url_scheme == "wss")))
}

pub(super) fn scheme_source(scheme: &str, url_scheme: &str) -> bool {
    permits_scheme(scheme, url_scheme, false)
}

/// The parser makes a bare `*` a host-source without a scheme, which `permits` lets through
/// for any URL but the three "globally unique identifier" schemes.
pub(super) fn star(url_scheme: &str) -> bool {
    !matches!(url_scheme, "blob" | "data" | "filesystem")
}

/// `permitsPort(aEnforcementScheme, aEnforcementPort, aResourceURI)`. `url_port` is `None` for
/// the URL's default port (Firefox's -1).
fn permits_port(
    enforced_scheme: &str,
    port: Option<Port>,
    url_scheme: &str,
    url_port: Option<u16>,
) -> bool {
    let enforced = match port {
        Some(Port::Any) => return true,
        Some(Port::Number(n)) => Some(n),
        None => None,
    };
    if url_port.is_none() && enforced.is_none() {
        return true;
    }
    let resource = url_port.or_else(|| default_port(url_scheme));
    if enforced.is_some() && enforced == resource {
        return true;
    }
    let enforced = enforced.or_else(|| default_port(enforced_scheme));
    enforced.is_some() && (enforced == resource || (enforced == Some(80) && resource == Some(443)))
}

fn permits(h: &HostSource, scheme: &str, url: &Url, ctx: &Context, from_self: bool) -> bool {
    permits_parts(
        &h.host,
        h.port,
        h.path.as_deref(),
        scheme,
        url,
        ctx,
        from_self,
    )
}

/// [`permits`] for a host-source given by its parts (`'self'`'s, without building one).
fn permits_parts(
    host: &str,
    port: Option<Port>,
    path: Option<&str>,
    scheme: &str,
    url: &Url,
    ctx: &Context,
    from_self: bool,
) -> bool {
    if !permits_scheme(scheme, url.scheme(), from_self) {
        return false;
    }
    if !super::chromium::host_matches(host, url) {
        return false;
    }
    if !permits_port(scheme, port, url.scheme(), url.port()) {
        return false;
    }
    ctx.redirect_count > 0 || super::path_prefix_matches(path, url)
}

/// The scheme and port part of a host-source, for `source::covers`.
pub(super) fn scheme_and_port(
    h: &HostSource,
    page_scheme: &str,
    url_scheme: &str,
    url_port: Option<u16>,
) -> bool {
    let scheme = h.scheme.as_deref().unwrap_or(page_scheme);
    permits_scheme(scheme, url_scheme, false) && permits_port(scheme, h.port, url_scheme, url_port)
}

pub(super) fn host_source(h: &HostSource, url: &Url, ctx: &Context) -> bool {
    if url.host().is_none() {
        return false;
    }
    let scheme = h.scheme.as_deref().unwrap_or(&ctx.origin.scheme);
    permits(h, scheme, url, ctx, false)
}

/// `'self'` becomes a host-source of the page's scheme, host and (non-default) port
/// (`CSP_CreateHostSrcFromSelfURI`), which never matches a blob: or filesystem: URL.
pub(super) fn self_matches(url: &Url, origin: &Origin, ctx: &Context) -> bool {
    if url.host().is_none() {
        return false;
    }
    permits_parts(
        &origin.host,
        origin.port.map(Port::Number),
        None,
        &origin.scheme,
        url,
        ctx,
        true,
    )
}
