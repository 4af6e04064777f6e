//! Why a policy blocks a request: the directive that decides it (after fallback) and a reason
//! in the words a site owner needs (`no source matches wss://x/; `https://x` is for https:`).

use url::Url;

use super::Block;
use crate::csp::eval::{governing, Browser, Check, Destination, InlineKind, Request};
use crate::csp::parse::{Directive, Policy, PolicyList};
use crate::csp::source::{HashAlgorithm, Keyword, Source};

/// The directive a request is checked against, and the one that decides it.
fn deciding<'p>(
    policy: &'p Policy,
    request: &Request,
    browser: Browser,
) -> (String, Option<&'p Directive>) {
    match &request.check {
        Check::Load { destination, .. } if !destination.is_fetch() => {
            let name = destination.effective_directive();
            (name.to_string(), policy.get(name))
        }
        Check::Load { destination, .. } => {
            let name = destination.effective_directive();
            (name.to_string(), governing(policy, name, browser))
        }
        Check::Inline(kind) => {
            let name = kind.effective_directive();
            (name.to_string(), governing(policy, name, browser))
        }
        // CSP3 §4.4: eval is checked against script-src, else default-src.
        Check::Eval | Check::WasmEval => (
            "script-src".to_string(),
            policy
                .get("script-src")
                .or_else(|| policy.get("default-src")),
        ),
    }
}

pub(super) fn explain(
    list: &PolicyList,
    policy: &Policy,
    request: &Request,
    browser: Browser,
) -> Block {
    let (effective, directive) = deciding(policy, request, browser);
    let (governing, text, reason) = match directive {
        Some(d) => (
            d.name.clone(),
            list.text[d.span.clone()].to_string(),
            reason(d, request),
        ),
        // policy_allows() says an absent directive allows: not reached for a block.
        None => (effective.clone(), String::new(), String::new()),
    };
    Block {
        policy: 0,
        list_position: None,
        effective,
        governing,
        directive: text,
        reason,
    }
}

fn has(d: &Directive, keyword: Keyword) -> bool {
    d.sources
        .iter()
        .any(|t| matches!(t.source, Ok(Source::Keyword(k)) if k == keyword))
}

/// Why `d` does not allow `request`, in the words a site owner needs.
fn reason(d: &Directive, request: &Request) -> String {
    let none = d.sources.is_empty() || (d.sources.len() == 1 && d.sources[0].is_none_keyword());
    match &request.check {
        Check::Load { destination, url } => {
            if none {
                return "'none': nothing may load".to_string();
            }
            if *destination == Destination::Script && has(d, Keyword::StrictDynamic) {
                return "'strict-dynamic': browsers ignore its host sources, so the vendor's \
                        <script> needs the page's nonce (then probe with --nonce)"
                    .to_string();
            }
            if matches!(url.scheme(), "data" | "blob" | "filesystem") {
                let mut out = format!("no source allows {}: URLs", url.scheme());
                if url.scheme() != "data" && has(d, Keyword::SelfOrigin) {
                    // The CSP3 text's origin rule lets 'self' match a same-origin blob: URL;
                    // Chromium and Firefox never do (README "How probe judges").
                    out.push_str(&format!(
                        " ('self' does not match them in browsers: list `{}:`)",
                        url.scheme()
                    ));
                }
                return out;
            }
            let mut out = format!("no source matches {url}");
            if let Some(hint) = near_miss(d, url) {
                out.push_str("; ");
                out.push_str(&hint);
            }
            out
        }
        Check::Inline(kind) => {
            let what = match kind {
                InlineKind::Script => "inline <script>",
                InlineKind::ScriptAttribute => "event-handler attributes",
                InlineKind::Style => "inline <style>",
                InlineKind::StyleAttribute => "style attributes",
                InlineKind::Navigation => "javascript: URLs",
            };
            if let Some(n) = &request.nonce {
                format!("no 'nonce-{n}'")
            } else if let Some((alg, digest)) = &request.content_hash {
                format!("no '{}-{digest}'", alg_name(*alg))
            } else if has(d, Keyword::UnsafeInline) {
                format!("'unsafe-inline' is ignored next to a nonce, a hash or 'strict-dynamic': {what} blocked")
            } else if none {
                format!("'none': {what} blocked")
            } else {
                format!("no 'unsafe-inline': {what} blocked")
            }
        }
        Check::Eval => "no 'unsafe-eval'".to_string(),
        Check::WasmEval => "no 'wasm-unsafe-eval' (or 'unsafe-eval')".to_string(),
    }
}

fn alg_name(alg: HashAlgorithm) -> &'static str {
    use HashAlgorithm as H;
    match alg {
        H::Sha256 => "sha256",
        H::Sha384 => "sha384",
        H::Sha512 => "sha512",
    }
}

/// A host source for the URL's host that fails on its scheme, port or path: the usual
/// near miss (`https://vendor` for `wss://vendor`).
fn near_miss(d: &Directive, url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    d.sources.iter().find_map(|t| {
        let Ok(Source::Host(h)) = &t.source else {
            return None;
        };
        let pattern = h.host.to_ascii_lowercase();
        let names_host = pattern == host
            || pattern
                .strip_prefix('*')
                .is_some_and(|suffix| suffix.starts_with('.') && host.ends_with(suffix));
        if !names_host {
            return None;
        }
        Some(match &h.scheme {
            Some(s) if !crate::csp::matching::scheme_part_matches(s, url.scheme()) => format!(
                "`{}` is for {}:, not {}:",
                t.text,
                s.to_ascii_lowercase(),
                url.scheme()
            ),
            // Chromium upgrades http->https and ws->wss only where the port allows it too.
            Some(s) if h.port.is_some() && !s.eq_ignore_ascii_case(url.scheme()) => format!(
                "`{}` names the host, but browsers upgrade {}: to {}: only on the default ports",
                t.text,
                s.to_ascii_lowercase(),
                url.scheme()
            ),
            Some(_) => format!("`{}` names the host, but not this port or path", t.text),
            None => format!(
                "`{}` names the host, but not this scheme, port or path",
                t.text
            ),
        })
    })
}
