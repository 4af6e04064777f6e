//! Colour for a unified diff ([`crate::edit::unified_diff`] writes it plain).
//!
//! The diff is bytes (the files' lines as they are: CRLF, non-UTF-8), so colour is added
//! around lines by their first byte and nothing inside a line is touched: the plain palette
//! returns the diff unchanged, and a coloured one only adds escapes before a line's first
//! byte and before its `\n`.

use std::borrow::Cow;

use super::{style, Palette};

/// `diff` (one file's `--- a/` ... hunks) in `palette`: file headers bold, hunk headers cyan,
/// removed lines red, added lines green.
pub fn paint(diff: &[u8], palette: Palette) -> Cow<'_, [u8]> {
    if !palette.is_ansi() {
        return Cow::Borrowed(diff);
    }
    let mut out = Vec::with_capacity(diff.len() + diff.len() / 8);
    // The two header lines come before the first hunk; after it, `---` is a removed line.
    let mut in_header = true;
    for line in diff.split_inclusive(|&b| b == b'\n') {
        let colour = match line.first() {
            Some(b'@') if line.starts_with(b"@@") => {
                in_header = false;
                Some(style::HUNK)
            }
            _ if in_header => Some(style::BOLD),
            Some(b'-') => Some(style::REMOVED),
            Some(b'+') => Some(style::ADDED),
            _ => None,
        };
        let Some(colour) = colour else {
            out.extend_from_slice(line);
            continue;
        };
        let (body, end): (&[u8], &[u8]) = match line.strip_suffix(b"\n") {
            Some(body) => (body, b"\n"),
            None => (line, b""),
        };
        out.extend_from_slice(colour.render().to_string().as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(colour.render_reset().to_string().as_bytes());
        out.extend_from_slice(end);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &[u8] = b"--- a/x.conf\n+++ b/x.conf\n@@ -1,2 +1,2 @@\n k\xff\r\n--- old\n+b\r\n\\ No newline at end of file\n";

    #[test]
    fn plain_is_the_diff_itself() {
        assert_eq!(&*paint(DIFF, Palette::PLAIN), DIFF);
    }

    #[test]
    fn colour_wraps_lines_and_keeps_every_byte() {
        let got = paint(DIFF, Palette::ANSI);
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("\x1b[1m--- a/x.conf\x1b[0m\n\x1b[1m+++ b/x.conf\x1b[0m\n"));
        assert!(text.contains("\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n"));
        assert!(
            text.contains("\x1b[31m--- old\x1b[0m\n"),
            "a removed line after a hunk"
        );
        assert!(text.contains("\x1b[32m+b\r\x1b[0m\n"));
        // Without the escapes, the bytes are the diff's.
        let stripped: Vec<u8> = String::from_utf8_lossy(&got)
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[0m", "")
            .into_bytes();
        assert_eq!(stripped.len(), String::from_utf8_lossy(DIFF).len());
        assert!(
            got.windows(3).any(|w| w == b"k\xff\r"),
            "non-UTF-8 byte kept"
        );
    }
}
