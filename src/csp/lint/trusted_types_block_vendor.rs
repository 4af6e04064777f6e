//! CSP123 trusted-types-block-vendor: the policy requires Trusted Types for scripts and the
//! vendor's script is let in.

use crate::csp::merge::Requirement;
use crate::csp::parse::PolicyList;
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP123",
    name: "trusted-types-block-vendor",
    what: "The policy has `require-trusted-types-for 'script'` and a vendor's script is let in.",
    why: "With Trusted Types required, the browser throws when a script assigns a string to a \
          DOM sink (`innerHTML`, `script.src`, `eval`): a widget not written for Trusted Types \
          breaks although its script loads. The policy must allow a Trusted Types policy the \
          vendor creates (`trusted-types` lists it), or the vendor must support them.",
    example: "script-src 'self'; require-trusted-types-for 'script'\n\
              Use instead: check the vendor's documentation for Trusted Types; add the policy \
              name it creates to `trusted-types` (for example `trusted-types default widget`)",
}

/// A warning when an enforced policy of `list` requires Trusted Types for scripts and a
/// requirement lets a vendor's script in.
pub fn check(list: &PolicyList, requirements: &[Requirement]) -> Option<Diagnostic> {
    let vendor = requirements
        .iter()
        .find(|r| r.directive.starts_with("script-src"))?;
    let p = list.enforced().find(|p| {
        p.get("require-trusted-types-for").is_some_and(|d| {
            d.sources
                .iter()
                .any(|t| t.text.eq_ignore_ascii_case("'script'"))
        })
    })?;
    let allowed = p
        .get("trusted-types")
        .map(|d| d.values().join(" "))
        .unwrap_or_default();
    let listed = if allowed.is_empty() {
        "and no `trusted-types` list names a policy for it".to_string()
    } else {
        format!("and `trusted-types` allows only `{allowed}`")
    };
    Some(
        Diagnostic::warning(
            "CSP123",
            format!(
                "the policy requires Trusted Types for scripts (`require-trusted-types-for 'script'`) \
                 {listed}: {}'s script loads, but breaks at its first DOM write unless it was \
                 written for Trusted Types",
                vendor.vendor
            ),
        )
        .with_help(
            "check that the vendor supports Trusted Types and add the policy name it creates to \
             `trusted-types`",
        ),
    )
}
