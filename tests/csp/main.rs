//! The policy model on its own: parsing, merge, lints and the evaluator, checked against
//! Servo's content-security-policy crate, and every preset against the requests its widget
//! makes. No process, no server.

#[path = "../common/mod.rs"]
mod common;

// One module per test file of this folder.
mod csp_eval;
mod csp_lint;
mod csp_merge;
mod csp_parse;
mod csp_props;
mod csp_support;
mod remove_props;
mod shape_props;
mod vendors_requests;
