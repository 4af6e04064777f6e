//! Words of a logical line, split the way `ap_getword_conf` (server/util.c) splits them, each
//! decoded byte knowing the file bytes it came from.
//!
//! - Before splitting, httpd replaces `${NAME}` with a `Define`d or environment variable
//!   (`ap_resolve_env`, called on the whole line by `ap_build_config_sub`). Its value is not
//!   known here, so such a reference is one opaque [`Unit::Env`].
//! - A word that starts with `"` or `'` runs to the same quote; inside it `\` followed by that
//!   quote or by `\` stands for the second byte, and every other backslash stays. A quote that
//!   is never closed runs to the end of the line (httpd accepts it). Bytes right after the
//!   closing quote start the next word.
//! - Any other word runs to the next whitespace; in it only `\\` is an escape (for `\`).

use std::ops::Range;

use super::lexer::{is_space, LogicalLine};

/// One byte of a decoded word, or a `${NAME}` reference that httpd expands before splitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Byte { byte: u8, raw: Range<usize> },
    Env { name: String, raw: Range<usize> },
}

impl Unit {
    pub fn raw(&self) -> Range<usize> {
        match self {
            Unit::Byte { raw, .. } | Unit::Env { raw, .. } => raw.clone(),
        }
    }

    pub fn byte(&self) -> Option<u8> {
        match self {
            Unit::Byte { byte, .. } => Some(*byte),
            Unit::Env { .. } => None,
        }
    }

    fn is(&self, b: u8) -> bool {
        self.byte() == Some(b)
    }
}

/// A word as `ap_getword_conf` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// File range of the word as written, quotes included (it may span continuations).
    pub span: Range<usize>,
    /// `"` or `'` when the word is quoted.
    pub quote: Option<u8>,
    /// A quoted word whose closing quote is missing: it ran to the end of the line.
    pub unterminated: bool,
    /// The decoded word.
    pub units: Vec<Unit>,
}

impl Word {
    /// The decoded bytes, `${NAME}` references written back as such.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.units.len());
        for u in &self.units {
            match u {
                Unit::Byte { byte, .. } => out.push(*byte),
                Unit::Env { name, .. } => {
                    out.extend_from_slice(b"${");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'}');
                }
            }
        }
        out
    }

    /// `bytes()` starts with `prefix`, which holds no `$`: a `${NAME}` never matches.
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.units.len() >= prefix.len()
            && self.units.iter().zip(prefix).all(|(u, &b)| u.is(b))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// `bytes()` equals `s`, ASCII case aside. Compared unit by unit: every directive name
    /// is compared several times, and collecting its bytes each time was a malloc per compare.
    pub fn is(&self, s: &str) -> bool {
        let mut want = s.as_bytes().iter();
        for u in &self.units {
            match u {
                Unit::Byte { byte, .. } => {
                    if !want.next().is_some_and(|w| w.eq_ignore_ascii_case(byte)) {
                        return false;
                    }
                }
                Unit::Env { name, .. } => {
                    let env = [b"${".as_slice(), name.as_bytes(), b"}"];
                    for b in env.iter().flat_map(|p| p.iter()) {
                        if !want.next().is_some_and(|w| w.eq_ignore_ascii_case(b)) {
                            return false;
                        }
                    }
                }
            }
        }
        want.next().is_none()
    }
}

/// The line's trimmed bytes as units, `${NAME}` references folded (`ap_resolve_env`: a `${`
/// up to the first `}`). A reference whose name holds whitespace, a quote or a backslash is
/// left as bytes: it would change the word boundaries when defined, which no real
/// configuration relies on.
fn units(line: &LogicalLine) -> Vec<Unit> {
    let range = line.trimmed();
    let text = &line.text[range.clone()];
    let at = &line.at[range];
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'$' && text.get(i + 1) == Some(&b'{') {
            if let Some(close) = text[i + 2..].iter().position(|&b| b == b'}') {
                let name = &text[i + 2..i + 2 + close];
                let plain = !name.is_empty()
                    && name
                        .iter()
                        .all(|&b| !is_space(b) && !matches!(b, b'"' | b'\'' | b'\\'));
                if plain {
                    let end = i + 2 + close;
                    out.push(Unit::Env {
                        name: String::from_utf8_lossy(name).into_owned(),
                        raw: at[i]..at[end] + 1,
                    });
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(Unit::Byte {
            byte: text[i],
            raw: at[i]..at[i] + 1,
        });
        i += 1;
    }
    out
}

fn is_blank(u: &Unit) -> bool {
    u.byte().is_some_and(is_space)
}

/// `substring_conf`: copy `units[start..end]`, turning `\\` (and `\q` inside a word quoted
/// with `q`) into the second byte. Like httpd it may look one unit past `end`.
fn substring(units: &[Unit], start: usize, end: usize, quote: Option<u8>) -> Vec<Unit> {
    let mut out = Vec::with_capacity(end - start);
    let mut i = start;
    while i < end {
        let escape = units[i].is(b'\\')
            && units
                .get(i + 1)
                .is_some_and(|n| n.is(b'\\') || quote.is_some_and(|q| n.is(q)));
        if escape {
            let next = &units[i + 1];
            out.push(Unit::Byte {
                byte: next.byte().unwrap_or(b'\\'),
                raw: units[i].raw().start..next.raw().end,
            });
            i += 2;
        } else {
            out.push(units[i].clone());
            i += 1;
        }
    }
    out
}

/// Split a logical line into words (`ap_getword_conf` until the line is used up).
pub fn split(line: &LogicalLine) -> Vec<Word> {
    let range = line.trimmed();
    let text = &line.text[range.clone()];
    // Without a `${`, every unit is a byte: split the bytes themselves (the units of a whole
    // line, built and dropped, were most of the cost of reading a file).
    if !text.windows(2).any(|w| w == b"${") {
        let words = split_bytes(text, &line.at[range]);
        debug_assert_eq!(words, split_units(line));
        return words;
    }
    split_units(line)
}

/// [`split`] of a line whose units are all bytes (`text[i]`, from the file byte `at[i]`):
/// the same steps on the bytes.
fn split_bytes(text: &[u8], at: &[usize]) -> Vec<Word> {
    let n = text.len();
    let mut words = Vec::new();
    let mut i = 0;
    while i < n && is_space(text[i]) {
        i += 1;
    }
    while i < n {
        let start = i;
        let quote = Some(text[i]).filter(|b| matches!(b, b'"' | b'\''));
        let (decoded, mut end, unterminated) = if let Some(q) = quote {
            let mut j = i + 1;
            while j < n && text[j] != q {
                let escape =
                    text[j] == b'\\' && text.get(j + 1).is_some_and(|&c| c == q || c == b'\\');
                j += if escape { 2 } else { 1 };
            }
            let j = j.min(n);
            let decoded = substring_bytes(text, at, i + 1, j, Some(q));
            if j < n {
                (decoded, j + 1, false)
            } else {
                (decoded, j, true)
            }
        } else {
            let mut j = i;
            while j < n && !is_space(text[j]) {
                j += 1;
            }
            (substring_bytes(text, at, i, j, None), j, false)
        };
        words.push(Word {
            span: at[start]..at[end - 1] + 1,
            quote,
            unterminated,
            units: decoded,
        });
        while end < n && is_space(text[end]) {
            end += 1;
        }
        i = end;
    }
    words
}

/// [`substring`] of bytes.
fn substring_bytes(
    text: &[u8],
    at: &[usize],
    start: usize,
    end: usize,
    quote: Option<u8>,
) -> Vec<Unit> {
    let mut out = Vec::with_capacity(end - start);
    let mut i = start;
    while i < end {
        let escape = text[i] == b'\\'
            && text
                .get(i + 1)
                .is_some_and(|&n| n == b'\\' || quote == Some(n));
        if escape {
            out.push(Unit::Byte {
                byte: text[i + 1],
                raw: at[i]..at[i + 1] + 1,
            });
            i += 2;
        } else {
            out.push(Unit::Byte {
                byte: text[i],
                raw: at[i]..at[i] + 1,
            });
            i += 1;
        }
    }
    out
}

/// [`split`] on the line's units.
fn split_units(line: &LogicalLine) -> Vec<Word> {
    let units = units(line);
    let mut words = Vec::new();
    let mut i = 0;
    while i < units.len() && is_blank(&units[i]) {
        i += 1;
    }
    while i < units.len() {
        let start = i;
        let quote = units[i].byte().filter(|b| matches!(b, b'"' | b'\''));
        let (decoded, mut end, unterminated) = if let Some(q) = quote {
            let mut j = i + 1;
            while j < units.len() && !units[j].is(q) {
                let escape =
                    units[j].is(b'\\') && units.get(j + 1).is_some_and(|n| n.is(q) || n.is(b'\\'));
                j += if escape { 2 } else { 1 };
            }
            let j = j.min(units.len());
            let decoded = substring(&units, i + 1, j, Some(q));
            if j < units.len() {
                (decoded, j + 1, false)
            } else {
                (decoded, j, true)
            }
        } else {
            let mut j = i;
            while j < units.len() && !is_blank(&units[j]) {
                j += 1;
            }
            (substring(&units, i, j, None), j, false)
        };
        words.push(Word {
            span: units[start].raw().start..units[end - 1].raw().end,
            quote,
            unterminated,
            units: decoded,
        });
        while end < units.len() && is_blank(&units[end]) {
            end += 1;
        }
        i = end;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::super::lexer::logical_lines;
    use super::*;

    fn words(src: &[u8]) -> Vec<String> {
        let lines = logical_lines(src);
        split(&lines[0]).iter().map(|w| w.text()).collect()
    }

    #[test]
    fn quotes_and_escapes_follow_ap_getword_conf() {
        assert_eq!(
            words(br#"Header set X "a \"b\" \\ \n" 'c \' \"'"#),
            ["Header", "set", "X", r#"a "b" \ \n"#, r#"c ' \""#]
        );
        // Bare words: only `\\` is an escape; quotes inside are plain bytes.
        assert_eq!(words(br#"a\\b c\"d e"f"#), [r"a\b", r#"c\"d"#, r#"e"f"#]);
        // A closing quote ends the word even with no blank after it.
        assert_eq!(words(br#""a b"c d"#), ["a b", "c", "d"]);
        // An unclosed quote runs to the end of the (trimmed) line.
        assert_eq!(words(b"x \"a  b  \n"), ["x", "a  b"]);
        assert_eq!(words(br#"x "" y"#), ["x", "", "y"]);
    }

    #[test]
    fn bytes_split_as_units_do() {
        // Escapes, quotes against words, unclosed quotes, continuations, blanks at both ends.
        let lines: &[&[u8]] = &[
            br#"  Header set X "a \"b\" \\ \n" 'c \' \"' "#,
            br#"a\\b c\"d e"f "a b"c d x "" y"#,
            b"x \"a  b  \\\n  c",
            br#"q 'it''s' "\\" "\"#,
            b"\t\x0b one\x0ctwo\r",
        ];
        for src in lines {
            let line = &logical_lines(src)[0];
            let range = line.trimmed();
            let bytes = split_bytes(&line.text[range.clone()], &line.at[range]);
            assert_eq!(bytes, split_units(line), "{src:?}");
        }
    }

    #[test]
    fn env_references_are_single_units() {
        let lines = logical_lines(b"ErrorLog ${APACHE_LOG_DIR}/e.log $x ${a b}");
        let w = split(&lines[0]);
        assert!(matches!(w[1].units[0], Unit::Env { .. }));
        assert_eq!(w[1].text(), "${APACHE_LOG_DIR}/e.log");
        assert!(matches!(w[2].units[0], Unit::Byte { .. }));
        assert_eq!(w.len(), 5, "a name with a blank is not folded");
    }

    #[test]
    fn spans_include_quotes_and_escapes_map_to_both_bytes() {
        let src = br#"H "a\"b" c"#;
        let lines = logical_lines(src);
        let w = split(&lines[0]);
        assert_eq!(w[1].span, 2..8);
        assert_eq!(w[1].units[1].raw(), 4..6);
        assert_eq!(w[2].span, 9..10);
    }
}
