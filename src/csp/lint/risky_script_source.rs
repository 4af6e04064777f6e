//! CSP104 risky-script-source: a source that lets injected markup run script, added for a vendor (merge).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP104",
    name: "risky-script-source",
    what: "'unsafe-inline', 'unsafe-eval', *, https:, http: or data: is added to a script \
           directive for a vendor.",
    why: "These sources let injected markup run script: an XSS hole becomes exploitable. \
          The vendor asks for it, so csppatch adds it, and says so.",
    example: "script-src 'self' 'unsafe-inline'\n\
              Use instead: a nonce on the vendor's snippet: script-src 'self' 'nonce-r4nd0m'",
}

pub fn risky_script_source(vendor: &str, source: &str, directive: &str) -> Diagnostic {
    let what = match source.to_ascii_lowercase().as_str() {
        "'unsafe-inline'" => "any inline script injected into a page will run",
        "'unsafe-eval'" => "strings injected into eval() and similar will run as code",
        "data:" => "an injected <script src=\"data:…\"> will run",
        _ => "a script injected into a page can be loaded from almost any server",
    };
    Diagnostic::warning(
        "CSP104",
        format!("{vendor} needs `{source}` in `{directive}`: {what}"),
    )
    .with_help(format!(
        "Prefer a nonce on {vendor}'s snippet if the vendor supports it; otherwise accept the \
         risk knowingly."
    ))
}
