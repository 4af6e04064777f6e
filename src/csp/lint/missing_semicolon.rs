//! CSP108 missing-semicolon: a directive name inside another directive's value: a `;` is missing.

use crate::csp::directives::{info, Kind};
use crate::csp::parse::Directive;
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP108",
    name: "missing-semicolon",
    what: "A directive's value contains the name of another directive.",
    why: "A `;` is missing: browsers read the second directive's name and sources as \
          sources of the first, so the second directive is not set at all.",
    example: "script-src 'self' style-src 'self' https://fonts.googleapis.com\n\
              Use instead: script-src 'self'; style-src 'self' https://fonts.googleapis.com",
}

pub fn check(d: &Directive) -> Option<Diagnostic> {
    let token = d.sources.iter().find(|t| {
        let lower = t.text.to_ascii_lowercase();
        info(&lower).is_some_and(|k| k.kind != Kind::Other)
    })?;
    let name = token.text.to_ascii_lowercase();
    Some(
        Diagnostic::warning(
            "CSP108",
            format!(
                "`{name}` appears inside the value of `{}`: browsers read it and what follows as \
                 sources of `{}`, so `{name}` is not set",
                d.name, d.name
            ),
        )
        .with_help(format!("Put a `;` before `{name}`.")),
    )
}
