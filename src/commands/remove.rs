//! `csppatch remove --vendor NAME PATH...`: offboarding a vendor, a patch run
//! ([`crate::pipeline::run`] with [`crate::options::Removal`]) whose plan takes the vendor's
//! sources out (`csp::remove`). Here: the `--keep` requirements; the count the summary shows is
//! [`Report::removed_count`](crate::report::Report::removed_count), a removal's per-site lines
//! are `render::patch`'s.

/// The `--keep` vendors' requirements, chosen with the same region and options as the
/// vendor being removed.
pub fn keep(
    choice: &crate::commands::VendorChoice,
    keep: &[String],
) -> Result<crate::options::Removal, Vec<crate::diag::Diagnostic>> {
    if keep.is_empty() {
        return Ok(crate::options::Removal::default());
    }
    let others = crate::commands::VendorChoice {
        vendors: keep.to_vec(),
        allow: Vec::new(),
        ..choice.clone()
    };
    Ok(crate::options::Removal {
        keep: others.requirements()?.requirements,
    })
}
