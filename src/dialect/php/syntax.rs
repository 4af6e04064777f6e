//! The significant tokens of a PHP file (no whitespace, comments or inline HTML) with their
//! brackets matched: just enough structure to read calls, arguments and function bodies.

use std::ops::Range;

use super::lexer::{Kind, Token};

pub struct Code<'a> {
    pub src: &'a [u8],
    pub toks: Vec<Token>,
    /// Indices into `toks` of the significant tokens; "positions" below index this.
    pub sig: Vec<usize>,
    /// For a bracket at a position, the position of its partner (if it has one).
    pub partner: Vec<Option<usize>>,
}

impl<'a> Code<'a> {
    pub fn new(src: &'a [u8], toks: Vec<Token>) -> Self {
        let sig: Vec<usize> = (0..toks.len()).filter(|&i| !toks[i].is_trivia()).collect();
        let mut partner = vec![None; sig.len()];
        let mut stack: Vec<(usize, u8)> = Vec::new();
        for (p, &i) in sig.iter().enumerate() {
            let t = &toks[i];
            if t.kind != Kind::Punct {
                continue;
            }
            let close = match t.text(src) {
                b"(" => Some(b')'),
                b"[" | b"#[" => Some(b']'),
                b"{" => Some(b'}'),
                _ => None,
            };
            if let Some(c) = close {
                stack.push((p, c));
                continue;
            }
            let text = t.text(src);
            if text.len() == 1 && matches!(text[0], b')' | b']' | b'}') {
                // Tolerate imbalance (a file php -l would reject): drop unmatched openers.
                if let Some(k) = stack.iter().rposition(|&(_, c)| c == text[0]) {
                    let (open, _) = stack[k];
                    stack.truncate(k);
                    partner[open] = Some(p);
                    partner[p] = Some(open);
                }
            }
        }
        Code {
            src,
            toks,
            sig,
            partner,
        }
    }

    pub fn len(&self) -> usize {
        self.sig.len()
    }

    pub fn tok(&self, p: usize) -> &Token {
        &self.toks[self.sig[p]]
    }

    pub fn is(&self, p: usize, punct: &str) -> bool {
        p < self.sig.len() && self.tok(p).is(self.src, punct)
    }

    pub fn is_name(&self, p: usize, name: &str) -> bool {
        p < self.sig.len() && self.tok(p).is_name(self.src, name)
    }

    /// `;` or `?>` (which acts as `;`).
    pub fn is_statement_end(&self, p: usize) -> bool {
        self.is(p, ";") || (p < self.sig.len() && self.tok(p).kind == Kind::CloseTag)
    }

    /// File bytes of the positions `range` (non-empty).
    pub fn bytes(&self, range: Range<usize>) -> Range<usize> {
        self.tok(range.start).span.start..self.tok(range.end - 1).span.end
    }

    /// The end (exclusive) of the expression that starts at token `start`, stopping before
    /// `limit`: the first top-level `,`, `;`, `?>` or closing bracket of an enclosing construct
    /// (bracketed groups inside it are skipped whole).
    pub fn expression_end(&self, start: usize, limit: usize) -> usize {
        let mut r = start;
        while r < limit {
            if let Some(c) = self.close_of(r) {
                r = c + 1;
                continue;
            }
            let t = self.tok(r).text(self.src);
            if self.is_statement_end(r) || matches!(t, b"," | b")" | b"]" | b"}") {
                break;
            }
            r += 1;
        }
        r
    }

    /// Where the bracket at `p` closes, if `p` opens one.
    pub fn close_of(&self, p: usize) -> Option<usize> {
        self.partner[p].filter(|&q| q > p)
    }

    /// Split `range` at top-level (not bracketed) tokens for which `is_sep` holds.
    pub fn split_top(
        &self,
        range: Range<usize>,
        is_sep: impl Fn(usize) -> bool,
    ) -> Vec<Range<usize>> {
        let mut parts = Vec::new();
        let mut start = range.start;
        let mut p = range.start;
        while p < range.end {
            if let Some(q) = self.close_of(p).filter(|&q| q < range.end) {
                p = q + 1;
                continue;
            }
            if is_sep(p) {
                parts.push(start..p);
                start = p + 1;
            }
            p += 1;
        }
        parts.push(start..range.end);
        parts
    }

    /// Top-level positions of `range` (brackets skipped as a whole).
    pub fn top(&self, range: Range<usize>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut p = range.start;
        while p < range.end {
            out.push(p);
            p = match self.close_of(p) {
                Some(q) if q < range.end => q + 1,
                _ => p + 1,
            };
        }
        out
    }

    /// The arguments of the call whose `(` is at `open`: position ranges, and for each a named
    /// argument's label (`replace: false`).
    pub fn arguments(&self, open: usize) -> Vec<(Option<String>, Range<usize>)> {
        let Some(close) = self.close_of(open) else {
            return Vec::new();
        };
        if close == open + 1 {
            return Vec::new();
        }
        self.split_top(open + 1..close, |p| self.is(p, ","))
            .into_iter()
            .filter(|r| !r.is_empty())
            .map(|r| {
                let named = r.len() > 2
                    && self.tok(r.start).kind == Kind::Name
                    && self.is(r.start + 1, ":");
                if named {
                    let label = String::from_utf8_lossy(self.tok(r.start).text(self.src));
                    (Some(label.to_ascii_lowercase()), r.start + 2..r.end)
                } else {
                    (None, r)
                }
            })
            .collect()
    }
}
