//! Source expressions (CSP3 §2.3.1): parse, validate, print.
//!
//! Grammar (<https://www.w3.org/TR/CSP3/#grammardef-serialized-source-list>):
//!
//! ```text
//! source-expression = scheme-source / host-source / keyword-source / nonce-source / hash-source
//! scheme-source     = scheme ":"                       ; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
//! host-source       = [ scheme-part "://" ] host-part [ ":" port-part ] [ path-part ]
//! host-part         = "*" / [ "*." ] 1*host-char *( "." 1*host-char ) [ "." ]
//! port-part         = 1*DIGIT / "*"
//! keyword-source    = "'self'" / "'unsafe-inline'" / "'unsafe-eval'" / "'strict-dynamic'" / ...
//! nonce-source      = "'nonce-" base64-value "'"
//! hash-source       = "'" hash-algorithm "-" base64-value "'"
//! ```

use std::fmt;

/// A quoted keyword source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Keyword {
    SelfOrigin,
    None,
    UnsafeInline,
    UnsafeEval,
    StrictDynamic,
    UnsafeHashes,
    ReportSample,
    WasmUnsafeEval,
    UnsafeAllowRedirects,
    InlineSpeculationRules,
}

impl Keyword {
    pub const ALL: [Keyword; 10] = [
        Keyword::SelfOrigin,
        Keyword::None,
        Keyword::UnsafeInline,
        Keyword::UnsafeEval,
        Keyword::StrictDynamic,
        Keyword::UnsafeHashes,
        Keyword::ReportSample,
        Keyword::WasmUnsafeEval,
        Keyword::UnsafeAllowRedirects,
        Keyword::InlineSpeculationRules,
    ];

    /// The keyword as written, with its single quotes.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::SelfOrigin => "'self'",
            Keyword::None => "'none'",
            Keyword::UnsafeInline => "'unsafe-inline'",
            Keyword::UnsafeEval => "'unsafe-eval'",
            Keyword::StrictDynamic => "'strict-dynamic'",
            Keyword::UnsafeHashes => "'unsafe-hashes'",
            Keyword::ReportSample => "'report-sample'",
            Keyword::WasmUnsafeEval => "'wasm-unsafe-eval'",
            Keyword::UnsafeAllowRedirects => "'unsafe-allow-redirects'",
            Keyword::InlineSpeculationRules => "'inline-speculation-rules'",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    Number(u16),
    Any,
}

/// One parsed source expression. Hosts and schemes are kept as written; comparisons are
/// ASCII case-insensitive, as browsers do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Keyword(Keyword),
    Nonce(String),
    Hash(HashAlgorithm, String),
    /// `data:`, `https:`: the scheme without the colon.
    Scheme(String),
    Host(HostSource),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostSource {
    pub scheme: Option<String>,
    /// `*`, `*.example.com` or `example.com` (a trailing dot is kept).
    pub host: String,
    pub port: Option<Port>,
    /// The path as written, `/` included; `None` when absent.
    pub path: Option<String>,
}

/// Why a text is not a source expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub source: String,
    pub reason: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a valid CSP source: {}",
            self.source, self.reason
        )
    }
}

impl std::error::Error for SourceError {}

fn err(source: &str, reason: impl Into<String>) -> SourceError {
    SourceError {
        source: source.to_string(),
        reason: reason.into(),
    }
}

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn is_base64_value(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_'))
}

/// RFC 3986 pchar plus `/`, without `;` and `,` (they separate directives and policies).
fn is_path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'%'
        )
}

impl Source {
    /// Parse one source expression as CSP3 defines it. Keyword names are case-insensitive.
    pub fn parse(text: &str) -> Result<Source, SourceError> {
        if text.is_empty() {
            return Err(err(text, "it is empty"));
        }
        // One pass: the first splitting byte anywhere is the error, else a non-ASCII one.
        let mut ascii = true;
        for c in text.bytes() {
            if c.is_ascii_whitespace() || c.is_ascii_control() || matches!(c, b';' | b',' | b'"') {
                return Err(err(
                    text,
                    format!(
                        "it contains {:?}, which would split or end the policy",
                        c as char
                    ),
                ));
            }
            ascii &= c.is_ascii();
        }
        if !ascii {
            return Err(err(
                text,
                "it contains non-ASCII characters (write an internationalised host in punycode)",
            ));
        }
        if text.starts_with('\'') {
            return parse_quoted(text);
        }
        // A quote is a valid path character (RFC 3986 sub-delims), so only the part before the
        // path decides whether a stray quote makes the token a broken keyword.
        let sep = scheme_separator(text);
        let before_path = match sep {
            Some(i) => &text[..i + 3 + text[i + 3..].find('/').unwrap_or(text.len() - i - 3)],
            None => &text[..text.find('/').unwrap_or(text.len())],
        };
        if before_path.contains('\'') {
            return Err(err(
                text,
                "a quote is only allowed around a keyword, nonce or hash",
            ));
        }
        if let Some(scheme) = text.strip_suffix(':') {
            if is_scheme(scheme) {
                return Ok(Source::Scheme(scheme.to_string()));
            }
            return Err(err(text, "not a scheme"));
        }
        parse_host_source(text, sep)
    }

    pub fn keyword(&self) -> Option<Keyword> {
        match self {
            Source::Keyword(k) => Some(*k),
            _ => None,
        }
    }

    /// A nonce or hash source.
    pub fn is_nonce_or_hash(&self) -> bool {
        matches!(self, Source::Nonce(_) | Source::Hash(..))
    }

    /// The bare `*` expression (CSP3 §6.7.2.8 step 1), as opposed to `https://*`.
    pub fn is_star(&self) -> bool {
        matches!(self, Source::Host(h)
            if h.host == "*" && h.scheme.is_none() && h.port.is_none() && h.path.is_none())
    }

    /// A source that matches URLs (host, scheme, `*`, `'self'`), as opposed to one about inline
    /// code or eval (`'unsafe-inline'`...), a nonce or a hash.
    pub fn matches_urls(&self) -> bool {
        matches!(
            self,
            Source::Host(_) | Source::Scheme(_) | Source::Keyword(Keyword::SelfOrigin)
        )
    }

    /// Is every request this source allows already allowed by `list`, in every browser?
    /// See [`covers`].
    pub fn is_covered_by(&self, list: &[Source]) -> bool {
        covers(list, self)
    }
}

pub use super::cover::covers;

/// `text` ASCII-lowercased is `lower` (a private loop: adding calls to the standard library's
/// case-insensitive compare changed how it was inlined elsewhere, into a slower shared copy).
fn lower_eq(text: &[u8], lower: &str) -> bool {
    text.len() == lower.len()
        && text
            .iter()
            .zip(lower.bytes())
            .all(|(a, b)| a.to_ascii_lowercase() == b)
}

fn parse_quoted(text: &str) -> Result<Source, SourceError> {
    if text.len() < 3 || !text.ends_with('\'') {
        return Err(err(text, "an opening quote without its closing quote"));
    }
    let inner = &text[1..text.len() - 1];
    // ASCII (checked by the caller): compared lower-cased, without a lower-case copy.
    let starts = |prefix: &str| {
        inner.len() >= prefix.len() && lower_eq(&inner.as_bytes()[..prefix.len()], prefix)
    };
    for k in Keyword::ALL {
        if lower_eq(inner.as_bytes(), &k.as_str()[1..k.as_str().len() - 1]) {
            return Ok(Source::Keyword(k));
        }
    }
    if starts("nonce-") {
        let value = &inner[6..];
        return if is_base64_value(value) {
            Ok(Source::Nonce(value.to_string()))
        } else {
            Err(err(
                text,
                "a nonce must be base64 (letters, digits, + / - _ and up to two =)",
            ))
        };
    }
    for (prefix, alg) in [
        ("sha256-", HashAlgorithm::Sha256),
        ("sha384-", HashAlgorithm::Sha384),
        ("sha512-", HashAlgorithm::Sha512),
    ] {
        if starts(prefix) {
            let value = &inner[prefix.len()..];
            return if is_base64_value(value) {
                Ok(Source::Hash(alg, value.to_string()))
            } else {
                Err(err(
                    text,
                    "a hash must be base64 (letters, digits, + / - _ and up to two =)",
                ))
            };
        }
    }
    Err(err(text, "not a CSP keyword, nonce or hash"))
}

/// Where `://` is in `text` (`str::find("://")`, without building a substring searcher).
fn scheme_separator(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', &b[from..]) {
        let at = from + i;
        if b[at + 1..].starts_with(b"//") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `sep`: where `://` is in `text` ([`scheme_separator`]).
fn parse_host_source(text: &str, sep: Option<usize>) -> Result<Source, SourceError> {
    let (scheme, rest) = match sep {
        Some(i) => {
            let scheme = &text[..i];
            if !is_scheme(scheme) {
                return Err(err(text, format!("`{scheme}` is not a scheme")));
            }
            (Some(scheme.to_string()), &text[i + 3..])
        }
        None => (None, text),
    };
    let host_end = rest.find([':', '/']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    validate_host(text, host)?;
    let mut after = &rest[host_end..];
    let mut port = None;
    if let Some(p) = after.strip_prefix(':') {
        let end = p.find('/').unwrap_or(p.len());
        let digits = &p[..end];
        port = Some(if digits == "*" {
            Port::Any
        } else if !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|c| c.is_ascii_digit())
        {
            Port::Number(
                digits
                    .parse()
                    .map_err(|_| err(text, "the port is above 65535"))?,
            )
        } else {
            return Err(err(text, format!("`{digits}` is not a port (digits or *)")));
        });
        after = &p[end..];
    }
    let path = if after.is_empty() {
        None
    } else {
        if after.starts_with("//") {
            return Err(err(text, "a path cannot start with //"));
        }
        if let Some(bad) = after.bytes().find(|&c| !is_path_char(c)) {
            return Err(err(
                text,
                format!(
                    "{:?} is not allowed in a path (percent-encode it)",
                    bad as char
                ),
            ));
        }
        Some(after.to_string())
    };
    Ok(Source::Host(HostSource {
        scheme,
        host: host.to_string(),
        port,
        path,
    }))
}

fn validate_host(text: &str, host: &str) -> Result<(), SourceError> {
    if host == "*" {
        return Ok(());
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(err(text, "the host is missing"));
    }
    for label in name.split('.') {
        if label == "*" {
            return Err(err(
                text,
                "a wildcard is only allowed as the leftmost label (`*.example.com`)",
            ));
        }
        if label.is_empty() {
            return Err(err(text, "the host has an empty label"));
        }
        if let Some(bad) = label
            .bytes()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == b'-'))
        {
            return Err(err(
                text,
                format!("{:?} is not allowed in a host name", bad as char),
            ));
        }
    }
    Ok(())
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Keyword(k) => f.write_str(k.as_str()),
            Source::Nonce(v) => write!(f, "'nonce-{v}'"),
            Source::Hash(alg, v) => {
                let alg = match alg {
                    HashAlgorithm::Sha256 => "sha256",
                    HashAlgorithm::Sha384 => "sha384",
                    HashAlgorithm::Sha512 => "sha512",
                };
                write!(f, "'{alg}-{v}'")
            }
            Source::Scheme(s) => write!(f, "{s}:"),
            Source::Host(h) => {
                if let Some(s) = &h.scheme {
                    write!(f, "{s}://")?;
                }
                f.write_str(&h.host)?;
                match h.port {
                    Some(Port::Any) => f.write_str(":*")?,
                    Some(Port::Number(n)) => write!(f, ":{n}")?,
                    None => {}
                }
                if let Some(p) = &h.path {
                    f.write_str(p)?;
                }
                Ok(())
            }
        }
    }
}

/// Why no URL can match `source`, although CSP3's grammar accepts it: browsers parse every URL
/// with the WHATWG URL parser, which rewrites hosts and paths, and match the rewritten URL.
/// A host the parser reads as another host (`1` is the IPv4 address `0.0.0.1`, `0x7f.1` and
/// `127.000.0.1` are `127.0.0.1`), a host no URL can have (`a.1`: a last label that is a number
/// must be an IPv4 address; `xn--a`: not punycode), or a path with a dot segment (`/./`,
/// `/../`, `%2e`: URL paths never hold one) describes no URL: the vendor stays blocked.
/// `None` when some URL can match. An IPv4 address written as the parser writes it
/// (`https://127.0.0.1`) is kept: Chromium and Firefox match it (see `super::matching`).
pub fn matches_no_url(source: &Source) -> Option<String> {
    let Source::Host(h) = source else {
        return None;
    };
    if h.host != "*" {
        let (wild, name) = match h.host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, h.host.as_str()),
        };
        // A wildcard stands for at least one more label: check the host with one.
        let probe = if wild {
            format!("csppatch.{name}")
        } else {
            name.to_string()
        };
        match url::Host::parse(&probe) {
            Ok(url::Host::Domain(d)) if d == probe.to_ascii_lowercase() => {}
            Ok(url::Host::Ipv4(ip)) if !wild && ip.to_string() == probe => {}
            Ok(url::Host::Ipv4(ip)) if !wild => {
                return Some(format!(
                    "browsers read the host `{name}` as the IPv4 address {ip}, so no URL has \
                     this host; write `{ip}` if that is the address you mean"
                ));
            }
            Ok(_) | Err(_) => {
                return Some(format!(
                    "no URL can have the host `{}`{}",
                    h.host,
                    if name.rsplit('.').find(|l| !l.is_empty()).is_some_and(|l| {
                        l.bytes().all(|c| c.is_ascii_digit())
                            || l.to_ascii_lowercase().starts_with("0x")
                    }) {
                        " (a last label that is a number makes the URL parser read an IPv4 \
                         address, and this is not one)"
                    } else if name.to_ascii_lowercase().contains("xn--") {
                        " (a label starting with xn-- must be valid punycode)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    if let Some(path) = &h.path {
        if let Some(seg) = path.split('/').find(|seg| {
            matches!(
                seg.to_ascii_lowercase().as_str(),
                "." | ".." | "%2e" | ".%2e" | "%2e." | "%2e%2e"
            )
        }) {
            return Some(format!(
                "the path has the dot segment `{seg}`, which browsers remove from every URL \
                 (`/a/./b` is `/a/b`, `/a/../b` is `/b`), so no URL has this path; write the \
                 path without it"
            ));
        }
    }
    None
}

/// A source a vendor (or `--allow`) asks for: a valid source expression, and stricter than
/// what browsers accept, because a typo here silently opens or breaks a site.
pub fn parse_vendor_source(text: &str, allow_insecure: bool) -> Result<Source, SourceError> {
    let source = Source::parse(text)?;
    if !text.starts_with('\'') && text.contains('\'') {
        return Err(err(
            text,
            "a quote is only allowed around a keyword, nonce or hash",
        ));
    }
    if let Source::Host(h) = &source {
        let bare = h.scheme.is_none() && h.port.is_none() && h.path.is_none();
        if bare
            && Keyword::ALL
                .iter()
                .any(|k| k.as_str().trim_matches('\'').eq_ignore_ascii_case(&h.host))
        {
            return Err(err(
                text,
                format!(
                    "a keyword must be quoted: '{}'",
                    h.host.to_ascii_lowercase()
                ),
            ));
        }
    }
    let scheme = match &source {
        Source::Scheme(s) => Some(s.as_str()),
        Source::Host(h) => h.scheme.as_deref(),
        _ => None,
    };
    if let Some(s) = scheme {
        if !allow_insecure && (s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("ws")) {
            return Err(err(
                text,
                format!("{s}: is unencrypted; pass --allow-insecure if you really mean it"),
            ));
        }
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_scheme_separator_is_the_first_colon_slash_slash() {
        for t in [
            "https://a.example",
            "a.example",
            "x:y://z",
            "a:/b://c",
            "::/",
            "a:",
            "://",
        ] {
            assert_eq!(scheme_separator(t), t.find("://"), "{t}");
        }
    }

    #[test]
    fn keywords_and_prefixes_are_case_insensitive() {
        assert_eq!(
            Source::parse("'SELF'"),
            Ok(Source::Keyword(Keyword::SelfOrigin))
        );
        assert_eq!(
            Source::parse("'NoNcE-abc='"),
            Ok(Source::Nonce("abc=".into()))
        );
        assert!(matches!(
            Source::parse("'SHA256-abc='"),
            Ok(Source::Hash(HashAlgorithm::Sha256, _))
        ));
        assert!(Source::parse("'selfish'").is_err());
        assert!(lower_eq(b"Unsafe-Inline", "unsafe-inline"));
        assert!(!lower_eq(b"unsafe-inlin", "unsafe-inline"));
    }

    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            Source::parse("'SELF'").unwrap(),
            Source::Keyword(Keyword::SelfOrigin)
        );
        assert_eq!(
            Source::parse("data:").unwrap(),
            Source::Scheme("data".into())
        );
        assert!(
            matches!(Source::parse("'nonce-abc123=='").unwrap(), Source::Nonce(v) if v == "abc123==")
        );
        assert!(matches!(
            Source::parse("'sha256-AbC+/='").unwrap(),
            Source::Hash(HashAlgorithm::Sha256, _)
        ));
        let Source::Host(h) = Source::parse("wss://*.relay.crisp.chat:443/path/").unwrap() else {
            panic!()
        };
        assert_eq!(
            (
                h.scheme.as_deref(),
                h.host.as_str(),
                h.port,
                h.path.as_deref()
            ),
            (
                Some("wss"),
                "*.relay.crisp.chat",
                Some(Port::Number(443)),
                Some("/path/")
            )
        );
        assert!(matches!(Source::parse("*").unwrap(), Source::Host(h) if h.host == "*"));
        assert!(
            matches!(Source::parse("example.com:*").unwrap(), Source::Host(h) if h.port == Some(Port::Any))
        );
    }

    #[test]
    fn rejects_what_browsers_would_ignore_or_split() {
        for bad in [
            "https://*.ingest.*.sentry.io",
            "'self",
            "a b",
            "a;b",
            "x,y",
            "https://",
            "https://exa_mple.com",
            "'nonce-'",
            "'sha1-abc'",
            "https://a.com:99999",
            "*.*.com",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad} should be rejected");
        }
        let e = Source::parse("https://*.ingest.*.sentry.io").unwrap_err();
        assert!(e.to_string().contains("leftmost label"), "{e}");
    }

    #[test]
    fn vendor_sources_are_stricter() {
        assert!(
            Source::parse("self").is_ok(),
            "browsers read it as a host named self"
        );
        assert!(parse_vendor_source("self", false)
            .unwrap_err()
            .reason
            .contains("quoted"));
        assert!(parse_vendor_source("ws://muserelay.com", false).is_err());
        assert!(parse_vendor_source("http:", false).is_err());
        assert!(parse_vendor_source("ws://muserelay.com", true).is_ok());
        assert!(parse_vendor_source("wss://muserelay.com", false).is_ok());
    }

    #[test]
    fn prints_what_it_parsed() {
        for s in [
            "'self'",
            "https://a.example.com:8443/x/",
            "data:",
            "*.example.com",
            "'nonce-abc'",
            "*",
        ] {
            assert_eq!(Source::parse(s).unwrap().to_string(), s);
        }
    }
}
