//! E041 unread-csp: the header is named where csppatch recognises no policy
//! (`pipeline/unread.rs`).

use crate::rule::declare_rule;

declare_rule! {
    code: "E041",
    name: "unread-csp",
    what: "A file names Content-Security-Policy on a line where csppatch recognises no policy: \
           a header name from a variable, `$response->headers->set(...)`, `$this->header(...)`, \
           a value from a template variable, a header built in a loop, a `<meta>` printed by code. \
           A warning at that line; \
           `--check` does not pass.",
    why: "The policy sent there may block the vendor; saying \"nothing blocks the vendor\" \
          would be a false all-clear.",
    example: "$response->headers->set('Content-Security-Policy', $cspHeader);\n\n\
              Use instead:\nadd the vendor's sources where $cspHeader is built, by hand, and \
              check the page with `csppatch probe URL`",
}
