//! The policy model, independent of any file format.
//!
//! - [`parse`]: a serialized policy list as browsers read it, keeping every byte's position.
//! - [`source`]: source expressions, and "is this source already covered by that list".
//! - [`mod@merge`]: fallback-aware merge of vendor requirements into a policy list, as text edits.
//! - [`lint`]: warnings about the policy (`CSP1xx`).
//! - [`eval`]: "does this policy allow this request?", the invariant checker.
//!
//! ```
//! use csppatch::csp::eval::{allows, Destination, Request};
//! use csppatch::csp::{merge, self_check, Delivery, MergeOptions, Requirement};
//!
//! let reqs = [Requirement::new("connect-src", "https://api.vendor.example", "vendor")];
//! let out = merge("default-src 'self'", &reqs, &MergeOptions { delivery: Delivery::Header });
//! // connect-src is created from default-src, so the site's own requests still work.
//! assert_eq!(out.text, "default-src 'self'; connect-src 'self' https://api.vendor.example");
//! assert_eq!(out.edits[0].range, 18..18);
//! assert!(self_check(&out, &reqs, "https://site.example").is_empty());
//! let own = Request::load(Destination::Connect, "https://site.example/api", "https://site.example");
//! assert!(allows(&out.text, &own.unwrap()));
//! ```
//!
//! Internals: [`directives`] (names, fallback lists), [`matching`] (CSP3 URL matching),
//! [`cover`] (source coverage across browsers), [`targets`] (what a requirement asks for),
//! [`plan`] (which directives a merge changes), [`probe`] (requests to check a merge with).

pub mod cover;
mod delivery;
pub mod directives;
pub mod eval;
mod fxhash;
pub mod lint;
pub mod matching;
pub mod merge;
pub mod parse;
pub mod plan;
pub mod probe;
pub mod remove;
pub mod shape;
pub mod source;
pub mod targets;

pub use delivery::Delivery;
pub use merge::{
    merge, self_check, Added, Caveat, Created, MergeOptions, MergeOutcome, Pin, Requirement,
    TextEdit,
};
pub use shape::merge_shared;
