//! URL matching (CSP3 §6.7.2, "Does url match source list in origin with redirect count?"), as
//! the browsers read it and as the specification reads it.
//!
//! Where the CSP3 text and the shipping browsers differ, the browsers decide: a vendor is
//! allowed when **every** browser reading csppatch knows allows it ([`Reading::BROWSERS`]).
//! The probe's verdict, the merge's "already covered" ([`super::cover`]) and the self-check
//! after a merge all come from here, so they cannot disagree. The differences, each row
//! measured in headless Chromium by `tests/e2e/probe_browsers.rs` (Firefox from its source):
//!
//! | source              | URL                              | CSP3 text | Chromium | Firefox |
//! |---------------------|----------------------------------|-----------|----------|---------|
//! | `'self'`            | same-origin `blob:`              | matches   | no       | no      |
//! | `*`                 | `ws:`/`wss:` (any host)          | no        | matches  | matches |
//! | `ws:` / `wss:`      | `http(s):` / `https:`            | matches   | no       | no      |
//! | `ws://a:8080`       | `wss://a:8080`                   | matches   | no       | matches |
//! | `http://a:8080`     | `https://a:8080`                 | matches   | no       | matches |
//! | `http://a:80`       | `https://a` (port 443)           | no        | matches  | matches |
//! | `http://1.2.3.4`    | an IP-address URL                | no        | matches  | matches |
//! | `'self'`, a frame   | https on the http page's port    | matches   | no       | matches |
//!
//! (A `filesystem:` URL has an opaque origin by the URL Standard, so `'self'` matches it
//! nowhere.) Everyone agrees, measured, that paths are not compared after a redirect (hosts
//! are), that `*` does not match `data:` or `blob:`, and that `'self'` matches `ws:` on an http
//! page's host and port.

mod chromium;
mod firefox;
mod spec;

use url::Url;

use super::parse::Token;
use super::source::{HostSource, Keyword, Source};

/// The default port of a scheme (WHATWG URL "default port").
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "ftp" => Some(21),
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// [`default_port`] of `scheme` lower-cased, without the copy.
pub(crate) fn default_port_ignore_case(scheme: &str) -> Option<u16> {
    let is = |s: &str| scheme.eq_ignore_ascii_case(s);
    if is("ftp") {
        Some(21)
    } else if is("http") || is("ws") {
        Some(80)
    } else if is("https") || is("wss") {
        Some(443)
    } else {
        None
    }
}

/// `a.to_ascii_lowercase() == b`, without the copy.
pub(crate) fn lower_eq(a: &str, b: &str) -> bool {
    lower_eq_bytes(a.as_bytes(), b.as_bytes())
}

pub(crate) fn lower_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_ascii_lowercase() == *y)
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
}

/// Whose rules a source list is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reading {
    /// The CSP3 text, step by step.
    Spec,
    /// Chromium (Chrome, Edge, Opera...), measured.
    Chromium,
    /// Firefox, from its source.
    Firefox,
}

impl Reading {
    /// The readings that decide a verdict.
    pub const BROWSERS: [Reading; 2] = [Reading::Chromium, Reading::Firefox];
    pub const ALL: [Reading; 3] = [Reading::Spec, Reading::Chromium, Reading::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            Reading::Spec => "the CSP3 text",
            Reading::Chromium => "Chromium",
            Reading::Firefox => "Firefox",
        }
    }
}

/// Where a URL is checked.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The page the policy protects.
    pub origin: &'a Origin,
    /// How many redirects led to this URL: 0 for the request itself. Paths only count at 0.
    pub redirect_count: u32,
    /// A navigation (a frame, a form submission, frame-ancestors): Chromium checks those in the
    /// browser process, where `'self'` is read a little differently (see `chromium.rs`).
    pub navigation: bool,
}

impl<'a> Context<'a> {
    /// A subresource request, before any redirect.
    pub fn new(origin: &'a Origin) -> Context<'a> {
        Context {
            origin,
            redirect_count: 0,
            navigation: false,
        }
    }
}

/// Does a scheme-source (`https:`, without the colon) match a URL of `url_scheme`?
pub fn scheme_source_matches(reading: Reading, scheme: &str, url_scheme: &str) -> bool {
    match reading {
        Reading::Spec => spec::scheme_part_matches(scheme, url_scheme),
        Reading::Chromium => chromium::scheme_source(scheme, url_scheme),
        Reading::Firefox => firefox::scheme_source(scheme, url_scheme),
    }
}

/// Does `*` match a URL of `url_scheme` on a page of `page_scheme`?
pub fn star_matches_scheme(reading: Reading, page_scheme: &str, url_scheme: &str) -> bool {
    match reading {
        Reading::Spec => spec::star(page_scheme, url_scheme),
        Reading::Chromium => chromium::star(page_scheme, url_scheme),
        Reading::Firefox => firefox::star(url_scheme),
    }
}

/// The scheme and port steps of a host-source for a URL of `url_scheme` and `url_port`
/// (`None`: the scheme's default) on a page of `page_scheme`; the host and path are compared
/// apart. What `source::covers` builds on.
pub fn host_scheme_and_port_match(
    reading: Reading,
    navigation: bool,
    h: &HostSource,
    page_scheme: &str,
    url_scheme: &str,
    url_port: Option<u16>,
) -> bool {
    let url_port = url_port.filter(|p| Some(*p) != default_port(url_scheme));
    match reading {
        Reading::Spec => spec::scheme_and_port(h, page_scheme, url_scheme, url_port),
        Reading::Chromium => {
            chromium::scheme_and_port(h, page_scheme, url_scheme, url_port, navigation)
        }
        Reading::Firefox => firefox::scheme_and_port(h, page_scheme, url_scheme, url_port),
    }
}

/// Chromium's and Firefox's path match: the percent-decoded path, a prefix for a source path
/// ending in `/`, else the whole path (the query never counts).
fn path_prefix_matches(path: Option<&str>, url: &Url) -> bool {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return true;
    };
    let path = percent_decode(path);
    let url_path = percent_decode(url.path());
    if path == b"/" && url_path.is_empty() {
        return true;
    }
    if path.ends_with(b"/") {
        url_path.starts_with(&path)
    } else {
        url_path == path
    }
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

/// Does `url` match `expression` in `reading` (§6.7.2.8)?
pub fn expression_matches_in(
    reading: Reading,
    url: &Url,
    expression: &Source,
    ctx: &Context,
) -> bool {
    if expression.is_star() {
        return star_matches_scheme(reading, &ctx.origin.scheme, url.scheme());
    }
    match expression {
        Source::Scheme(scheme) => scheme_source_matches(reading, scheme, url.scheme()),
        Source::Host(h) => match reading {
            Reading::Spec => spec::host_source(h, url, ctx),
            Reading::Chromium => chromium::host_source(h, url, ctx),
            Reading::Firefox => firefox::host_source(h, url, ctx),
        },
        Source::Keyword(Keyword::SelfOrigin) => match reading {
            Reading::Spec => spec::self_matches(url, ctx.origin),
            Reading::Chromium => chromium::self_matches(url, ctx.origin, ctx.navigation),
            Reading::Firefox => firefox::self_matches(url, ctx.origin, ctx),
        },
        _ => false,
    }
}

/// §6.7.2.7 "Does url match source list in origin with redirect count?", in `reading`.
pub fn list_matches_in(reading: Reading, url: &Url, list: &[Token], ctx: &Context) -> bool {
    // 2./3. An empty list, or the single expression 'none', matches nothing.
    if list.is_empty() || (list.len() == 1 && list[0].is_none_keyword()) {
        return false;
    }
    list.iter().any(|t| match &t.source {
        Ok(s) => expression_matches_in(reading, url, s, ctx),
        // A token that is no source expression never matches (browsers ignore it).
        Err(_) => false,
    })
}

/// Does `url` match `expression` in every browser? (A subresource request.)
pub fn url_matches_expression(
    url: &Url,
    expression: &Source,
    origin: &Origin,
    redirect_count: u32,
) -> bool {
    let ctx = Context {
        redirect_count,
        ..Context::new(origin)
    };
    Reading::BROWSERS
        .iter()
        .all(|&r| expression_matches_in(r, url, expression, &ctx))
}

/// Does `list` match `url` in every browser? (A subresource request.)
pub fn url_matches_list(url: &Url, list: &[Token], origin: &Origin, redirect_count: u32) -> bool {
    let ctx = Context {
        redirect_count,
        ..Context::new(origin)
    };
    Reading::BROWSERS
        .iter()
        .all(|&r| list_matches_in(r, url, list, &ctx))
}

/// Does scheme-source `a` match URL scheme `b` in every browser (for messages: "`https://x` is
/// for https:, not wss:")?
pub fn scheme_part_matches(a: &str, b: &str) -> bool {
    Reading::BROWSERS
        .iter()
        .all(|&r| scheme_source_matches(r, a, &b.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
