//! Warnings about a policy (`CSP1xx`).

use crate::rules::Rule;

pub static RULES: &[Rule] = &[];
