//! Caddy's token dispenser (caddyconfig/caddyfile/dispenser.go, v2.6): a cursor over tokens
//! with Caddy's idea of "the same line", which decides what is an argument, a block, or the
//! next directive.

use super::lexer::Token;

/// A cursor over a list of tokens, with Caddy's notion of "the same line": two tokens are on
/// one line when the first one's line plus the line breaks inside it is the second one's line.
#[derive(Debug, Clone)]
pub struct Dispenser<'a> {
    pub(super) toks: &'a [Token],
    /// The dispenser's own token list (indices into `toks`); `delete` edits it.
    pub list: Vec<usize>,
    pub(super) cursor: isize,
    nesting: usize,
}

impl<'a> Dispenser<'a> {
    pub fn new(toks: &'a [Token], list: Vec<usize>) -> Self {
        Dispenser {
            toks,
            list,
            cursor: -1,
            nesting: 0,
        }
    }

    fn tok(&self, i: isize) -> Option<&'a Token> {
        if i < 0 {
            return None;
        }
        self.list.get(i as usize).map(|&t| &self.toks[t])
    }

    /// Index (into the file's tokens) of the current token.
    pub fn current(&self) -> Option<usize> {
        if self.cursor < 0 {
            return None;
        }
        self.list.get(self.cursor as usize).copied()
    }

    pub fn val(&self) -> &'a [u8] {
        self.tok(self.cursor).map_or(&[], |t| t.text.as_slice())
    }

    pub fn val_is(&self, s: &str) -> bool {
        self.val() == s.as_bytes()
    }

    /// dispenser.go `Next` (kept under Go's name so the ports read alike).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        if self.cursor < self.list.len() as isize - 1 {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    pub fn prev(&mut self) -> bool {
        if self.cursor > -1 {
            self.cursor -= 1;
            self.cursor > -1
        } else {
            false
        }
    }

    fn same_line(a: &Token, b: &Token) -> bool {
        a.line + a.line_breaks() == b.line
    }

    /// dispenser.go `nextOnSameLine`: advances when the next token is on this line.
    fn next_on_same_line(&mut self) -> bool {
        if self.cursor < 0 {
            self.cursor += 1;
            return true;
        }
        if self.cursor >= self.list.len() as isize - 1 {
            return false;
        }
        let (Some(curr), Some(next)) = (self.tok(self.cursor), self.tok(self.cursor + 1)) else {
            return false;
        };
        if Self::same_line(curr, next) {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    /// dispenser.go `NextArg`: the next token on this line, unless it is `{`.
    pub fn next_arg(&mut self) -> bool {
        if !self.next_on_same_line() {
            return false;
        }
        if self.val_is("{") {
            self.cursor -= 1;
            return false;
        }
        true
    }

    pub fn remaining_args(&mut self) -> Vec<usize> {
        let mut args = Vec::new();
        while self.next_arg() {
            args.extend(self.current());
        }
        args
    }

    /// dispenser.go `NextBlock`.
    pub fn next_block(&mut self, initial: usize) -> bool {
        if self.nesting > initial {
            if !self.next() {
                return false;
            }
            if self.val_is("}") && !self.next_on_same_line() {
                self.nesting -= 1;
            } else if self.val_is("{") && !self.next_on_same_line() {
                self.nesting += 1;
            }
            return self.nesting > initial;
        }
        if !self.next_on_same_line() {
            return false;
        }
        if !self.val_is("{") {
            self.cursor -= 1;
            return false;
        }
        self.next();
        if self.val_is("}") {
            return false;
        }
        self.nesting += 1;
        true
    }

    pub fn nesting(&self) -> usize {
        self.nesting
    }

    /// dispenser.go `NextSegment`: this token, its arguments, and the block that follows.
    pub fn next_segment(&mut self) -> Vec<usize> {
        let mut tkns: Vec<usize> = self.current().into_iter().collect();
        while self.next_arg() {
            tkns.extend(self.current());
        }
        let mut opened = false;
        let nesting = self.nesting;
        while self.next_block(nesting) {
            if !opened {
                self.prev();
                tkns.extend(self.current());
                self.next();
                opened = true;
            }
            tkns.extend(self.current());
        }
        if opened {
            tkns.extend(self.current());
        }
        tkns
    }

    /// dispenser.go `isNewLine`.
    pub fn is_new_line(&self) -> bool {
        if self.cursor < 1 {
            return true;
        }
        if self.cursor > self.list.len() as isize - 1 {
            return false;
        }
        match (self.tok(self.cursor - 1), self.tok(self.cursor)) {
            (Some(prev), Some(curr)) => prev.line + prev.line_breaks() < curr.line,
            _ => true,
        }
    }

    /// dispenser.go `isNextOnNewLine`: true at the last token.
    pub fn is_next_on_new_line(&self) -> bool {
        if self.cursor < 0 {
            return false;
        }
        match (self.tok(self.cursor), self.tok(self.cursor + 1)) {
            (Some(curr), Some(next)) => curr.line + curr.line_breaks() < next.line,
            _ => true,
        }
    }

    /// The current token was quoted (lexer.go `wasQuoted`; an unterminated quote is not).
    pub fn was_quoted(&self) -> bool {
        self.tok(self.cursor)
            .is_some_and(|t| t.quote != super::lexer::Quote::Bare && !t.unterminated)
    }

    /// dispenser.go `Delete`: drop the current token, stepping back.
    pub fn delete(&mut self) {
        if self.cursor >= 0 && (self.cursor as usize) < self.list.len() {
            self.list.remove(self.cursor as usize);
            self.cursor -= 1;
        }
    }

    pub fn reset(&mut self) {
        self.cursor = -1;
        self.nesting = 0;
    }
}

impl Dispenser<'_> {
    /// `p.cursor--` in parse.go (may go to -1, unlike `Prev`'s return value suggests).
    pub(super) fn prev_raw(&mut self) {
        self.cursor -= 1;
    }
}
