//! Header values: what nginx sends for a word (decode), and the word that makes nginx send a
//! given text (encode).
//!
//! `add_header`, `more_set_headers`, `set` and `map` values are *complex values*
//! (`ngx_http_compile_complex_value` / `ngx_http_script_compile` in src/http/ngx_http_script.c):
//! `$name`, `${name}` and `$1`..`$9` are replaced at request time; everything else is sent as
//! is. There is no escape for a literal `$`.

use std::ops::Range;

use crate::site::Decoded;

use super::tokenizer::{is_space, Quote, CONF_BUFFER};

/// A byte of a decoded word and the raw file range it came from.
pub type Mapped = (u8, Range<usize>);

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Why nginx refuses a complex value, in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub message: String,
    /// Index in the mapped bytes where the bad variable starts.
    pub at: usize,
}

/// Split mapped bytes into the decoded text nginx sends: literal runs and opaque variables.
/// Invalid UTF-8 becomes U+FFFD (the caller refuses such a site).
pub fn decode_complex(bytes: &[Mapped]) -> Result<Decoded, ValueError> {
    let mut d = Decoded::default();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].0 != b'$' {
            let end = bytes[i..]
                .iter()
                .position(|(b, _)| *b == b'$')
                .map_or(bytes.len(), |p| i + p);
            push_literal(&mut d, &bytes[i..end]);
            i = end;
            continue;
        }
        let len = variable_len(bytes, i)?;
        // `$`, `{`, `}`, digits, letters and `_`: ASCII.
        let stand_in: String = bytes[i..i + len].iter().map(|(b, _)| char::from(*b)).collect();
        let raw = bytes[i].1.start..bytes[i + len - 1].1.end;
        d.push_opaque(&stand_in, raw);
        i += len;
    }
    Ok(d)
}

/// Length of the variable reference starting with the `$` at `i` (ngx_http_script_compile).
fn variable_len(bytes: &[Mapped], i: usize) -> Result<usize, ValueError> {
    let invalid = |message: &str| ValueError {
        message: message.into(),
        at: i,
    };
    let next = |j: usize| bytes.get(j).map(|(b, _)| *b);
    match next(i + 1) {
        None => Err(invalid("invalid variable name")),
        Some(b'1'..=b'9') => Ok(2),
        Some(b'{') => {
            let name = bytes[i + 2..]
                .iter()
                .take_while(|(b, _)| is_name_byte(*b))
                .count();
            if next(i + 2 + name) != Some(b'}') {
                let text: Vec<u8> = bytes[i + 2..i + 2 + name].iter().map(|(b, _)| *b).collect();
                return Err(invalid(&format!(
                    "the closing bracket in \"{}\" variable is missing",
                    String::from_utf8_lossy(&text)
                )));
            }
            if name == 0 {
                return Err(invalid("invalid variable name"));
            }
            Ok(name + 3)
        }
        Some(_) => {
            let name = bytes[i + 1..]
                .iter()
                .take_while(|(b, _)| is_name_byte(*b))
                .count();
            if name == 0 {
                return Err(invalid("invalid variable name"));
            }
            Ok(name + 1)
        }
    }
}

/// Literal bytes: each character keeps the raw range of all the bytes (and escapes) it came
/// from, so an edit never splits an escape.
fn push_literal(d: &mut Decoded, bytes: &[Mapped]) {
    let mut i = 0;
    while i < bytes.len() {
        let (b, raw) = &bytes[i];
        if b.is_ascii() && raw.len() == 1 {
            // Most of a policy: ASCII bytes that are themselves, one after the other in the
            // file, pushed as one run.
            let at = raw.start;
            let n = bytes[i..]
                .iter()
                .enumerate()
                .take_while(|(k, (b, r))| b.is_ascii() && *r == (at + k..at + k + 1))
                .count();
            d.push_ascii(at, bytes[i..i + n].iter().map(|(b, _)| *b));
            i += n;
            continue;
        }
        if b.is_ascii() {
            // An escape (`\"`) for one byte.
            d.push_char(char::from(*b), raw.clone());
            i += 1;
            continue;
        }
        // A stretch of bytes above ASCII, decoded as UTF-8 (an ASCII byte never belongs to a
        // multi-byte character nor to an invalid sequence, so the stretch decodes as it does
        // inside the whole literal).
        let end = bytes[i..]
            .iter()
            .position(|(b, _)| b.is_ascii())
            .map_or(bytes.len(), |p| i + p);
        push_utf8(d, &bytes[i..end]);
        i = end;
    }
}

/// [`push_literal`] of bytes that are not ASCII: each character, or each invalid sequence
/// (as U+FFFD), with the raw range of its bytes.
fn push_utf8(d: &mut Decoded, bytes: &[Mapped]) {
    let plain: Vec<u8> = bytes.iter().map(|(b, _)| *b).collect();
    let mut at = 0;
    for chunk in plain.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let n = ch.len_utf8();
            let raw = bytes[at].1.start..bytes[at + n - 1].1.end;
            d.push_char(ch, raw);
            at += n;
        }
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            let raw = bytes[at].1.start..bytes[at + invalid.len() - 1].1.end;
            d.push_char(char::REPLACEMENT_CHARACTER, raw);
            at += invalid.len();
        }
    }
}

/// Is the whole value a single variable (`$csp`, `${csp}`)? Its name.
pub fn only_variable(d: &Decoded) -> Option<String> {
    match d.opaque.as_slice() {
        [only] if *only == (0..d.text.len()) => {
            let name = d.text.trim_start_matches('$');
            let name = name
                .strip_prefix('{')
                .and_then(|n| n.strip_suffix('}'))
                .unwrap_or(name);
            Some(name.to_string())
        }
        _ => None,
    }
}

/// The policy the author meant when a value runs over several lines: every line break (raw, or
/// after a backslash), with the spaces around it, becomes one space.
pub fn collapse_line_breaks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(nl) = rest.find(['\n', '\r']) {
        let mut before = &rest[..nl];
        before = before.trim_end_matches([' ', '\t']);
        if let Some(b) = before.strip_suffix('\\') {
            before = b.trim_end_matches([' ', '\t']);
        }
        out.push_str(before);
        rest = rest[nl..].trim_start_matches(['\n', '\r', ' ', '\t']);
        // A backslash that continues the next line too is part of the break.
        if !out.is_empty() && !rest.is_empty() {
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

// ---- encoding --------------------------------------------------------------------------------

/// Why a text cannot be written as an nginx word.
pub fn check_encodable(text: &str, allowed_variables: &[String]) -> Result<(), String> {
    if text.contains(['\n', '\r']) {
        return Err("a header value cannot contain a line break".into());
    }
    if let Some(at) = stray_dollar(text, allowed_variables) {
        return Err(format!(
            "the value has a `$` at byte {at}: nginx reads `$` in a header value as a \
             variable and has no escape for it (no CSP source needs one; the usual workaround \
             is a variable holding it: `geo $dollar {{ default \"$\"; }}` and `${{dollar}}`)"
        ));
    }
    Ok(())
}

/// The first `$` in `text` that is not one of the variables the value already had.
fn stray_dollar(text: &str, allowed: &[String]) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = text[i..].find('$') {
        let at = i + p;
        match longest_variable(&text[at..], allowed) {
            Some(v) => i = at + v.len(),
            None => return Some(at),
        }
    }
    None
}

/// The variable of `variables` that `text` starts with, the longest when one name is a
/// prefix of another (`$n` and `$nonce_b`): nginx reads a name up to the first byte that is
/// not a letter, digit or `_` (`ngx_http_script_compile`), so `$nonce_b` is never `$n`
/// followed by text.
fn longest_variable<'v>(text: &str, variables: &'v [String]) -> Option<&'v String> {
    variables
        .iter()
        .filter(|v| text.starts_with(v.as_str()))
        .max_by_key(|v| v.len())
}

/// `text` escaped for the inside of a word quoted with `quote`, or `None` when a bare word
/// cannot hold it. A `$name` from `variables` followed by a name byte is `None` too: nginx
/// would read a longer name, and writing `${name}` instead would read back as other text than
/// `text` (the read-back compares text). A capture (`$1`) is one digit whatever follows.
pub fn escape(
    text: &str,
    quote: Quote,
    variables: &[String],
    at_word_start: bool,
) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'$' {
            let v = longest_variable(&text[i..], variables)?;
            let end = i + v.len();
            let capture = v.len() == 2 && v.as_bytes()[1].is_ascii_digit();
            let named = !capture && !v.starts_with("${");
            if named && bytes.get(end).copied().is_some_and(is_name_byte) {
                return None;
            }
            out.extend_from_slice(v.as_bytes());
            i = end;
            continue;
        }
        match (quote, b) {
            (_, b'\\') => out.extend_from_slice(b"\\\\"),
            (_, b'\t') => out.extend_from_slice(b"\\t"),
            (Quote::Double, b'"') => out.extend_from_slice(b"\\\""),
            (Quote::Single, b'\'') => out.extend_from_slice(b"\\'"),
            (Quote::Bare, b) if is_space(b) || b == b';' || b == b'{' => return None,
            (Quote::Bare, b'"' | b'\'' | b'#' | b'}') if at_word_start && i == 0 => return None,
            (_, b) => out.push(b),
        }
        i += 1;
    }
    if quote == Quote::Bare && out.is_empty() && at_word_start {
        // An empty bare word does not exist.
        return None;
    }
    Some(out)
}

/// Does a word of `raw_len` bytes fit nginx's configuration buffer? `spaced`: the byte after
/// it is a space (see `tokenizer::check_length` for why that costs one byte).
pub fn fits_buffer(quote: Quote, inner_len: usize, spaced: bool) -> bool {
    let consumed = inner_len + usize::from(quote != Quote::Bare) + usize::from(spaced);
    consumed < CONF_BUFFER
}

/// The largest value (raw bytes between the quotes) that fits, for messages.
pub fn max_inner_len(quote: Quote, spaced: bool) -> usize {
    CONF_BUFFER - 1 - usize::from(quote != Quote::Bare) - usize::from(spaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(s: &str) -> Vec<Mapped> {
        s.bytes().enumerate().map(|(i, b)| (b, i..i + 1)).collect()
    }

    #[test]
    fn variables_are_opaque() {
        let d = decode_complex(&mapped("a $x b${y}c $1d")).unwrap();
        assert_eq!(d.text, "a $x b${y}c $1d");
        assert_eq!(d.opaque, vec![2..4, 6..10, 12..14]);
        assert_eq!(
            only_variable(&decode_complex(&mapped("${csp}")).unwrap()).as_deref(),
            Some("csp")
        );
        assert_eq!(
            only_variable(&decode_complex(&mapped("$csp")).unwrap()).as_deref(),
            Some("csp")
        );
        assert_eq!(only_variable(&d), None);
    }

    #[test]
    fn invalid_variables_use_nginx_wording() {
        let err = |s: &str| decode_complex(&mapped(s)).unwrap_err().message;
        assert_eq!(err("a $"), "invalid variable name");
        assert_eq!(err("a $-b"), "invalid variable name");
        assert_eq!(
            err("${a b}"),
            "the closing bracket in \"a\" variable is missing"
        );
    }

    #[test]
    fn non_utf8_becomes_replacement_characters() {
        let bytes: Vec<Mapped> = vec![(b'a', 0..1), (0xff, 1..2), (b'b', 2..3)];
        let d = decode_complex(&bytes).unwrap();
        assert_eq!(d.text, "a\u{fffd}b");
        assert_eq!(d.raw(1), Some(1..2));
    }

    #[test]
    fn each_character_maps_to_the_raw_bytes_it_came_from() {
        // `"a\"é b"`: a plain byte, an escape, a two-byte character, then plain bytes again.
        let src = "\"a\\\"é b\"".as_bytes();
        let d = decode_complex(&super::super::unescape(src, 0..src.len(), Quote::Double)).unwrap();
        assert_eq!(d.text, "a\"é b");
        let raws: Vec<_> = (0..d.text.len()).map(|i| d.raw(i)).collect();
        assert_eq!(
            raws,
            [1..2, 2..4, 4..6, 4..6, 6..7, 7..8].map(Some),
            "an escape and a character keep their whole raw range"
        );
        assert_eq!(d.raw_range(0..2), Some(1..4));
        assert_eq!(d.raw_range(4..6), Some(6..8));
        assert_eq!(d.raw_insertion_point(3), None, "inside the character");
        assert_eq!(d.raw_insertion_point(4), Some(6));
    }

    #[test]
    fn line_breaks_collapse_to_one_space() {
        assert_eq!(
            collapse_line_breaks("default-src 'self'; \\\n    script-src x; \\\r\n  img-src y;"),
            "default-src 'self'; script-src x; img-src y;"
        );
        assert_eq!(collapse_line_breaks("a\n\n  b"), "a b");
        assert_eq!(collapse_line_breaks("a \\\n"), "a");
    }

    #[test]
    fn escaping_per_quote_style() {
        let e = |t: &str, q| escape(t, q, &[], false).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(e(r#"a"b'c\d"#, Quote::Double).unwrap(), r#"a\"b'c\\d"#);
        assert_eq!(e(r#"a"b'c\d"#, Quote::Single).unwrap(), r#"a"b\'c\\d"#);
        assert_eq!(e("a b", Quote::Bare), None);
        assert_eq!(e("a;b", Quote::Bare), None);
        assert_eq!(e("a}b", Quote::Bare).unwrap(), "a}b");
        assert_eq!(escape("#a", Quote::Bare, &[], true), None);
        assert_eq!(e("$x", Quote::Double), None);
        let vars = vec!["$cdn".to_string()];
        let v = escape("$cdn $cdnx", Quote::Double, &vars, false);
        assert_eq!(
            v, None,
            "text right after a variable must not extend its name"
        );
        let vars = vec!["$cdn".to_string(), "$cdnx".to_string(), "$1".to_string()];
        let v = escape("$cdn $cdnx $1index", Quote::Double, &vars, false).unwrap();
        assert_eq!(
            v, b"$cdn $cdnx $1index",
            "the longest variable; a capture is one digit"
        );
        let v = escape("$cdn/x ${cdn}", Quote::Double, &vars, false);
        assert_eq!(v, None, "${{cdn}} was not written that way");
        let v = escape("a$cdn", Quote::Double, &vars, false).unwrap();
        assert_eq!(v, b"a$cdn");
        let vars = vec!["$n".to_string(), "$nonce_b".to_string()];
        let v = escape("'nonce-$n' 'nonce-$nonce_b'", Quote::Double, &vars, false).unwrap();
        assert_eq!(v, b"'nonce-$n' 'nonce-$nonce_b'", "the longest name wins");
    }

    #[test]
    fn stray_dollars_are_refused() {
        assert!(check_encodable("script-src $x", &[]).is_err());
        assert!(check_encodable("a\nb", &[]).is_err());
        assert!(check_encodable("script-src $x", &["$x".into()]).is_ok());
    }
}
