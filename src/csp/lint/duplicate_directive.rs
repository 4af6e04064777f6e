//! CSP111 duplicate-directive: a directive named twice in one policy.

use crate::csp::parse::{Directive, DirectiveState, Policy, PolicyList};
use crate::diag::Diagnostic;

use super::ellipsis;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP111",
    name: "duplicate-directive",
    what: "A directive name appears twice in one policy.",
    why: "Browsers enforce the first one only; the sources of the second have no effect.",
    example: "script-src 'self'; script-src https://cdn.example\n\
              Use instead: script-src 'self' https://cdn.example",
}

pub fn check(list: &PolicyList, policy: &Policy, d: &Directive, label: &str) -> Option<Diagnostic> {
    let DirectiveState::Duplicate { first } = d.state else {
        return None;
    };
    Some(
        Diagnostic::warning(
            "CSP111",
            format!(
                "`{}` appears twice in {label}; browsers enforce only the first \
                 (`{}`), so `{}` has no effect",
                d.name,
                ellipsis(&list.text[policy.directives[first].span.clone()], 50),
                ellipsis(&list.text[d.span.clone()], 50)
            ),
        )
        .with_help(format!(
            "Move the sources into the first `{}` and delete the second one.",
            d.name
        )),
    )
}
