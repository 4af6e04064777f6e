//! CSP125 vendor-still-allowed: after `csppatch remove`, another source still lets the vendor's requests through.

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP125",
    name: "vendor-still-allowed",
    what: "After the vendor's own sources are removed (`csppatch remove`), a source that is not \
           the vendor's (`https:`, `*`, `*.example.com`, or one kept for a --keep vendor) still \
           allows a request the vendor's preset asks for.",
    why: "Offboarding is meant to stop the vendor's widget; a broader source lets it load \
          anyway. csppatch does not narrow what the site allowed for itself, so it says so.",
    example: "script-src 'self' https: https://muserelay.com\n\
              After `csppatch remove --vendor muserelay`: script-src 'self' https: (muserelay's \
              script still loads through `https:`)\n\
              Use instead: replace `https:` with the hosts the site really loads scripts from",
}

/// `source` (for `vendor`) is still allowed for `what` by `by` in `directive`.
pub fn vendor_still_allowed(
    vendor: &str,
    source: &str,
    what: &str,
    by: &str,
    directive: &str,
    label: &str,
) -> Diagnostic {
    Diagnostic::warning(
        "CSP125",
        format!(
            "{vendor}'s `{source}` is still allowed for {what} in {label}: `{by}` in \
             `{directive}` covers it"
        ),
    )
    .with_help(format!(
        "`{by}` is not one of {vendor}'s sources, so csppatch leaves it; narrow it by hand if \
         {vendor} must be blocked"
    ))
}
