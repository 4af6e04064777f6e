//! PHP string literals: their value byte by byte (each byte knows the raw bytes it came from),
//! and the reverse, escaping text for a literal of a given style.
//!
//! Mirrors `zend_scan_escape_string` and `strip_multiline_string_indentation` in
//! `Zend/zend_language_scanner.l`.

use std::ops::Range;

use super::lexer::{Part, Quote, StrLit};

/// One element of a value as PHP computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// A byte of the value and the raw bytes that produced it. `plain`: the byte is the raw
    /// byte itself (`raw.len() == 1`); otherwise an escape produced it, and every byte of the
    /// escape's output carries the escape's whole raw range.
    Byte {
        b: u8,
        raw: Range<usize>,
        plain: bool,
    },
    /// Text only known at run time (`$nonce`, `{$x}`, a function call).
    Opaque { stand_in: String, raw: Range<usize> },
}

impl Elem {
    pub fn raw(&self) -> &Range<usize> {
        match self {
            Elem::Byte { raw, .. } | Elem::Opaque { raw, .. } => raw,
        }
    }
}

/// The value of a string literal token.
pub fn decode(src: &[u8], lit: &StrLit) -> Vec<Elem> {
    let mut out = Vec::new();
    for part in &lit.parts {
        match part {
            Part::Interp(r) => out.push(Elem::Opaque {
                stand_in: stand_in(&src[r.clone()]),
                raw: r.clone(),
            }),
            Part::Text(r) => {
                let seq = match lit.quote {
                    Quote::Heredoc | Quote::Nowdoc => dedent(src, lit, r.clone()),
                    _ => r.clone().map(|i| (src[i], i)).collect(),
                };
                match lit.quote {
                    Quote::Single => unescape_single(&seq, &mut out),
                    Quote::Nowdoc => out.extend(seq.iter().map(|&(b, i)| Elem::Byte {
                        b,
                        raw: i..i + 1,
                        plain: true,
                    })),
                    Quote::Double => unescape_double(&seq, b'"', &mut out),
                    Quote::Backtick => unescape_double(&seq, b'`', &mut out),
                    Quote::Heredoc => unescape_double(&seq, 0, &mut out),
                }
            }
        }
    }
    out
}

/// A readable stand-in for run-time text: its source with whitespace runs folded.
pub fn stand_in(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Heredoc/nowdoc text with the closing label's indentation removed from each line start.
fn dedent(src: &[u8], lit: &StrLit, r: Range<usize>) -> Vec<(u8, usize)> {
    let mut seq = Vec::with_capacity(r.len());
    let mut i = r.start;
    while i < r.end {
        let line_start = i == lit.content.start
            || src[i - 1] == b'\n'
            || (src[i - 1] == b'\r' && src[i] != b'\n');
        if line_start {
            let mut skipped = 0;
            while skipped < lit.indent && i < r.end && matches!(src[i], b' ' | b'\t') {
                i += 1;
                skipped += 1;
            }
            if i >= r.end {
                break;
            }
        }
        seq.push((src[i], i));
        i += 1;
    }
    seq
}

fn span(seq: &[(u8, usize)]) -> Range<usize> {
    seq[0].1..seq[seq.len() - 1].1 + 1
}

fn push_escape(out: &mut Vec<Elem>, bytes: &[u8], raw: Range<usize>) {
    out.extend(bytes.iter().map(|&b| Elem::Byte {
        b,
        raw: raw.clone(),
        plain: false,
    }));
}

/// `b?[']`: `\'` and `\\` are escapes; any other backslash stays, with the byte after it.
fn unescape_single(seq: &[(u8, usize)], out: &mut Vec<Elem>) {
    let mut k = 0;
    while k < seq.len() {
        let (b, i) = seq[k];
        if b == b'\\' && k + 1 < seq.len() {
            let next = seq[k + 1].0;
            let raw = span(&seq[k..k + 2]);
            if next == b'\\' || next == b'\'' {
                push_escape(out, &[next], raw);
            } else {
                push_escape(out, &[b'\\', next], raw);
            }
            k += 2;
        } else {
            out.push(Elem::Byte {
                b,
                raw: i..i + 1,
                plain: true,
            });
            k += 1;
        }
    }
}

/// `zend_scan_escape_string` with `quote_type` `"`, `` ` `` or 0 (heredoc).
fn unescape_double(seq: &[(u8, usize)], quote: u8, out: &mut Vec<Elem>) {
    let at = |k: usize| seq.get(k).map_or(0, |s| s.0);
    let mut k = 0;
    while k < seq.len() {
        let (b, i) = seq[k];
        if b != b'\\' || k + 1 >= seq.len() {
            out.push(Elem::Byte {
                b,
                raw: i..i + 1,
                plain: true,
            });
            k += 1;
            continue;
        }
        let c = at(k + 1);
        let simple = match c {
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'f' => Some(0x0c),
            b'v' => Some(0x0b),
            b'e' => Some(0x1b),
            b'\\' | b'$' => Some(c),
            b'"' | b'`' if c == quote => Some(c),
            _ => None,
        };
        if let Some(v) = simple {
            push_escape(out, &[v], span(&seq[k..k + 2]));
            k += 2;
            continue;
        }
        let (bytes, len) = match c {
            b'x' | b'X' if at(k + 2).is_ascii_hexdigit() => {
                let n = if at(k + 3).is_ascii_hexdigit() { 2 } else { 1 };
                let v = seq[k + 2..k + 2 + n]
                    .iter()
                    .fold(0u32, |acc, s| acc * 16 + hex(s.0));
                (vec![v as u8], 2 + n)
            }
            b'0'..=b'7' => {
                let mut n = 1;
                while n < 3 && matches!(at(k + 1 + n), b'0'..=b'7') {
                    n += 1;
                }
                // Three octal digits above \377 wrap (PHP warns "Octal escape sequence
                // overflow" and keeps the low byte).
                let v = seq[k + 1..k + 1 + n]
                    .iter()
                    .fold(0u32, |acc, s| acc * 8 + u32::from(s.0 - b'0'));
                (vec![(v & 0xff) as u8], 1 + n)
            }
            b'u' if at(k + 2) == b'{' => match unicode_escape(seq, k) {
                Some(x) => x,
                // `\u{...}` that is not valid is a compile error: keep the text as it is.
                None => (vec![b'\\', b'u'], 2),
            },
            _ => (vec![b'\\', c], 2),
        };
        push_escape(out, &bytes, span(&seq[k..k + len]));
        k += len;
    }
}

fn unicode_escape(seq: &[(u8, usize)], k: usize) -> Option<(Vec<u8>, usize)> {
    let mut j = k + 3;
    let mut cp: u32 = 0;
    while j < seq.len() && seq[j].0 != b'}' {
        if !seq[j].0.is_ascii_hexdigit() || cp > 0x10FFFF {
            return None;
        }
        cp = cp * 16 + hex(seq[j].0);
        j += 1;
    }
    if j >= seq.len() || j == k + 3 {
        return None;
    }
    let ch = char::from_u32(cp)?;
    let mut buf = [0u8; 4];
    Some((ch.encode_utf8(&mut buf).as_bytes().to_vec(), j + 1 - k))
}

fn hex(c: u8) -> u32 {
    (c as char).to_digit(16).unwrap_or(0)
}

/// `text` escaped for the inside of a literal of style `quote` (and, for a `sprintf` format,
/// with `%` doubled). `None`: the text cannot be written in that style (a newline in a
/// one-line value, a backtick string).
pub fn escape(text: &str, quote: Quote, in_format: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for &b in text.as_bytes() {
        if matches!(b, b'\n' | b'\r' | 0) {
            return None;
        }
        if in_format && b == b'%' {
            out.extend_from_slice(b"%%");
            continue;
        }
        match (quote, b) {
            (Quote::Single, b'\\' | b'\'') => out.extend_from_slice(&[b'\\', b]),
            (Quote::Double | Quote::Heredoc, b'\\' | b'$') => out.extend_from_slice(&[b'\\', b]),
            (Quote::Double, b'"') => out.extend_from_slice(b"\\\""),
            (Quote::Backtick, _) => return None,
            _ => out.push(b),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{tokenize, Kind};
    use super::*;

    fn value(php: &str) -> (String, Vec<Range<usize>>) {
        let src = format!("<?php {php};");
        let toks = tokenize(src.as_bytes()).unwrap();
        let lit = toks
            .iter()
            .find_map(|t| match &t.kind {
                Kind::Str(l) => Some(l.clone()),
                _ => None,
            })
            .unwrap();
        let elems = decode(src.as_bytes(), &lit);
        let mut bytes = Vec::new();
        let mut raws = Vec::new();
        for e in elems {
            match e {
                Elem::Byte { b, raw, .. } => {
                    bytes.push(b);
                    raws.push(raw.start - 6..raw.end - 6);
                }
                Elem::Opaque { stand_in, raw } => {
                    bytes.extend_from_slice(stand_in.as_bytes());
                    raws.push(raw.start - 6..raw.end - 6);
                }
            }
        }
        (String::from_utf8_lossy(&bytes).into_owned(), raws)
    }

    #[test]
    fn single_quotes_keep_unknown_escapes() {
        assert_eq!(value(r"'a\'b\\c\nd'").0, "a'b\\c\\nd");
        assert_eq!(value(r"'a\'b'").1[1], 2..4);
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(
            value(r#""\n\t\$\"\\\q\x41\101\u{e9}\u{1F600}\xZ""#).0,
            "\n\t$\"\\\\qAA\u{e9}\u{1F600}\\xZ"
        );
        assert_eq!(value(r#""a$b c""#).0, "a$b c");
        assert_eq!(value(r#""a{$b->c} $d[0] $e->f""#).0, "a{$b->c} $d[0] $e->f");
    }

    #[test]
    fn heredoc_dedents_and_nowdoc_is_raw() {
        let (v, _) = value("<<<X\n    a\\tb\n      c\n    X");
        assert_eq!(v, "a\tb\n  c");
        let (v, _) = value("<<<'X'\n  a\\tb\n  X");
        assert_eq!(v, "a\\tb");
    }

    #[test]
    fn escaping_round_trips_each_style() {
        let text = "it's \"$x\" \\ {$y} 100%";
        for (q, open, close) in [
            (Quote::Single, "'", "'"),
            (Quote::Double, "\"", "\""),
            (Quote::Heredoc, "<<<E\n", "\nE"),
            (Quote::Nowdoc, "<<<'E'\n", "\nE"),
        ] {
            let body = String::from_utf8(escape(text, q, false).unwrap()).unwrap();
            assert_eq!(value(&format!("{open}{body}{close}")).0, text, "{q:?}");
        }
    }
}
