//! csppatch: let a third-party widget through a site's Content-Security-Policy by editing the
//! server configuration in place.
//!
//! One pipeline, one direction: find → decode → merge → encode → splice → diff → validate → commit.

pub mod commit;
pub mod csp;
pub mod diag;
pub mod dialect;
pub mod edit;
pub mod rules;
pub mod scan;
pub mod site;
pub mod validate;
pub mod vendors;

use rules::Rule;

/// Codes of the pipeline itself (input/output, usage).
pub static RULES: &[Rule] = &[];
