//! CSP116 requirement-without-effect: a vendor source under a directive where browsers never use it (merge skips it).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP116",
    name: "requirement-without-effect",
    what: "A vendor source is asked for under a directive where browsers never use it \
           ('unsafe-eval' under style-src, a host under script-src-attr, 'report-sample').",
    why: "Adding it would change nothing, so csppatch skips it.",
    example: "style-src 'unsafe-eval'\nUse instead: script-src 'unsafe-eval' (if eval is \
              really needed)",
}

pub fn no_effect(vendor: &str, directive: &str, source: &str, why: &str) -> Diagnostic {
    Diagnostic::note(
        "CSP116",
        format!("`{directive} {source}` (for {vendor}) has no effect: {why}; skipped"),
    )
}
