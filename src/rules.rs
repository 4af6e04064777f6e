//! The documentation of every diagnostic code, shown by `csppatch rules [CODE]`.
//!
//! Each module that emits diagnostics owns a table of [`Rule`]s next to the code that emits
//! them (the CSP lints one file per rule, `csp/lint/`), written in the three parts ruff uses:
//! what it does, why it matters, an example with the fix. This module only lists them; a test
//! ([`emitted`]) reads the sources to prove that every code they can emit is documented here
//! once, with one meaning, and that no documented code is dead.

mod run;

#[cfg(test)]
mod emitted;

pub use crate::rule::Rule;

/// Every table, one per module that emits diagnostics.
fn tables() -> [&'static [Rule]; 9] {
    [
        run::RULES,
        crate::csp::lint::RULES,
        crate::vendors::RULES,
        crate::dialect::nginx::RULES,
        crate::dialect::apache::RULES,
        crate::dialect::caddy::RULES,
        crate::dialect::php::RULES,
        crate::dialect::html::RULES,
        crate::probe::RULES,
    ]
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
