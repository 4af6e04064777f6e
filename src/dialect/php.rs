//! WordPress / PHP: `header('Content-Security-Policy: ...')` calls (usually in a
//! `send_headers` action) and `$headers['Content-Security-Policy']` in a `wp_headers` filter.
//!
//! The file is read with a lossless tokenizer that mirrors PHP's own scanner
//! (`grammars/php.ebnf`); a site's value is computed from its string literals the way PHP
//! computes it, byte by byte, so that an insertion lands inside the right literal and a
//! multi-line concatenation keeps its layout. `php -l` stays the validator of the result.

mod encode;
mod expr;
mod hooks;
pub mod lexer;
mod rules;
mod sites;
mod strings;
mod syntax;

use std::path::Path;

use crate::diag::Diagnostic;
use crate::site::{FileScan, Site};

use super::{Dialect, DialectKind};

pub use rules::RULES;

pub struct Php;

impl Dialect for Php {
    fn kind(&self) -> DialectKind {
        DialectKind::Php
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        let toks = lexer::tokenize(src).map_err(|e| {
            Diagnostic::error(
                "PHP001",
                format!("{} (PHP cannot parse this file)", e.message),
            )
            .at(sites::location(path, src, e.offset))
        })?;
        let code = syntax::Code::new(src, toks);
        let mut finder = sites::Finder::new(path, &code);
        finder.run();
        Ok(FileScan {
            sites: finder.sites,
            diagnostics: finder.diagnostics,
            ..FileScan::default()
        })
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        encode::fragment(site, src, at, fragment)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        encode::value(site, src, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_string_is_php001_with_its_line() {
        let src = b"<?php\n// ok\nheader('Content-Security-Policy: default-src \\'self\\');\n";
        let err = Php.find(Path::new("functions.php"), src).unwrap_err();
        assert_eq!(err.code, "PHP001");
        let at = err.location.expect("located");
        assert_eq!((at.line, at.col), (3, 8));
    }
}
