//! `csppatch vendors [NAME]`: the presets, built in and from `--vendors-file`, with their
//! sources and the requests each source lets through.

use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::vendors;

/// What `csppatch vendors` prints, and the notes loading the vendor files gave.
#[derive(Debug)]
pub struct Listing {
    /// The listing, one preset in detail (`NAME`), or the JSON document (`--json`).
    pub text: String,
    pub notes: Vec<Diagnostic>,
}

/// `Err`: a vendor file cannot be loaded, or no vendor is called `name` (with the closest).
pub fn list(name: Option<&str>, json: bool, files: &[PathBuf]) -> Result<Listing, Vec<Diagnostic>> {
    let (catalog, notes) = super::catalog(files)?;
    let text = vendors::render(&catalog, name, json).map_err(|d| vec![d])?;
    Ok(Listing { text, notes })
}
