//! What csppatch knows about each directive name: its kind, whether it takes a source list,
//! whether it is deprecated, and the CSP3 fallback lists.
//!
//! The fallback lists mirror CSP3 §6.8.3 "Get fetch directive fallback list"
//! (<https://www.w3.org/TR/CSP3/#directive-fallback-list>); Servo's content-security-policy crate
//! (`get_fetch_directive_fallback_list`) and Ladybird (`DirectiveOperations.cpp`) use the same.

/// What a directive governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A fetch directive (CSP3 §6.1): restricts where subresources load from, with fallback.
    Fetch,
    /// A document or navigation directive with a source list and no fallback
    /// (`form-action`, `frame-ancestors`, `base-uri`).
    NoFallback,
    /// Takes something other than a source list (`sandbox`, `report-to`, `trusted-types`...).
    Other,
}

/// One known directive name.
#[derive(Debug, Clone, Copy)]
pub struct DirectiveInfo {
    pub name: &'static str,
    pub kind: Kind,
    /// Removed from the specification or never shipped: browsers ignore it (or soon will).
    /// The text says what to use instead.
    pub deprecated: Option<&'static str>,
    /// Ignored when the policy is delivered in a `<meta>` element (CSP3 §3.3, HTML's
    /// "http-equiv Content-Security-Policy" processing).
    pub meta_ignored: bool,
}

const fn d(name: &'static str, kind: Kind) -> DirectiveInfo {
    DirectiveInfo {
        name,
        kind,
        deprecated: None,
        meta_ignored: false,
    }
}

const fn old(name: &'static str, kind: Kind, instead: &'static str) -> DirectiveInfo {
    DirectiveInfo {
        name,
        kind,
        deprecated: Some(instead),
        meta_ignored: false,
    }
}

const fn meta_ignored(mut info: DirectiveInfo) -> DirectiveInfo {
    info.meta_ignored = true;
    info
}

/// Every directive name csppatch recognises, CSP3 and the common removed ones.
pub static KNOWN: &[DirectiveInfo] = &[
    d("child-src", Kind::Fetch),
    d("connect-src", Kind::Fetch),
    d("default-src", Kind::Fetch),
    d("font-src", Kind::Fetch),
    d("frame-src", Kind::Fetch),
    d("img-src", Kind::Fetch),
    d("manifest-src", Kind::Fetch),
    d("media-src", Kind::Fetch),
    d("object-src", Kind::Fetch),
    d("script-src", Kind::Fetch),
    d("script-src-elem", Kind::Fetch),
    d("script-src-attr", Kind::Fetch),
    d("style-src", Kind::Fetch),
    d("style-src-elem", Kind::Fetch),
    d("style-src-attr", Kind::Fetch),
    d("worker-src", Kind::Fetch),
    // Chromium only, outside the CSP3 fallback lists: recognised, never edited.
    d("fenced-frame-src", Kind::Other),
    d("base-uri", Kind::NoFallback),
    d("form-action", Kind::NoFallback),
    meta_ignored(d("frame-ancestors", Kind::NoFallback)),
    meta_ignored(d("sandbox", Kind::Other)),
    meta_ignored(old(
        "report-uri",
        Kind::Other,
        "report-to (keep report-uri too while Firefox and Safari lack the Reporting API)",
    )),
    meta_ignored(d("report-to", Kind::Other)),
    d("upgrade-insecure-requests", Kind::Other),
    d("require-trusted-types-for", Kind::Other),
    d("trusted-types", Kind::Other),
    d("webrtc", Kind::Other),
    old(
        "block-all-mixed-content",
        Kind::Other,
        "upgrade-insecure-requests (browsers now block or upgrade mixed content by themselves)",
    ),
    old(
        "plugin-types",
        Kind::Other,
        "object-src 'none' (plugins are gone from every current browser)",
    ),
    old(
        "prefetch-src",
        Kind::Fetch,
        "default-src (CSP3 checks prefetches against default-src)",
    ),
    old(
        "navigate-to",
        Kind::NoFallback,
        "form-action for form targets (navigate-to was removed from CSP3 and never shipped)",
    ),
    old("referrer", Kind::Other, "the Referrer-Policy header"),
    old(
        "reflected-xss",
        Kind::Other,
        "nothing (the XSS auditor it configured was removed from browsers)",
    ),
    old(
        "disown-opener",
        Kind::Other,
        "the Cross-Origin-Opener-Policy header",
    ),
    old(
        "require-sri-for",
        Kind::Other,
        "integrity attributes on the elements themselves",
    ),
];

/// The known directive `name` (already lower-case), if any.
pub fn info(name: &str) -> Option<&'static DirectiveInfo> {
    KNOWN.iter().find(|d| d.name == name)
}

/// CSP3 §6.8.3: the directives checked, most specific first, for an effective directive.
/// Empty for names that are not effective fetch directives.
pub fn fallback_list(effective: &str) -> &'static [&'static str] {
    match effective {
        "script-src-elem" => &["script-src-elem", "script-src", "default-src"],
        "script-src-attr" => &["script-src-attr", "script-src", "default-src"],
        "style-src-elem" => &["style-src-elem", "style-src", "default-src"],
        "style-src-attr" => &["style-src-attr", "style-src", "default-src"],
        "worker-src" => &["worker-src", "child-src", "script-src", "default-src"],
        "connect-src" => &["connect-src", "default-src"],
        "manifest-src" => &["manifest-src", "default-src"],
        "object-src" => &["object-src", "default-src"],
        "frame-src" => &["frame-src", "child-src", "default-src"],
        "media-src" => &["media-src", "default-src"],
        "font-src" => &["font-src", "default-src"],
        "img-src" => &["img-src", "default-src"],
        _ => &[],
    }
}

/// The four CSP3 directives that browsers before Safari 15.4, Firefox 108 and Chrome 75 do not
/// know and ignore (<https://caniuse.com/mdn-http_headers_content-security-policy_script-src-elem>).
pub const SPLIT_DIRECTIVES: [&str; 4] = [
    "script-src-elem",
    "script-src-attr",
    "style-src-elem",
    "style-src-attr",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fallback_name_is_known() {
        for d in KNOWN {
            for name in fallback_list(d.name) {
                assert!(info(name).is_some(), "{name}");
            }
        }
    }

    #[test]
    fn fallback_lists_start_with_themselves() {
        for name in [
            "script-src-elem",
            "worker-src",
            "frame-src",
            "img-src",
            "style-src-attr",
        ] {
            assert_eq!(fallback_list(name)[0], name);
            assert_eq!(*fallback_list(name).last().unwrap(), "default-src");
        }
        assert!(
            fallback_list("script-src").is_empty(),
            "not an effective name"
        );
        assert!(fallback_list("form-action").is_empty());
    }
}
