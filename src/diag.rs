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

/// `path` as git shows a path (`quote_c_style` with `core.quotePath` on, its default): as it
/// is when every byte is printable ASCII other than `"` and `\`, else in double quotes with
/// C escapes (`\n`, `\t`, `\"`, `\\`) and every other byte below 0x20, 0x7f and every
/// byte from 0x80 as three octal digits. A newline or an ESC in a file name then never
/// reaches the terminal raw, a name that is not UTF-8 keeps its exact bytes (`patch` and
/// `git apply` read the quoted form), and the same file is named the same way everywhere.
pub fn quoted(path: &std::path::Path) -> std::borrow::Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    quote_bytes(path.as_os_str().as_bytes())
}

/// [`quoted`] for bytes.
pub fn quote_bytes(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    if bytes.iter().all(|&b| plain(b)) {
        // Printable ASCII only, so this is UTF-8.
        return std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default());
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    out.push('"');
    for &b in bytes {
        match b {
            b'\x07' => out.push_str("\\a"),
            b'\x08' => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\x0b' => out.push_str("\\v"),
            b'\x0c' => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if plain(b) => out.push(b as char),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    std::borrow::Cow::Owned(out)
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
        write!(f, "{}:{}:{}", quoted(&self.path), self.line, self.col)
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

/// The start of every line of one file's bytes: a line and column lookup is a binary search,
/// not a scan from the start of the file (a file with 100,000 CSP sites and a diagnostic each
/// would otherwise take time quadratic in its size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// Offset of the first byte of each line; `starts[0] == 0`.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(src: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            src.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            starts,
            len: src.len(),
        }
    }

    /// 1-based (line, column) of byte `offset` (clamped to the end of the file).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        // The last line start at or before `offset`.
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }

    /// The byte range of the 1-based `line`, without its `\n` (empty past the end).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return self.len..self.len;
        };
        let end = self.starts.get(line).map_or(self.len, |&next| next - 1);
        start..end
    }

    /// Does this index still describe `src`? A cheap test (length, and the line ends next to
    /// `offset`), for the cache below: a different file at a reused address fails it.
    fn fits(&self, src: &[u8], offset: usize) -> bool {
        if self.len != src.len() {
            return false;
        }
        let line = self.starts.partition_point(|&s| s <= offset.min(self.len));
        let ends_line = |start: usize| start == 0 || src.get(start - 1) == Some(&b'\n');
        ends_line(self.starts[line - 1]) && self.starts.get(line).is_none_or(|&s| ends_line(s))
    }
}

/// Below this size a file is scanned directly: indexing it would cost more than it saves.
const INDEX_FROM: usize = 4096;

/// How many files' indexes are kept: the lints of a tree look at a few files in turn.
const CACHED: usize = 8;

thread_local! {
    /// The indexes of the files looked up last, by address and length of their bytes, most
    /// recent first. Every lookup in a file csppatch holds in memory goes through here, so
    /// that callers keep passing `&[u8]` and still get an indexed lookup.
    static INDEXES: std::cell::RefCell<Vec<(usize, std::rc::Rc<LineIndex>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The index of `src`, built once per file and reused while it is looked up.
fn index_of(src: &[u8], offset: usize) -> std::rc::Rc<LineIndex> {
    let key = src.as_ptr() as usize;
    INDEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(i) = cache
            .iter()
            .position(|(k, idx)| *k == key && idx.fits(src, offset))
        {
            let hit = cache.remove(i);
            cache.insert(0, hit.clone());
            return hit.1;
        }
        let idx = std::rc::Rc::new(LineIndex::new(src));
        cache.retain(|(k, _)| *k != key);
        cache.insert(0, (key, idx.clone()));
        cache.truncate(CACHED);
        idx
    })
}

/// 1-based (line, column) of byte `offset` in `src`. Lines end at `\n`, so CRLF counts once.
pub fn line_col(src: &[u8], offset: usize) -> (usize, usize) {
    if src.len() < INDEX_FROM {
        let offset = offset.min(src.len());
        let before = &src[..offset];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
        return (line, offset - line_start + 1);
    }
    index_of(src, offset).line_col(offset)
}

/// The bytes of the 1-based `line` of `src`, without its `\n` (a `\r` before it is kept).
pub fn line_bytes(src: &[u8], line: usize) -> &[u8] {
    if src.len() < INDEX_FROM {
        return src
            .split(|&b| b == b'\n')
            .nth(line.saturating_sub(1))
            .unwrap_or(&[]);
    }
    let idx = index_of(src, 0);
    &src[idx.line_range(line)]
}

/// The text of the 1-based `line` of `src`, without its line ending, lossily decoded.
pub fn source_line(src: &[u8], line: usize) -> String {
    let text = line_bytes(src, line);
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

    #[test]
    fn paths_are_quoted_as_git_quotes_them() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let q = |b: &[u8]| quoted(std::path::Path::new(OsStr::from_bytes(b))).into_owned();
        assert_eq!(
            q(b"sites-enabled/my site.conf"),
            "sites-enabled/my site.conf"
        );
        assert_eq!(q(b"a\nb.conf"), "\"a\\nb.conf\"");
        assert_eq!(q(b"\x1b[31mred.conf"), "\"\\033[31mred.conf\"");
        assert_eq!(q(b"caf\xc3\xa9.conf"), "\"caf\\303\\251.conf\"");
        assert_eq!(q(b"bad\xff.conf"), "\"bad\\377.conf\"");
        assert_eq!(q(b"q\"b\\s\tt"), "\"q\\\"b\\\\s\\tt\"");
    }

    /// The scan from the start of the file that the index replaces, as the reference.
    fn scanned(src: &[u8], offset: usize) -> (usize, usize) {
        let before = &src[..offset.min(src.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        (line, before.len() - start + 1)
    }

    #[test]
    fn the_index_agrees_with_a_scan_from_the_start() {
        // Big enough to be indexed; lines of every length, an empty one, no final newline.
        let mut src = Vec::new();
        for i in 0..2000 {
            src.extend(std::iter::repeat_n(b'x', i % 7));
            src.extend_from_slice(if i % 5 == 0 { b"\r\n" } else { b"\n" });
        }
        src.extend_from_slice(b"tail");
        assert!(src.len() >= INDEX_FROM);
        for offset in (0..src.len() + 3).step_by(3) {
            assert_eq!(
                line_col(&src, offset),
                scanned(&src, offset),
                "offset {offset}"
            );
        }
        for line in 1..=2002 {
            let naive = src.split(|&b| b == b'\n').nth(line - 1).unwrap_or(&[]);
            assert_eq!(line_bytes(&src, line), naive, "line {line}");
        }
        assert_eq!(source_line(&src, 1), "");
        assert_eq!(source_line(&src, 2001), "tail");
    }

    #[test]
    fn a_changed_file_at_the_same_address_is_indexed_again() {
        let mut src = vec![b'a'; 8192];
        src[100] = b'\n';
        assert_eq!(line_col(&src, 200), (2, 100));
        // Same buffer, same length, other bytes: the cached index no longer fits.
        src[100] = b'a';
        src[150] = b'\n';
        assert_eq!(line_col(&src, 200), (2, 50));
        let other = vec![b'\n'; 8192];
        assert_eq!(line_col(&other, 10), (11, 1));
        assert_eq!(line_col(&src, 200), (2, 50));
    }
}
