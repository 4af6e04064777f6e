//! Writing a new CSP value back into PHP source, in the style of the literal it goes into.
//!
//! `fragment`: escaped for the literal that holds the insertion point, and checked by decoding
//! the patched literal again. `value`: a whole new expression for the site's span:
//! - one literal: the same literal style (quotes, `b` prefix, heredoc label and indentation);
//! - a concatenation of literals laid out over several lines (the MuseRelay form): the same
//!   layout, one directive per literal, with the original separators (` .\n           `);
//! - a concatenation on one line: one literal in the first literal's style.
//!
//! A value with run-time parts (variables, calls, `sprintf` arguments) is never rewritten whole.

use crate::site::Site;

use super::expr::{self, Segment, Value};
use super::lexer::{self, Kind, Quote};
use super::sites::header_value;
use super::strings::{self, Elem};
use super::syntax::Code;

/// Re-read the site's expression.
pub fn reanalyze(site: &Site, src: &[u8]) -> Option<Value> {
    let toks = lexer::tokenize_code(src, site.span.clone()).ok()?;
    let code = Code::new(src, toks);
    if code.len() == 0 {
        return None;
    }
    Some(expr::evaluate(&code, 0..code.len()))
}

#[derive(Debug, PartialEq, Eq)]
enum Cmp {
    B(u8),
    O(String),
}

fn comparable(elems: &[Elem]) -> Vec<Cmp> {
    elems
        .iter()
        .map(|e| match e {
            Elem::Byte { b, .. } => Cmp::B(*b),
            Elem::Opaque { stand_in, .. } => Cmp::O(stand_in.clone()),
        })
        .collect()
}

/// The literal token's value, element by element.
fn literal_elems(src: &[u8], token: std::ops::Range<usize>) -> Option<Vec<Elem>> {
    let toks = lexer::tokenize_code(src, token.clone()).ok()?;
    match toks.as_slice() {
        [t] if t.span == token => match &t.kind {
            Kind::Str(lit) => Some(strings::decode(src, lit)),
            _ => None,
        },
        _ => None,
    }
}

pub fn fragment(site: &Site, src: &[u8], at: usize, fragment: &str) -> Option<Vec<u8>> {
    if !site.span.contains(&at) && site.span.end != at {
        return None;
    }
    // PHP drops the blanks at the start of the value and the white space at its end
    // (`header_value`, `trim_end` in sites.rs): a fragment there would lose its own.
    let d = &site.value;
    let first = d.raw(0).map(|r| r.start);
    let last = d
        .text
        .len()
        .checked_sub(1)
        .and_then(|i| d.raw(i))
        .map(|r| r.end);
    if (first.is_none_or(|f| at <= f) && fragment.starts_with([' ', '\t']))
        || (last.is_none_or(|l| at >= l)
            && fragment.ends_with([' ', '\t', '\n', '\r', '\x0b', '\x0c']))
    {
        return None;
    }
    let value = reanalyze(site, src)?;
    let seg: &Segment = value
        .segments
        .iter()
        .find(|s| s.content.start <= at && at <= s.content.end)?;
    let escaped = strings::escape(fragment, seg.quote, seg.in_format)?;
    // Check: the patched literal must decode to the old one with the fragment inserted.
    let old = literal_elems(src, seg.token.clone())?;
    let split = old.iter().take_while(|e| e.raw().end <= at).count();
    if old[split..].iter().any(|e| e.raw().start < at) {
        return None; // `at` is inside an escape or an interpolation
    }
    let mut patched = src[seg.token.start..at].to_vec();
    patched.extend_from_slice(&escaped);
    patched.extend_from_slice(&src[at..seg.token.end]);
    let new = literal_elems(&patched, 0..patched.len())?;
    let inserted = if seg.in_format {
        fragment.replace('%', "%%")
    } else {
        fragment.to_string()
    };
    let mut expected = comparable(&old[..split]);
    expected.extend(inserted.bytes().map(Cmp::B));
    expected.extend(comparable(&old[split..]));
    (comparable(&new) == expected).then_some(escaped)
}

pub fn value(site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
    let v = reanalyze(site, src).ok_or("the site's expression no longer parses")?;
    if v.joined {
        return Err(
            "the value is an implode() of a list: csppatch writes only into its elements".into(),
        );
    }
    if !v.is_static() {
        let parts: Vec<&str> = v
            .elems
            .iter()
            .filter_map(|e| match e {
                Elem::Opaque { stand_in, .. } => Some(stand_in.as_str()),
                _ => None,
            })
            .collect();
        return Err(format!(
            "the value is built with run-time parts ({}); csppatch rewrites only literal text",
            parts.join(", ")
        ));
    }
    if value.bytes().any(|b| matches!(b, b'\n' | b'\r' | 0)) {
        return Err("a header value cannot contain a line break".into());
    }
    // PHP sends the value without the blanks after `Name:` and without trailing white space
    // (`header_value`, `trim_end` in sites.rs): such a value would read back as other text.
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t', '\x0b', '\x0c']) {
        return Err("PHP drops the white space at the start and end of a header value".into());
    }
    // A header() argument keeps its `Name: ` prefix exactly as written.
    let prefix: Vec<u8> = match header_value(&v) {
        Some(hv) => v.elems[..hv.start]
            .iter()
            .filter_map(|e| match e {
                Elem::Byte { b, .. } => Some(*b),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut full = String::from_utf8(prefix).map_err(|_| "the header name is not UTF-8")?;
    full.push_str(value);
    let first = v
        .segments
        .first()
        .ok_or("the value has no string literal")?;
    let literals: Option<Vec<&Segment>> = v
        .operands
        .iter()
        .map(|o| o.literal.map(|i| &v.segments[i]))
        .collect();
    if let Some(lits) = literals.filter(|l| l.len() >= 2) {
        let seps: Vec<&[u8]> = v
            .operands
            .windows(2)
            .map(|w| &src[w[0].bytes.end..w[1].bytes.start])
            .collect();
        let quoted = lits
            .iter()
            .all(|s| matches!(s.quote, Quote::Single | Quote::Double));
        if quoted && seps[0].contains(&b'\n') {
            let mut out = Vec::new();
            for (i, chunk) in directive_chunks(&full).iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(seps[(i - 1).min(seps.len() - 1)]);
                }
                out.extend(literal(src, lits[i.min(lits.len() - 1)], chunk)?);
            }
            return Ok(out);
        }
    }
    literal(src, first, &full)
}

/// `text` split after each `;` and the spaces that follow it.
fn directive_chunks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b';' {
            i += 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            out.push(&text[start..i]);
            start = i;
        } else {
            i += 1;
        }
    }
    if start < text.len() || out.is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// A complete literal holding `text`, in the style of `like` (its `b` prefix, quotes, heredoc
/// label and closing indentation).
fn literal(src: &[u8], like: &Segment, text: &str) -> Result<Vec<u8>, String> {
    let escaped =
        strings::escape(text, like.quote, false).ok_or("the value cannot be written here")?;
    let open = &src[like.token.start..like.content.start];
    let close = &src[like.content.end..like.token.end];
    let mut out = open.to_vec();
    if matches!(like.quote, Quote::Heredoc | Quote::Nowdoc) {
        // `close` is the newline, the indentation and the label: the body line gets the same
        // indentation, which PHP strips.
        let after_nl = close
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(close.len());
        let indent: Vec<u8> = close[after_nl..]
            .iter()
            .copied()
            .take_while(|&b| b == b' ' || b == b'\t')
            .collect();
        out.extend_from_slice(&indent);
    }
    out.extend_from_slice(&escaped);
    out.extend_from_slice(close);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_directives() {
        assert_eq!(
            directive_chunks("CSP: a 'b'; c d;e"),
            ["CSP: a 'b'; ", "c d;", "e"]
        );
        assert_eq!(directive_chunks("a;"), ["a;"]);
    }
}
