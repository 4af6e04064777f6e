//! AUD901 vendor-blocked-here: `csppatch audit --vendor NAME` found a site whose policy
//! blocks the vendor (`commands/audit.rs`).

use crate::rule::declare_rule;

declare_rule! {
    code: "AUD901",
    name: "vendor-blocked-here",
    what: "`csppatch audit --vendor NAME`: the policy of this site does not let every request \
           of the vendor through. An error for an enforced policy (the widget breaks there), a \
           note for a Report-Only one (its requests are reported, not blocked). The message \
           says what a patch run would add, or why no patch can let the vendor through.",
    why: "The vendor's script, frames or API calls are refused by browsers on the pages this \
          policy covers.",
    example: "add_header Content-Security-Policy \"default-src 'self'\" always;\n\
              (audit --vendor muserelay: needs script-src + https://muserelay.com ...)\n\n\
              Use instead:\ncsppatch /etc/nginx --vendor muserelay --dry-run, then without \
              --dry-run",
}
