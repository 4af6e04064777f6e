//! CSP102 unsafe-inline-ignored: 'unsafe-inline' next to a nonce, a hash or 'strict-dynamic' in the site's policy.

use crate::csp::parse::Directive;
use crate::csp::source::{Keyword, Source};
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP102",
    name: "unsafe-inline-ignored",
    what: "A list has 'unsafe-inline' together with a nonce or hash (or, for scripts, \
           'strict-dynamic').",
    why: "Browsers that understand nonces and hashes ignore 'unsafe-inline' then. It only \
          matters as a fallback for CSP1 browsers; it is not an opening.",
    example: "script-src 'nonce-r4nd0m' 'unsafe-inline'\n\
              Use instead: keep it as a fallback on purpose, or drop it:\n\
              script-src 'nonce-r4nd0m'",
}

/// `parsed`: the directive's valid sources.
pub fn check(d: &Directive, parsed: &[&Source], label: &str) -> Option<Diagnostic> {
    let has = |k: Keyword| parsed.iter().any(|s| s.keyword() == Some(k));
    if !has(Keyword::UnsafeInline) {
        return None;
    }
    let script = matches!(
        d.name.as_str(),
        "script-src" | "script-src-elem" | "script-src-attr" | "default-src"
    );
    let (scope, why) = if parsed.iter().any(|s| s.is_nonce_or_hash()) {
        ("", "a nonce or hash")
    } else if script && has(Keyword::StrictDynamic) {
        let scope = if d.name == "default-src" {
            " for scripts"
        } else {
            ""
        };
        (scope, "'strict-dynamic'")
    } else {
        return None;
    };
    Some(
        Diagnostic::note(
            "CSP102",
            format!(
                "'unsafe-inline' in `{}` of {label} is ignored{scope} by current browsers \
                 because of {why}; it only applies in browsers that predate nonces",
                d.name
            ),
        )
        .with_help("Keep it only as a deliberate fallback for very old browsers."),
    )
}
