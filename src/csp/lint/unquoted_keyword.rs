//! CSP113 unquoted-keyword: a keyword written without its quotes, which makes it a host name.

use crate::csp::parse::{Directive, Token};
use crate::csp::source::Source;
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP113",
    name: "unquoted-keyword",
    what: "A keyword is written without its single quotes (`self`, `none`, `unsafe-inline`).",
    why: "Without quotes it is a host name: `self` allows a server called `self`, not the \
          page's origin.",
    example: "default-src self\nUse instead: default-src 'self'",
}

const KEYWORD_NAMES: [&str; 10] = [
    "self",
    "none",
    "unsafe-inline",
    "unsafe-eval",
    "strict-dynamic",
    "unsafe-hashes",
    "report-sample",
    "wasm-unsafe-eval",
    "unsafe-allow-redirects",
    "inline-speculation-rules",
];

pub fn check(d: &Directive, t: &Token) -> Option<Diagnostic> {
    let Ok(Source::Host(h)) = &t.source else {
        return None;
    };
    let bare = h.scheme.is_none() && h.port.is_none() && h.path.is_none();
    if !bare
        || !KEYWORD_NAMES
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&h.host))
    {
        return None;
    }
    Some(
        Diagnostic::warning(
            "CSP113",
            format!(
                "`{}` in `{}` has no quotes: browsers read it as a host name, not the keyword",
                t.text, d.name
            ),
        )
        .with_help(format!("Write '{}'.", t.text.to_ascii_lowercase())),
    )
}
