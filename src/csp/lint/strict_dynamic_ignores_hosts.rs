//! CSP101 strict-dynamic-ignores-hosts: a vendor host or scheme added to a script list that has 'strict-dynamic' (merge).

use crate::diag::Diagnostic;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP101",
    name: "strict-dynamic-ignores-hosts",
    what: "A vendor host or scheme is added to a script list that has 'strict-dynamic'.",
    why: "With 'strict-dynamic', CSP3 browsers ignore every host, scheme and 'self' in the \
          list: only scripts with the nonce (or loaded by such scripts) run. The added \
          source only helps browsers without 'strict-dynamic'.",
    example: "script-src 'nonce-r4nd0m' 'strict-dynamic' https://widget.example\n\
              Use instead: load the widget from a script tag that carries the nonce:\n\
              <script nonce=\"r4nd0m\" src=\"https://widget.example/loader.js\"></script>",
}

pub fn strict_dynamic(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::warning(
        "CSP101",
        format!(
            "{label} has 'strict-dynamic' in `{directive}`: CSP3 browsers ignore hosts there, so \
             `{source}` (for {vendor}) only helps browsers without 'strict-dynamic'"
        ),
    )
    .with_help(format!(
        "Load {vendor}'s script from a <script> tag that carries the page's nonce; scripts it \
         loads are then trusted by 'strict-dynamic'."
    ))
}
