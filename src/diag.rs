//! Diagnostics: what csppatch tells the user, with a stable code and a place in a file.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing is written and csppatch exits 2.
    Error,
    /// Printed; does not change the exit code.
    Warning,
    /// Printed; informative only.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// Serialize a path as text even when it is not UTF-8 (`site\xff.conf` becomes
/// `site\u{FFFD}.conf`): JSON output must not stop half-way on an odd file name.
pub fn ser_path<S: serde::Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// [`ser_path`] for a list.
pub fn ser_paths<S: serde::Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(paths.len()))?;
    for p in paths {
        seq.serialize_element(&p.to_string_lossy())?;
    }
    seq.end()
}

/// A place in a file: 1-based line and column (column counted in bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl Location {
    /// The place of byte `offset` in `src`, the contents of `path`.
    pub fn of(path: &std::path::Path, src: &[u8], offset: usize) -> Location {
        let (line, col) = line_col(src, offset);
        Location {
            path: path.to_path_buf(),
            line,
            col,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Stable code, documented by `csppatch rules CODE` (`CSP101`, `NGX201`, ...).
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            location: None,
            help: None,
        }
    }
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }
    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Note, message)
    }
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based (line, column) of byte `offset` in `src`. Lines end at `\n`, so CRLF counts once.
pub fn line_col(src: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// The text of the 1-based `line` of `src`, without its line ending, lossily decoded.
pub fn source_line(src: &[u8], line: usize) -> String {
    let text = src
        .split(|&b| b == b'\n')
        .nth(line.saturating_sub(1))
        .unwrap_or(&[]);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_bytes_and_lines() {
        let src = b"ab\r\ncd\nef";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 4), (2, 1));
        assert_eq!(line_col(src, 8), (3, 2));
        assert_eq!(source_line(src, 1), "ab");
        assert_eq!(source_line(src, 3), "ef");
    }
}
