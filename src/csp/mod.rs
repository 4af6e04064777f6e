//! The policy model, independent of any file format.
//!
//! - [`parse`]: a serialized policy list as browsers read it, keeping every byte's position.
//! - [`source`]: source expressions.
//! - [`merge`]: fallback-aware merge of vendor requirements into a policy list.
//! - [`lint`]: warnings about the policy (`CSP1xx`).
//! - [`eval`]: "does this policy allow this URL for this request type?", the invariant checker.

pub mod eval;
pub mod lint;
pub mod merge;
pub mod parse;
pub mod source;

pub use merge::{merge, Added, MergeOptions, MergeOutcome, Requirement, TextEdit};
