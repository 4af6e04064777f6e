//! CSP109 comma-splits-policy: a `,` in a header value that cuts a policy in two (a pasted remark, most often).

use crate::csp::directives::info;
use crate::csp::parse::{DirectiveState, Policy, PolicyList};
use crate::diag::Diagnostic;

use super::ellipsis;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP109",
    name: "comma-splits-policy",
    what: "A comma splits the header value into several policies, and a part after a comma \
           does not start with a known directive.",
    why: "A comma separates whole policies and browsers enforce each of them. A comma inside \
          a pasted remark cuts the policy in two: the directives after it form a second \
          policy that restricts on its own.",
    example: "img-src 'self'; //if needed, replace X; connect-src 'self'\n\
              Use instead: img-src 'self'; connect-src 'self'",
}

/// Speaks on a policy after a comma whose first directive is no directive at all.
pub fn check(list: &PolicyList, policy: &Policy) -> Option<Diagnostic> {
    if policy.index == 0 {
        return None;
    }
    let first = policy.directives.first()?;
    // A non-ASCII name is CSP114's to explain.
    if info(&first.name).is_some() || first.state == DirectiveState::NonAscii {
        return None;
    }
    let comma = policy.span.start.saturating_sub(1);
    let before = &list.text[list.text[..comma]
        .char_indices()
        .rev()
        .nth(30)
        .map_or(0, |(i, _)| i)..comma];
    Some(
        Diagnostic::warning(
            "CSP109",
            format!(
                "a `,` after `…{}` splits the header into {} policies; the text after it starts \
                 with `{}`, which is no directive",
                before.trim_start(),
                list.policies.len(),
                ellipsis(&list.text[first.span.clone()], 40),
            ),
        )
        .with_help(
            "Browsers enforce every comma-separated policy on its own. If the comma belongs to a \
             remark pasted from a vendor page, delete the remark; between directives use `;`.",
        ),
    )
}
