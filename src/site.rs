//! A CSP site: a place in a file where a Content-Security-Policy value lives.
//!
//! Like toml_edit's `Formatted<T>`, a site knows its decoded value, the raw bytes it was read
//! from and where they are. csppatch never re-prints bytes outside a site's raw value.

use std::ops::Range;

mod decoded;
mod pieces;

pub use decoded::Decoded;
pub use pieces::{
    unknown_directives, unknown_noted_directives, Level, OpaqueNote, Piece, PieceOf, Reach,
};

use crate::csp::Delivery;

/// Whether browsers enforce the policy or only report violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Enforce,
    ReportOnly,
}

impl Disposition {
    /// From a header name, case-insensitively: `Content-Security-Policy[-Report-Only]`.
    pub fn from_header_name(name: &[u8]) -> Option<Disposition> {
        if name.eq_ignore_ascii_case(b"content-security-policy") {
            Some(Disposition::Enforce)
        } else if name.eq_ignore_ascii_case(b"content-security-policy-report-only") {
            Some(Disposition::ReportOnly)
        } else {
            None
        }
    }

    pub fn header_name(self) -> &'static str {
        match self {
            Disposition::Enforce => "Content-Security-Policy",
            Disposition::ReportOnly => "Content-Security-Policy-Report-Only",
        }
    }
}

/// One CSP value in a file.
#[derive(Debug, Clone)]
pub struct Site {
    pub disposition: Disposition,
    pub delivery: Delivery,
    /// File byte range that a whole re-encoded value replaces: the raw value token(s),
    /// quotes included.
    pub span: Range<usize>,
    pub value: Decoded,
    /// The policy the author evidently meant, when what the server sends is damaged by the
    /// format (nginx sends a backslash-newline raw). The merge runs on this text and the value
    /// is rewritten whole, on one line, even if the vendor needs nothing new.
    pub repaired: Option<Repair>,
    /// Where the site is, for messages: `server example.com > location /api`.
    pub context: String,
    /// Why this site cannot be patched (a value built from variables, an env placeholder).
    pub refusal: Option<String>,
    /// nginx: the variable a `set`/`map` value is assigned to. Such a site is a CSP only when a
    /// CSP header refers to the variable; the pipeline links them (see `FileScan::refs`).
    pub binding: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub text: String,
    /// The diagnostic code that explains the damage (`NGX201`).
    pub code: &'static str,
}

impl Site {
    /// One literal of the site's value as a site of its own, for the dialect's encoder: the
    /// site itself as written (its references opaque), or a piece (a `set` literal).
    pub fn at_level(&self, level: Level) -> Site {
        let span = level.map_or(self.span.clone(), |i| self.value.pieces[i].span.clone());
        Site {
            span,
            value: self.value.level_value(level).clone(),
            repaired: None,
            refusal: None,
            ..self.clone()
        }
    }

    /// The policy text the merge works on.
    pub fn policy_text(&self) -> &str {
        self.repaired
            .as_ref()
            .map_or(self.value.text.as_str(), |r| r.text.as_str())
    }
}

/// A header that takes its value from a variable (`add_header Content-Security-Policy $csp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    pub disposition: Disposition,
    /// File offset of the reference, for messages.
    pub offset: usize,
    pub context: String,
}

/// An include directive as written (`include sites-enabled/*;`, `IncludeOptional conf.d/*.conf`,
/// Caddy `import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The path or glob, decoded.
    pub pattern: String,
    pub offset: usize,
    /// A missing target is not an error (`IncludeOptional`, globs).
    pub optional: bool,
}

/// Everything a dialect found in one file.
#[derive(Debug, Clone, Default)]
pub struct FileScan {
    /// CSP values set directly.
    pub sites: Vec<Site>,
    /// Values assigned to variables (nginx `set`, `map`); they become sites when referenced.
    pub bindings: Vec<Site>,
    /// CSP headers whose value is a variable.
    pub refs: Vec<VarRef>,
    pub includes: Vec<Include>,
    /// Apache `ServerRoot`, which include paths are relative to.
    pub server_root: Option<String>,
    /// Lints about the file as it is (location from the dialect, severity as it sees fit).
    pub diagnostics: Vec<crate::diag::Diagnostic>,
    /// Sites the server never sends because a later directive in the same block replaces the
    /// header (nginx headers-more: of two `more_set_headers` for one header in a block, only
    /// the last is sent): (index in `sites`, offset of the replacing directive).
    pub replaced: Vec<(usize, usize)>,
}

impl FileScan {
    /// Give back the room the lists grew into: a file's one 264-byte site sat in a `Vec` with
    /// room for four, and every file's scan is held until the run ends (README, Speed).
    pub fn shrink(&mut self) {
        self.sites.shrink_to_fit();
        self.bindings.shrink_to_fit();
        // A value's text grew a character at a time (nginx decodes escapes byte by byte):
        // its `String` held up to twice its length.
        for site in self.sites.iter_mut().chain(&mut self.bindings) {
            site.value.text.shrink_to_fit();
            site.context.shrink_to_fit();
        }
        self.refs.shrink_to_fit();
        self.includes.shrink_to_fit();
        self.diagnostics.shrink_to_fit();
        self.replaced.shrink_to_fit();
    }
}
