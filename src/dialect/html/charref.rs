//! Attribute values as the DOM sees them: character references decoded with the rules for
//! attribute values (HTML Standard §13.2.5.72-80), newlines normalized (§13.2.3.5), each
//! character mapped back to the raw bytes that produced it.

use std::ops::Range;

use super::entities::ENTITIES;
use crate::site::Decoded;

/// §13.2.5.80: numeric references to C1 controls mean the windows-1252 character.
const C1: [(u32, u32); 27] = [
    (0x80, 0x20AC),
    (0x82, 0x201A),
    (0x83, 0x0192),
    (0x84, 0x201E),
    (0x85, 0x2026),
    (0x86, 0x2020),
    (0x87, 0x2021),
    (0x88, 0x02C6),
    (0x89, 0x2030),
    (0x8A, 0x0160),
    (0x8B, 0x2039),
    (0x8C, 0x0152),
    (0x8E, 0x017D),
    (0x91, 0x2018),
    (0x92, 0x2019),
    (0x93, 0x201C),
    (0x94, 0x201D),
    (0x95, 0x2022),
    (0x96, 0x2013),
    (0x97, 0x2014),
    (0x98, 0x02DC),
    (0x99, 0x2122),
    (0x9A, 0x0161),
    (0x9B, 0x203A),
    (0x9C, 0x0153),
    (0x9E, 0x017E),
    (0x9F, 0x0178),
];

/// The longest name is `CounterClockwiseContourIntegral;`.
const LONGEST_NAME: usize = 32;

/// The character reference at `src[i] == b'&'`, not reading at or past `limit`: its text and
/// its raw length. `None`: the `&` stands for itself.
pub fn reference(src: &[u8], i: usize, limit: usize) -> Option<(String, usize)> {
    let at = |k: usize| if k < limit { src[k] } else { 0 };
    if at(i + 1) == b'#' {
        let hex = matches!(at(i + 2), b'x' | b'X');
        let mut k = i + 2 + usize::from(hex);
        let digits_start = k;
        let mut value: u32 = 0;
        while let Some(d) = (at(k) as char).to_digit(if hex { 16 } else { 10 }) {
            value = value
                .saturating_mul(if hex { 16 } else { 10 })
                .saturating_add(d);
            k += 1;
        }
        if k == digits_start {
            return None; // absence of digits: `&#` is text
        }
        if at(k) == b';' {
            k += 1;
        }
        let value = C1
            .iter()
            .find(|(c, _)| *c == value)
            .map_or(value, |(_, w)| *w);
        let ch = match value {
            0 => '\u{FFFD}',
            v => char::from_u32(v).unwrap_or('\u{FFFD}'), // surrogates and > U+10FFFF
        };
        return Some((ch.to_string(), k - i));
    }
    if !at(i + 1).is_ascii_alphanumeric() {
        return None;
    }
    let avail = limit.saturating_sub(i + 1).min(LONGEST_NAME);
    for n in (1..=avail).rev() {
        let Ok(name) = std::str::from_utf8(&src[i + 1..i + 1 + n]) else {
            continue;
        };
        if let Ok(k) = ENTITIES.binary_search_by(|(e, _)| (*e).cmp(name)) {
            // In an attribute value a legacy reference without `;` followed by `=` or an
            // alphanumeric is not a reference (§13.2.5.73).
            if !name.ends_with(';')
                && (at(i + 1 + n) == b'=' || at(i + 1 + n).is_ascii_alphanumeric())
            {
                return None;
            }
            return Some((ENTITIES[k].1.to_string(), n + 1));
        }
    }
    None
}

/// Decode the attribute value `src[range]`; `templates` are server-side template tags inside
/// it, which become opaque parts. Returns whether some bytes were not UTF-8.
pub fn decode(src: &[u8], range: Range<usize>, templates: &[Range<usize>]) -> (Decoded, bool) {
    let mut d = Decoded::default();
    let mut bad = false;
    let mut i = range.start;
    while i < range.end {
        if let Some(t) = templates.iter().find(|t| t.start == i) {
            if src[t.clone()] == *b"@" {
                // Blade's escape (`@{{ }}`, `@@if`): its `@` prints nothing.
                i = t.end;
                continue;
            }
            let stand_in = String::from_utf8_lossy(&src[t.clone()]).into_owned();
            d.push_opaque(&stand_in, t.clone());
            i = t.end;
            continue;
        }
        let limit = templates
            .iter()
            .map(|t| t.start)
            .filter(|&s| s > i)
            .min()
            .unwrap_or(range.end)
            .min(range.end);
        match src[i] {
            b'&' => match reference(src, i, limit) {
                Some((text, n)) => {
                    for ch in text.chars() {
                        d.push_char(ch, i..i + n);
                    }
                    i += n;
                }
                None => {
                    d.push_literal(i, b"&");
                    i += 1;
                }
            },
            b'\r' => {
                let n = if i + 1 < range.end && src[i + 1] == b'\n' {
                    2
                } else {
                    1
                };
                d.push_char('\n', i..i + n);
                i += n;
            }
            0 => {
                d.push_char('\u{FFFD}', i..i + 1);
                i += 1;
            }
            c if c < 0x80 => {
                // The run of ASCII bytes that stand for themselves, in one push: byte by byte,
                // it was most of the decode (`push_literal` merges them into one run alike).
                let end = src[i..limit]
                    .iter()
                    .position(|&b| !b.is_ascii() || matches!(b, b'&' | b'\r' | 0))
                    .map_or(limit, |n| i + n);
                d.push_literal(i, &src[i..end]);
                i = end;
            }
            _ => {
                let end = (i + 4).min(limit);
                let chunk = src[i..end].utf8_chunks().next();
                match chunk.and_then(|c| c.valid().chars().next()) {
                    Some(ch) => {
                        d.push_char(ch, i..i + ch.len_utf8());
                        i += ch.len_utf8();
                    }
                    None => {
                        bad = true;
                        d.push_char('\u{FFFD}', i..i + 1);
                        i += 1;
                    }
                }
            }
        }
    }
    (d, bad)
}

/// `text` escaped for an attribute value quoted with `quote` (`None`: unquoted). `None` when
/// it cannot be written there (whitespace or quotes in an unquoted value, a NUL).
pub fn escape(text: &str, quote: Option<u8>) -> Option<Vec<u8>> {
    // Bytes that stand for themselves are copied a stretch at a time: every byte the match
    // below changes or refuses is ASCII, and no byte of a multi-byte character is.
    let plain = |b: u8| {
        !b.is_ascii()
            || (b.is_ascii_graphic()
                && !matches!(b, b'&' | b'"' | b'\'' | b'{' | b'<' | b'=' | b'>' | b'`'))
            || (b == b' ' && quote.is_some())
    };
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let n = rest.bytes().position(|b| !plain(b)).unwrap_or(rest.len());
        out.extend_from_slice(&rest.as_bytes()[..n]);
        rest = &rest[n..];
        let Some(ch) = rest.chars().next() else {
            break;
        };
        rest = &rest[ch.len_utf8()..];
        match ch {
            '&' => out.extend_from_slice(b"&amp;"),
            '"' if quote == Some(b'"') => out.extend_from_slice(b"&quot;"),
            '\'' if quote == Some(b'\'') => out.extend_from_slice(b"&#39;"),
            '\r' => out.extend_from_slice(b"&#13;"),
            '\0' => return None,
            // Template delimiters would be read by the template engine first.
            '{' => out.extend_from_slice(b"&#123;"),
            '<' => out.extend_from_slice(b"&lt;"),
            c if quote.is_none()
                && (c.is_ascii_whitespace() || matches!(c, '"' | '\'' | '=' | '>' | '`')) =>
            {
                return None
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        decode(raw.as_bytes(), 0..raw.len(), &[]).0.text
    }

    #[test]
    fn references_in_attribute_values() {
        assert_eq!(
            text("&amp;&lt&gt;x&notit;&not=1&noti &quot"),
            "&<>x&notit;&not=1&noti \""
        );
        assert_eq!(
            text("&#39;&#x27&#0;&#x80;&#xD800;&#;&#xZ"),
            "''\u{FFFD}€\u{FFFD}&#;&#xZ"
        );
        assert_eq!(text("a\r\nb\rc&NotEqualTilde;"), "a\nb\nc\u{2242}\u{338}");
    }

    #[test]
    fn runs_of_plain_bytes_decode_as_byte_by_byte() {
        let raw = b"a b;c\r\nd&amp;e\xc3\xa9f\0g&h {{x}} i";
        let template = raw.len() - 7..raw.len() - 2;
        let (d, _) = decode(raw, 1..raw.len(), std::slice::from_ref(&template));
        // Byte by byte, as before runs were pushed at once.
        let mut each = Decoded::default();
        for (i, &b) in raw.iter().enumerate().skip(1).take(4) {
            each.push_literal(i, &[b]);
        }
        each.push_char('\n', 5..7);
        each.push_literal(7, b"d");
        each.push_char('&', 8..13);
        each.push_literal(13, b"e");
        each.push_char('\u{e9}', 14..16);
        each.push_literal(16, b"f");
        each.push_char('\u{FFFD}', 17..18);
        for i in 18..22 {
            each.push_literal(i, &raw[i..i + 1]);
        }
        each.push_opaque("{{x}}", template.clone());
        each.push_literal(raw.len() - 2, b" ");
        each.push_literal(raw.len() - 1, b"i");
        assert_eq!(d, each);
        assert_eq!(d.text, " b;c\nd&e\u{e9}f\u{FFFD}g&h {{x}} i");
    }

    #[test]
    fn raw_ranges_cover_the_reference() {
        let (d, _) = decode(b"a&amp;b", 0..7, &[]);
        assert_eq!(d.raw(1), Some(1..6));
        assert_eq!(d.raw_insertion_point(2), Some(6));
    }

    #[test]
    fn escape_round_trips() {
        for q in [Some(b'"'), Some(b'\'')] {
            let t = "a&b \"c\" 'd' {{e}} <f> &amp;";
            let raw = escape(t, q).unwrap();
            assert_eq!(decode(&raw, 0..raw.len(), &[]).0.text, t);
        }
        assert!(escape("a b", None).is_none());
    }

    /// Stretches of plain text are copied whole, multi-byte characters included; what is
    /// escaped or refused depends on the quote.
    #[test]
    fn escape_bytes_by_quote() {
        let t = "é https://a.example/x?y=1&z 'n\"{\r<`";
        assert_eq!(
            escape(t, Some(b'"')).unwrap(),
            "é https://a.example/x?y=1&amp;z 'n&quot;&#123;&#13;&lt;`".as_bytes()
        );
        assert_eq!(
            escape(t, Some(b'\'')).unwrap(),
            "é https://a.example/x?y=1&amp;z &#39;n\"&#123;&#13;&lt;`".as_bytes()
        );
        assert_eq!(escape("ü&ü", None).unwrap(), "ü&amp;ü".as_bytes());
        for refused in ["a=b", "a`", "a\tb", "x\0"] {
            assert_eq!(escape(refused, None), None, "{refused:?}");
        }
        assert_eq!(escape("x\0", Some(b'"')), None);
    }
}
