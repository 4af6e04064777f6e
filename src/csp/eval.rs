//! "Does this policy list allow this request?": the invariant checker of the merge.
//!
//! Follows CSP3 (<https://www.w3.org/TR/CSP3/>): §4.1.3 "Should request be blocked by Content
//! Security Policy?" (every policy of the list must allow), §6.8.1 "Get the effective directive
//! for request", §6.8.3 the fallback lists, §6.8.4 "Should fetch directive execute", the
//! directives' pre-request checks (§6.1: script directives honour nonces and `'strict-dynamic'`,
//! style directives nonces), §4.2.3 "Should element's inline type behavior be blocked" with
//! §6.7.3 "Does element match source list for type and source?", and §4.4 "EnsureCSPDoesNotBlock
//! StringCompilation" for eval (script-src, else default-src; never the -elem/-attr directives).
//!
//! URLs are matched as the browsers match them ([`super::matching`]): a request is allowed when
//! Chromium and Firefox both allow it; [`allows_by`] gives one reading's answer (the CSP3 text's
//! included), for the probe's notes on where the specification differs. A redirected request
//! ([`Request::redirected_to`]) must be allowed at every hop, paths counting only on the first.
//!
//! Not modelled: prefetch and prerender requests, Subresource Integrity metadata on requests,
//! Trusted Types, `sandbox`. A policy is evaluated as if enforced: the disposition
//! (Report-Only) does not change what it "allows".

use url::Url;

use super::directives::{fallback_list, SPLIT_DIRECTIVES};
use super::matching::{list_matches_in, Context};
pub use super::matching::{Origin, Reading};
use super::parse::{parse, Directive, Policy, PolicyList, Token};
use super::source::{HashAlgorithm, Keyword, Source};

/// What a fetch is for (Fetch "request destination", grouped by effective directive), plus the
/// three URL checks of non-fetch directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Destination {
    /// `<script src>`, module imports, worklets: script-src-elem.
    Script,
    /// `<link rel=stylesheet>`, `@import`: style-src-elem.
    Style,
    Image,
    Font,
    /// fetch(), XMLHttpRequest, WebSocket, EventSource, sendBeacon: connect-src.
    Connect,
    /// `<iframe>`, `<frame>`: frame-src.
    Frame,
    /// Worker, SharedWorker, ServiceWorker: worker-src.
    Worker,
    /// `<audio>`, `<video>`, `<track>`: media-src.
    Media,
    Manifest,
    /// `<object>`, `<embed>`: object-src.
    Object,
    /// A form submission's target: form-action (no fallback).
    FormAction,
    /// A `<base href>`: base-uri (no fallback).
    BaseUri,
    /// An ancestor framing the page (the URL is the ancestor's origin): frame-ancestors.
    FrameAncestor,
}

impl Destination {
    /// Every fetch destination, in the order of [`Destination::effective_directive`].
    pub const FETCH: [Destination; 10] = [
        Destination::Script,
        Destination::Style,
        Destination::Image,
        Destination::Font,
        Destination::Connect,
        Destination::Frame,
        Destination::Worker,
        Destination::Media,
        Destination::Manifest,
        Destination::Object,
    ];

    /// CSP3 §6.8.1 (and the directive checked by navigation/document checks).
    pub fn effective_directive(self) -> &'static str {
        match self {
            Destination::Script => "script-src-elem",
            Destination::Style => "style-src-elem",
            Destination::Image => "img-src",
            Destination::Font => "font-src",
            Destination::Connect => "connect-src",
            Destination::Frame => "frame-src",
            Destination::Worker => "worker-src",
            Destination::Media => "media-src",
            Destination::Manifest => "manifest-src",
            Destination::Object => "object-src",
            Destination::FormAction => "form-action",
            Destination::BaseUri => "base-uri",
            Destination::FrameAncestor => "frame-ancestors",
        }
    }

    pub fn is_fetch(self) -> bool {
        Destination::FETCH.contains(&self)
    }
}

/// The inline check types of CSP3 §4.2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum InlineKind {
    /// An inline `<script>` element.
    Script,
    /// An event handler attribute (`onclick=`).
    ScriptAttribute,
    /// An inline `<style>` element.
    Style,
    /// A `style=` attribute.
    StyleAttribute,
    /// A `javascript:` URL navigation.
    Navigation,
}

impl InlineKind {
    pub const ALL: [InlineKind; 5] = [
        InlineKind::Script,
        InlineKind::ScriptAttribute,
        InlineKind::Style,
        InlineKind::StyleAttribute,
        InlineKind::Navigation,
    ];

    /// CSP3 §6.8.2 "Get the effective directive for inline checks".
    pub fn effective_directive(self) -> &'static str {
        match self {
            InlineKind::Script | InlineKind::Navigation => "script-src-elem",
            InlineKind::ScriptAttribute => "script-src-attr",
            InlineKind::Style => "style-src-elem",
            InlineKind::StyleAttribute => "style-src-attr",
        }
    }
}

/// What is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Load {
        destination: Destination,
        url: Url,
    },
    Inline(InlineKind),
    /// eval(), new Function(), setTimeout(string).
    Eval,
    /// WebAssembly compilation: 'wasm-unsafe-eval' or 'unsafe-eval'.
    WasmEval,
}

/// One request (or inline behaviour) of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub check: Check,
    /// The page the policy protects.
    pub origin: Origin,
    /// The element's `nonce` attribute (a `<script>`/`<style>` element, or a load it makes).
    pub nonce: Option<String>,
    /// Whether the HTML parser inserted the element (matters with `'strict-dynamic'`).
    pub parser_inserted: bool,
    /// The digest of an inline element's content, base64, for hash sources.
    pub content_hash: Option<(HashAlgorithm, String)>,
    /// Where a load was redirected to, in order: each hop is checked too, without paths.
    pub redirects: Vec<Url>,
}

impl Request {
    /// A fetch of `url` for `destination` from a page of `origin`. Script loads are taken as
    /// parser-inserted (`<script src>` in the page's HTML); use [`Request::not_parser_inserted`]
    /// for scripts created by other scripts.
    pub fn load(destination: Destination, url: &str, origin: &str) -> Result<Request, String> {
        let url = Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        Ok(Request {
            check: Check::Load { destination, url },
            origin: Origin::parse(origin)?,
            nonce: None,
            parser_inserted: destination == Destination::Script,
            content_hash: None,
            redirects: Vec::new(),
        })
    }

    /// An inline behaviour (inline element, attribute, javascript: URL) on a page of `origin`.
    pub fn inline(kind: InlineKind, origin: &str) -> Result<Request, String> {
        Ok(Request {
            check: Check::Inline(kind),
            origin: Origin::parse(origin)?,
            nonce: None,
            parser_inserted: true,
            content_hash: None,
            redirects: Vec::new(),
        })
    }

    /// A string compilation (`eval`) on a page of `origin`.
    pub fn eval(origin: &str) -> Result<Request, String> {
        Ok(Request {
            check: Check::Eval,
            origin: Origin::parse(origin)?,
            nonce: None,
            parser_inserted: false,
            content_hash: None,
            redirects: Vec::new(),
        })
    }

    pub fn with_nonce(mut self, nonce: &str) -> Request {
        self.nonce = Some(nonce.to_string());
        self
    }

    pub fn with_content_hash(mut self, algorithm: HashAlgorithm, base64: &str) -> Request {
        self.content_hash = Some((algorithm, base64.to_string()));
        self
    }

    pub fn not_parser_inserted(mut self) -> Request {
        self.parser_inserted = false;
        self
    }

    /// The load, redirected (once more) to `url`.
    pub fn redirected_to(mut self, url: Url) -> Request {
        self.redirects.push(url);
        self
    }
}

/// Which browser generation evaluates the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Browser {
    /// CSP Level 3 as specified.
    Csp3,
    /// A browser without `script-src-elem`, `-attr`, `style-src-elem`, `-attr` (Safari before
    /// 15.4, Firefox before 108): it ignores those four directives as unknown.
    NoElemAttr,
}

impl Browser {
    pub const ALL: [Browser; 2] = [Browser::Csp3, Browser::NoElemAttr];

    /// Whether the browser enforces a directive of this name at all.
    pub fn knows(self, name: &str) -> bool {
        self == Browser::Csp3 || !SPLIT_DIRECTIVES.contains(&name)
    }

    /// The fallback list of `effective` as this browser walks it.
    pub fn fallback_list(self, effective: &str) -> Vec<&'static str> {
        fallback_list(effective)
            .iter()
            .copied()
            .filter(|n| self.knows(n))
            .collect()
    }
}

/// Do all policies of `policy_list` (a header value) allow `request`, in CSP3 browsers (Chromium
/// and Firefox both)?
pub fn allows(policy_list: &str, request: &Request) -> bool {
    allows_in(&parse(policy_list), request, Browser::Csp3)
}

/// Do all policies of `list` allow `request` in `browser`, as Chromium and Firefox match URLs?
pub fn allows_in(list: &PolicyList, request: &Request, browser: Browser) -> bool {
    Reading::BROWSERS
        .iter()
        .all(|&reading| allows_by(list, request, browser, reading))
}

/// Do all policies of `list` allow `request` in `browser`, matching URLs as `reading` does?
pub fn allows_by(list: &PolicyList, request: &Request, browser: Browser, reading: Reading) -> bool {
    list.enforced()
        .all(|policy| policy_allows_by(policy, request, browser, reading))
}

/// The directive that decides `effective` in `policy` for `browser` (CSP3 §6.8.4: the first
/// present directive of the fallback list).
pub fn governing<'p>(
    policy: &'p Policy,
    effective: &str,
    browser: Browser,
) -> Option<&'p Directive> {
    browser
        .fallback_list(effective)
        .into_iter()
        .find_map(|name| policy.get(name))
}

/// Does one policy allow `request` in `browser`, as Chromium and Firefox match URLs?
pub fn policy_allows(policy: &Policy, request: &Request, browser: Browser) -> bool {
    Reading::BROWSERS
        .iter()
        .all(|&reading| policy_allows_by(policy, request, browser, reading))
}

/// Does one policy allow `request` in `browser`, matching URLs as `reading` does?
pub fn policy_allows_by(
    policy: &Policy,
    request: &Request,
    browser: Browser,
    reading: Reading,
) -> bool {
    match &request.check {
        Check::Load { destination, url } => {
            load_allowed(policy, request, *destination, url, browser, reading)
        }
        Check::Inline(kind) => inline_allowed(policy, request, *kind, browser),
        Check::Eval | Check::WasmEval => {
            let list = policy
                .get("script-src")
                .or_else(|| policy.get("default-src"));
            list.is_none_or(|d| {
                d.sources.iter().any(|t| match t.source {
                    Ok(Source::Keyword(Keyword::UnsafeEval)) => true,
                    Ok(Source::Keyword(Keyword::WasmUnsafeEval)) => {
                        request.check == Check::WasmEval
                    }
                    _ => false,
                })
            })
        }
    }
}

fn nonce_matches(list: &[Token], nonce: Option<&str>) -> bool {
    let Some(nonce) = nonce.filter(|n| !n.is_empty()) else {
        return false;
    };
    list.iter()
        .any(|t| matches!(&t.source, Ok(Source::Nonce(v)) if v == nonce))
}

fn has_keyword(list: &[Token], keyword: Keyword) -> bool {
    list.iter()
        .any(|t| matches!(t.source, Ok(Source::Keyword(k)) if k == keyword))
}

/// Does `list` match the URL and every redirect of `request`, in `reading`?
fn every_hop_matches(
    list: &[Token],
    request: &Request,
    url: &Url,
    destination: Destination,
    reading: Reading,
) -> bool {
    let navigation = matches!(
        destination,
        Destination::Frame | Destination::FormAction | Destination::FrameAncestor
    );
    std::iter::once(url)
        .chain(&request.redirects)
        .zip(0u32..)
        .all(|(hop, redirect_count)| {
            let ctx = Context {
                origin: &request.origin,
                redirect_count,
                navigation,
            };
            list_matches_in(reading, hop, list, &ctx)
        })
}

fn load_allowed(
    policy: &Policy,
    request: &Request,
    destination: Destination,
    url: &Url,
    browser: Browser,
    reading: Reading,
) -> bool {
    if !destination.is_fetch() {
        // form-action, base-uri, frame-ancestors: no fallback; absent means unrestricted.
        return policy
            .get(destination.effective_directive())
            .is_none_or(|d| every_hop_matches(&d.sources, request, url, destination, reading));
    }
    let Some(directive) = governing(policy, destination.effective_directive(), browser) else {
        return true;
    };
    let list = &directive.sources;
    // Workers are script-like destinations, but only script-src's own pre-request check runs the
    // script directives check for them: worker-src, child-src and default-src run worker-src's,
    // which is a plain URL match (CSP3 §6.1.12, §6.1.1 "using this directive's value").
    let script_check = destination == Destination::Script
        || (destination == Destination::Worker && directive.name == "script-src");
    if script_check {
        // §6.7.1.1 Script directives pre-request check.
        if nonce_matches(list, request.nonce.as_deref()) {
            return true;
        }
        if has_keyword(list, Keyword::StrictDynamic) {
            return !request.parser_inserted;
        }
    } else if destination == Destination::Style && nonce_matches(list, request.nonce.as_deref()) {
        return true;
    }
    every_hop_matches(list, request, url, destination, reading)
}

/// §6.7.3.2 "Does a source list allow all inline behavior for type?"
pub fn allows_all_inline(list: &[Token], kind: InlineKind) -> bool {
    let mut allow = false;
    for t in list {
        match &t.source {
            Ok(s) if s.is_nonce_or_hash() => return false,
            Ok(Source::Keyword(Keyword::StrictDynamic))
                if matches!(
                    kind,
                    InlineKind::Script | InlineKind::ScriptAttribute | InlineKind::Navigation
                ) =>
            {
                return false
            }
            Ok(Source::Keyword(Keyword::UnsafeInline)) => allow = true,
            _ => {}
        }
    }
    allow
}

fn normalized_base64(v: &str) -> String {
    v.replace('-', "+").replace('_', "/")
}

fn inline_allowed(policy: &Policy, request: &Request, kind: InlineKind, browser: Browser) -> bool {
    let Some(directive) = governing(policy, kind.effective_directive(), browser) else {
        return true;
    };
    let list = &directive.sources;
    // §6.7.3.3 "Does element match source list for type and source?"
    if allows_all_inline(list, kind) {
        return true;
    }
    let element = matches!(kind, InlineKind::Script | InlineKind::Style);
    if element && nonce_matches(list, request.nonce.as_deref()) {
        return true;
    }
    if element || has_keyword(list, Keyword::UnsafeHashes) {
        if let Some((alg, digest)) = &request.content_hash {
            return list.iter().any(|t| {
                matches!(&t.source, Ok(Source::Hash(a, v))
                    if a == alg && normalized_base64(v) == normalized_base64(digest))
            });
        }
    }
    false
}

pub use super::probe::{example_url, requests_for};

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://site.example";

    fn load(d: Destination, url: &str) -> Request {
        Request::load(d, url, PAGE).unwrap()
    }

    #[test]
    fn fallback_to_default_src() {
        let p = "default-src 'self'; img-src data:";
        assert!(allows(
            p,
            &load(Destination::Script, "https://site.example/a.js")
        ));
        assert!(!allows(
            p,
            &load(Destination::Script, "https://cdn.example/a.js")
        ));
        assert!(!allows(
            p,
            &load(Destination::Image, "https://site.example/a.png")
        ));
        assert!(allows(
            p,
            &load(Destination::Image, "data:image/png;base64,AA")
        ));
        assert!(allows(
            p,
            &load(Destination::FormAction, "https://evil.example/")
        ));
    }

    #[test]
    fn connect_src_stops_falling_back() {
        let before = "default-src 'self'";
        let after = "default-src 'self'; connect-src https://api.vendor.example";
        let own = load(Destination::Connect, "https://site.example/api");
        assert!(allows(before, &own));
        assert!(
            !allows(after, &own),
            "a new connect-src no longer falls back to default-src's 'self'"
        );
    }

    #[test]
    fn worker_falls_back_through_child_and_script() {
        let w = load(Destination::Worker, "https://w.example/w.js");
        assert!(allows(
            "default-src 'none'; script-src https://w.example",
            &w
        ));
        assert!(!allows(
            "script-src https://w.example; child-src 'none'",
            &w
        ));
        assert!(!allows(
            "script-src https://w.example; worker-src 'self'",
            &w
        ));
    }

    #[test]
    fn every_policy_must_allow() {
        let r = load(Destination::Image, "https://a.example/x.png");
        assert!(allows("img-src https://a.example, img-src *", &r));
        assert!(!allows("img-src https://a.example, img-src 'self'", &r));
        assert!(
            allows("img-src https://a.example, ", &r),
            "empty policy dropped"
        );
    }

    #[test]
    fn strict_dynamic_and_nonce() {
        let p = "script-src 'nonce-abc' 'strict-dynamic' https:";
        let tag = load(Destination::Script, "https://cdn.example/a.js");
        assert!(!allows(p, &tag), "host sources are ignored");
        assert!(allows(p, &tag.clone().with_nonce("abc")));
        assert!(allows(p, &tag.not_parser_inserted()));
        let w = load(Destination::Worker, "https://x.example/w.js");
        assert!(allows(p, &w), "workers are not parser-inserted");
        assert!(
            !allows("default-src 'nonce-abc' 'strict-dynamic'", &w),
            "worker-src check via default-src is a URL match"
        );
    }

    #[test]
    fn inline_checks() {
        let inline = |k| Request::inline(k, PAGE).unwrap();
        let p = "script-src 'self' 'unsafe-inline'; style-src 'nonce-n'";
        assert!(allows(p, &inline(InlineKind::Script)));
        assert!(allows(p, &inline(InlineKind::ScriptAttribute)));
        assert!(!allows(p, &inline(InlineKind::Style)));
        assert!(allows(p, &inline(InlineKind::Style).with_nonce("n")));
        assert!(
            !allows(p, &inline(InlineKind::StyleAttribute).with_nonce("n")),
            "attributes are not nonceable"
        );
        assert!(
            !allows(
                "script-src 'unsafe-inline' 'nonce-x'",
                &inline(InlineKind::Script)
            ),
            "nonce disables unsafe-inline"
        );
        assert!(!allows(
            "script-src 'unsafe-inline' 'strict-dynamic'",
            &inline(InlineKind::ScriptAttribute)
        ));
        assert!(allows(
            "style-src 'unsafe-inline' 'strict-dynamic'",
            &inline(InlineKind::Style)
        ));
        let h = inline(InlineKind::Script).with_content_hash(HashAlgorithm::Sha256, "ab+/");
        assert!(allows("script-src 'sha256-ab-_'", &h));
        assert!(!allows(
            "script-src-attr 'sha256-ab-_'",
            &Request {
                check: Check::Inline(InlineKind::ScriptAttribute),
                ..h.clone()
            }
        ));
        assert!(allows(
            "script-src-attr 'unsafe-hashes' 'sha256-ab-_'",
            &Request {
                check: Check::Inline(InlineKind::ScriptAttribute),
                ..h
            }
        ));
    }

    #[test]
    fn eval_checks_script_src_only() {
        let e = Request::eval(PAGE).unwrap();
        assert!(allows("script-src-elem 'self'", &e));
        assert!(!allows(
            "default-src 'self'; script-src-elem 'unsafe-eval'",
            &e
        ));
        assert!(allows("default-src 'unsafe-eval'", &e));
        assert!(!allows("default-src 'unsafe-eval'; script-src 'self'", &e));
        let w = Request {
            check: Check::WasmEval,
            ..e
        };
        assert!(allows("script-src 'wasm-unsafe-eval'", &w));
    }

    #[test]
    fn legacy_browser_ignores_elem_and_attr() {
        let list = parse("script-src 'self'; script-src-elem https://v.example");
        let r = load(Destination::Script, "https://v.example/a.js");
        assert!(allows_in(&list, &r, Browser::Csp3));
        assert!(!allows_in(&list, &r, Browser::NoElemAttr));
    }
}
