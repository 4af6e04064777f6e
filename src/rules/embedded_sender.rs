//! E065 csp-in-unread-file: a server directive sending a CSP in a file that a directory walk
//! skipped (`scan/embedded.rs`).

use crate::rule::declare_rule;

declare_rule! {
    code: "E065",
    name: "csp-in-unread-file",
    what: "A file found by walking a directory is no server configuration csppatch reads (by \
           its name or content), yet a line of it sends a Content-Security-Policy the way one \
           does: an nginx `add_header` or `more_set_headers`, an Apache `Header set`, a Caddy \
           `header`, a `<meta http-equiv>`: a Kubernetes Ingress `configuration-snippet`, a \
           Helm chart, a shell heredoc or Dockerfile that writes a config, a generator script. \
           A warning at that line; `--check` does not pass. Prose (Markdown, text) is not \
           looked at.",
    why: "The policy that file sends may block the vendor; ending the run with \"nothing \
          blocks the vendor\" would be a false all-clear.",
    example: "k8s/ingress.yaml:  more_set_headers \"Content-Security-Policy: default-src 'self'\";\n\n\
              Use instead:\nadd the vendor's sources to the annotation by hand (or --exclude \
              k8s/ if it is not deployed)",
}
