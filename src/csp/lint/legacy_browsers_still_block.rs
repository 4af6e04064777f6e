//! CSP117 legacy-browsers-still-block: a vendor allowed through a -elem/-attr directive only (merge).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP117",
    name: "legacy-browsers-still-block",
    what: "The vendor is allowed through a -elem/-attr directive only, because changing \
           script-src/style-src would also open other request types.",
    why: "Browsers without script-src-elem/-attr and style-src-elem/-attr (Safari before \
          15.4, Firefox before 108) ignore those directives and keep blocking the vendor.",
    example: "script-src 'self'; + vendor script-src-elem 'unsafe-inline'\n\
              Use instead: accept it, or allow inline scripts and event handlers together: \
              script-src 'self' 'unsafe-inline'",
}

pub fn legacy_blocked(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::warning(
        "CSP117",
        format!(
            "in {label}, `{source}` for {vendor} is allowed through `{directive}` only: browsers \
             without -elem/-attr directives (Safari before 15.4, Firefox before 108) keep \
             blocking it"
        ),
    )
    .with_help(
        "Widening script-src/style-src instead would also open other request types; csppatch \
         does not do that.",
    )
}
