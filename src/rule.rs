//! What one diagnostic code means, in the three parts ruff documents every rule with.
//!
//! A leaf: it depends on nothing else in the crate, so every module that emits diagnostics
//! can document them here without depending on the registry ([`crate::rules`]) that lists
//! them all.

/// One diagnostic code and its documentation, as `csppatch rules CODE` prints it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Rule {
    pub code: &'static str,
    /// Short kebab-case name (`strict-dynamic-ignores-hosts`).
    pub name: &'static str,
    /// What it does: the condition that triggers it.
    pub what: &'static str,
    /// Why is this bad?
    pub why: &'static str,
    /// Example, then "Use instead:".
    pub example: &'static str,
}

/// `pub const RULE: Rule` for a rule that has a file of its own (the CSP lints), with the
/// rustdoc of the constant written from the same text in ruff's three parts, so the
/// documentation `csppatch rules CODE` prints and the one `cargo doc` shows cannot drift.
macro_rules! declare_rule {
    {
        code: $code:literal,
        name: $name:literal,
        what: $what:literal,
        why: $why:literal,
        example: $example:literal $(,)?
    } => {
        #[doc = concat!("`", $code, "` ", $name, "\n\n## What it does\n", $what,
                        "\n\n## Why is this bad?\n", $why, "\n\n## Example\n", $example)]
        pub const RULE: $crate::rule::Rule = $crate::rule::Rule {
            code: $code,
            name: $name,
            what: $what,
            why: $why,
            example: $example,
        };
    };
}

pub(crate) use declare_rule;
