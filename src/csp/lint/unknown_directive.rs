//! CSP107 unknown-directive: a directive name csppatch does not know in the site's policy.

use crate::csp::directives::{info, KNOWN};
use crate::csp::parse::{Directive, PolicyList};
use crate::diag::Diagnostic;

use super::ellipsis;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP107",
    name: "unknown-directive",
    what: "A directive name csppatch does not know (a typo, a vendor remark pasted into the \
           header, text after a stray comma).",
    why: "Browsers ignore unknown directives with all their sources. A remark such as \
          `//If using a custom tracking domain...` pasted from a vendor page becomes such a \
          directive and can swallow the next real one.",
    example: "script-src 'self'; //replace the domain below; style-src 'self'\n\
              Use instead: script-src 'self'; style-src 'self'",
}

/// `after_comma`: the directive starts a policy after a `,` (CSP109 says so too).
pub fn check(list: &PolicyList, d: &Directive, after_comma: bool) -> Option<Diagnostic> {
    if info(&d.name).is_some() {
        return None;
    }
    let raw = &list.text[d.span.clone()];
    let name = &list.text[d.name_span.clone()];
    let message = format!(
        "unknown directive `{}`: browsers ignore it and its sources",
        ellipsis(name, 40)
    );
    let help = if after_comma {
        "It is the text after a comma (CSP109), most likely the rest of a pasted remark: delete \
         it together with the remark."
            .to_string()
    } else if ["//", "#", "/*", "<!--"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        format!(
            "CSP has no comments: the remark `{}` was pasted into the policy. Delete it.",
            ellipsis(raw, 60)
        )
    } else if let Some(near) = KNOWN
        .iter()
        .map(|k| k.name)
        .filter(|k| strsim::levenshtein(k, &d.name) <= 2)
        .min_by_key(|k| strsim::levenshtein(k, &d.name))
    {
        format!("Did you mean `{near}`?")
    } else {
        "Remove it, or fix its name.".to_string()
    };
    Some(Diagnostic::warning("CSP107", message).with_help(help))
}
