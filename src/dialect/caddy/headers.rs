//! What Caddy 2.6 does with a `header` directive (and a reverse proxy's `header_down`).
//!
//! A port of `parseCaddyfile` and `applyHeaderOp` in modules/caddyhttp/headers/caddyfile.go
//! (v2.6.2), checked against `caddy adapt` of that version
//! (tests/dialects/caddy_adapt_fuzz.rs). Its surprises matter for a CSP:
//!
//! - `header Content-Security-Policy default-src 'self'` has three arguments, so it is a
//!   *replacement* (search `default-src`, replace with `'self'`), not a set: no policy is sent;
//! - arguments after the third start over as if they were a new `header` line
//!   (`header A a b c d e` also sets `D: e`); in a block, the fourth word of a line becomes a
//!   header name of its own;
//! - `+Field value extra` adds `value` and ignores `extra`; so does `?Field`;
//! - the `>` (defer) prefix arrived in Caddy 2.7: 2.6 sets a header literally named
//!   `>Content-Security-Policy`, which Go's HTTP server never sends;
//! - a trailing colon is trimmed from a field name in a block, not on the directive line.

use super::dispenser::Dispenser;
use super::lexer::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum OpKind {
    /// Replace any existing value (`Field value`).
    Set,
    /// Append a value (`+Field value`).
    Add,
    /// Set only if the response has no such field (`?Field value`).
    Default,
    /// `-Field`.
    Delete,
    /// `Field search replacement`: a regular-expression replacement in an existing value.
    Replace,
}

/// One header operation, with the tokens it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderOp {
    pub kind: OpKind,
    /// The field token as written (`+Content-Security-Policy`).
    pub field: usize,
    /// The field name Caddy uses: prefix removed, and in a block a trailing `:` trimmed.
    pub name: Vec<u8>,
    pub value: Option<usize>,
    pub replacement: Option<usize>,
    /// Inside `header { ... }` rather than on the directive line.
    pub in_block: bool,
}

/// A `header` directive as Caddy reads it.
#[derive(Debug, Clone, Default)]
pub struct HeaderDirective {
    /// The matcher token (`*`, `/path`, `@name`), if any.
    pub matcher: Option<usize>,
    pub ops: Vec<HeaderOp>,
    /// What Caddy refuses in this directive (the token it names, its message).
    pub error: Option<(usize, String)>,
    /// `defer` in the block: the operations wait until the response is written (after a
    /// `reverse_proxy` upstream answered). A deletion defers them too.
    pub deferred: bool,
}

/// Read a `header` segment (its first token is `header`).
pub fn parse_header(toks: &[Token], segment: &[usize]) -> HeaderDirective {
    let mut out = HeaderDirective::default();
    let mut d = Dispenser::new(toks, segment.to_vec());
    // httpcaddyfile Helper.ExtractMatcherSet: a first argument that is `*`, starts with `/`
    // or with `@` is the matcher; it is deleted and the dispenser starts over.
    d.next();
    if d.next_arg() {
        let v = d.val();
        if v == b"*" || v.starts_with(b"/") || v.starts_with(b"@") {
            out.matcher = d.current();
            d.delete();
        }
    }
    d.reset();

    while d.next() {
        let mut has_args = false;
        if d.next_arg() {
            has_args = true;
            let field = d.current();
            let value = d.next_arg().then(|| d.current()).flatten();
            let replacement = d.next_arg().then(|| d.current()).flatten();
            if let Some(field) = field {
                out.ops.push(op(toks, field, value, replacement, false));
            }
        }
        while d.next_block(0) {
            if d.val_is("defer") {
                out.deferred = true;
                continue;
            }
            let Some(field) = d.current() else { break };
            if has_args {
                out.error.get_or_insert((
                    field,
                    "cannot specify headers in both arguments and block".into(),
                ));
                return out;
            }
            let value = d.next_arg().then(|| d.current()).flatten();
            let replacement = d.next_arg().then(|| d.current()).flatten();
            out.ops.push(op(toks, field, value, replacement, true));
        }
    }
    out
}

/// Read a `header_down` line of a `reverse_proxy` (or `php_fastcgi`) block: 1 to 3 arguments,
/// the same operations, without the `?` form (reverseproxy/caddyfile.go, v2.6.2).
pub fn parse_header_down(toks: &[Token], line: &[usize]) -> HeaderDirective {
    let mut out = HeaderDirective::default();
    let mut d = Dispenser::new(toks, line.to_vec());
    d.next();
    let args = d.remaining_args();
    let head = line.first().copied().unwrap_or(0);
    match args.as_slice() {
        [field, rest @ ..] if rest.len() <= 2 => {
            let o = op(
                toks,
                *field,
                rest.first().copied(),
                rest.get(1).copied(),
                false,
            );
            if o.kind == OpKind::Default {
                out.error = Some((
                    *field,
                    "the default header modifier ('?') can only be used on response headers".into(),
                ));
            } else {
                out.ops.push(o);
            }
        }
        _ => {
            out.error = Some((
                head,
                "Wrong argument count or unexpected line ending after 'header_down'".into(),
            ));
        }
    }
    out
}

/// caddyfile.go `applyHeaderOp`: the prefix decides, then whether a replacement is given.
fn op(
    toks: &[Token],
    field: usize,
    value: Option<usize>,
    replacement: Option<usize>,
    in_block: bool,
) -> HeaderOp {
    let text = &toks[field].text;
    let text = if in_block {
        text.strip_suffix(b":").unwrap_or(text)
    } else {
        text
    };
    let has_replacement = replacement.is_some_and(|r| !toks[r].text.is_empty());
    let (kind, name) = match text.first() {
        Some(b'+') => (OpKind::Add, &text[1..]),
        Some(b'-') => (OpKind::Delete, &text[1..]),
        Some(b'?') => (OpKind::Default, &text[1..]),
        _ if !has_replacement => (OpKind::Set, text),
        _ => (OpKind::Replace, text),
    };
    HeaderOp {
        kind,
        field,
        name: name.to_vec(),
        value,
        replacement,
        in_block,
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::structure::parse;
    use super::*;

    /// (kind, name, value, replacement) of every op in the first site's header directives.
    fn ops(src: &str) -> Vec<(OpKind, String, String, String)> {
        let l = lex(src.as_bytes());
        let p = parse(&l.tokens).unwrap();
        let t = |i: Option<usize>| i.map(|i| l.tokens[i].text_lossy()).unwrap_or_default();
        p.blocks[0]
            .segments
            .iter()
            .filter(|s| l.tokens[s[0]].is("header"))
            .flat_map(|s| parse_header(&l.tokens, s).ops)
            .map(|o| {
                (
                    o.kind,
                    String::from_utf8_lossy(&o.name).into_owned(),
                    t(o.value),
                    t(o.replacement),
                )
            })
            .collect()
    }

    fn o(k: OpKind, n: &str, v: &str, r: &str) -> (OpKind, String, String, String) {
        (k, n.into(), v.into(), r.into())
    }

    // Expected values below are what `caddy adapt` 2.6.2 printed for the same lines.
    #[test]
    fn unquoted_words_make_a_replacement_and_more_operations() {
        assert_eq!(
            ops(":80 {\n\theader A1 a b c d e\n}\n"),
            vec![
                o(OpKind::Replace, "A1", "a", "b"),
                o(OpKind::Set, "d", "e", "")
            ]
        );
    }

    #[test]
    fn block_lines_with_a_fourth_word_start_a_new_field() {
        assert_eq!(
            ops(":80 {\n\theader {\n\t\tB1 v1 v2 v3 v4\n\t\tB2: colon\n\t\tdefer\n\t}\n}\n"),
            vec![
                o(OpKind::Replace, "B1", "v1", "v2"),
                o(OpKind::Set, "v3", "v4", ""),
                o(OpKind::Set, "B2", "colon", ""),
            ]
        );
    }

    #[test]
    fn prefixes_ignore_a_third_word() {
        assert_eq!(
            ops(":80 {\n\theader +F a b\n\theader ?G a b\n\theader >H a\n\theader -I\n}\n"),
            vec![
                o(OpKind::Add, "F", "a", "b"),
                o(OpKind::Default, "G", "a", "b"),
                o(OpKind::Set, ">H", "a", ""),
                o(OpKind::Delete, "I", "", ""),
            ]
        );
    }

    #[test]
    fn matchers_are_not_fields() {
        assert_eq!(
            ops(":80 {\n\theader /p* C1 c\n\theader @m {\n\t\tC2 c2\n\t}\n\theader * C3 c3\n}\n"),
            vec![
                o(OpKind::Set, "C1", "c", ""),
                o(OpKind::Set, "C2", "c2", ""),
                o(OpKind::Set, "C3", "c3", ""),
            ]
        );
    }

    #[test]
    fn both_arguments_and_block_is_refused() {
        let l = lex(b":80 {\n\theader X a {\n\t\tY b\n\t}\n}\n");
        let p = parse(&l.tokens).unwrap();
        let h = parse_header(&l.tokens, &p.blocks[0].segments[0]);
        assert!(h.error.unwrap().1.contains("both arguments and block"));
    }
}
