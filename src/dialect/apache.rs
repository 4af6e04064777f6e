//! apache dialect (being built: see the issue for this dialect).

use std::path::Path;

use crate::diag::Diagnostic;
use crate::rules::Rule;
use crate::site::{FileScan, Site};

use super::{Dialect, DialectKind};

pub static RULES: &[Rule] = &[];

pub struct Apache;

impl Dialect for Apache {
    fn kind(&self) -> DialectKind {
        DialectKind::Apache
    }

    fn find(&self, path: &Path, _src: &[u8]) -> Result<FileScan, Diagnostic> {
        Err(Diagnostic::error(
            "E001",
            format!("{}: the apache dialect is not built yet", path.display()),
        ))
    }

    fn encode_fragment(
        &self,
        _site: &Site,
        _src: &[u8],
        _at: usize,
        _fragment: &str,
    ) -> Option<Vec<u8>> {
        None
    }

    fn encode_value(&self, _site: &Site, _src: &[u8], _value: &str) -> Result<Vec<u8>, String> {
        Err("the apache dialect is not built yet".into())
    }
}
