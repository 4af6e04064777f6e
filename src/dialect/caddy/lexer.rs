//! The Caddyfile lexer of Caddy 2.6, byte for byte (grammar: `grammars/caddy.ebnf`).
//!
//! This is a port of `(*lexer).next` in caddyconfig/caddyfile/lexer.go (v2.6.2) that also
//! keeps, for every byte of a token's text, the file bytes it came from. Its quirks are
//! Caddy's, kept on purpose because they decide what the server sends:
//!
//! - only `\"` is an escape inside `"..."`; any other `\c` stays as the two characters, and a
//!   raw line break or `\` + line break stays in the text (Go's net/http later folds it);
//! - backtick strings are raw; `#` starts a comment only where a token could start;
//! - a carriage return outside quotes is ignored altogether, even inside a word;
//! - a `\` sets an "escaped" flag that survives spaces and comments: `\` + line break joins
//!   lines, and so does *any* backslash inside a comment (`# see C:\dir` joins the next line);
//! - `<<MARKER` heredocs arrived in Caddy 2.7: 2.6 reads `<<EOF` as a plain word;
//! - `{$ENV}` placeholders are substituted in the raw bytes *before* lexing
//!   (`replaceEnvVars` in parse.go), so they are located separately ([`env_spans`]).
//!
//! Lexing never fails: Caddy 2.6 accepts an unterminated quote (the token runs to the end of
//! the file). Bytes that are not UTF-8 are read as U+FFFD one byte at a time, like Go's
//! `bufio.Reader.ReadRune`; they are kept raw here and refused later where it matters.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till};
use nom::combinator::map;
use nom::sequence::pair;
use nom::IResult;

/// How a token was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Quote {
    Bare,
    Double,
    Backtick,
}

/// One token, as `lexer.next` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// File bytes of the token, quotes included.
    pub span: Range<usize>,
    pub quote: Quote,
    /// The token's text as Caddy's lexer produces it (invalid UTF-8 kept raw).
    pub text: Vec<u8>,
    /// `raw[i]`: the file bytes that produced `text[i]` (both bytes of `\"` for its `"`).
    pub raw: Vec<Range<usize>>,
    /// Caddy's line number for the token: lines joined by an escaped line break share one.
    pub line: usize,
    /// The quote was never closed: the token runs to the end of the file.
    pub unterminated: bool,
    /// A `\` before the token (separated by spaces) was carried into it (`\ "x"` reads `\x`).
    pub carried_escape: bool,
}

impl Token {
    /// Line breaks inside the text (`Token.NumLineBreaks` in lexer.go).
    pub fn line_breaks(&self) -> usize {
        self.text.iter().filter(|&&b| b == b'\n').count()
    }

    pub fn is(&self, text: &str) -> bool {
        self.text == text.as_bytes()
    }

    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// What a byte range between tokens is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Trivia {
    /// The UTF-8 byte order mark that `lexer.load` discards.
    Bom,
    /// Spaces, tabs, carriage returns and other Unicode white space (not `\n`).
    Space,
    Newline,
    /// `#` to the end of the line, without the line break.
    Comment,
    /// A `\` that produced no text: before a line break (joining lines) or before a space.
    Backslash,
}

/// A piece of the file: a token or trivia. Pieces tile the file in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceKind {
    Token(usize),
    Trivia(Trivia),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub kind: PieceKind,
    pub span: Range<usize>,
}

/// A line break that Caddy does not count as one, because a `\` escaped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinedLine {
    /// Offset of the `\n`.
    pub newline: usize,
    /// Offset of the backslash that escaped it.
    pub backslash: usize,
    /// The backslash was inside a comment (the author did not mean to join lines).
    pub in_comment: bool,
}

/// The lexed file.
#[derive(Debug, Clone, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub pieces: Vec<Piece>,
    pub joined: Vec<JoinedLine>,
}

/// Lex a whole file. Never fails (see the module doc).
pub fn lex(src: &[u8]) -> Lexed {
    let mut lx = Lexer {
        src,
        pos: 0,
        line: 1,
        skipped: 0,
        joined: Vec::new(),
    };
    // lexer.load: "discard byte order mark, if present" (only as the first rune).
    if src.starts_with("\u{feff}".as_bytes()) {
        lx.pos = 3;
    }
    let mut tokens = Vec::new();
    while let Some(t) = lx.next() {
        tokens.push(t);
    }
    let pieces = tile(src, &tokens);
    Lexed {
        tokens,
        pieces,
        joined: lx.joined,
    }
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
    skipped: usize,
    joined: Vec<JoinedLine>,
}

/// The rune at `at` and its length; invalid UTF-8 reads as U+FFFD of length 1 (Go's
/// `utf8.DecodeRune`).
pub fn rune_at(src: &[u8], at: usize) -> (char, usize) {
    let b = src[at];
    if b < 0x80 {
        return (b as char, 1);
    }
    let want = match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return ('\u{fffd}', 1),
    };
    match src.get(at..at + want).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next().unwrap_or('\u{fffd}'), want),
        _ => ('\u{fffd}', 1),
    }
}

impl Lexer<'_> {
    /// `(*lexer).next`: skip what precedes the next token and read it. The control flow
    /// follows lexer.go statement for statement so that the two can be compared.
    fn next(&mut self) -> Option<Token> {
        let mut text: Vec<u8> = Vec::new();
        let mut raw: Vec<Range<usize>> = Vec::new();
        let (mut comment, mut quoted, mut bt_quoted, mut escaped) = (false, false, false, false);
        let mut escape_at = 0usize;
        let mut start = 0usize;
        let mut line = self.line;
        let mut carried = false;
        let mut started = false;

        loop {
            if self.pos >= self.src.len() {
                // "if we had read some characters, make a token"; an unterminated quote with
                // nothing in it yields no token at all.
                if !text.is_empty() {
                    let end = raw.iter().map(|r| r.end).max().unwrap_or(self.pos);
                    return Some(Token {
                        span: start..end.max(start),
                        quote: quote_kind(quoted, bt_quoted),
                        text,
                        raw,
                        line,
                        unterminated: quoted || bt_quoted,
                        carried_escape: carried,
                    });
                }
                return None;
            }
            let at = self.pos;
            let (ch, len) = rune_at(self.src, at);
            self.pos += len;

            if !escaped && !bt_quoted && ch == '\\' {
                escaped = true;
                escape_at = at;
                continue;
            }

            if quoted || bt_quoted {
                if quoted && escaped {
                    // "all is literal in quoted area, so only escape quotes"
                    if ch != '"' {
                        text.push(b'\\');
                        raw.push(escape_at..escape_at + 1);
                    }
                    escaped = false;
                    if ch == '"' {
                        text.push(b'"');
                        raw.push(escape_at..at + 1);
                        continue;
                    }
                } else if (quoted && ch == '"') || (bt_quoted && ch == '`') {
                    return Some(Token {
                        span: start..at + 1,
                        quote: quote_kind(quoted, bt_quoted),
                        text,
                        raw,
                        line,
                        unterminated: false,
                        carried_escape: carried,
                    });
                }
                // "allow quoted text to wrap continue on multiple lines"
                if ch == '\n' {
                    self.line += 1 + self.skipped;
                    self.skipped = 0;
                }
                push_bytes(&mut text, &mut raw, self.src, at, len);
                continue;
            }

            if ch.is_whitespace() {
                // "ignore CR altogether, we only actually care about LF"
                if ch == '\r' {
                    continue;
                }
                if ch == '\n' {
                    if escaped {
                        self.skipped += 1;
                        escaped = false;
                        self.joined.push(JoinedLine {
                            newline: at,
                            backslash: escape_at,
                            in_comment: comment,
                        });
                    } else {
                        self.line += 1 + self.skipped;
                        self.skipped = 0;
                    }
                    comment = false;
                }
                if !text.is_empty() {
                    let end = raw.iter().map(|r| r.end).max().unwrap_or(at);
                    return Some(Token {
                        span: start..end,
                        quote: Quote::Bare,
                        text,
                        raw,
                        line,
                        unterminated: false,
                        carried_escape: carried,
                    });
                }
                continue;
            }

            // "comments must be at the start of a token"
            if ch == '#' && text.is_empty() {
                comment = true;
            }
            if comment {
                continue;
            }

            if text.is_empty() && !started {
                started = true;
                line = self.line;
                start = if escaped { escape_at } else { at };
                carried = escaped;
                if ch == '"' {
                    quoted = true;
                    continue;
                }
                if ch == '`' {
                    bt_quoted = true;
                    continue;
                }
            }

            if escaped {
                text.push(b'\\');
                raw.push(escape_at..escape_at + 1);
                escaped = false;
            }
            push_bytes(&mut text, &mut raw, self.src, at, len);
        }
    }
}

fn quote_kind(quoted: bool, bt_quoted: bool) -> Quote {
    if quoted {
        Quote::Double
    } else if bt_quoted {
        Quote::Backtick
    } else {
        Quote::Bare
    }
}

fn push_bytes(text: &mut Vec<u8>, raw: &mut Vec<Range<usize>>, src: &[u8], at: usize, len: usize) {
    for (i, &b) in src[at..at + len].iter().enumerate() {
        text.push(b);
        raw.push(at + i..at + i + 1);
    }
}

/// Cut the file into pieces: each token's span, and the trivia between tokens classified
/// by [`trivia`]. Between tokens there is only white space, comments and backslashes that
/// produced nothing: any other byte would have started a token.
fn tile(src: &[u8], tokens: &[Token]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut pos = 0;
    if src.starts_with("\u{feff}".as_bytes()) {
        pieces.push(Piece {
            kind: PieceKind::Trivia(Trivia::Bom),
            span: 0..3,
        });
        pos = 3;
    }
    for (i, t) in tokens.iter().enumerate() {
        trivia_pieces(src, pos..t.span.start, &mut pieces);
        pieces.push(Piece {
            kind: PieceKind::Token(i),
            span: t.span.clone(),
        });
        pos = t.span.end;
    }
    trivia_pieces(src, pos..src.len(), &mut pieces);
    pieces
}

fn trivia_pieces(src: &[u8], gap: Range<usize>, out: &mut Vec<Piece>) {
    let mut rest = &src[gap.clone()];
    let mut at = gap.start;
    while !rest.is_empty() {
        let (kind, len) = match trivia(rest) {
            Ok((after, kind)) => (kind, rest.len() - after.len()),
            // Not white space, comment or backslash: cannot happen between tokens; keep the
            // tiling total anyway.
            Err(_) => (Trivia::Space, rune_at(rest, 0).1),
        };
        out.push(Piece {
            kind: PieceKind::Trivia(kind),
            span: at..at + len,
        });
        at += len;
        rest = &rest[len..];
    }
}

/// One piece of trivia (see `trivia` in grammars/caddy.ebnf).
fn trivia(input: &[u8]) -> IResult<&[u8], Trivia> {
    alt((
        map(tag("\n"), |_| Trivia::Newline),
        map(pair(tag("#"), take_till(|b| b == b'\n')), |_| {
            Trivia::Comment
        }),
        map(tag("\\"), |_| Trivia::Backslash),
        map(unicode_space1, |_| Trivia::Space),
    ))(input)
}

/// White space other than `\n` (Go's `unicode.IsSpace`, which is Unicode White_Space).
fn unicode_space1(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let mut len = 0;
    while len < input.len() {
        let (ch, n) = rune_at(input, len);
        if ch == '\n' || !ch.is_whitespace() {
            break;
        }
        len += n;
    }
    if len == 0 {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Space,
        )));
    }
    Ok((&input[len..], &input[..len]))
}

/// An environment placeholder as parse.go's `replaceEnvVars` (v2.6) finds it in the raw
/// file: `{$` up to the next `}`, anywhere (even in comments or across lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpan {
    pub span: Range<usize>,
    pub name: String,
    pub default: Option<String>,
}

/// Every `{$NAME}` / `{$NAME:default}` span of the file, in order. Like Caddy, an empty
/// name (`{$}`) is skipped and the search goes on after each closing brace.
pub fn env_spans(src: &[u8]) -> Vec<EnvSpan> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(begin) = find(&src[offset..], b"{$").map(|b| b + offset) {
        let Ok((_, (inner, _))) = env_body(&src[begin + 2..]) else {
            break; // no closing brace: nothing more is replaced
        };
        let end = begin + 2 + inner.len() + 1;
        offset = end;
        if inner.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(inner);
        let (name, default) = match text.split_once(':') {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (text.into_owned(), None),
        };
        out.push(EnvSpan {
            span: begin..end,
            name,
            default,
        });
    }
    out
}

/// The inside of `{$...}` up to and including the first `}`.
fn env_body(input: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    pair(take_till(|b| b == b'}'), tag("}"))(input)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// parse.go `isSnippet`: a single key `(name)` defines a snippet called `name`.
pub fn snippet_name(key: &[u8]) -> Option<&[u8]> {
    key.strip_prefix(b"(")?.strip_suffix(b")")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        lex(src.as_bytes())
            .tokens
            .iter()
            .map(Token::text_lossy)
            .collect()
    }

    #[test]
    fn only_escaped_quotes_are_unescaped_in_double_quotes() {
        assert_eq!(
            texts(r#"a "x\"y\nz\\w" `b\"`"#),
            vec!["a", r#"x"y\nz\\w"#, r#"b\""#]
        );
    }

    #[test]
    fn backslash_newline_stays_inside_quotes() {
        let l = lex(b"h \"a \\\n  b\"\nnext");
        assert_eq!(l.tokens[1].text, b"a \\\n  b");
        assert_eq!(l.tokens[1].line, 1);
        assert_eq!(l.tokens[2].line, 3);
        assert!(l.joined.is_empty());
    }

    #[test]
    fn comments_start_only_at_token_start() {
        assert_eq!(texts("a#b # c d\ne"), vec!["a#b", "e"]);
    }

    #[test]
    fn a_backslash_in_a_comment_joins_the_next_line() {
        let l = lex(b"a # C:\\dir\nb\nc");
        assert_eq!(l.tokens[0].line, 1);
        assert_eq!(l.tokens[1].line, 1, "b is on a's line for Caddy");
        assert_eq!(l.tokens[2].line, 3);
        assert_eq!(l.joined.len(), 1);
        assert!(l.joined[0].in_comment);
    }

    #[test]
    fn carriage_returns_are_ignored_outside_quotes() {
        assert_eq!(
            texts("ab\r\ncd e\rf \"g\r\n\""),
            vec!["ab", "cd", "ef", "g\r\n"]
        );
    }

    #[test]
    fn escaped_flag_survives_spaces() {
        let l = lex(b"a \\ b");
        assert_eq!(l.tokens[1].text, b"\\b");
        assert!(l.tokens[1].carried_escape);
        assert_eq!(l.tokens[1].span, 2..5);
    }

    #[test]
    fn heredocs_are_plain_words_in_2_6() {
        assert_eq!(
            texts("respond <<EOF\n  hi\n  EOF"),
            vec!["respond", "<<EOF", "hi", "EOF"]
        );
    }

    #[test]
    fn unterminated_quote_runs_to_eof() {
        let l = lex(b"a \"bc");
        assert_eq!(l.tokens[1].text, b"bc");
        assert!(l.tokens[1].unterminated);
        assert_eq!(lex(b"a \"").tokens.len(), 1);
    }

    #[test]
    fn non_breaking_space_separates_tokens() {
        assert_eq!(texts("a\u{a0}b"), vec!["a", "b"]);
    }

    #[test]
    fn pieces_tile_the_file() {
        let src = "\u{feff}a \"b\" # c\\\r\n`d` \\\n e\\ f";
        let l = lex(src.as_bytes());
        let mut pos = 0;
        for p in &l.pieces {
            assert_eq!(p.span.start, pos);
            pos = p.span.end;
        }
        assert_eq!(pos, src.len());
    }

    #[test]
    fn env_spans_follow_replace_env_vars() {
        let spans = env_spans(b"a {$A} {$} {$B:x y} {$C");
        let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["A", "B"]);
        assert_eq!(spans[1].default.as_deref(), Some("x y"));
    }

    #[test]
    fn snippet_names() {
        assert_eq!(snippet_name(b"(common)"), Some(&b"common"[..]));
        assert_eq!(snippet_name(b"()"), Some(&b""[..]));
        assert_eq!(snippet_name(b"(x"), None);
        assert_eq!(snippet_name(b"example.com"), None);
    }
}
