//! The documentation of every diagnostic code, shown by `csppatch rules [CODE]`.
//!
//! Each module that emits diagnostics owns a `RULES` table next to the code that emits them,
//! written in the three parts ruff uses: what it does, why it matters, an example with the fix.

/// One diagnostic code and its documentation.
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

/// Every rule of every module, in code order.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = [
        crate::RULES,
        crate::csp::lint::RULES,
        crate::vendors::RULES,
        crate::dialect::nginx::RULES,
        crate::dialect::apache::RULES,
        crate::dialect::caddy::RULES,
        crate::dialect::php::RULES,
        crate::dialect::html::RULES,
        crate::template::RULES,
        crate::probe::RULES,
    ]
    .iter()
    .flat_map(|table| table.iter())
    .collect();
    rules.sort_by_key(|r| r.code);
    rules
}

pub fn find(code: &str) -> Option<&'static Rule> {
    all()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let rules = all();
        for pair in rules.windows(2) {
            assert_ne!(pair[0].code, pair[1].code, "duplicate rule code");
        }
        for r in rules {
            assert!(
                !r.what.is_empty() && !r.why.is_empty() && !r.example.is_empty(),
                "{} lacks docs",
                r.code
            );
        }
    }
}
