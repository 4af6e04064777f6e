//! CSP114 non-ascii-directive: a directive with a character outside ASCII (typographic quotes): csppatch leaves the policy alone.

use crate::csp::parse::{Directive, DirectiveState, PolicyList};
use crate::diag::Diagnostic;

use super::ellipsis;
use crate::rule::declare_rule;

declare_rule! {
    code: "CSP114",
    name: "non-ascii-directive",
    what: "A directive contains a non-ASCII character (often typographic quotes: ‘self’).",
    why: "CSP3 and Firefox drop the whole directive; other browsers drop only the bad \
          source. csppatch cannot know which meaning the site gets, so it does not patch \
          this policy.",
    example: "script-src ‘self’ https://cdn.example\n\
              Use instead: script-src 'self' https://cdn.example",
}

pub fn check(list: &PolicyList, d: &Directive, label: &str) -> Option<Diagnostic> {
    if d.state != DirectiveState::NonAscii {
        return None;
    }
    let text = &list.text[d.span.clone()];
    let bad = text.chars().find(|c| !c.is_ascii()).unwrap_or('?');
    Some(
        Diagnostic::error(
            "CSP114",
            format!(
                "`{}` in {label} contains {bad:?} (U+{:04X}): CSP3 (and Firefox) drop this whole \
                 directive, other browsers may read it differently; csppatch will not patch \
                 {label}",
                ellipsis(text, 60),
                bad as u32
            ),
        )
        .with_help(
            "Retype it in plain ASCII: keywords are quoted with apostrophes ('self'), not \
             typographic quotes.",
        ),
    )
}
