//! `csppatch rules [CODE]`: every diagnostic code, or the documentation of one.

use crate::diag::Diagnostic;
use crate::rules::{self, Rule};

/// One rule explained, or the list of all.
#[derive(Debug)]
pub enum Rules {
    One(&'static Rule),
    All(Vec<&'static Rule>),
}

/// `Err`: no rule has that code (the message says so, with the closest code or name).
pub fn rules(code: Option<&str>) -> Result<Rules, Diagnostic> {
    match code {
        Some(c) => rules::find(c)
            .map(Rules::One)
            .ok_or_else(|| Diagnostic::error("E001", rules::unknown(c))),
        None => Ok(Rules::All(rules::all())),
    }
}

impl Rules {
    /// The text `csppatch rules` prints: ruff's three parts for one rule, a line per rule
    /// for all.
    pub fn render_text(&self) -> String {
        match self {
            Rules::One(r) => format!("{}\n", rules::explain(r)),
            Rules::All(_) => rules::listing(),
        }
    }
}
