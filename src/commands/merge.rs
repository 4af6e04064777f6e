//! `csppatch merge POLICY`: the policy with the vendors merged in.

use crate::csp::{self, Delivery, MergeOptions, MergeOutcome};
use crate::diag::Diagnostic;
use crate::exit;

use super::VendorChoice;

/// What a merge gave: the outcome, its diagnostics preceded by the vendor notes.
#[derive(Debug, Clone)]
pub struct Merged {
    pub outcome: MergeOutcome,
}

/// Merge the vendors of `choice` into `policy`, as delivered by `delivery`.
pub fn merge(
    choice: &VendorChoice,
    policy: &str,
    delivery: Delivery,
) -> Result<Merged, Vec<Diagnostic>> {
    let reqs = choice.requirements()?;
    let mut outcome = csp::merge(policy, &reqs.requirements, &MergeOptions { delivery });
    outcome.diagnostics.splice(0..0, reqs.notes);
    Ok(Merged { outcome })
}

impl Merged {
    pub fn exit_code(&self) -> u8 {
        if self.outcome.diagnostics.iter().any(Diagnostic::is_error) {
            exit::BAD_INPUT
        } else {
            exit::OK
        }
    }
}
