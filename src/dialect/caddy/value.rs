//! A header value token: what Caddy 2.6 sends for it, and how to write a new one.
//!
//! Three layers sit between the token's bytes and the header on the wire:
//!
//! 1. the Caddyfile lexer (lexer.rs): `\"` becomes `"`, everything else is kept;
//! 2. caddy's `Replacer.ReplaceKnown` (replacer.go), which the headers handler runs on every
//!    value at request time: `\{` and `\}` become literal braces, `{key}` is a placeholder
//!    (known ones replaced, unknown ones kept as written);
//! 3. Go's net/http (`Header.writeSubset`): `\r` and `\n` become spaces and the value is
//!    trimmed of spaces and tabs. Over HTTP/2 a value with `\r` or `\n` is not sent at all
//!    (x/net/http2 `encodeHeaders` skips values that fail `ValidHeaderFieldValue`).
//!
//! Besides, `{$ENV}` is substituted into the raw file before any of this (lexer.rs).

use std::ops::Range;

use super::lexer::{lex, EnvSpan, Quote, Token};
use crate::site::{Decoded, OpaqueNote, PieceOf};

/// What a placeholder of a value stands for, as the Caddyfile tells it.
pub enum Resolved {
    /// Known only at request time (`{http.request.uuid}`): a stand-in, as written.
    Unknown,
    /// Known only at run time, and why (`{$ENV}`, a `{vars.x}` set twice).
    Noted(OpaqueNote),
    /// The value of a `vars` literal (`{vars.scriptSrc}`), read from the literal `of`.
    Value(Decoded, PieceOf),
}

/// What Caddy sends for one value token.
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub decoded: Decoded,
    /// Environment variables whose `{$...}` overlaps the token.
    pub env: Vec<String>,
    /// Offset of the first line break inside the token (of its `\\` if it has one).
    pub line_break: Option<usize>,
    /// A line break in the token is preceded by a `\` (a continuation that Caddy keeps).
    pub backslash_break: bool,
    /// The policy the author meant when the token has line breaks: each break, with the
    /// backslash and indentation around it, collapsed to one space.
    pub repaired: Option<String>,
    pub non_utf8: bool,
}

/// One byte (or placeholder) of the text after the Replacer, before Go's folding.
#[derive(Debug, Clone)]
enum Item {
    /// Token text byte `i`, unchanged.
    Text(usize),
    /// A byte produced by several raw bytes (`\{` gives `{`), or changed by Go (`\n` to ` `).
    Mapped(u8, Range<usize>),
    /// `{...}`: known only at request time.
    Placeholder(Range<usize>),
}

/// Decode a value token as Caddy 2.6 serves it over HTTP/1.1.
pub fn serve(token: &Token, src: &[u8], env: &[EnvSpan]) -> Served {
    serve_with(token, src, env, &mut |_| Resolved::Unknown)
}

/// [`serve`], each placeholder (its text, as written) resolved by `resolve`: a `{vars.x}`
/// whose value the Caddyfile sets is expanded into the value's text (README, "Values built
/// from variables"); `decoded.alone` is then the token as written.
pub fn serve_with(
    token: &Token,
    src: &[u8],
    env: &[EnvSpan],
    resolve: &mut dyn FnMut(&str) -> Resolved,
) -> Served {
    let mut served = Served {
        env: env
            .iter()
            .filter(|e| e.span.start < token.span.end && token.span.start < e.span.end)
            .map(|e| e.name.clone())
            .collect(),
        non_utf8: std::str::from_utf8(&token.text).is_err(),
        ..Served::default()
    };
    let items = replace(token);
    if token.text.contains(&b'\n') {
        let first = token.text.iter().position(|&b| b == b'\n').unwrap_or(0);
        // Point at the continuation's backslash when there is one.
        let before = token.text[..first]
            .iter()
            .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .filter(|&j| token.text[j] == b'\\');
        served.line_break = token.raw.get(before.unwrap_or(first)).map(|r| r.start);
        let (text, backslash) = collapse_breaks(&render(token, &items));
        served.repaired = Some(text);
        served.backslash_break = backslash;
    }
    let folded: Vec<Item> = items
        .into_iter()
        .map(|it| match it {
            Item::Text(i) if matches!(token.text[i], b'\r' | b'\n') => {
                Item::Mapped(b' ', token.raw[i].clone())
            }
            other => other,
        })
        .collect();
    let items = trim(token, &folded);
    let alone = build(token, src, items, &mut |_| Resolved::Unknown);
    let expanded = build(token, src, items, resolve);
    served.decoded = expanded.finish(alone);
    served
}

/// replacer.go `replace` with `treatUnknownAsEmpty` false: escaped braces lose their
/// backslash, `{...}` (up to the first `}` not preceded by `\`) is a placeholder.
fn replace(token: &Token) -> Vec<Item> {
    let t = &token.text;
    let mut items = Vec::with_capacity(t.len());
    let mut i = 0;
    'scan: while i < t.len() {
        if i > 0 && t[i - 1] == b'\\' && matches!(t[i], b'{' | b'}') {
            // The backslash was pushed as text: replace it by the brace it escapes.
            items.pop();
            let raw = token.raw[i - 1].start..token.raw[i].end;
            items.push(Item::Mapped(t[i], raw));
            i += 1;
            continue;
        }
        if t[i] != b'{' {
            items.push(Item::Text(i));
            i += 1;
            continue;
        }
        let Some(mut end) = t[i..].iter().position(|&b| b == b'}').map(|e| e + i) else {
            items.push(Item::Text(i));
            i += 1;
            continue;
        };
        while end > 0 && end < t.len() - 1 && t[end - 1] == b'\\' {
            match t[end + 1..].iter().position(|&b| b == b'}') {
                Some(next) => end += next + 1,
                None => {
                    items.push(Item::Text(i));
                    i += 1;
                    continue 'scan;
                }
            }
        }
        items.push(Item::Placeholder(i..end + 1));
        i = end + 1;
    }
    items
}

/// Go's `textproto.TrimString` after folding: spaces and tabs at both ends go.
fn trim<'a>(token: &Token, items: &'a [Item]) -> &'a [Item] {
    let blank = |it: &Item| match it {
        Item::Text(i) => matches!(token.text[*i], b' ' | b'\t'),
        Item::Mapped(b, _) => matches!(b, b' ' | b'\t'),
        Item::Placeholder(_) => false,
    };
    let start = items
        .iter()
        .position(|it| !blank(it))
        .unwrap_or(items.len());
    let end = items
        .iter()
        .rposition(|it| !blank(it))
        .map_or(start, |e| e + 1);
    &items[start..end.max(start)]
}

fn build(
    token: &Token,
    src: &[u8],
    items: &[Item],
    resolve: &mut dyn FnMut(&str) -> Resolved,
) -> Decoded {
    let mut d = Decoded::default();
    let mut run: Option<Range<usize>> = None;
    let flush = |d: &mut Decoded, run: &mut Option<Range<usize>>| {
        if let Some(r) = run.take() {
            d.push_literal(r.start, &src[r]);
        }
    };
    for it in items {
        match it {
            Item::Text(i) => {
                let r = token.raw[*i].clone();
                let identity = r.len() == 1 && src.get(r.start) == Some(&token.text[*i]);
                if !identity {
                    flush(&mut d, &mut run);
                    d.push_char(token.text[*i] as char, r);
                    continue;
                }
                match &mut run {
                    Some(cur) if cur.end == r.start => cur.end = r.end,
                    _ => {
                        flush(&mut d, &mut run);
                        run = Some(r);
                    }
                }
            }
            Item::Mapped(b, r) => {
                flush(&mut d, &mut run);
                d.push_char(*b as char, r.clone());
            }
            Item::Placeholder(p) => {
                flush(&mut d, &mut run);
                let stand_in = String::from_utf8_lossy(&token.text[p.clone()]).into_owned();
                let raw = token.raw[p.start].start..token.raw[p.end - 1].end;
                match resolve(&stand_in) {
                    Resolved::Unknown => d.push_opaque(&stand_in, raw),
                    Resolved::Noted(note) => d.push_noted(&stand_in, raw, note),
                    Resolved::Value(value, of) => d.push_value(raw, &value, of),
                }
            }
        }
    }
    flush(&mut d, &mut run);
    d
}

/// The Replacer's output before Go folds line breaks, placeholders as written.
fn render(token: &Token, items: &[Item]) -> String {
    let mut out = Vec::new();
    for it in items {
        match it {
            Item::Text(i) => out.push(token.text[*i]),
            Item::Mapped(b, _) => out.push(*b),
            Item::Placeholder(p) => out.extend_from_slice(&token.text[p.clone()]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Collapse every line break with the `\`, spaces and tabs around it to one space, then trim.
/// Also says whether a break was preceded by a backslash.
pub fn collapse_breaks(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut backslash = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\n' {
            out.push(c);
            continue;
        }
        let trimmed = out.trim_end_matches([' ', '\t', '\r']);
        let trimmed = match trimmed.strip_suffix('\\') {
            Some(t) => {
                backslash = true;
                t.trim_end_matches([' ', '\t'])
            }
            None => trimmed,
        };
        out.truncate(trimmed.len());
        while chars.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\r')) {
            chars.next();
        }
        out.push(' ');
    }
    (out.trim_matches([' ', '\t']).to_string(), backslash)
}

/// Why `value` cannot be sent by Caddy through a header value token, if it cannot.
fn unsendable(value: &str) -> Option<String> {
    if value.contains(['\r', '\n']) {
        return Some("a header value cannot contain a line break".into());
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Some("Go trims spaces and tabs at both ends of a header value".into());
    }
    if value.contains("{$") {
        return Some(
            "`{$` would be read as an environment placeholder before the Caddyfile is parsed"
                .into(),
        );
    }
    None
}

/// The token text that makes the Replacer produce `value`: braces escaped, except inside
/// the placeholders the value already had (`keep`), which are written as they were.
fn token_text(value: &str, keep: &[String]) -> Result<String, String> {
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value;
    'outer: while let Some(c) = rest.chars().next() {
        if c == '{' {
            for p in keep {
                if rest.starts_with(p.as_str()) {
                    if out.ends_with('\\') {
                        return Err(format!("a backslash right before {p} would escape it"));
                    }
                    out.push_str(p);
                    rest = &rest[p.len()..];
                    continue 'outer;
                }
            }
        }
        if matches!(c, '{' | '}') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// `text` inside double quotes: `"` becomes `\"`. A run of backslashes before a quote (or
/// before the closing quote) must be even, or the lexer would pair it with the quote.
fn double_quoted(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for &b in text.as_bytes() {
        if b == b'"' {
            if run % 2 == 1 {
                return Err("an odd run of backslashes before a quote cannot be written".into());
            }
            out.extend_from_slice(b"\\\"");
        } else {
            out.push(b);
        }
        run = if b == b'\\' { run + 1 } else { 0 };
    }
    if run % 2 == 1 {
        return Err("a value ending in a backslash cannot be written in quotes".into());
    }
    out.push(b'"');
    Ok(out)
}

/// Can `text` stand as a bare word (same text, one token)?
fn bare_ok(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(char::is_whitespace)
        && !text.starts_with(['"', '`', '#', '\\'])
        && !text.ends_with('\\')
}

/// The raw token that makes Caddy send exactly `value`, written in `style` when it can be
/// (a backtick string that would need a backtick, or a bare word that would need quotes,
/// becomes a double-quoted string). `keep`: placeholders of the old value, kept as such.
pub fn encode(value: &str, style: Quote, keep: &[String]) -> Result<Vec<u8>, String> {
    if let Some(why) = unsendable(value) {
        return Err(why);
    }
    let text = token_text(value, keep)?;
    let raw = match style {
        Quote::Bare if bare_ok(&text) => text.into_bytes(),
        Quote::Backtick if !text.contains('`') => format!("`{text}`").into_bytes(),
        _ => double_quoted(&text)?,
    };
    if raw.windows(2).any(|w| w == b"{$") {
        return Err("`{$` would be read as an environment placeholder".into());
    }
    match served_text(&raw) {
        Some(back) if back == value => Ok(raw),
        _ => Err(format!(
            "cannot write {value:?} as one Caddyfile token that Caddy sends unchanged"
        )),
    }
}

/// What Caddy sends for `raw` read as a lone token (stand-ins for placeholders, `{$ENV}`
/// ones too); `None` when
/// `raw` is not exactly one complete token.
pub fn served_text(raw: &[u8]) -> Option<String> {
    served_value(raw).map(|d| d.text)
}

/// [`served_text`] with the placeholders' places (`opaque`).
pub fn served_value(raw: &[u8]) -> Option<Decoded> {
    let lexed = lex(raw);
    match lexed.tokens.as_slice() {
        [t] if t.span == (0..raw.len()) && !t.unterminated && !t.carried_escape => {
            // `{$ENV}` placeholders stand in as written: `encode` never writes one, and
            // `encode_fragment` checks that a splice adds none.
            Some(serve(t, raw, &super::lexer::env_spans(raw)).decoded)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(src: &str) -> Served {
        let l = lex(src.as_bytes());
        serve(
            &l.tokens[0],
            src.as_bytes(),
            &super::super::lexer::env_spans(src.as_bytes()),
        )
    }

    #[test]
    fn escapes_and_placeholders() {
        let s = served(r#""a\"b \{c\} {http.request.uuid} \d""#);
        assert_eq!(s.decoded.text, r#"a"b {c} {http.request.uuid} \d"#);
        assert_eq!(
            s.decoded.opaque,
            vec![8..27],
            "the text before the placeholder is 8 bytes"
        );
        assert_eq!(s.decoded.raw_range(0..3), Some(1..5));
    }

    #[test]
    fn go_folds_line_breaks_and_trims() {
        // Caddy 2.6.2 sent `a\ \t\tb  \t\tc` for this token without its outer spaces (by hand
        // with `caddy run`; the continuation and CRLF fixtures of
        // tests/dialects/caddy_oracle.rs check the same folding, and trimming is Go's
        // `textproto.TrimString`).
        let s = served("\" a\\\n\t\tb\r\n\t\tc \"");
        assert_eq!(s.decoded.text, "a\\ \t\tb  \t\tc");
        assert_eq!(s.repaired.as_deref(), Some("a b c"));
        assert!(s.backslash_break);
        assert_eq!(s.line_break, Some(3), "the backslash");
    }

    #[test]
    fn collapse_keeps_words_apart() {
        assert_eq!(collapse_breaks("x;\\\n  y").0, "x; y");
        assert_eq!(collapse_breaks("x; \\ \r\n\ty\n").0, "x; y");
        assert_eq!(collapse_breaks("x\n\n y").0, "x y");
    }

    #[test]
    fn env_placeholders_are_named() {
        let s = served(r#""default-src {$CSP_EXTRA:'self'}""#);
        assert_eq!(s.env, vec!["CSP_EXTRA"]);
    }

    #[test]
    fn encoding_keeps_style_and_round_trips() {
        let keep = vec!["{http.request.uuid}".to_string()];
        let v = r#"script-src 'nonce-{http.request.uuid}' "q" {x}"#;
        let raw = encode(v, Quote::Double, &keep).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#""script-src 'nonce-{http.request.uuid}' \"q\" \{x\}""#
        );
        assert_eq!(encode("a b", Quote::Backtick, &[]).unwrap(), b"`a b`");
        assert_eq!(encode("a`b c", Quote::Backtick, &[]).unwrap(), b"\"a`b c\"");
        assert_eq!(encode("ab", Quote::Bare, &[]).unwrap(), b"ab");
        assert_eq!(encode("a b", Quote::Bare, &[]).unwrap(), b"\"a b\"");
        assert!(encode("a\nb", Quote::Double, &[]).is_err());
        assert!(encode("{$X}", Quote::Double, &[]).is_err());
        assert!(encode("a\\", Quote::Double, &[]).is_err());
        assert_eq!(encode("a\\b", Quote::Double, &[]).unwrap(), b"\"a\\b\"");
    }
}
