//! Fallback-aware merge of vendor requirements (DESIGN.md "Merge rules").

use std::ops::Range;

use crate::diag::Diagnostic;
use crate::site::Delivery;

/// One source a vendor needs under one directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Requirement {
    /// Lower-case directive name: the effective directive the vendor's requests are checked
    /// against (`script-src`, `connect-src`, `frame-src`...).
    pub directive: String,
    /// The source expression, already validated by `source::parse_vendor_source`.
    pub source: String,
    /// Who asked for it (`muserelay`, `--allow`), for messages.
    pub vendor: String,
}

#[derive(Debug, Clone, Copy)]
pub struct MergeOptions {
    /// A `<meta>` policy ignores `frame-ancestors`, `report-uri`, `sandbox`: refuse them.
    pub delivery: Delivery,
}

/// A replacement in the merged text's input coordinates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub text: String,
}

/// A source the merge added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Added {
    /// Index of the policy in the comma-separated list.
    pub policy: usize,
    pub directive: String,
    pub source: String,
    /// The directive did not exist and was created (from its fallback's sources).
    pub created: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MergeOutcome {
    /// The merged policy list.
    pub text: String,
    /// Edits that turn the input into `text`: sorted, non-overlapping, each as small as it can
    /// be (an insertion after the last source of a directive, a `'none'` replaced, a new
    /// directive inserted after the last one of its policy).
    pub edits: Vec<TextEdit>,
    pub added: Vec<Added>,
    /// Lints and refusals (`CSP1xx`); any `Severity::Error` means the site must not be patched.
    pub diagnostics: Vec<Diagnostic>,
}

/// Merge `requirements` into every policy of `policy_list`.
pub fn merge(
    policy_list: &str,
    requirements: &[Requirement],
    options: &MergeOptions,
) -> MergeOutcome {
    let _ = (requirements, options);
    MergeOutcome {
        text: policy_list.to_string(),
        ..Default::default()
    }
}
