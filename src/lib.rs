//! csppatch: let a third-party widget through a site's Content-Security-Policy by editing the
//! server configuration in place.
//!
//! [`pipeline::run`] is a patch run (read → plan → validate → write); the other subcommands
//! are in [`commands`]. The README's development section describes the layout.

pub mod commands;
pub mod commit;
pub mod csp;
pub mod diag;
pub mod dialect;
pub mod edit;
pub mod exclude;
pub mod exit;
pub mod options;
pub mod par;
pub mod pipeline;
pub mod probe;
pub mod render;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod signals;
pub mod site;
pub mod splice;
pub mod temp_name;
pub mod template;
#[cfg(test)]
mod test_support;
pub mod validate;
pub mod validator;
pub mod vendors;

pub use options::{Mode, PatchOptions};
pub use pipeline::run;
