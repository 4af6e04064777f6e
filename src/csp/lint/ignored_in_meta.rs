//! CSP110 ignored-in-meta: a directive that browsers ignore in a <meta> policy, found in one.

use crate::csp::directives::DirectiveInfo;
use crate::csp::parse::Directive;
use crate::csp::Delivery;
use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP110",
    name: "ignored-in-meta",
    what: "A <meta http-equiv> policy contains frame-ancestors, report-uri, report-to or \
           sandbox.",
    why: "Browsers ignore these directives in a <meta> policy (CSP3 §3.3): the protection \
          they seem to give is not there. (A vendor that needs one of them: CSP122.)",
    example:
        "<meta http-equiv=\"Content-Security-Policy\" content=\"frame-ancestors 'self'\">\n\
              Use instead: the response header Content-Security-Policy: frame-ancestors 'self'",
}

pub fn check(d: &Directive, known: &DirectiveInfo, delivery: Delivery) -> Option<Diagnostic> {
    if !known.meta_ignored || delivery != Delivery::Meta {
        return None;
    }
    Some(
        Diagnostic::warning(
            "CSP110",
            format!(
                "a <meta> policy ignores `{}`: it has no effect here",
                d.name
            ),
        )
        .with_help("Send it in a Content-Security-Policy response header instead."),
    )
}
