//! CSP120 merge-impossible: no change can allow the vendor without changing what else is allowed (merge stops).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP120",
    name: "merge-impossible",
    what: "No change to the policy can allow the vendor source without also changing what \
           other requests are allowed.",
    why: "csppatch never opens more than the vendor asked for, nor blocks what the site \
          allowed; it stops instead.",
    example: "a requirement whose only possible directive also governs request types the \
              vendor did not ask for\n\
              Use instead: edit the policy by hand, or split it into per-type directives \
              first. (A safety net: no known policy triggers it.)",
}

pub fn impossible(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::error(
        "CSP120",
        format!(
            "cannot allow `{source}` for {vendor} under `{directive}` in {label} without \
             changing what other requests are allowed"
        ),
    )
    .with_help("Edit this policy by hand.")
}
