//! Physical tokens and logical lines, read the way httpd 2.4 reads a configuration file.
//!
//! Mirrors `ap_cfg_getline_core` and `cfg_trim_line` (server/util.c), which read the file with
//! `apr_file_gets` one line at a time:
//! - a line ends at LF; a CR before it is ordinary whitespace (`apr_isspace`), removed later by
//!   `cfg_trim_line` like any trailing blank;
//! - a line whose last bytes are `\` LF or `\` CR LF continues: httpd removes exactly the
//!   backslash, the CR and the LF, and appends the next physical line *as is*, leading
//!   whitespace included (`"a \<LF>    b"` reads `"a     b"`); nothing else is special, so
//!   `\\` LF also continues, leaving one backslash;
//! - a backslash on the last line, with no LF after it, stays a backslash;
//! - a NUL byte ends what httpd sees of its physical line (it measures the line with
//!   `strlen`), and such a line never continues;
//! - a UTF-8 byte-order mark is not skipped outside Windows: it is part of the first line.
//!
//! The tokens tile the file exactly, so concatenating them gives the file back byte for byte.

use std::ops::Range;

use nom::bytes::complete::{tag, take_till};
use nom::combinator::opt;
use nom::sequence::pair;
use nom::IResult;

/// `apr_isspace` in the C locale, minus LF (which ends the physical line).
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Whitespace other than LF: space, tab, CR, VT, FF.
    Space,
    /// A run of bytes that are not whitespace (quotes and backslashes included).
    Text,
    /// `\` LF or `\` CR LF ending a physical line: removed by httpd, which joins the next line.
    Continuation,
    /// LF: ends the logical line.
    Newline,
    /// From a NUL byte to the end of its physical line: never read by httpd.
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// A line as httpd reads it: continuations joined, before trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// File range from the first byte of its first physical line through the LF that ends it
    /// (or the end of the file). Consecutive lines tile the file.
    pub span: Range<usize>,
    /// The bytes httpd reads (continuations removed, dead bytes skipped).
    pub text: Vec<u8>,
    /// `at[i]` is the file offset of `text[i]`.
    pub at: Vec<usize>,
}

impl LogicalLine {
    /// Add what httpd reads of `token` (a token of `src`, the file's bytes from offset
    /// `base`): a space or text token's bytes; nothing of a continuation, a dead byte or
    /// the line end.
    fn read(&mut self, src: &[u8], token: &Token, base: usize) {
        if let TokenKind::Space | TokenKind::Text = token.kind {
            self.text.extend_from_slice(&src[token.span.clone()]);
            self.at
                .extend(base + token.span.start..base + token.span.end);
        }
    }

    /// Range of `text` left after `cfg_trim_line` removes leading and trailing whitespace.
    pub fn trimmed(&self) -> Range<usize> {
        let start = self
            .text
            .iter()
            .position(|&b| !is_space(b))
            .unwrap_or(self.text.len());
        let end = self
            .text
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(start, |p| p + 1);
        start..end
    }

    /// The trimmed bytes httpd hands to `ap_build_config_sub`.
    pub fn content(&self) -> &[u8] {
        &self.text[self.trimmed()]
    }
}

/// One physical line's pieces: (live content, dead tail, line ending).
type PhysicalLine<'a> = (&'a [u8], Option<&'a [u8]>);

fn physical_line(input: &[u8]) -> IResult<&[u8], PhysicalLine<'_>> {
    pair(take_till(|b| b == b'\n'), opt(tag(&b"\n"[..])))(input)
}

/// Split `src` into tokens that tile it exactly.
pub fn tokenize(src: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    for_each_token(src, |t| tokens.push(t));
    tokens
}

/// [`tokenize`], handing each token to `emit` as it is found: `logical_lines` needs no
/// vector of tokens (nor one of runs per physical line).
fn for_each_token(src: &[u8], mut emit: impl FnMut(Token)) {
    let mut rest = src;
    let mut offset = 0;
    while !rest.is_empty() {
        // `physical_line` always consumes at least one byte of a non-empty input.
        let Ok((after, (content, newline))) = physical_line(rest) else {
            break;
        };
        let mut push = |kind, len: usize, offset: &mut usize| {
            if len > 0 {
                emit(Token {
                    kind,
                    span: *offset..*offset + len,
                });
                *offset += len;
            }
        };
        let (live, dead) = match content.iter().position(|&b| b == 0) {
            Some(nul) => (&content[..nul], &content[nul..]),
            None => (content, &content[content.len()..]),
        };
        // `\` [CR] LF continues the line, unless a NUL hid the end of the line from httpd.
        let continuation = if newline.is_some() && dead.is_empty() {
            if live.ends_with(b"\\\r") {
                2
            } else if live.ends_with(b"\\") {
                1
            } else {
                0
            }
        } else {
            0
        };
        let body = &live[..live.len() - continuation];
        // Runs of spaces and of other bytes, alternating.
        let mut i = 0;
        while i < body.len() {
            let space = is_space(body[i]);
            let len = body[i..]
                .iter()
                .position(|&b| is_space(b) != space)
                .unwrap_or(body.len() - i);
            let kind = if space {
                TokenKind::Space
            } else {
                TokenKind::Text
            };
            push(kind, len, &mut offset);
            i += len;
        }
        push(TokenKind::Dead, dead.len(), &mut offset);
        match (continuation, newline) {
            (n, Some(_)) if n > 0 => push(TokenKind::Continuation, n + 1, &mut offset),
            (_, Some(_)) => push(TokenKind::Newline, 1, &mut offset),
            _ => {}
        }
        rest = after;
    }
}

/// Group the tokens into the logical lines httpd reads.
pub fn logical_lines(src: &[u8]) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for_each_token(src, |token| {
        let line = current.get_or_insert_with(|| {
            // Sized for its first physical line: growing byte by byte was a realloc cascade
            // per line (and `at` is 8 bytes a byte).
            let len = src[token.span.start..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(src.len() - token.span.start);
            LogicalLine {
                span: token.span.start..token.span.start,
                text: Vec::with_capacity(len),
                at: Vec::with_capacity(len),
            }
        });
        line.span.end = token.span.end;
        line.read(src, &token, 0);
        if token.kind == TokenKind::Newline {
            lines.extend(current.take());
        }
    });
    lines.extend(current);
    lines
}

/// Does the LF at `src[lf]` continue its logical line (`\` LF or `\` CR LF, no NUL before
/// it on its physical line)? The rule of [`tokenize`], for one line end.
fn continues(src: &[u8], lf: usize) -> bool {
    let start = src[..lf]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let content = &src[start..lf];
    !content.contains(&0) && (content.ends_with(b"\\") || content.ends_with(b"\\\r"))
}

/// The logical line holding file offset `offset` (not itself a line end): its file range, as
/// [`logical_lines`] would give it, and whether an LF ends it (else the file does).
pub fn line_around(src: &[u8], offset: usize) -> (Range<usize>, bool) {
    let before = |end: usize| {
        src[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
    };
    let mut start = before(offset);
    while start > 0 && continues(src, start - 1) {
        start = before(start - 1);
    }
    let mut from = offset;
    loop {
        match src[from..].iter().position(|&b| b == b'\n') {
            None => return (start..src.len(), false),
            Some(n) if continues(src, from + n) => from += n + 1,
            Some(n) => return (start..from + n + 1, true),
        }
    }
}

/// `src`, the bytes of one logical line at file offset `base`, read as [`logical_lines`]
/// reads it there: `None` unless the bytes are exactly one logical line, ended by an LF
/// that is their last byte when `terminated`, else by the end of the file.
pub fn one_line(src: &[u8], base: usize, terminated: bool) -> Option<LogicalLine> {
    let mut line = LogicalLine {
        span: base..base + src.len(),
        text: Vec::with_capacity(src.len()),
        at: Vec::with_capacity(src.len()),
    };
    let mut newlines = 0;
    let mut last_is_newline = false;
    for_each_token(src, |token| {
        last_is_newline = token.kind == TokenKind::Newline;
        newlines += usize::from(last_is_newline);
        line.read(src, &token, base);
    });
    let ok = if terminated {
        newlines == 1 && last_is_newline
    } else {
        newlines == 0
    };
    (ok && !src.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(src: &[u8]) -> Vec<String> {
        logical_lines(src)
            .iter()
            .map(|l| String::from_utf8_lossy(&l.text).into_owned())
            .collect()
    }

    #[test]
    fn tokens_tile_the_file() {
        let src = b"\xef\xbb\xbfA b\\\r\n  c\td\r\n\x00x\\\n#\\\ny\\";
        let tokens = tokenize(src);
        let mut back = Vec::new();
        let mut end = 0;
        for t in &tokens {
            assert_eq!(t.span.start, end);
            end = t.span.end;
            back.extend_from_slice(&src[t.span.clone()]);
        }
        assert_eq!(back, src);
    }

    #[test]
    fn continuation_removes_backslash_cr_lf_and_keeps_indentation() {
        assert_eq!(joined(b"a \\\n    b\nc\n"), ["a     b", "c"]);
        assert_eq!(joined(b"a \\\r\n\tb\r\n"), ["a \tb\r"]);
        // Only the last backslash goes: `\\` LF continues with one backslash left.
        assert_eq!(joined(b"x\\\\\ny\n"), ["x\\y"]);
        // No LF after it: a backslash at the end of the file stays.
        assert_eq!(joined(b"a\\"), ["a\\"]);
        // `\` CR CR LF is not a continuation.
        assert_eq!(joined(b"a\\\r\r\nb"), ["a\\\r\r", "b"]);
    }

    #[test]
    fn nul_hides_the_rest_of_its_line() {
        assert_eq!(joined(b"ab\0cd\\\nef\n"), ["ab", "ef"]);
    }

    #[test]
    fn comment_lines_continue_too() {
        assert_eq!(joined(b"# a \\\nHeader set X y\n"), ["# a Header set X y"]);
    }

    #[test]
    fn one_line_reads_a_line_as_the_whole_file_does() {
        let files: &[&[u8]] = &[
            b"a \\\n  b\nc\\\r\nd\r\ne\0f\\\ng\\\\\nh\n\n\\\n",
            b"x\\\r\r\ny\\",
            b"\n\\\nz",
            b"q\\\n",
        ];
        for src in files {
            let lines = logical_lines(src);
            let tokens = tokenize(src);
            for offset in 0..src.len() {
                let line = lines.iter().find(|l| l.span.contains(&offset)).unwrap();
                let ends_with_newline = tokens
                    .iter()
                    .any(|t| t.kind == TokenKind::Newline && t.span.end == line.span.end);
                let (range, terminated) = line_around(src, offset);
                assert_eq!((range.clone(), terminated), (line.span.clone(), ends_with_newline));
                let alone = one_line(&src[range.clone()], range.start, terminated).unwrap();
                assert_eq!(&alone, line, "{offset} in {src:?}");
                // Read with the other ending, or cut short, it is not one line.
                assert!(one_line(&src[range.clone()], range.start, !terminated).is_none());
            }
        }
        assert!(one_line(b"a\nb\n", 0, true).is_none());
    }

    #[test]
    fn offsets_point_at_the_file_bytes() {
        let src = b"ab\\\n  c\n";
        let lines = logical_lines(src);
        assert_eq!(lines[0].at, vec![0, 1, 4, 5, 6]);
        assert_eq!(lines[0].span, 0..8);
        assert_eq!(lines[0].trimmed(), 0..5);
    }
}
