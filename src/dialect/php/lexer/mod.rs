//! A lossless tokenizer for PHP source, good enough to find string literals exactly.
//!
//! It mirrors the rules of `Zend/zend_language_scanner.l` (PHP 8.2) that decide where a token
//! ends: `INITIAL` (inline HTML up to an open tag), `ST_IN_SCRIPTING` (code), comments,
//! `b?[']`, `b?["]` with `ST_DOUBLE_QUOTES`, `ST_BACKQUOTE`, `ST_HEREDOC`/`ST_NOWDOC` and the
//! interpolation states (`ST_VAR_OFFSET`, `ST_LOOKING_FOR_PROPERTY`, `{$`, `${`). Every byte of
//! the input belongs to exactly one token, so concatenating the tokens gives the file back.
//! See `grammars/php.ebnf`.

use std::ops::Range;

mod literal;

/// How a string literal is delimited; decides its escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Quote {
    Single,
    Double,
    Backtick,
    Heredoc,
    Nowdoc,
}

/// A piece of a string literal's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Characters (still escaped) between interpolations.
    Text(Range<usize>),
    /// `$var`, `$var[..]`, `$var->prop`, `{$expr}`, `${expr}`: known only at run time.
    Interp(Range<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    pub quote: Quote,
    /// Bytes between the delimiters. Heredoc/nowdoc: from after the opening line's newline to
    /// before the newline that precedes the closing label (Zend drops that newline).
    pub content: Range<usize>,
    pub parts: Vec<Part>,
    /// Heredoc/nowdoc: the closing label's indentation, removed from every body line.
    pub indent: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Text outside `<?php ... ?>`, sent to the client as is (T_INLINE_HTML).
    InlineHtml,
    /// `<?php` plus one whitespace character, or `<?=` (T_OPEN_TAG, T_OPEN_TAG_WITH_ECHO).
    OpenTag,
    /// `?>` plus one optional newline (T_CLOSE_TAG; acts as `;`).
    CloseTag,
    Whitespace,
    /// `//`, `#` (not `#[`), `/* */`, `/** */`.
    Comment,
    /// `$name`
    Variable,
    /// A label or a namespaced name: `header`, `\header`, `Foo\bar`.
    Name,
    Number,
    Str(Box<StrLit>),
    /// An operator or punctuation; `#[` is one.
    Punct,
    /// Everything after `__halt_compiler();`.
    HaltData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Range<usize>,
}

impl Token {
    pub fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.span.clone()]
    }
    pub fn is(&self, src: &[u8], punct: &str) -> bool {
        self.kind == Kind::Punct && self.text(src) == punct.as_bytes()
    }
    /// A name, compared ASCII-case-insensitively (PHP function names and keywords are).
    pub fn is_name(&self, src: &[u8], name: &str) -> bool {
        self.kind == Kind::Name && self.text(src).eq_ignore_ascii_case(name.as_bytes())
    }
    pub fn is_trivia(&self) -> bool {
        matches!(
            self.kind,
            Kind::Whitespace | Kind::Comment | Kind::InlineHtml | Kind::OpenTag | Kind::HaltData
        )
    }
}

/// What the tokenizer cannot get past: an unterminated string, comment or heredoc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

/// Tokenize a whole file, starting in inline HTML like PHP does.
pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer::new(src, 0..src.len());
    lx.file()?;
    Ok(lx.tokens)
}

/// Tokenize `range` of `src` as code (inside `<?php`): used to re-read a site's expression.
pub fn tokenize_code(src: &[u8], range: Range<usize>) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer::new(src, range);
    lx.code(false)?;
    Ok(lx.tokens)
}

/// `IS_LABEL_START` in the scanner.
pub fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// `IS_LABEL_SUCCESSOR` in the scanner.
pub fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

const PUNCT3: &[&[u8]] = &[
    b"...", b"<=>", b"===", b"!==", b"**=", b"??=", b"<<=", b">>=", b"?->",
];
const PUNCT2: &[&[u8]] = &[
    b"->", b"::", b"=>", b".=", b"==", b"!=", b"<>", b"<=", b">=", b"&&", b"||", b"??", b"++",
    b"--", b"+=", b"-=", b"*=", b"/=", b"%=", b"&=", b"|=", b"^=", b"<<", b">>", b"**", b"#[",
];

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    end: usize,
    tokens: Vec<Token>,
    /// Set after `__halt_compiler`: the data starts after the next `;` or `?>`.
    halting: bool,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a [u8], range: Range<usize>) -> Self {
        Lexer {
            src,
            pos: range.start,
            end: range.end.min(src.len()),
            tokens: Vec::new(),
            halting: false,
        }
    }

    fn at(&self, i: usize) -> u8 {
        if i < self.end {
            self.src[i]
        } else {
            0
        }
    }

    fn starts_with(&self, i: usize, s: &[u8]) -> bool {
        i + s.len() <= self.end && &self.src[i..i + s.len()] == s
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: start..self.pos,
        });
    }

    fn err(&self, offset: usize, message: &str) -> LexError {
        LexError {
            offset,
            message: message.to_string(),
        }
    }

    /// `INITIAL`: inline HTML up to `<?=` or `<?php` + whitespace/EOF (`inline_char_handler`).
    /// Short tags (`<?`) follow the default php.ini (`short_open_tag = Off`).
    fn file(&mut self) -> Result<(), LexError> {
        while self.pos < self.end {
            let start = self.pos;
            let open = self.find_open_tag(start);
            let html_end = open.unwrap_or(self.end);
            if html_end > start {
                self.pos = html_end;
                self.push(Kind::InlineHtml, start);
            }
            if open.is_none() {
                break;
            }
            let tag = self.pos;
            if self.at(tag + 2) == b'=' {
                self.pos = tag + 3;
            } else {
                self.pos = tag + 5;
                match self.at(self.pos) {
                    b' ' | b'\t' | b'\n' => self.pos += 1,
                    b'\r' => self.pos += if self.at(self.pos + 1) == b'\n' { 2 } else { 1 },
                    _ => {}
                }
            }
            self.push(Kind::OpenTag, tag);
            self.code(false)?;
            if self.tokens.last().is_some_and(|t| t.kind == Kind::HaltData) {
                break;
            }
        }
        Ok(())
    }

    fn find_open_tag(&self, from: usize) -> Option<usize> {
        let mut i = from;
        while i + 1 < self.end {
            if self.src[i] == b'<' && self.src[i + 1] == b'?' {
                if self.at(i + 2) == b'=' {
                    return Some(i);
                }
                if i + 5 <= self.end && self.src[i + 2..i + 5].eq_ignore_ascii_case(b"php") {
                    let next = self.at(i + 5);
                    if i + 5 == self.end || matches!(next, b' ' | b'\t' | b'\n' | b'\r') {
                        return Some(i);
                    }
                }
            }
            i += 1;
        }
        None
    }

    /// `ST_IN_SCRIPTING` until `?>` (top level) or, inside `{$`/`${`, the matching `}`.
    fn code(&mut self, in_interpolation: bool) -> Result<(), LexError> {
        let mut depth = 0usize;
        let opened_at = self.pos;
        while self.pos < self.end {
            let start = self.pos;
            let c = self.src[start];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r')
                        && self.pos < self.end
                    {
                        self.pos += 1;
                    }
                    self.push(Kind::Whitespace, start);
                }
                b'#' if self.at(start + 1) != b'[' => self.line_comment(start),
                b'/' if self.at(start + 1) == b'/' => self.line_comment(start),
                b'/' if self.at(start + 1) == b'*' => {
                    let Some(close) = find(self.src, start + 2, self.end, b"*/") else {
                        return Err(self.err(start, "unterminated comment"));
                    };
                    self.pos = close + 2;
                    self.push(Kind::Comment, start);
                }
                b'?' if self.at(start + 1) == b'>' => {
                    // `"?>"{NEWLINE}?`: back to inline HTML.
                    self.pos = start + 2;
                    match self.at(self.pos) {
                        b'\n' => self.pos += 1,
                        b'\r' => self.pos += if self.at(self.pos + 1) == b'\n' { 2 } else { 1 },
                        _ => {}
                    }
                    self.push(Kind::CloseTag, start);
                    if self.halting {
                        self.halt();
                    }
                    if !in_interpolation {
                        return Ok(());
                    }
                }
                b'\'' => self.single(start, start)?,
                b'"' => self.double(start, start)?,
                b'`' => self.backtick(start)?,
                b'b' | b'B' if self.at(start + 1) == b'\'' => self.single(start, start + 1)?,
                b'b' | b'B' if self.at(start + 1) == b'"' => self.double(start, start + 1)?,
                b'b' | b'B' if self.heredoc_header(start + 1).is_some() => {
                    self.heredoc(start, start + 1)?
                }
                b'<' if self.heredoc_header(start).is_some() => self.heredoc(start, start)?,
                b'$' if is_label_start(self.at(start + 1)) => {
                    self.pos = start + 1;
                    self.label();
                    self.push(Kind::Variable, start);
                }
                b'0'..=b'9' => self.number(start),
                b'.' if self.at(start + 1).is_ascii_digit() => self.number(start),
                _ if is_label_start(c) || (c == b'\\' && is_label_start(self.at(start + 1))) => {
                    self.name(start);
                    if self
                        .tokens
                        .last()
                        .is_some_and(|t| t.text(self.src).eq_ignore_ascii_case(b"__halt_compiler"))
                    {
                        self.halting = true;
                    }
                }
                b'{' => {
                    depth += 1;
                    self.pos = start + 1;
                    self.push(Kind::Punct, start);
                }
                b'}' => {
                    self.pos = start + 1;
                    self.push(Kind::Punct, start);
                    if depth == 0 && in_interpolation {
                        return Ok(());
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {
                    let len = if PUNCT3.iter().any(|p| self.starts_with(start, p)) {
                        3
                    } else if PUNCT2.iter().any(|p| self.starts_with(start, p)) {
                        2
                    } else {
                        1
                    };
                    self.pos = start + len;
                    self.push(Kind::Punct, start);
                    if self.halting && c == b';' {
                        self.halt();
                        return Ok(());
                    }
                }
            }
        }
        if in_interpolation {
            return Err(self.err(opened_at, "unterminated interpolation in string"));
        }
        Ok(())
    }

    fn halt(&mut self) {
        if self.pos < self.end {
            let start = self.pos;
            self.pos = self.end;
            self.push(Kind::HaltData, start);
        }
    }

    /// `"#"|"//"`: to the end of the line or up to `?>`. Since PHP 8.0 the newline is not
    /// part of the comment (it is whitespace), as `token_get_all` shows.
    fn line_comment(&mut self, start: usize) {
        let mut i = start + 1;
        while i < self.end {
            match self.src[i] {
                b'\n' | b'\r' => break,
                b'?' if self.at(i + 1) == b'>' => break,
                _ => i += 1,
            }
        }
        self.pos = i.min(self.end);
        self.push(Kind::Comment, start);
    }

    fn label(&mut self) {
        while self.pos < self.end && is_label_char(self.src[self.pos]) {
            self.pos += 1;
        }
    }

    /// A label, or a qualified name (`\header`, `Foo\bar`, `namespace\f`).
    fn name(&mut self, start: usize) {
        self.pos = start;
        if self.at(self.pos) == b'\\' {
            self.pos += 1;
        }
        self.label();
        while self.at(self.pos) == b'\\' && is_label_start(self.at(self.pos + 1)) {
            self.pos += 1;
            self.label();
        }
        self.push(Kind::Name, start);
    }

    /// `LNUM`, `DNUM`, `EXPONENT_DNUM`, `HNUM`, `BNUM`, octal `0o`: only their extent matters
    /// (so that the `.` of `1.5` is not taken for concatenation).
    fn number(&mut self, start: usize) {
        let digits = |lx: &mut Self, ok: fn(u8) -> bool| {
            while lx.pos < lx.end && (ok(lx.src[lx.pos]) || lx.src[lx.pos] == b'_') {
                lx.pos += 1;
            }
        };
        self.pos = start;
        let prefix = self.at(start + 1).to_ascii_lowercase();
        if self.at(start) == b'0' && matches!(prefix, b'x' | b'b' | b'o') {
            self.pos += 2;
            digits(self, |c| c.is_ascii_hexdigit());
        } else {
            digits(self, |c| c.is_ascii_digit());
            if self.at(self.pos) == b'.' {
                self.pos += 1;
                digits(self, |c| c.is_ascii_digit());
            }
            if matches!(self.at(self.pos), b'e' | b'E') {
                let mut j = self.pos + 1;
                if matches!(self.at(j), b'+' | b'-') {
                    j += 1;
                }
                if self.at(j).is_ascii_digit() {
                    self.pos = j;
                    digits(self, |c| c.is_ascii_digit());
                }
            }
        }
        self.push(Kind::Number, start);
    }
}

/// First occurrence of `needle` in `src[from..end]`.
pub fn find(src: &[u8], from: usize, end: usize, needle: &[u8]) -> Option<usize> {
    if from >= end {
        return None;
    }
    src[from..end]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(String, String)> {
        let toks = tokenize(src.as_bytes()).expect("tokenizes");
        let joined: Vec<u8> = toks
            .iter()
            .flat_map(|t| t.text(src.as_bytes()).to_vec())
            .collect();
        assert_eq!(joined, src.as_bytes(), "lossless");
        toks.iter()
            .filter(|t| t.kind != Kind::Whitespace)
            .map(|t| {
                let k = match &t.kind {
                    Kind::Str(l) => format!("Str{:?}", l.quote),
                    k => format!("{k:?}"),
                };
                (
                    k,
                    String::from_utf8_lossy(t.text(src.as_bytes())).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn strings_comments_and_tags() {
        let k = kinds("<p>\n<?php # c ?>\n<?php header('a\\'b' . \"x{$y['}']}z\"); #[A] ?>tail");
        let texts: Vec<&str> = k.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "<p>\n",
                "<?php ",
                "# c ",
                "?>\n",
                "<?php ",
                "header",
                "(",
                "'a\\'b'",
                ".",
                "\"x{$y['}']}z\"",
                ")",
                ";",
                "#[",
                "A",
                "]",
                "?>",
                "tail"
            ]
        );
    }

    #[test]
    fn heredoc_with_indented_label() {
        let src = "<?php\n$a = <<<CSP\n    x $v\n    CSPX\n    CSP;\n";
        let toks = tokenize(src.as_bytes()).unwrap();
        let lit = toks
            .iter()
            .find_map(|t| match &t.kind {
                Kind::Str(l) => Some(l),
                _ => None,
            })
            .unwrap();
        assert_eq!(lit.indent, 4);
        assert_eq!(&src[lit.content.clone()], "    x $v\n    CSPX");
    }

    #[test]
    fn unterminated_things_are_errors() {
        assert!(tokenize(b"<?php 'abc").is_err());
        assert!(tokenize(b"<?php /* abc").is_err());
        assert!(tokenize(b"<?php <<<EOT\nabc\n").is_err());
        assert!(tokenize(b"<?php \"a{$b\"").is_err());
    }

    #[test]
    fn short_tag_and_xml_prolog_are_inline_html() {
        let k = kinds("<?xml version=\"1.0\"?><? echo 1 ?>");
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].0, "InlineHtml");
    }
}
