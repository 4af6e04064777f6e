//! CSP118 default-src-requirement-expanded: a vendor source asked for under default-src, added to each fetch directive instead (merge).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP118",
    name: "default-src-requirement-expanded",
    what: "A vendor source asked for under default-src is added to each fetch directive \
           instead.",
    why: "Widening default-src would also open every request type the site restricts through \
          default-src only, plugins included. csppatch adds the source to each fetch type \
          except object-src, creating directives where needed.",
    example: "default-src 'self' https://cdn.vendor.example   (as the vendor page suggests)\n\
              Use instead (what csppatch writes): default-src 'self'; script-src 'self' \
              https://cdn.vendor.example; img-src 'self' https://cdn.vendor.example; ...",
}

pub fn default_src_expanded(vendor: &str, source: &str) -> Diagnostic {
    Diagnostic::note(
        "CSP118",
        format!(
            "{vendor} asks for `default-src {source}`: added to each fetch directive that needs \
             it (not object-src), leaving default-src as it is"
        ),
    )
}
