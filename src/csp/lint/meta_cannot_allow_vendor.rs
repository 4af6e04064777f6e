//! CSP122 meta-cannot-allow-vendor: a vendor needs a directive that browsers ignore in a <meta> policy (merge refuses).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP122",
    name: "meta-cannot-allow-vendor",
    what: "A vendor needs frame-ancestors, report-uri, report-to or sandbox, and the policy \
           is a <meta http-equiv> tag.",
    why: "Browsers ignore these directives in a <meta> policy (CSP3 §3.3): adding the \
          vendor there would change nothing, so csppatch refuses the change.",
    example: "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\">   + vendor \
              frame-ancestors https://app.vendor.example\n\
              Use instead: the response header Content-Security-Policy: frame-ancestors 'self' \
              https://app.vendor.example",
}

pub fn meta_ignored_needed(vendor: &str, directive: &str) -> Diagnostic {
    Diagnostic::error(
        "CSP122",
        format!(
            "{vendor} needs `{directive}`, which browsers ignore in a <meta> policy: it cannot be \
             allowed by editing the meta tag"
        ),
    )
    .with_help(format!(
        "Set `{directive}` in a Content-Security-Policy response header (server configuration)."
    ))
}
