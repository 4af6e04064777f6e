//! What a patch run is asked to do, already validated: the input of [`crate::pipeline::run`].

use std::path::PathBuf;

use crate::csp::Requirement;
use crate::scan::ScanOptions;

/// Write the files, only show the diff, or show it and fail when something would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Write,
    DryRun,
    Check,
}

/// Everything a patch run needs.
#[derive(Debug, Clone)]
pub struct PatchOptions {
    pub paths: Vec<PathBuf>,
    pub requirements: Vec<Requirement>,
    pub scan: ScanOptions,
    pub mode: Mode,
    /// `--validate`: run the server's validator before anything is written.
    pub validate: bool,
    /// `--validate-cmd`: the validator to run instead of the dialects' own.
    pub validate_cmd: Option<String>,
    /// `csppatch remove`: take `requirements` out instead of adding them.
    pub removal: Option<Removal>,
    /// `--hard-links`: what to do with a file that has several names.
    pub hard_links: crate::commit::HardLinks,
    /// `--include-locked`: patch locked policies too (README, "Locked policies").
    pub include_locked: bool,
}

/// Offboarding a vendor: its requirements come out, except what these vendors need.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    /// The requirements of the `--keep` vendors.
    pub keep: Vec<Requirement>,
}
