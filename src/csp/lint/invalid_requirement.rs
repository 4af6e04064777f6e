//! CSP115 invalid-requirement: a vendor requirement that cannot be used at all (merge refuses).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP115",
    name: "invalid-requirement",
    what: "A vendor requirement cannot be used: unknown directive, a directive that takes no \
           sources, an invalid source, or a source csppatch refuses to add \
           ('strict-dynamic', 'none').",
    why: "Adding it would break the policy or change how every script of the site is \
          allowed; nothing is patched.",
    example: "--allow 'scirpt-src https://cdn.example'\n\
              Use instead: --allow 'script-src https://cdn.example'",
}

pub fn invalid_requirement(
    vendor: &str,
    directive: &str,
    source: &str,
    reason: &str,
) -> Diagnostic {
    Diagnostic::error(
        "CSP115",
        format!("cannot add `{directive} {source}` for {vendor}: {reason}"),
    )
}
