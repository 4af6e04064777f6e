//! Statements and blocks over the token stream (nginx's `ngx_conf_parse()`), and the decoding
//! of a word into the bytes nginx hands to a directive.

use std::ops::Range;

use super::tokenizer::{tokenize, Quote, SyntaxError, Token, TokenKind};

/// A word as written: its raw span (quotes included) and quoting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub span: Range<usize>,
    pub quote: Quote,
}

impl Word {
    /// The raw bytes between the quotes (the whole word when bare).
    pub fn inner(&self) -> Range<usize> {
        match self.quote {
            Quote::Bare => self.span.clone(),
            _ => self.span.start + 1..self.span.end - 1,
        }
    }

    /// The word as nginx passes it to the directive.
    pub fn value(&self, src: &[u8]) -> Vec<u8> {
        self.bytes(src).into_owned()
    }

    /// [`Word::value`], borrowed from `src` when the word holds no backslash (nearly every
    /// word: directive names, most arguments), so that reading a name allocates nothing.
    pub fn bytes<'s>(&self, src: &'s [u8]) -> std::borrow::Cow<'s, [u8]> {
        let raw = &src[self.inner()];
        if memchr::memchr(b'\\', raw).is_none() {
            return std::borrow::Cow::Borrowed(raw);
        }
        std::borrow::Cow::Owned(
            unescape(src, self.span.clone(), self.quote)
                .into_iter()
                .map(|(b, _)| b)
                .collect(),
        )
    }

    pub fn text(&self, src: &[u8]) -> String {
        String::from_utf8_lossy(&self.bytes(src)).into_owned()
    }
}

/// One statement: `name args... ;`, `name args... { ... }` or a Lua block.
#[derive(Debug, Clone)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    pub body: Body,
    /// From the first byte of the name to the `;` or `}` that ends the statement.
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub enum Body {
    /// Ended by `;`.
    None,
    Block(Vec<Directive>),
    /// `*_by_lua_block { ... }`: the raw Lua source.
    Lua(Range<usize>),
}

impl Directive {
    pub fn name_is(&self, src: &[u8], name: &str) -> bool {
        *self.name.bytes(src) == *name.as_bytes()
    }

    pub fn children(&self) -> &[Directive] {
        match &self.body {
            Body::Block(children) => children,
            _ => &[],
        }
    }
}

/// Parse a whole file into statements. Errors are nginx's own: a stray `}` at the top level,
/// a block left open at the end of the file, and everything [`tokenize`] refuses.
pub fn parse(src: &[u8]) -> Result<Vec<Directive>, SyntaxError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        tokens: &tokens,
        i: 0,
        depth: 0,
    };
    let top = parser.statements(src, None)?;
    Ok(top)
}

/// The deepest nesting of blocks csppatch reads (E064). Every pass over the tree recurses
/// once per level; real configurations nest a few levels, and 10,000 nested `location`s
/// overflowed the stack of a debug build.
pub const MAX_DEPTH: usize = 512;

struct Parser<'t> {
    tokens: &'t [Token],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    /// Statements until the `}` that closes `open` (or the end of the file at the top level).
    fn statements(
        &mut self,
        src: &[u8],
        open: Option<usize>,
    ) -> Result<Vec<Directive>, SyntaxError> {
        let mut out = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        while let Some(tok) = self.tokens.get(self.i) {
            self.i += 1;
            match tok.kind {
                TokenKind::Space | TokenKind::Comment => {}
                TokenKind::Word(quote) => words.push(Word {
                    span: tok.span.clone(),
                    quote,
                }),
                TokenKind::Semicolon => {
                    out.push(statement(
                        std::mem::take(&mut words),
                        Body::None,
                        tok.span.end,
                    ));
                }
                TokenKind::BlockOpen => {
                    let taken = std::mem::take(&mut words);
                    if let Some(Token {
                        kind: TokenKind::LuaCode,
                        span,
                    }) = self.tokens.get(self.i)
                    {
                        // The tokenizer emitted the Lua source and its closing brace.
                        let end = span.end + 1;
                        self.i += 2;
                        out.push(statement(taken, Body::Lua(span.clone()), end));
                        continue;
                    }
                    if self.depth == MAX_DEPTH {
                        return Err(SyntaxError {
                            offset: tok.span.start,
                            message: format!(
                                "blocks nested more than {MAX_DEPTH} deep: csppatch does not \
                                 read deeper nesting (no real configuration has it)"
                            ),
                            code: "E064",
                        });
                    }
                    self.depth += 1;
                    let (children, end) = {
                        let children = self.statements(src, Some(tok.span.start));
                        self.depth -= 1;
                        let children = children?;
                        (children, self.tokens[self.i - 1].span.end)
                    };
                    out.push(statement(taken, Body::Block(children), end));
                }
                TokenKind::BlockClose => {
                    if open.is_none() {
                        return Err(SyntaxError {
                            offset: tok.span.start,
                            message: "unexpected \"}\"".into(),
                            code: "NGX001",
                        });
                    }
                    return Ok(out);
                }
                TokenKind::LuaCode => {}
            }
        }
        if open.is_some() {
            return Err(SyntaxError {
                offset: src.len(),
                message: "unexpected end of file, expecting \"}\"".into(),
                code: "NGX001",
            });
        }
        Ok(out)
    }
}

fn statement(mut words: Vec<Word>, body: Body, end: usize) -> Directive {
    // The tokenizer guarantees a word before every `;` and `{`.
    let name = words.remove(0);
    let start = name.span.start;
    Directive {
        name,
        args: words,
        body,
        span: start..end,
    }
}

/// The bytes nginx keeps for a word, each with the raw file range it came from: the copy loop
/// at the end of `ngx_conf_read_token()`. `\"` `\'` `\\` become the character, `\t` `\r` `\n`
/// the control character; a backslash before anything else (a newline too) is kept with it.
pub fn unescape(src: &[u8], span: Range<usize>, quote: Quote) -> Vec<(u8, Range<usize>)> {
    let inner = match quote {
        Quote::Bare => span,
        _ => span.start + 1..span.end - 1,
    };
    let raw = &src[inner.clone()];
    if memchr::memchr(b'\\', raw).is_none() {
        // No escape: each byte is itself (the common case, and a loop the compiler unrolls).
        return (inner.start..inner.end)
            .zip(raw)
            .map(|(at, &b)| (b, at..at + 1))
            .collect();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let at = inner.start + i;
        if raw[i] == b'\\' && i + 1 < raw.len() {
            let decoded = match raw[i + 1] {
                b @ (b'"' | b'\'' | b'\\') => Some(b),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'n' => Some(b'\n'),
                _ => None,
            };
            if let Some(b) = decoded {
                out.push((b, at..at + 2));
                i += 2;
                continue;
            }
        }
        out.push((raw[i], at..at + 1));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ds: &[Directive], src: &[u8]) -> Vec<String> {
        ds.iter().map(|d| d.name.text(src)).collect()
    }

    #[test]
    fn nested_blocks() {
        let src = b"http { server { listen 80; location / { } } } events {}";
        let top = parse(src).unwrap();
        assert_eq!(names(&top, src), vec!["http", "events"]);
        let server = &top[0].children()[0];
        assert_eq!(names(server.children(), src), vec!["listen", "location"]);
        assert_eq!(server.children()[1].args[0].text(src), "/");
        assert_eq!(&src[top[0].span.clone()], &src[..45]);
    }

    #[test]
    fn block_errors() {
        let e = parse(b"http {\n").unwrap_err();
        assert_eq!(e.message, "unexpected end of file, expecting \"}\"");
        assert_eq!(e.offset, 7);
        let e = parse(b"a;\n}").unwrap_err();
        assert_eq!(e.message, "unexpected \"}\"");
    }

    #[test]
    fn unescaping_follows_ngx_conf_read_token() {
        let src = br#"x "a\"b\'c\\d\te\x\$""#;
        let word = Word {
            span: 2..src.len(),
            quote: Quote::Double,
        };
        assert_eq!(word.value(src), b"a\"b'c\\d\te\\x\\$");
        let bare = br"a\;b\\c";
        let word = Word {
            span: 0..bare.len(),
            quote: Quote::Bare,
        };
        assert_eq!(word.value(bare), b"a\\;b\\c");
        let map = unescape(src, 2..src.len(), Quote::Double);
        assert_eq!(map[1], (b'"', 4..6));
        assert_eq!(map[0], (b'a', 3..4));
    }

    #[test]
    fn lua_block_body() {
        let src = b"set_by_lua_block $x { return '}' }\nlisten 1;";
        let top = parse(src).unwrap();
        assert_eq!(names(&top, src), vec!["set_by_lua_block", "listen"]);
        assert!(matches!(top[0].body, Body::Lua(ref r) if &src[r.clone()] == b" return '}' "));
        assert_eq!(top[0].args[0].text(src), "$x");
    }
}
