//! CSP121 comma-in-meta-policy: a `,` in a <meta> policy, which browsers read differently.

use crate::csp::parse::PolicyList;
use crate::csp::Delivery;
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP121",
    name: "comma-in-meta-policy",
    what: "A <meta http-equiv> policy contains a `,`.",
    why: "CSP3 reads a meta tag's content as one policy, so the comma becomes part of a \
          source; Chromium splits the content at the comma into separate policies, each \
          enforced on its own. Browsers then enforce different things.",
    example: "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self', img-src data:\">\n\
              Use instead: content=\"default-src 'self'; img-src 'self' data:\"",
}

pub fn check(list: &PolicyList, delivery: Delivery) -> Option<Diagnostic> {
    if delivery != Delivery::Meta || list.enforced().count() < 2 {
        return None;
    }
    Some(
        Diagnostic::warning(
            "CSP121",
            "this <meta> policy contains a `,`: CSP3 reads a meta tag's content as one \
             policy (the comma becomes part of a source), Chromium splits it into separate \
             policies, so browsers enforce different things",
        )
        .with_help("Remove the comma: in a meta tag, separate directives with `;` only."),
    )
}
