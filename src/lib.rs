//! csppatch: let a third-party widget through a site's Content-Security-Policy by editing the
//! server configuration in place.
//!
//! One pipeline, one direction: find → decode → merge → encode → splice → diff → validate →
//! commit. [`run`] is the whole of it; `main.rs` only turns arguments into a [`Config`].

pub mod commit;
pub mod csp;
pub mod diag;
pub mod dialect;
pub mod edit;
pub mod exclude;
mod pipeline;
pub mod probe;
pub mod report;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod site;
pub mod splice;
pub mod validate;
pub mod vendors;

use std::path::PathBuf;

pub use pipeline::run;

/// Write the files, only show the diff, or show it and fail when something would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Write,
    DryRun,
    Check,
}

/// Everything a patch run needs, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub requirements: Vec<csp::Requirement>,
    pub scan: scan::ScanOptions,
    pub mode: Mode,
    pub validate: bool,
    pub validate_cmd: Option<String>,
}

/// Exit codes of the command-line contract (DESIGN.md).
pub mod exit {
    /// Done, or nothing to do.
    pub const OK: u8 = 0;
    /// `--check` found files that would change.
    pub const CHANGES: u8 = 1;
    /// Bad input: usage, unparsable file, invalid source, unsafe request.
    pub const BAD_INPUT: u8 = 2;
    /// Validation failed and nothing was written.
    pub const INVALID: u8 = 3;
}
