//! CSP124 vendor-source-kept: `csppatch remove` leaves one of the vendor's sources in place, and says why.

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP124",
    name: "vendor-source-kept",
    what: "While offboarding a vendor (`csppatch remove`), a source its preset lists stays in \
           the policy: it also decides request types the vendor does not ask for there (the \
           vendor's host under default-src), a --keep vendor needs it, it stands before the \
           sources csppatch would have added for the vendor (so it was there first), or it is \
           under a directive the preset does not list it for.",
    why: "Taking it out would block more than the vendor's own requests, or block what \
          another vendor or the site itself relies on. csppatch cannot know a policy's \
          history; it removes only what it can show was the vendor's (README, \"Offboarding a \
          vendor\") and names the rest.",
    example: "default-src 'self' https://muserelay.com (written by hand)\n\
              Use instead: if nothing else loads from there, delete `https://muserelay.com` \
              from default-src by hand; csppatch keeps it because fonts, frames and media \
              from muserelay.com are allowed through it too",
}

/// `source` under `directive` (in `label`) for `vendor` stays, because of `why`.
pub fn vendor_source_kept(
    vendor: &str,
    source: &str,
    directive: &str,
    label: &str,
    why: &str,
) -> Diagnostic {
    Diagnostic::note(
        "CSP124",
        format!("kept `{source}` in `{directive}` ({label}), a source of {vendor}: {why}"),
    )
}
