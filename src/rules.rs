//! The documentation of every diagnostic code, shown by `csppatch rules [CODE]`.
//!
//! Each module that emits diagnostics owns a table of [`Rule`]s next to the code that emits
//! them (the CSP lints one file per rule, `csp/lint/`), written in the three parts ruff uses:
//! what it does, why it matters, an example with the fix. This module only lists them; a test
//! ([`emitted`]) reads the sources to prove that every code they can emit is documented here
//! once, with one meaning, and that no documented code is dead.

mod dialect_guess;
mod embedded_sender;
mod locked_policy;
mod no_config_files;
mod refusals;
mod run;
mod superseded_header;
mod unread_csp;
mod vendor_blocked_here;

#[cfg(test)]
mod emitted;

pub use crate::rule::Rule;

/// Every table, one per module that emits diagnostics; each dialect's comes from the registry,
/// so a new dialect's rules are listed without an edit here.
fn tables() -> Vec<&'static [Rule]> {
    let mut t = vec![
        run::RULES,
        &[
            locked_policy::RULE,
            unread_csp::RULE,
            no_config_files::RULE,
            superseded_header::RULE,
            vendor_blocked_here::RULE,
            dialect_guess::RULE,
            embedded_sender::RULE,
        ],
        refusals::RULES,
        crate::csp::lint::RULES,
        crate::vendors::RULES,
        crate::probe::RULES,
        crate::template::RULES,
    ];
    t.extend(crate::dialect::DialectKind::all().map(|k| k.dialect().rules()));
    t
}

/// Every rule of every module, in code order.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = tables().into_iter().flatten().collect();
    rules.sort_by_key(|r| r.code);
    rules
}

/// The rule of `code`, in any letter case.
pub fn find(code: &str) -> Option<&'static Rule> {
    all()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

/// The rule a mistyped `code` most likely meant: a code within two edits (`CSP11` for
/// `CSP110`, `NGX22` for `NGX202`), or a rule's name within a third of its length
/// (`unknown-directve`). `None` when nothing is that close.
pub fn suggest(code: &str) -> Option<&'static Rule> {
    let upper = code.trim().to_ascii_uppercase();
    let lower = code.trim().to_ascii_lowercase();
    all()
        .into_iter()
        .filter_map(|r| {
            let by_code = strsim::levenshtein(&upper, r.code);
            let by_name = strsim::levenshtein(&lower, r.name);
            let close = by_code <= 2 || by_name <= r.name.len() / 3;
            close.then_some((by_code.min(by_name), r))
        })
        .min_by_key(|&(distance, r)| (distance, r.code))
        .map(|(_, r)| r)
}

/// `csppatch rules CODE`: the rule in ruff's three parts.
pub fn explain(rule: &Rule) -> String {
    format!(
        "{} ({})\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n{}",
        rule.code, rule.name, rule.what, rule.why, rule.example
    )
}

/// The message for a code no rule has, with the closest one when there is one.
pub fn unknown(code: &str) -> String {
    match suggest(code) {
        Some(r) => format!(
            "no rule {code}; did you mean `{}` ({})? `csppatch rules` lists them",
            r.code, r.name
        ),
        None => format!("no rule {code}; `csppatch rules` lists them"),
    }
}

/// `csppatch rules`: one line per rule, then how to read one.
pub fn listing() -> String {
    let mut out = String::new();
    for r in all() {
        out.push_str(&format!(
            "{:<8} {:<36} {}\n",
            r.code,
            r.name,
            first_sentence(r.what)
        ));
    }
    out.push_str(
        "\n`csppatch rules CODE` explains one: what it does, why, and what to write instead.\n",
    );
    out
}

/// The first sentence of a rule's text, for the one-line listing.
fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let s = &text[..end];
    if s.chars().count() > 90 {
        let cut: String = s.chars().take(87).collect();
        format!("{}...", cut.trim_end())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_code_or_name_gets_the_nearest_rule() {
        let code = |asked: &str| suggest(asked).map(|r| r.code);
        assert_eq!(code("CSP1O1"), Some("CSP101"));
        assert_eq!(code("ngx22"), Some("NGX202"));
        assert_eq!(code("unknown-directve"), Some("CSP107"));
        assert_eq!(code("XYZ999"), None);
        assert_eq!(code("frobnicate"), None);
        assert!(
            unknown("ngx22").contains("did you mean `NGX202` (add-header-drops-inherited-csp)?")
        );
        assert!(!unknown("XYZ999").contains("did you mean"));
    }
}
