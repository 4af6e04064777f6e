//! CSP103 vendor-hash-disables-unsafe-inline: a vendor nonce or hash that would disable the site's 'unsafe-inline' (merge refuses).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP103",
    name: "vendor-hash-disables-unsafe-inline",
    what: "A vendor nonce or hash would go into a list that relies on 'unsafe-inline'.",
    why: "As soon as a list holds a nonce or a hash, browsers ignore its 'unsafe-inline': \
          every inline script or style of the site without that nonce or hash would be \
          blocked. csppatch refuses the change.",
    example: "script-src 'self' 'unsafe-inline'   + vendor 'sha256-abc...'\n\
              Use instead: leave the hash out (the vendor's inline code already runs under \
              'unsafe-inline'), or move the site to nonces first.",
}

pub fn hash_disables_unsafe_inline(
    vendor: &str,
    source: &str,
    directive: &str,
    label: &str,
) -> Diagnostic {
    let what = if directive.starts_with("style") {
        "inline style"
    } else if directive == "default-src" {
        "inline script or style"
    } else {
        "inline script or event handler"
    };
    Diagnostic::error(
        "CSP103",
        format!(
            "adding `{source}` for {vendor} to `{directive}` of {label} would make browsers \
             ignore its 'unsafe-inline', which the site relies on: every other {what} without \
             that hash or nonce would be blocked"
        ),
    )
    .with_help(format!(
        "Leave `{source}` out ({vendor}'s inline code already runs under 'unsafe-inline'), or \
         move the site to nonces or hashes first."
    ))
}
