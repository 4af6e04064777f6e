//! The block structure of a Caddyfile, as Caddy 2.6's parser builds it.
//!
//! A port of the parts of caddyconfig/caddyfile/parse.go (`parseAll`, `addresses`,
//! `blockContents`, `directives`, `directive`, `doImport`, `snippetTokens`) and
//! dispenser.go (`NextArg`, `NextBlock`, `NextSegment`, `isNewLine`) that decide which
//! tokens form which directive. A snippet defined in the file is spliced where it is
//! imported, as Caddy does (its tokens keep their own lines, which decides what is "a new
//! line" after it); file imports are recorded and removed: the pipeline resolves them.

use std::collections::{HashMap, HashSet};

use super::dispenser::Dispenser;
use super::lexer::Token;

/// What a top-level block is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// The global options block (no keys).
    Global,
    Site,
    /// `(name) { ... }`: its body is replayed where it is imported.
    Snippet(String),
    /// A file that starts with a directive instead of a site address: a file meant to be
    /// imported inside a site block (`import security-headers.caddy`).
    Fragment,
}

#[derive(Debug, Clone)]
pub struct ServerBlock {
    pub kind: BlockKind,
    /// Tokens of the site addresses (or of the snippet name).
    pub keys: Vec<usize>,
    /// Directives: each a list of tokens (a line, and the block it opens).
    pub segments: Vec<Vec<usize>>,
}

/// An `import` line.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// The `import` token.
    pub import: usize,
    pub pattern: usize,
    pub args: Vec<usize>,
    /// The pattern names a snippet defined earlier in this file (parse.go checks
    /// `definedSnippets` first), which was spliced in; otherwise it is a file path or glob.
    pub snippet: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub blocks: Vec<ServerBlock>,
    pub imports: Vec<ImportLine>,
}

/// A file Caddy 2.6 refuses, at the token Caddy names (its line is Caddy's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub token: Option<usize>,
    pub message: String,
}

/// Directive names of Caddy 2.6's HTTP Caddyfile. A file whose first token is one of them (or
/// a matcher) is read as a list of directives, as it would be where it is imported.
const DIRECTIVES: &[&str] = &[
    "abort",
    "acme_server",
    "basicauth",
    "bind",
    "copy_response",
    "copy_response_headers",
    "encode",
    "error",
    "file_server",
    "forward_auth",
    "handle",
    "handle_errors",
    "handle_path",
    "header",
    "log",
    "map",
    "method",
    "metrics",
    "php_fastcgi",
    "push",
    "redir",
    "request_body",
    "request_header",
    "respond",
    "reverse_proxy",
    "rewrite",
    "root",
    "route",
    "skip_log",
    "templates",
    "tls",
    "tracing",
    "try_files",
    "uri",
    "vars",
];

fn is_directive(t: &Token) -> bool {
    t.text.starts_with(b"@")
        || DIRECTIVES
            .iter()
            .any(|d| t.text == d.as_bytes() && t.quote == super::lexer::Quote::Bare)
}

/// Is this a file of directives (meant to be imported inside a site)? Its first line that is
/// not an `import` starts with a directive name or a matcher definition.
pub fn is_fragment(toks: &[Token]) -> bool {
    let mut d = Dispenser::new(toks, (0..toks.len()).collect());
    while d.next() {
        if d.val_is("import") {
            while d.next_arg() {}
            continue;
        }
        return d.current().is_some_and(|t| is_directive(&toks[t]));
    }
    false
}

/// Parse a whole file's tokens the way `caddyfile.Parse` does (imports recorded, not
/// followed). A file that starts with a directive is parsed as a site's body instead.
pub fn parse(toks: &[Token]) -> Result<Parsed, ParseError> {
    let mut p = Parser::new(toks);
    if is_fragment(toks) {
        p.block = new_block(BlockKind::Fragment);
        p.directives()?;
        if p.d.next() {
            return Err(p.err("Unexpected '}' because no matching opening brace"));
        }
        let block = std::mem::replace(&mut p.block, new_block(BlockKind::Site));
        p.out.blocks.push(block);
    } else {
        p.parse_all()?;
    }
    Ok(p.out)
}

/// Split a block body (tokens between `{` and `}`, or a snippet body) into directive
/// segments with parse.go's `directive` rules. Imports inside are skipped.
pub fn body_segments(toks: &[Token], body: Vec<usize>) -> Vec<Vec<usize>> {
    let mut p = Parser::new(toks);
    p.d = Dispenser::new(toks, body);
    p.block = new_block(BlockKind::Fragment);
    // A body that Caddy would only reject once imported still yields what it can.
    let _ = p.directives();
    p.block.segments
}

fn new_block(kind: BlockKind) -> ServerBlock {
    ServerBlock {
        kind,
        keys: Vec::new(),
        segments: Vec::new(),
    }
}

struct Parser<'a> {
    d: Dispenser<'a>,
    block: ServerBlock,
    eof: bool,
    nesting: usize,
    /// Snippet name -> its body tokens (parse.go `definedSnippets`).
    snippets: HashMap<Vec<u8>, Vec<usize>>,
    /// Body token -> the snippet it belongs to, for import-cycle detection.
    owner: HashMap<usize, Vec<u8>>,
    /// Import graph: node (snippet name; the file itself is the empty name) -> imported.
    edges: HashMap<Vec<u8>, HashSet<Vec<u8>>>,
    out: Parsed,
}

impl<'a> Parser<'a> {
    fn new(toks: &'a [Token]) -> Self {
        Parser {
            d: Dispenser::new(toks, (0..toks.len()).collect()),
            block: new_block(BlockKind::Site),
            eof: false,
            nesting: 0,
            snippets: HashMap::new(),
            owner: HashMap::new(),
            edges: HashMap::new(),
            out: Parsed::default(),
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            token: self.d.current(),
            message: message.into(),
        }
    }

    fn parse_all(&mut self) -> Result<(), ParseError> {
        while self.d.next() {
            self.block = new_block(BlockKind::Site);
            self.begin()?;
            let block = std::mem::replace(&mut self.block, new_block(BlockKind::Site));
            if matches!(block.kind, BlockKind::Snippet(_))
                || !block.keys.is_empty()
                || !block.segments.is_empty()
            {
                self.out.blocks.push(block);
            }
            if self.nesting > 0 {
                return Err(self.err("Unexpected EOF"));
            }
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), ParseError> {
        self.addresses()?;
        if self.eof {
            return Ok(());
        }
        let snippet = match self.block.keys.as_slice() {
            [k] => super::lexer::snippet_name(&self.d.toks[*k].text).map(<[u8]>::to_vec),
            _ => None,
        };
        if let Some(name) = snippet {
            if self.snippets.contains_key(&name) {
                return Err(self.err(format!(
                    "redeclaration of previously declared snippet {}",
                    String::from_utf8_lossy(&name)
                )));
            }
            let body = self.snippet_tokens()?;
            self.owner.extend(body.iter().map(|&t| (t, name.clone())));
            self.snippets.insert(name.clone(), body.clone());
            self.block.kind = BlockKind::Snippet(String::from_utf8_lossy(&name).into_owned());
            self.block.segments = body_segments(self.d.toks, body);
            return Ok(());
        }
        let first_server_block = !self
            .out
            .blocks
            .iter()
            .any(|b| !matches!(b.kind, BlockKind::Snippet(_)));
        if self.block.keys.is_empty() && first_server_block {
            self.block.kind = BlockKind::Global;
        }
        self.block_contents()
    }

    fn addresses(&mut self) -> Result<(), ParseError> {
        let mut expecting_another = false;
        loop {
            let tkn = self.d.val();
            if tkn == b"import" && self.d.is_new_line() {
                self.do_import()?;
                continue;
            }
            if tkn == b"{" {
                if expecting_another {
                    return Err(
                        self.err("Expected another address but had '{' - check for extra comma")
                    );
                }
                break;
            }
            if tkn.ends_with(b"{") {
                return Err(self.err(format!(
                    "Site addresses cannot end with a curly brace: '{}' - put a space between the token and the brace",
                    String::from_utf8_lossy(tkn)
                )));
            }
            if !tkn.is_empty() {
                expecting_another = tkn.ends_with(b",");
                self.block.keys.extend(self.d.current());
            }
            let has_next = self.d.next();
            if expecting_another && !has_next {
                return Err(self.err("Unexpected EOF"));
            }
            if !has_next {
                self.eof = true;
                break;
            }
            if !expecting_another && self.d.is_new_line() {
                break;
            }
        }
        Ok(())
    }

    fn block_contents(&mut self) -> Result<(), ParseError> {
        let braced = self.d.val_is("{");
        if !braced {
            // "single-server configs don't need curly braces"
            self.d.prev_raw();
        }
        self.directives()?;
        if braced && !self.d.val_is("}") {
            return Err(self.err(format!(
                "Syntax error: Unexpected token '{}', expecting '}}'",
                String::from_utf8_lossy(self.d.val())
            )));
        }
        Ok(())
    }

    fn directives(&mut self) -> Result<(), ParseError> {
        while self.d.next() {
            if self.d.val_is("}") {
                break;
            }
            if self.d.val_is("import") {
                self.do_import()?;
                self.d.prev_raw();
                continue;
            }
            self.directive()?;
        }
        Ok(())
    }

    fn directive(&mut self) -> Result<(), ParseError> {
        let mut segment: Vec<usize> = self.d.current().into_iter().collect();
        while self.d.next() {
            if self.d.val_is("{") {
                self.nesting += 1;
                if !self.d.is_next_on_new_line() && !self.d.was_quoted() {
                    return Err(self.err("Unexpected next token after '{' on same line"));
                }
            } else if self.d.val_is("{}") {
                if self.d.is_next_on_new_line() && !self.d.was_quoted() {
                    return Err(self.err("Unexpected '{}' at end of line"));
                }
            } else if self.d.is_new_line() && self.nesting == 0 {
                self.d.prev_raw();
                break;
            } else if self.d.val_is("}") && self.nesting > 0 {
                self.nesting -= 1;
            } else if self.d.val_is("}") && self.nesting == 0 {
                return Err(self.err("Unexpected '}' because no matching opening brace"));
            } else if self.d.val_is("import") && self.d.is_new_line() {
                self.do_import()?;
                self.d.prev_raw();
                continue;
            }
            segment.extend(self.d.current());
        }
        self.block.segments.push(segment);
        if self.nesting > 0 {
            return Err(self.err("Unexpected EOF"));
        }
        Ok(())
    }

    /// parse.go `doImport`, minus the splicing: the import line's tokens are removed and the
    /// cursor is left where the first imported token would be.
    fn do_import(&mut self) -> Result<(), ParseError> {
        let Some(import) = self.d.current() else {
            return Ok(());
        };
        let start = self.d.cursor;
        if !self.d.next_arg() {
            return Err(self.err("Wrong argument count or unexpected line ending after 'import'"));
        }
        let pattern_tok = self.d.current().unwrap_or(import);
        let pattern = self.d.val().to_vec();
        if pattern.is_empty() {
            return Err(self.err("Import requires a non-empty filepath"));
        }
        let args = self.d.remaining_args();
        let snippet = self.snippets.get(&pattern).cloned();
        if snippet.is_none() && glob_is_too_wide(&pattern) {
            return Err(self.err(format!(
                "Glob pattern may only contain one wildcard (*), but has others: {}",
                String::from_utf8_lossy(&pattern)
            )));
        }
        if let Some(body) = &snippet {
            let from = self.owner.get(&import).cloned().unwrap_or_default();
            if self.reaches(&pattern, &from) {
                return Err(self.err(format!(
                    "a cycle of imports exists between {} and {}",
                    node_name(&from),
                    node_name(&pattern)
                )));
            }
            self.edges.entry(from).or_default().insert(pattern.clone());
            let end = self.d.cursor as usize;
            if self.d.list.len() + body.len() > MAX_TOKENS {
                return Err(self.err(format!(
                    "the imports expand this file to more than {MAX_TOKENS} tokens"
                )));
            }
            self.d
                .list
                .splice(start as usize..=end, body.iter().copied());
        } else {
            let end = self.d.cursor as usize;
            self.d.list.drain(start as usize..=end);
        }
        self.out.imports.push(ImportLine {
            import,
            pattern: pattern_tok,
            args,
            snippet: snippet.is_some(),
        });
        self.d.cursor = start;
        Ok(())
    }

    /// Does the import graph lead from `from` to `to` (importgraph.go `willCycle`)?
    fn reaches(&self, from: &[u8], to: &[u8]) -> bool {
        let mut stack = vec![from.to_vec()];
        let mut seen = HashSet::new();
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node.clone()) {
                stack.extend(self.edges.get(&node).into_iter().flatten().cloned());
            }
        }
        false
    }

    /// parse.go `snippetTokens`: the tokens between the snippet's braces.
    fn snippet_tokens(&mut self) -> Result<Vec<usize>, ParseError> {
        if !self.d.val_is("{") {
            return Err(self.err(format!(
                "Syntax error: Unexpected token '{}', expecting '{{'",
                String::from_utf8_lossy(self.d.val())
            )));
        }
        let mut nesting = 1;
        let mut body = Vec::new();
        while self.d.next() {
            if self.d.val_is("}") {
                nesting -= 1;
                if nesting == 0 {
                    break;
                }
            }
            if self.d.val_is("{") {
                nesting += 1;
            }
            body.extend(self.d.current());
        }
        if nesting != 0 {
            return Err(self.err(format!(
                "Syntax error: Unexpected token '{}', expecting '}}'",
                String::from_utf8_lossy(self.d.val())
            )));
        }
        Ok(body)
    }
}

fn node_name(snippet: &[u8]) -> String {
    if snippet.is_empty() {
        "Caddyfile".into()
    } else {
        format!("Caddyfile:{}", String::from_utf8_lossy(snippet))
    }
}

/// Snippets that import each other can grow a file exponentially (Caddy would too); past
/// this many tokens the file is refused rather than expanded.
const MAX_TOKENS: usize = 200_000;

/// parse.go refuses import globs with more than one `*` or `?`, or with a `[...]` class
/// (issue #2096: such globs could hang).
fn glob_is_too_wide(pattern: &[u8]) -> bool {
    let count = |c: u8| pattern.iter().filter(|&&b| b == c).count();
    count(b'*') > 1 || count(b'?') > 1 || (pattern.contains(&b'[') && pattern.contains(&b']'))
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    type Shape = Vec<(BlockKind, Vec<String>, Vec<String>)>;

    fn shape(src: &str) -> Result<Shape, String> {
        let l = lex(src.as_bytes());
        let t = |i: &usize| l.tokens[*i].text_lossy();
        parse(&l.tokens)
            .map(|p| {
                p.blocks
                    .iter()
                    .map(|b| {
                        (
                            b.kind.clone(),
                            b.keys.iter().map(t).collect(),
                            b.segments
                                .iter()
                                .map(|s| s.iter().map(t).collect::<Vec<_>>().join(" "))
                                .collect(),
                        )
                    })
                    .collect()
            })
            .map_err(|e| e.message)
    }

    #[test]
    fn sites_snippets_and_global_options() {
        let got = shape("{\n\tadmin off\n}\n(s) {\n\theader a b\n}\na.com, b.com {\n\timport s\n\troute {\n\t\trespond x\n\t}\n}\n").unwrap();
        assert_eq!(got[0].0, BlockKind::Global);
        assert_eq!(got[1].0, BlockKind::Snippet("s".into()));
        assert_eq!(got[1].2, vec!["header a b"]);
        assert_eq!(got[2].1, vec!["a.com,", "b.com"]);
        assert_eq!(
            got[2].2,
            vec!["header a b", "route { respond x }"],
            "the snippet is spliced where it is imported"
        );
    }

    #[test]
    fn import_cycles_are_refused() {
        assert!(
            shape("(a) {\n\timport b\n}\n(b) {\n\timport a\n}\n:80 {\n\timport a\n}\n")
                .unwrap_err()
                .contains("cycle")
        );
        assert!(shape("(a) {\n\timport a\n}\n:80 {\n\timport a\n}\n")
            .unwrap_err()
            .contains("cycle"));
    }

    #[test]
    fn quoted_braces_open_blocks_in_2_6() {
        let got = shape(":80 {\n\theader X \"{\"\n\theader Y \"}\"\n}\n").unwrap();
        assert_eq!(got[0].2, vec!["header X { header Y }"]);
    }

    #[test]
    fn refusals_name_the_token() {
        assert_eq!(
            shape(":80 {\n\trespond ok }\n}\n").unwrap_err(),
            "Unexpected '}' because no matching opening brace"
        );
        assert!(shape(":80 {\n\trespond ok\n")
            .unwrap_err()
            .contains("expecting '}'"));
        assert!(shape("example.com{\n}\n")
            .unwrap_err()
            .contains("curly brace"));
        assert!(shape("(s)\nrespond x\n")
            .unwrap_err()
            .contains("expecting '{'"));
        assert!(shape(":80 {\n\timport\n}\n")
            .unwrap_err()
            .contains("import"));
        assert!(shape(":80 {\n\timport a*/b*\n}\n")
            .unwrap_err()
            .contains("Glob"));
    }

    /// The messages and outcomes are caddy adapt 2.6.2's for the same files.
    #[test]
    fn an_unquoted_brace_must_end_its_line() {
        assert!(shape(":80 {\n\theader X { Y y }\n}\n")
            .unwrap_err()
            .contains("after '{' on same line"));
        assert!(shape(":80 {\n\theader X {}\n}\n")
            .unwrap_err()
            .contains("'{}' at end of line"));
        assert!(shape(":80 {\n\theader X {} Z\n}\n").is_ok());
        assert!(shape(":80 {\n\theader X \"{\" Y y\n\t}\n}\n").is_ok());
        assert!(
            shape(":80 { header X x\n}\n").is_ok(),
            "a site's own brace is not checked"
        );
    }

    #[test]
    fn a_stolen_closing_brace_is_accepted_like_caddy_does() {
        assert!(shape(":80 {\n\troute {\n\t\trespond ok\n}\n").is_ok());
    }

    #[test]
    fn fragments_are_read_as_directives() {
        let got = shape("header {\n\tContent-Security-Policy x\n}\n").unwrap();
        assert_eq!(got[0].0, BlockKind::Fragment);
        assert_eq!(got[0].2, vec!["header { Content-Security-Policy x }"]);
        let got = shape("import a.caddy\n@m path /m\nheader @m X x\n").unwrap();
        assert_eq!(got[0].0, BlockKind::Fragment);
        assert_eq!(got[0].2, vec!["@m path /m", "header @m X x"]);
        let got = shape("import a.caddy\nexample.com {\n}\n").unwrap();
        assert_eq!(got[0].0, BlockKind::Site);
    }
}
