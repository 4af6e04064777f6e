//! The policy model, independent of any file format.
//!
//! - [`parse`]: a serialized policy list as browsers read it, keeping every byte's position.
//! - [`source`]: source expressions, and "is this source already covered by that list".
//! - [`merge`]: fallback-aware merge of vendor requirements into a policy list, as text edits.
//! - [`lint`]: warnings about the policy (`CSP1xx`).
//! - [`eval`]: "does this policy allow this request?", the invariant checker.
//!
//! Internals: [`directives`] (names, fallback lists), [`matching`] (CSP3 URL matching),
//! [`cover`] (source coverage across browsers), [`targets`] (what a requirement asks for),
//! [`plan`] (which directives a merge changes), [`probe`] (requests to check a merge with).

pub mod cover;
pub mod directives;
pub mod eval;
pub mod lint;
pub mod matching;
pub mod merge;
pub mod parse;
pub mod plan;
pub mod probe;
pub mod source;
pub mod targets;

pub use merge::{
    merge, self_check, Added, Caveat, MergeOptions, MergeOutcome, Pin, Requirement, TextEdit,
};
