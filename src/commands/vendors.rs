//! `csppatch vendors`: the presets, built in and from `--vendors-file`, with their sources.

use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::vendors::VendorInfo;

/// The listing, and the notes loading the vendor files gave.
#[derive(Debug)]
pub struct Listing {
    pub vendors: Vec<VendorInfo>,
    pub notes: Vec<Diagnostic>,
}

pub fn list(files: &[PathBuf]) -> Result<Listing, Vec<Diagnostic>> {
    let (catalog, notes) = super::catalog(files)?;
    Ok(Listing {
        vendors: catalog.list(),
        notes,
    })
}
