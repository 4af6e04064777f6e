//! CSP106 deprecated-directive: a directive removed from CSP, or being replaced, in the site's policy.

use crate::csp::directives::DirectiveInfo;
use crate::csp::parse::Directive;
use crate::diag::{Diagnostic, Severity};
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP106",
    name: "deprecated-directive",
    what: "The policy uses a directive that was removed from CSP or is being replaced.",
    why: "Browsers ignore removed directives (block-all-mixed-content, plugin-types, \
          prefetch-src, navigate-to, referrer, reflected-xss...), so they protect nothing. \
          report-uri still works but is superseded by report-to.",
    example: "block-all-mixed-content; plugin-types application/pdf\n\
              Use instead: upgrade-insecure-requests; object-src 'none'",
}

pub fn check(d: &Directive, known: &DirectiveInfo) -> Option<Diagnostic> {
    let instead = known.deprecated?;
    // report-uri still works everywhere: a note, not a warning.
    let (severity, message) = if d.name == "report-uri" {
        (
            Severity::Note,
            "`report-uri` is deprecated in favour of report-to (it still works)".to_string(),
        )
    } else {
        (
            Severity::Warning,
            format!("`{}` is obsolete: current browsers ignore it", d.name),
        )
    };
    Some(Diagnostic::new("CSP106", severity, message).with_help(format!("Use {instead}.")))
}
