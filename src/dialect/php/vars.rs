//! PHP variables whose value is known from the file: `$csp = "..."; header('...: ' . $csp);`
//! (README, "Values built from variables"). A variable is known at a use when the file
//! assigns it exactly once, with a plain `=` at the start of a statement, before the use and
//! with no function boundary between them; anything else (`.=`, `[] =`, a second
//! assignment, a parameter) leaves it a run-time part.

use std::collections::HashMap;
use std::ops::Range;

use super::lexer::Kind;
use super::syntax::Code;

/// A variable's one assignment.
#[derive(Debug, Clone)]
pub struct Known {
    /// Positions of the assigned expression.
    pub expr: Range<usize>,
    /// Position of the `$name` being assigned.
    pub at: usize,
    /// 1-based line of the assignment, for messages.
    pub line: usize,
    /// The variable is read once (by the CSP header; the obsolete `X-Content-Security-Policy`
    /// and `X-WebKit-CSP` twins of it do not count): its literal may be changed.
    pub editable: bool,
}

/// The variables of a file that have one known assignment.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    known: HashMap<String, Known>,
}

impl Vars {
    pub fn collect(code: &Code) -> Vars {
        let mut writes: HashMap<String, Vec<(usize, bool)>> = HashMap::new();
        let mut reads: HashMap<String, usize> = HashMap::new();
        for p in 0..code.len() {
            if code.tok(p).kind != Kind::Variable {
                continue;
            }
            let name = String::from_utf8_lossy(code.tok(p).text(code.src)).into_owned();
            let next = |k: usize| p + k < code.len();
            let plain = next(1) && code.is(p + 1, "=") && !code.is(p + 2, "&");
            let starts = p == 0 || code.is_statement_end(p - 1) || code.is(p - 1, "{");
            let write = next(1)
                && (code.is(p + 1, "=")
                    || code.is(p + 1, "[")
                    || [".=", "??=", "+="].iter().any(|op| code.is(p + 1, op)));
            if write {
                writes.entry(name).or_default().push((p, plain && starts));
            } else if !legacy_twin(code, p) {
                *reads.entry(name).or_default() += 1;
            }
        }
        let mut known = HashMap::new();
        for (name, w) in writes {
            let [(at, true)] = w.as_slice() else { continue };
            let end = code.expression_end(at + 2, code.len());
            if end == at + 2 {
                continue;
            }
            let offset = code.tok(*at).span.start;
            let line = code.src[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
            let editable = reads.get(&name).copied().unwrap_or(0) == 1;
            known.insert(
                name,
                Known {
                    expr: at + 2..end,
                    at: *at,
                    line,
                    editable,
                },
            );
        }
        Vars { known }
    }

    /// The assignment that gives `$name` its value at position `use_at`.
    pub fn at(&self, code: &Code, name: &str, use_at: usize) -> Option<&Known> {
        let k = self.known.get(name)?;
        let between = k.expr.end..use_at;
        let crosses_function = between
            .clone()
            .any(|p| code.is_name(p, "function") || code.is_name(p, "fn"));
        (k.at < use_at && !between.is_empty() && !crosses_function).then_some(k)
    }
}

/// Is the read at `p` the value of an obsolete twin of the CSP header,
/// `header('X-Content-Security-Policy: ' . $csp)` or `X-WebKit-CSP` (eustasy/puff-server,
/// blackout314/boilerplates)? Browsers that read those take the same policy: changing the
/// literal for the CSP changes them alike, which is what their author meant.
fn legacy_twin(code: &Code, p: usize) -> bool {
    if p < 4 || !code.is(p - 1, ".") || !code.is(p - 3, "(") || !code.is_name(p - 4, "header") {
        return false;
    }
    if !(p + 1 < code.len() && (code.is(p + 1, ")") || code.is(p + 1, ","))) {
        return false;
    }
    let Some(name) = super::hooks::literal_text(code, p - 2..p - 1) else {
        return false;
    };
    let name = name.trim_end();
    let Some(name) = name.strip_suffix(':') else {
        return false;
    };
    ["x-content-security-policy", "x-webkit-csp"]
        .iter()
        .any(|n| name.trim().eq_ignore_ascii_case(n))
}
