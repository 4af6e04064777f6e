//! `csppatch rules [CODE]`: every diagnostic code, or the documentation of one.

use crate::rules::{self, Rule};

/// One rule explained, or the list of all.
#[derive(Debug)]
pub enum Rules {
    One(&'static Rule),
    All(Vec<&'static Rule>),
}

/// `Err`: no rule has that code (the message says so).
pub fn rules(code: Option<&str>) -> Result<Rules, String> {
    match code {
        Some(c) => rules::find(c)
            .map(Rules::One)
            .ok_or_else(|| format!("no rule {c}; `csppatch rules` lists them")),
        None => Ok(Rules::All(rules::all())),
    }
}

impl Rules {
    /// The text `csppatch rules` prints: ruff's three parts for one rule, a line per rule
    /// for all.
    pub fn render_text(&self) -> String {
        match self {
            Rules::One(r) => format!(
                "{} ({})\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n{}\n",
                r.code, r.name, r.what, r.why, r.example
            ),
            Rules::All(all) => {
                let mut out = String::new();
                for r in all {
                    out.push_str(&format!(
                        "{:<8} {:<36} {}\n",
                        r.code,
                        r.name,
                        first_sentence(r.what)
                    ));
                }
                out.push_str("\n`csppatch rules CODE` explains one: what it does, why, and what to write instead.\n");
                out
            }
        }
    }
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
