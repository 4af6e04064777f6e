//! CSP119 none-with-other-sources: 'none' next to other sources, where browsers ignore it.

use crate::csp::parse::Directive;
use crate::csp::source::{Keyword, Source};
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP119",
    name: "none-with-other-sources",
    what: "A list contains 'none' and other sources.",
    why: "'none' only means something alone; next to other sources browsers ignore it. It \
          suggests the list is not what its author thinks.",
    example: "img-src 'none' https://cdn.example\nUse instead: img-src https://cdn.example",
}

/// `parsed`: the directive's valid sources.
pub fn check(d: &Directive, parsed: &[&Source]) -> Option<Diagnostic> {
    let none = parsed.iter().any(|s| s.keyword() == Some(Keyword::None));
    if !none || d.sources.len() < 2 {
        return None;
    }
    Some(
        Diagnostic::note(
            "CSP119",
            format!(
                "`{}` has 'none' next to other sources: browsers ignore the 'none'",
                d.name
            ),
        )
        .with_help("Remove 'none', or the other sources if nothing should load."),
    )
}
