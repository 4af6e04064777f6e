//! String literals in PHP code: `b?[\']`, `b?["]`, backticks (`ST_DOUBLE_QUOTES`,
//! `ST_BACKQUOTE`), heredoc/nowdoc (`ST_HEREDOC`, `ST_NOWDOC`, `ST_END_HEREDOC`) and the
//! interpolations inside them (`ST_VAR_OFFSET`, `ST_LOOKING_FOR_PROPERTY`, `{$`, `${`).

use std::ops::Range;

use super::{is_label_char, is_label_start, Kind, LexError, Lexer, Part, Quote, StrLit};

impl Lexer<'_> {
    /// `b?[']`: only `\'` and `\\` are escapes; a backslash skips the next byte.
    pub(super) fn single(&mut self, start: usize, quote: usize) -> Result<(), LexError> {
        let mut i = quote + 1;
        loop {
            if i >= self.end {
                return Err(self.err(start, "unterminated single-quoted string"));
            }
            match self.src[i] {
                b'\'' => break,
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        let content = quote + 1..i;
        let lit = StrLit {
            quote: Quote::Single,
            parts: vec![Part::Text(content.clone())],
            content,
            indent: 0,
        };
        self.push(Kind::Str(Box::new(lit)), start);
        Ok(())
    }

    pub(super) fn double(&mut self, start: usize, quote: usize) -> Result<(), LexError> {
        let (parts, close) = self.interpolated(quote + 1, Some(b'"'), None)?;
        self.pos = close + 1;
        let lit = StrLit {
            quote: Quote::Double,
            content: quote + 1..close,
            parts,
            indent: 0,
        };
        self.push(Kind::Str(Box::new(lit)), start);
        Ok(())
    }

    pub(super) fn backtick(&mut self, start: usize) -> Result<(), LexError> {
        let (parts, close) = self.interpolated(start + 1, Some(b'`'), None)?;
        self.pos = close + 1;
        let lit = StrLit {
            quote: Quote::Backtick,
            content: start + 1..close,
            parts,
            indent: 0,
        };
        self.push(Kind::Str(Box::new(lit)), start);
        Ok(())
    }

    /// `"<<<"{TABS_AND_SPACES}({LABEL}|'{LABEL}'|"{LABEL}"){NEWLINE}` at `i`: returns the
    /// label's range, whether it is a nowdoc, and where the body starts.
    pub(super) fn heredoc_header(&self, i: usize) -> Option<(Range<usize>, bool, usize)> {
        if !self.starts_with(i, b"<<<") {
            return None;
        }
        let mut j = i + 3;
        while matches!(self.at(j), b' ' | b'\t') && j < self.end {
            j += 1;
        }
        let quote = self.at(j);
        let quoted = quote == b'\'' || quote == b'"';
        if quoted {
            j += 1;
        }
        if !is_label_start(self.at(j)) || j >= self.end {
            return None;
        }
        let label_start = j;
        while j < self.end && is_label_char(self.src[j]) {
            j += 1;
        }
        let label = label_start..j;
        if quoted {
            if self.at(j) != quote {
                return None;
            }
            j += 1;
        }
        let body = match self.at(j) {
            b'\n' if j < self.end => j + 1,
            b'\r' if j < self.end => j + if self.at(j + 1) == b'\n' { 2 } else { 1 },
            _ => return None,
        };
        Some((label, quote == b'\'', body))
    }

    /// `ST_HEREDOC` / `ST_NOWDOC`: the body ends before the newline that precedes a line made
    /// of indentation and the label not followed by a label character (PHP 7.3 rules).
    pub(super) fn heredoc(&mut self, start: usize, at: usize) -> Result<(), LexError> {
        let Some((label, nowdoc, body)) = self.heredoc_header(at) else {
            return Err(self.err(start, "malformed heredoc"));
        };
        let label = self.src[label].to_vec();
        let closes_at = |lx: &Self, line: usize| -> Option<usize> {
            let mut k = line;
            while matches!(lx.at(k), b' ' | b'\t') && k < lx.end {
                k += 1;
            }
            (lx.starts_with(k, &label) && !is_label_char(lx.at(k + label.len())))
                .then_some(k - line)
        };
        // An empty body: the label is on the very next line.
        if let Some(indent) = closes_at(self, body) {
            self.pos = body + indent + label.len();
            let lit = StrLit {
                quote: if nowdoc {
                    Quote::Nowdoc
                } else {
                    Quote::Heredoc
                },
                content: body..body,
                parts: Vec::new(),
                indent,
            };
            self.push(Kind::Str(Box::new(lit)), start);
            return Ok(());
        }
        let end_label = |lx: &Self, i: usize| -> Option<(usize, usize, usize)> {
            // At a newline `i`: (content end, line start, indentation) if the label follows.
            let line = match lx.src[i] {
                b'\r' if lx.at(i + 1) == b'\n' => i + 2,
                _ => i + 1,
            };
            closes_at(lx, line).map(|indent| (i, line, indent))
        };
        let (parts, content_end, close_end, indent) = if nowdoc {
            let mut i = body;
            loop {
                if i >= self.end {
                    return Err(self.err(start, "unterminated nowdoc"));
                }
                if matches!(self.src[i], b'\n' | b'\r') {
                    if let Some((end, line, indent)) = end_label(self, i) {
                        break (
                            vec![Part::Text(body..end)],
                            end,
                            line + indent + label.len(),
                            indent,
                        );
                    }
                }
                i += 1;
            }
        } else {
            let mut found = None;
            let (parts, _) = self.interpolated(
                body,
                None,
                Some(&mut |lx: &Self, i: usize| {
                    let hit = end_label(lx, i);
                    if hit.is_some() {
                        found = hit;
                    }
                    hit.is_some()
                }),
            )?;
            let Some((end, line, indent)) = found else {
                return Err(self.err(start, "unterminated heredoc"));
            };
            (parts, end, line + indent + label.len(), indent)
        };
        self.pos = close_end;
        let lit = StrLit {
            quote: if nowdoc {
                Quote::Nowdoc
            } else {
                Quote::Heredoc
            },
            content: body..content_end,
            parts,
            indent,
        };
        self.push(Kind::Str(Box::new(lit)), start);
        Ok(())
    }

    /// Scan double-quoted, backtick or heredoc content from `from`: returns its parts and the
    /// offset of the closing quote (or of the newline before a heredoc's closing label).
    #[allow(clippy::type_complexity)]
    fn interpolated(
        &mut self,
        from: usize,
        quote: Option<u8>,
        mut heredoc_end: Option<&mut dyn FnMut(&Self, usize) -> bool>,
    ) -> Result<(Vec<Part>, usize), LexError> {
        let mut parts = Vec::new();
        let mut text_start = from;
        let mut i = from;
        let flush = |parts: &mut Vec<Part>, a: usize, b: usize| {
            if b > a {
                parts.push(Part::Text(a..b));
            }
        };
        loop {
            if i >= self.end {
                let what = if quote.is_some() {
                    "unterminated string"
                } else {
                    "unterminated heredoc"
                };
                return Err(self.err(from.saturating_sub(1), what));
            }
            let c = self.src[i];
            if Some(c) == quote {
                flush(&mut parts, text_start, i);
                return Ok((parts, i));
            }
            match c {
                b'\n' | b'\r' if quote.is_none() => {
                    if let Some(f) = heredoc_end.as_deref_mut() {
                        if f(self, i) {
                            flush(&mut parts, text_start, i);
                            return Ok((parts, i));
                        }
                    }
                    i += 1;
                }
                // In a heredoc a backslash does not hide a newline (the label check needs it).
                b'\\' if quote.is_none() && matches!(self.at(i + 1), b'\n' | b'\r') => i += 1,
                b'\\' => i += 2,
                b'$' if is_label_start(self.at(i + 1)) => {
                    flush(&mut parts, text_start, i);
                    let end = self.simple_interpolation(i);
                    parts.push(Part::Interp(i..end));
                    i = end;
                    text_start = i;
                }
                b'$' if self.at(i + 1) == b'{' => {
                    flush(&mut parts, text_start, i);
                    let end = self.nested_code(i + 2)?;
                    parts.push(Part::Interp(i..end));
                    i = end;
                    text_start = i;
                }
                b'{' if self.at(i + 1) == b'$' => {
                    flush(&mut parts, text_start, i);
                    let end = self.nested_code(i + 1)?;
                    parts.push(Part::Interp(i..end));
                    i = end;
                    text_start = i;
                }
                _ => i += 1,
            }
        }
    }

    /// `"$"{LABEL}` with an optional `[offset]` (`ST_VAR_OFFSET`) or `->prop`/`?->prop`
    /// (`ST_LOOKING_FOR_PROPERTY`, only when a label character follows).
    fn simple_interpolation(&self, dollar: usize) -> usize {
        let mut i = dollar + 1;
        while i < self.end && is_label_char(self.src[i]) {
            i += 1;
        }
        if self.at(i) == b'[' {
            let mut j = i + 1;
            while j < self.end && (is_label_char(self.src[j]) || matches!(self.src[j], b'$' | b'-'))
            {
                j += 1;
            }
            if self.at(j) == b']' {
                return j + 1;
            }
            // PHP reports a parse error here; keep what was recognised.
            return j.min(self.end);
        }
        for arrow in [&b"->"[..], &b"?->"[..]] {
            if self.starts_with(i, arrow) && is_label_start(self.at(i + arrow.len())) {
                let mut j = i + arrow.len();
                while j < self.end && is_label_char(self.src[j]) {
                    j += 1;
                }
                return j;
            }
        }
        i
    }

    /// Code inside `{$ ... }` or `${ ... }` from `from`, up to and including the matching `}`.
    /// Its tokens are not kept: the whole interpolation is one opaque part.
    fn nested_code(&mut self, from: usize) -> Result<usize, LexError> {
        let (saved_pos, mark) = (self.pos, self.tokens.len());
        self.pos = from;
        self.code(true)?;
        let end = self.pos;
        self.tokens.truncate(mark);
        self.pos = saved_pos;
        Ok(end)
    }
}
