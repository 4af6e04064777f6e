//! CSP105 vendor-unsafe-inline-ineffective: a vendor's 'unsafe-inline' that browsers would ignore in the list it needs (merge skips it).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP105",
    name: "vendor-unsafe-inline-ineffective",
    what: "A vendor needs 'unsafe-inline' in a list that has a nonce or hash (or, for \
           scripts, 'strict-dynamic').",
    why: "Browsers ignore 'unsafe-inline' there, so adding it would change nothing: the \
          vendor's inline code stays blocked. csppatch does not add it.",
    example: "style-src 'self' 'nonce-r4nd0m'   + vendor style-src 'unsafe-inline'\n\
              Use instead: give the vendor's inline <style> the nonce, or add a separate \
              style-src-attr 'unsafe-inline' if only style attributes are needed.",
}

pub fn unsafe_inline_ineffective(
    vendor: &str,
    directive: &str,
    label: &str,
    what: &str,
) -> Diagnostic {
    Diagnostic::warning(
        "CSP105",
        format!(
            "{vendor} needs 'unsafe-inline' ({what}), but `{directive}` of {label} has a \
             nonce, a hash or 'strict-dynamic', so browsers ignore 'unsafe-inline' there: these \
             stay blocked"
        ),
    )
    .with_help(format!(
        "Give {vendor}'s inline code the page's nonce (or its hash); csppatch did not add \
         'unsafe-inline'."
    ))
}
