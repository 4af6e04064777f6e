//! A `Header` value as mod_headers sends it: its format string, decoded the way
//! `parse_format_string`, `parse_format_tag` and `parse_misc_string`
//! (modules/metadata/mod_headers.c, httpd 2.4) decode it, after `ap_getword_conf`:
//!
//! - `%%` is `%`, and a `%` at the very end is a `%`;
//! - `%D`, `%t`, `%l`, `%i`, `%b` and `%{NAME}e`, `%{NAME}s` are replaced at request time
//!   (the `{...}` argument runs to the first `}`; every `}` right after it is skipped);
//!   any other letter makes httpd refuse the line (`Unrecognized header format %x`);
//! - in the text between, `\\` is `\`, `\n` a line feed, `\r` a carriage return, `\t` a tab;
//!   any other backslash stays a backslash.
//!
//! A value that starts with `expr=` is an ap_expr string instead (httpd 2.4.10+), handled by
//! the caller.

use std::ops::Range;

use crate::site::Decoded;

use super::words::{Unit, Word};

/// The format letters mod_headers registers (`header_pre_config`).
const TAGS: &[u8] = b"Dtesilb";

/// What mod_headers will send for one value.
#[derive(Debug, Clone)]
pub struct Formatted {
    pub value: Decoded,
    /// The static bytes are UTF-8 and `value.text` holds them exactly.
    pub utf8: bool,
    /// Raw ranges of `\n` and `\r` escapes: each puts a line break in the header.
    pub line_breaks: Vec<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// httpd refuses the line with this message.
    Unrecognized { raw: Range<usize>, message: String },
    /// A `%` followed by a `${NAME}`: what it means depends on the variable's value.
    DependsOnVariable { raw: Range<usize> },
}

enum Piece {
    Literal(u8, Range<usize>),
    Opaque(String, Range<usize>),
}

fn stand_in(units: &[Unit]) -> String {
    let word = Word {
        span: 0..0,
        quote: None,
        unterminated: false,
        units: units.to_vec(),
    };
    word.text()
}

/// The pieces of the format string `u`, in order, handed to `emit` (no vector of them: most
/// are single bytes); the raw ranges of its line breaks.
fn pieces(u: &[Unit], mut emit: impl FnMut(Piece)) -> Result<Vec<Range<usize>>, FormatError> {
    let mut breaks = Vec::new();
    let mut i = 0;
    while i < u.len() {
        let raw = u[i].raw();
        match u[i].byte() {
            None => {
                emit(Piece::Opaque(stand_in(&u[i..=i]), raw));
                i += 1;
            }
            Some(b'%') => match u.get(i + 1) {
                None => {
                    emit(Piece::Literal(b'%', raw));
                    i += 1;
                }
                Some(n) if n.byte() == Some(b'%') => {
                    emit(Piece::Literal(b'%', raw.start..n.raw().end));
                    i += 2;
                }
                Some(_) => {
                    let mut j = i + 1;
                    if u[j].byte() == Some(b'{') {
                        // `ap_getword(p, &s, '}')`: up to the first `}`, then past every `}`.
                        while j < u.len() && u[j].byte() != Some(b'}') {
                            j += 1;
                        }
                        while j < u.len() && u[j].byte() == Some(b'}') {
                            j += 1;
                        }
                    }
                    match u.get(j) {
                        Some(Unit::Byte { byte, raw: end }) if TAGS.contains(byte) => {
                            emit(Piece::Opaque(stand_in(&u[i..=j]), raw.start..end.end));
                            i = j + 1;
                        }
                        Some(Unit::Env { raw: end, .. }) => {
                            return Err(FormatError::DependsOnVariable {
                                raw: raw.start..end.end,
                            })
                        }
                        other => {
                            let letter = other
                                .and_then(Unit::byte)
                                .map(|b| String::from_utf8_lossy(&[b]).into_owned())
                                .unwrap_or_default();
                            let end = other.map_or(u[u.len() - 1].raw().end, |o| o.raw().end);
                            return Err(FormatError::Unrecognized {
                                raw: raw.start..end,
                                message: format!("Unrecognized header format %{letter}"),
                            });
                        }
                    }
                }
            },
            Some(b'\\') => {
                let escaped = match u.get(i + 1).and_then(Unit::byte) {
                    Some(b'\\') => Some(b'\\'),
                    Some(b'n') => Some(b'\n'),
                    Some(b'r') => Some(b'\r'),
                    Some(b't') => Some(b'\t'),
                    _ => None,
                };
                match escaped {
                    Some(b) => {
                        let range = raw.start..u[i + 1].raw().end;
                        if b == b'\n' || b == b'\r' {
                            breaks.push(range.clone());
                        }
                        emit(Piece::Literal(b, range));
                        i += 2;
                    }
                    None => {
                        emit(Piece::Literal(b'\\', raw));
                        i += 1;
                    }
                }
            }
            Some(b) => {
                emit(Piece::Literal(b, raw));
                i += 1;
            }
        }
    }
    Ok(breaks)
}

/// Decode the value `word` of a `Header set|add|append|merge|setifempty` line.
pub fn decode(word: &Word) -> Result<Formatted, FormatError> {
    let n = word.units.len();
    let mut value = Decoded::default();
    value.text.reserve(n);
    let mut sent = Vec::with_capacity(n);
    // A run of bytes copied unchanged from consecutive file bytes: where it starts, and its
    // bytes (one buffer for every run: a vector per run was an allocation and its growth).
    let mut run_at: Option<usize> = None;
    let mut run = Vec::with_capacity(n);
    let flush = |run_at: &mut Option<usize>, run: &mut Vec<u8>, value: &mut Decoded| {
        if let Some(at) = run_at.take() {
            value.push_literal(at, run);
            run.clear();
        }
    };
    let mut utf8 = true;
    let line_breaks = pieces(&word.units, |piece| match piece {
        Piece::Literal(b, raw) if raw.len() == 1 => {
            sent.push(b);
            match run_at {
                Some(at) if at + run.len() == raw.start => run.push(b),
                _ => {
                    flush(&mut run_at, &mut run, &mut value);
                    run_at = Some(raw.start);
                    run.push(b);
                }
            }
        }
        Piece::Literal(b, raw) => {
            flush(&mut run_at, &mut run, &mut value);
            sent.push(b);
            // Escapes only ever produce ASCII bytes.
            utf8 &= b.is_ascii();
            value.push_char(char::from(b), raw);
        }
        Piece::Opaque(text, raw) => {
            flush(&mut run_at, &mut run, &mut value);
            sent.extend_from_slice(text.as_bytes());
            value.push_opaque(&text, raw);
        }
    })?;
    flush(&mut run_at, &mut run, &mut value);
    utf8 &= value.text.as_bytes() == sent.as_slice();
    Ok(Formatted {
        value,
        utf8,
        line_breaks,
    })
}

#[cfg(test)]
mod tests {
    use super::super::lexer::logical_lines;
    use super::super::words::split;
    use super::*;

    fn value(line: &[u8]) -> Result<Formatted, FormatError> {
        let lines = logical_lines(line);
        let words = split(&lines[0]);
        decode(&words[3])
    }

    #[test]
    fn percent_and_backslash_escapes() {
        // Measured on httpd 2.4: `"p%%q\"r\\s"` sends `p%q"r\s`.
        let f = value(br#"Header set X "p%%q\"r\\s%""#).unwrap();
        assert_eq!(f.value.text, r#"p%q"r\s%"#);
        // `\\\\` in the file: ap_getword_conf leaves `\\`, mod_headers `\`.
        let f = value(br#"Header set X "e\\\\f""#).unwrap();
        assert_eq!(f.value.text, r"e\f");
        let f = value(br#"Header set X "a\nb\tc""#).unwrap();
        assert_eq!(f.value.text, "a\nb\tc");
        assert_eq!(f.line_breaks, vec![15..17]);
    }

    #[test]
    fn format_tags_are_opaque_and_unknown_ones_refused() {
        let f = value(br#"Header set X "a %{HOME}e b %D %{X}}s""#).unwrap();
        assert_eq!(f.value.text, "a %{HOME}e b %D %{X}}s");
        assert_eq!(f.value.opaque, vec![2..10, 13..15, 16..22]);
        let e = value(br#"Header set X "a%2""#).unwrap_err();
        assert!(
            matches!(e, FormatError::Unrecognized { ref message, .. } if message == "Unrecognized header format %2")
        );
        let e = value(br#"Header set X "%{X""#).unwrap_err();
        assert!(
            matches!(e, FormatError::Unrecognized { ref message, .. } if message == "Unrecognized header format %")
        );
    }

    #[test]
    fn raw_ranges_follow_continuations() {
        let src = b"Header set X \"a \\\n  b\"";
        let f = value(src).unwrap();
        assert_eq!(f.value.text, "a   b");
        assert_eq!(
            f.value.raw_insertion_point(2),
            Some(16),
            "before the backslash"
        );
        assert_eq!(f.value.raw_range(0..2), Some(14..16));
    }

    #[test]
    fn non_utf8_is_flagged() {
        let f = value(b"Header set X \"a\xff\"").unwrap();
        assert!(!f.utf8);
    }
}
