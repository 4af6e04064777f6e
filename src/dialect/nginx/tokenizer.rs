//! A lossless tokenizer for nginx configuration, mirroring `ngx_conf_read_token()` in nginx's
//! src/core/ngx_conf_file.c (1.22; unchanged in mainline). The grammar is in
//! `grammars/nginx.ebnf`.
//!
//! Every byte of the input belongs to exactly one [`Token`], so the concatenation of all token
//! spans is the file. A file that nginx would refuse while reading tokens is an [`SyntaxError`]
//! carrying nginx's own wording and the byte offset nginx reports the line of.

use std::ops::Range;

use nom::bytes::complete::{take, take_till, take_while1};
use nom::IResult;

/// nginx reads its configuration through a buffer of this size (`NGX_CONF_BUFFER`); a token
/// that cannot fit in it is refused ("too long parameter").
pub const CONF_BUFFER: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Bare,
    Double,
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of spaces, tabs, CRs and LFs.
    Space,
    /// `#` up to (not including) the end of the line.
    Comment,
    Word(Quote),
    Semicolon,
    BlockOpen,
    BlockClose,
    /// The Lua source between the braces of a `*_by_lua_block` (lua-nginx-module lexes it).
    LuaCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

/// A file nginx refuses to read, with its message and the offset whose line it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
    /// The diagnostic code: NGX001 syntax, NGX002 token too long.
    pub code: &'static str,
}

impl SyntaxError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            offset,
            message: message.into(),
            code: "NGX001",
        }
    }
}

pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `unexpected "X"`, printed the way nginx prints one byte with `%c`.
fn unexpected(offset: usize, b: u8) -> SyntaxError {
    SyntaxError::new(offset, format!("unexpected \"{}\"", b as char))
}

fn eof_in_statement(len: usize) -> SyntaxError {
    SyntaxError::new(len, "unexpected end of file, expecting \";\" or \"}\"")
}

// ---- single tokens, as nom parsers over the rest of the input -------------------------------

fn space(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_space)(input)
}

/// `#` to the end of the line. nginx only sees a comment where a word could start
/// (`sharp_comment` is set in the `last_space` state only).
fn comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let (rest, _) = take(1usize)(input)?;
    let (rest, _) = take_till(|b| b == b'\n')(rest)?;
    Ok((rest, &input[..input.len() - rest.len()]))
}

// The units of a word: `\` and the byte it quotes, `$` with the `{`s that directly follow it
// (nginx's `variable` flag keeps `{` in the word), or any other byte that does not end the word.
// The input ending inside an escape ends the file inside the statement.

/// A bare word: units until a space, `;` or `{`. Returns its length, or `None` when the file
/// ends before the word does (nginx: unexpected end of file). One loop over
/// the bytes: this runs for nearly every byte of a file.
fn bare_word(input: &[u8]) -> Option<usize> {
    let mut len = 0;
    while let Some(&b) = input.get(len) {
        match b {
            b'\\' if len + 1 < input.len() => len += 2,
            b'\\' => return None,
            b'$' => {
                len += 1;
                while input.get(len) == Some(&b'{') {
                    len += 1;
                }
            }
            b if is_space(b) || b == b';' || b == b'{' => return Some(len),
            _ => len += 1,
        }
    }
    None
}

/// A quoted word starting at its opening quote. Returns its length including both quotes, or
/// `None` when the closing quote is missing. Only the quote, `\` and `$` end a run of plain
/// bytes (the units above), so the word is crossed with memchr from one to the next.
fn quoted_word(input: &[u8]) -> Option<usize> {
    let quote = input[0];
    let mut len = 1;
    loop {
        let at = len + memchr::memchr3(quote, b'\\', b'$', &input[len..])?;
        match input[at] {
            b if b == quote => return Some(at + 1),
            b'\\' if at + 1 < input.len() => len = at + 2,
            b'\\' => return None,
            _ => {
                len = at + 1;
                while input.get(len) == Some(&b'{') {
                    len += 1;
                }
            }
        }
    }
}

// ---- the token stream ------------------------------------------------------------------------

/// Tokenize a whole file. Lua blocks are recognised after a statement whose first word decodes
/// to a name ending in `_by_lua_block`, as lua-nginx-module does.
pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, SyntaxError> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        // About one token (a word or the space after it) in five bytes of a configuration:
        // room for most files without growing the list again and again.
        tokens: Vec::with_capacity(src.len() / 5 + 8),
        words_in_statement: 0,
        statement_name: None,
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    /// nginx's `cf->args->nelts`: a `;` or `{` needs at least one word, a `}` none.
    words_in_statement: usize,
    statement_name: Option<Range<usize>>,
}

impl Lexer<'_> {
    fn push(&mut self, kind: TokenKind, len: usize) {
        self.tokens.push(Token {
            kind,
            span: self.pos..self.pos + len,
        });
        self.pos += len;
    }

    fn run(&mut self) -> Result<(), SyntaxError> {
        let src = self.src;
        while self.pos < src.len() {
            let rest = &src[self.pos..];
            let start = self.pos;
            match rest[0] {
                b if is_space(b) => {
                    let (_, run) = space(rest).map_err(|_| unexpected(start, b))?;
                    self.push(TokenKind::Space, run.len());
                }
                b';' | b'{' if self.words_in_statement == 0 => {
                    return Err(unexpected(start, rest[0]));
                }
                b';' => {
                    self.push(TokenKind::Semicolon, 1);
                    self.end_statement();
                }
                b'{' => {
                    let lua = self.statement_is_lua_block();
                    self.push(TokenKind::BlockOpen, 1);
                    self.end_statement();
                    if lua {
                        self.lua_block(start)?;
                    }
                }
                b'}' if self.words_in_statement != 0 => return Err(unexpected(start, b'}')),
                b'}' => self.push(TokenKind::BlockClose, 1),
                b'#' => {
                    let (_, text) = comment(rest).map_err(|_| unexpected(start, b'#'))?;
                    check_length(src, start, start + text.len(), false, None)?;
                    self.push(TokenKind::Comment, text.len());
                }
                b'"' | b'\'' => {
                    let quote = rest[0];
                    let Some(len) = quoted_word(rest) else {
                        check_length(src, start + 1, src.len(), false, Some((quote, src.len())))?;
                        return Err(eof_in_statement(src.len()));
                    };
                    let end = start + len;
                    // After the closing quote nginx wants a space, ";", "{" or ")" (`need_space`).
                    let next = src.get(end).copied();
                    let spaced = next.is_some_and(is_space);
                    check_length(src, start + 1, end, spaced, Some((quote, end - 1)))?;
                    match next {
                        None => return Err(eof_in_statement(src.len())),
                        Some(b) if is_space(b) || matches!(b, b';' | b'{' | b')') => {}
                        Some(b) => return Err(unexpected(end, b)),
                    }
                    let kind = if quote == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    };
                    self.word(kind, len);
                }
                _ => {
                    let Some(len) = bare_word(rest) else {
                        check_length(src, start, src.len(), false, None)?;
                        return Err(eof_in_statement(src.len()));
                    };
                    let end = start + len;
                    let spaced = src.get(end).copied().is_some_and(is_space);
                    check_length(src, start, end, spaced, None)?;
                    self.word(Quote::Bare, len);
                }
            }
        }
        if self.words_in_statement > 0 {
            return Err(eof_in_statement(src.len()));
        }
        Ok(())
    }

    fn word(&mut self, quote: Quote, len: usize) {
        if self.words_in_statement == 0 {
            self.statement_name = Some(self.pos..self.pos + len);
        }
        self.words_in_statement += 1;
        self.push(TokenKind::Word(quote), len);
    }

    fn end_statement(&mut self) {
        self.words_in_statement = 0;
    }

    fn statement_is_lua_block(&self) -> bool {
        let Some(name) = &self.statement_name else {
            return false;
        };
        let quote = match self.src[name.start] {
            b'"' => Quote::Double,
            b'\'' => Quote::Single,
            _ => Quote::Bare,
        };
        let decoded = super::syntax::unescape(self.src, name.clone(), quote);
        let bytes: Vec<u8> = decoded.iter().map(|(b, _)| *b).collect();
        bytes.ends_with(b"_by_lua_block")
    }

    /// The body of a `*_by_lua_block` up to its matching `}` (lua-nginx-module's
    /// ngx_http_lua_conf_lua_block_parse with its ngx_http_lua_lex lexer).
    fn lua_block(&mut self, open: usize) -> Result<(), SyntaxError> {
        let body = &self.src[self.pos..];
        let Some(len) = super::lua::block_len(body) else {
            return Err(SyntaxError::new(
                open,
                "unexpected end of file, expecting terminating characters for lua code block",
            ));
        };
        self.push(TokenKind::LuaCode, len);
        self.push(TokenKind::BlockClose, 1);
        Ok(())
    }
}

/// nginx's "too long parameter" check. nginx moves the bytes from the start of the current
/// token (`start`, after an opening quote) to the front of its 4096-byte buffer whenever the
/// buffer runs dry, and gives up when they fill it. The start only moves on when nginx looks
/// at the byte *after* a word's terminator if that terminator is a space (`;`, `{` and `)` are
/// handled at once), so the bytes read from `anchor` are the token, plus one when `spaced`.
/// Measured with nginx -t 1.22.1: `"…"` holds 4094 bytes before `;`, 4093 before a space.
fn check_length(
    src: &[u8],
    anchor: usize,
    end: usize,
    spaced: bool,
    quote: Option<(u8, usize)>,
) -> Result<(), SyntaxError> {
    let consumed = end - anchor + usize::from(spaced);
    let refill_at = anchor + CONF_BUFFER;
    if consumed < CONF_BUFFER || refill_at >= src.len() {
        return Ok(());
    }
    let message = match quote {
        // Still inside the quotes when the buffer ran out.
        Some((q, close)) if refill_at <= close => format!(
            "too long parameter, probably missing terminating \"{}\" character",
            q as char
        ),
        _ => {
            let head = &src[anchor..(anchor + 10).min(src.len())];
            format!(
                "too long parameter \"{}...\" started",
                String::from_utf8_lossy(head)
            )
        }
    };
    Err(SyntaxError {
        offset: anchor,
        message,
        code: "NGX002",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, String)> {
        tokenize(src.as_bytes())
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, src[t.span].to_string()))
            .collect()
    }

    fn words(src: &str) -> Vec<String> {
        kinds(src)
            .into_iter()
            .filter(|(k, _)| matches!(k, TokenKind::Word(_)))
            .map(|(_, s)| s)
            .collect()
    }

    fn error(src: &str) -> SyntaxError {
        tokenize(src.as_bytes()).unwrap_err()
    }

    #[test]
    fn words_quotes_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds("a \"b c\" 'd';"),
            vec![
                (Word(Quote::Bare), "a".into()),
                (Space, " ".into()),
                (Word(Quote::Double), "\"b c\"".into()),
                (Space, " ".into()),
                (Word(Quote::Single), "'d'".into()),
                (Semicolon, ";".into()),
            ]
        );
    }

    #[test]
    fn hash_starts_a_comment_only_where_a_word_could_start() {
        assert_eq!(words("location ~ a#b# {}"), vec!["location", "~", "a#b#"]);
        let toks = kinds("a # c ;\n;");
        assert!(toks.contains(&(TokenKind::Comment, "# c ;".into())));
    }

    #[test]
    fn quotes_inside_a_bare_word_are_bytes() {
        assert_eq!(
            words(r#"inner"-"quote right-"quote";"#),
            vec![r#"inner"-"quote"#, r#"right-"quote""#]
        );
    }

    #[test]
    fn dollar_brace_stays_in_the_word() {
        assert_eq!(words("set $a ${b}c;"), vec!["set", "$a", "${b}c"]);
        assert_eq!(words("a ${{x;"), vec!["a", "${{x"]);
        let toks = kinds("server_name x{");
        assert_eq!(toks.last().unwrap().0, TokenKind::BlockOpen);
    }

    #[test]
    fn backslash_escapes_any_byte_in_bare_words() {
        assert_eq!(words("a\\ b\\;c\\\nd;"), vec!["a\\ b\\;c\\\nd"]);
    }

    #[test]
    fn closing_quote_needs_a_separator() {
        assert_eq!(error(r#"a "b"c;"#).message, r#"unexpected "c""#);
        assert_eq!(error(r#"a "b"}"#).message, r#"unexpected "}""#);
        assert_eq!(
            words(r#"if ($a = "b") {}"#),
            vec!["if", "($a", "=", "\"b\"", ")"]
        );
    }

    #[test]
    fn statement_errors_use_nginx_wording() {
        assert_eq!(error("; a;").message, r#"unexpected ";""#);
        assert_eq!(error("{").message, r#"unexpected "{""#);
        assert_eq!(error("a }").message, r#"unexpected "}""#);
        let e = error("a \"b;\n");
        assert_eq!(e.message, r#"unexpected end of file, expecting ";" or "}""#);
        assert_eq!(e.offset, 6);
        assert_eq!(
            error("a b").message,
            r#"unexpected end of file, expecting ";" or "}""#
        );
        assert_eq!(error("a \\").offset, 3);
    }

    #[test]
    fn comment_at_eof_without_newline_is_fine() {
        assert_eq!(kinds("a;#x").last().unwrap().0, TokenKind::Comment);
    }

    #[test]
    fn lua_blocks_are_one_token() {
        let src = "content_by_lua_block { local t = { '}' } -- }\n }\nx;";
        let toks = kinds(src);
        assert!(toks.contains(&(TokenKind::LuaCode, " local t = { '}' } -- }\n ".into())));
        assert_eq!(words(src).last().unwrap(), "x");
    }

    #[test]
    fn too_long_parameters_mirror_the_4096_byte_buffer() {
        // Limits measured with nginx -t 1.22.1 (see check_length).
        let file = |arg: String| format!("events {{}}\nhttp {{\n add_header X {arg};\n}}\n");
        let ok = |arg: String| assert!(tokenize(file(arg).as_bytes()).is_ok());
        let too_long = |arg: String| {
            let e = tokenize(file(arg).as_bytes()).unwrap_err();
            assert_eq!(e.code, "NGX002");
            e.message
        };
        ok(format!("\"{}\"", "a".repeat(4094)));
        assert!(too_long(format!("\"{}\"", "a".repeat(4095))).ends_with("...\" started"));
        assert!(too_long(format!("\"{}\"", "a".repeat(4096))).contains("missing terminating"));
        ok(format!("\"{}\" always", "a".repeat(4093)));
        too_long(format!("\"{}\" always", "a".repeat(4094)));
        ok("a".repeat(4095));
        too_long("a".repeat(4096));
        ok(format!("{}  always", "a".repeat(4094)));
        too_long(format!("{}\talways", "a".repeat(4095)));
    }

    #[test]
    fn concatenated_tokens_are_the_file() {
        let src = "\u{feff}# c\r\nhttp {\r\n\tadd_header X \"a\\\"b\" always; # t\r\n}\r\n";
        let toks = tokenize(src.as_bytes()).unwrap();
        let joined: String = toks.iter().map(|t| &src[t.span.clone()]).collect();
        assert_eq!(joined, src);
    }
}
