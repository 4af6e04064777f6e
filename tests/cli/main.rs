//! The csppatch binary as users and scripts see it: the command line, install (version,
//! completions, man page), `probe`, the vendor presets and files, `rules`, `--exclude` and
//! `--skip-unknown`, the pre-commit hooks run by the real pre-commit, the README's promises,
//! and regressions.

#[path = "../common/mod.rs"]
mod common;

// One module per test file of this folder.
mod audit_cli;
mod cli;
mod file_filters;
mod install;
mod json_contract;
mod output;
mod precommit;
mod probe;
mod probe_wire;
mod readme;
mod regressions;
mod remove_cli;
mod rules_cli;
mod structure;
mod threads;
mod vendors_files;
mod vendors_listing;
mod vendors_presets;
mod vendors_reference;
mod vendors_selection;
