//! CSP112 invalid-source: a token of a source list that is no source expression (a placeholder, a typo).

use crate::csp::parse::{Directive, Token};
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP112",
    name: "invalid-source",
    what: "A token in a source list is not a valid source expression (a placeholder such as \
           `<customdomain>` or `'nonce-{random}'`, a typo, a URL with a query).",
    why: "Browsers ignore it, so whatever it was meant to allow stays blocked.",
    example: "media-src <customdomain>\n\
              Use instead: media-src https://track.example.com",
}

/// The messages start with "`<source>` in `<directive>`": the pipeline reads the source back
/// from them (`pipeline.rs`, run-time values).
pub fn check(d: &Directive, t: &Token) -> Option<Diagnostic> {
    let e = t.source.as_ref().err()?;
    let placeholder = t.text.contains(['<', '>', '{', '}']);
    let message = if placeholder {
        format!(
            "`{}` in `{}` is a placeholder from a vendor snippet: browsers ignore it",
            t.text, d.name
        )
    } else {
        format!(
            "`{}` in `{}` is not a valid source ({}): browsers ignore it",
            t.text, d.name, e.reason
        )
    };
    let help = if placeholder && t.text.to_ascii_lowercase().contains("nonce") {
        "Generate a fresh random nonce for every response and put the same value in the nonce \
         attribute of the script tags."
    } else if placeholder {
        "Replace it with the real value (for example your tracking domain, \
         https://track.example.com)."
    } else {
        "Fix or remove it; whatever it was meant to allow stays blocked."
    };
    Some(Diagnostic::warning("CSP112", message).with_help(help))
}
