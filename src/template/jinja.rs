//! Jinja2 tags, as Jinja2's lexer (`jinja2/lexer.py`, default delimiters) finds them:
//!
//! - the root state looks for the first `{%`, `{{` or `{#`; a `{% raw %}` (whitespace
//!   control allowed: `{%- raw -%}`) makes everything up to `{% endraw %}` plain text;
//! - a comment `{# ... #}` ends at the first `#}` (no strings inside);
//! - a statement `{% ... %}` or expression `{{ ... }}` ends at the first `%}` / `}}` outside
//!   string literals (`'...'`, `"..."`, backslash escapes) and with every `(`, `[`, `{` it
//!   opened closed again (lexer.py's `balancing_stack`);
//! - `-` after the opening delimiter strips the white space before the tag, `-` before the
//!   closing one the white space after it; `+` turns off `lstrip_blocks` / `trim_blocks`
//!   for that tag (both are off by default).
//!
//! Line statements and line comments (`line_statement_prefix`) are off by default and not
//! read.

use super::tags::{space_after, space_before, trimmed, LexError, Tag, TagKind};

pub fn lex(src: &[u8]) -> Result<Vec<Tag>, LexError> {
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(p) = next_open(src, i) {
        if let Some(end) = raw_tag(src, p, b"raw") {
            tags.push(tag(src, p, end, TagKind::Statement));
            let close = find_endraw(src, end).ok_or_else(|| LexError {
                offset: p,
                message: "`{% raw %}` without `{% endraw %}`".into(),
            })?;
            tags.push(tag(src, close.0, close.1, TagKind::Statement));
            i = close.1;
            continue;
        }
        let end = match src[p + 1] {
            b'#' => comment_end(src, p)?,
            b'%' => code_end(src, p, b'%')?,
            _ => code_end(src, p, b'}')?,
        };
        let kind = match src[p + 1] {
            b'#' => TagKind::Comment,
            b'%' => TagKind::Statement,
            _ => TagKind::Expression,
        };
        tags.push(tag(src, p, end, kind));
        i = end;
    }
    Ok(tags)
}

fn next_open(src: &[u8], from: usize) -> Option<usize> {
    (from..src.len().saturating_sub(1))
        .find(|&k| src[k] == b'{' && matches!(src[k + 1], b'{' | b'%' | b'#'))
}

fn tag(src: &[u8], start: usize, end: usize, kind: TagKind) -> Tag {
    let trims_left = src.get(start + 2) == Some(&b'-');
    let trims_right = end >= 3 && src[end - 3] == b'-';
    let code_start = start + 2 + usize::from(matches!(src.get(start + 2), Some(b'-' | b'+')));
    let code_end = end - 2 - usize::from(end >= 3 && matches!(src[end - 3], b'-' | b'+'));
    Tag {
        range: start..end,
        effective: (if trims_left {
            space_before(src, start)
        } else {
            start
        })..(if trims_right {
            space_after(src, end)
        } else {
            end
        }),
        kind,
        code: trimmed(src, code_start..code_end.max(code_start)),
        trims_left,
        trims_right,
    }
}

/// `{%[-+]?\s*NAME\s*[-+]?%}` at `p`: its end.
fn raw_tag(src: &[u8], p: usize, name: &[u8]) -> Option<usize> {
    if !src[p..].starts_with(b"{%") {
        return None;
    }
    let mut k = p + 2;
    if matches!(src.get(k), Some(b'-' | b'+')) {
        k += 1;
    }
    k = space_after(src, k);
    if !src[k..].starts_with(name) {
        return None;
    }
    k = space_after(src, k + name.len());
    if matches!(src.get(k), Some(b'-' | b'+')) {
        k += 1;
    }
    src[k..].starts_with(b"%}").then_some(k + 2)
}

fn find_endraw(src: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut k = from;
    while let Some(p) = (k..src.len().saturating_sub(1)).find(|&q| src[q..].starts_with(b"{%")) {
        if let Some(end) = raw_tag(src, p, b"endraw") {
            return Some((p, end));
        }
        k = p + 2;
    }
    None
}

fn comment_end(src: &[u8], p: usize) -> Result<usize, LexError> {
    (p + 2..src.len().saturating_sub(1))
        .find(|&k| src[k..].starts_with(b"#}"))
        .map(|k| k + 2)
        .ok_or_else(|| LexError {
            offset: p,
            message: "missing end of comment tag `#}`".into(),
        })
}

/// The end of a statement (`close` = `%`) or expression (`close` = `}`) opened at `p`.
fn code_end(src: &[u8], p: usize, close: u8) -> Result<usize, LexError> {
    let opener = if close == b'%' { "{%" } else { "{{" };
    let mut stack: Vec<u8> = Vec::new();
    let mut k = p + 2;
    while k < src.len() {
        let b = src[k];
        if stack.is_empty() && b == close && src.get(k + 1) == Some(&b'}') {
            return Ok(k + 2);
        }
        match b {
            b'\'' | b'"' => {
                k = string_end(src, k).ok_or_else(|| LexError {
                    offset: k,
                    message: format!("unterminated string in `{opener}` tag"),
                })?;
                continue;
            }
            b'(' => stack.push(b')'),
            b'[' => stack.push(b']'),
            b'{' => stack.push(b'}'),
            b')' | b']' | b'}' if stack.pop() != Some(b) => {
                return Err(LexError {
                    offset: k,
                    message: format!("unexpected `{}` in `{opener}` tag", b as char),
                });
            }
            _ => {}
        }
        k += 1;
    }
    Err(LexError {
        offset: p,
        message: format!(
            "`{opener}` is never closed (expected `{}`)",
            if close == b'%' { "%}" } else { "}}" }
        ),
    })
}

/// The end of the string literal whose quote is at `q` (lexer.py's `string_re`, which
/// spans lines).
fn string_end(src: &[u8], q: usize) -> Option<usize> {
    let quote = src[q];
    let mut k = q + 1;
    while k < src.len() {
        match src[k] {
            b'\\' => k += 2,
            b if b == quote => return Some(k + 1),
            _ => k += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        lex(src.as_bytes())
            .unwrap()
            .iter()
            .map(|t| src[t.range.clone()].to_string())
            .collect()
    }

    #[test]
    fn finds_each_kind_of_tag() {
        let src = "a {{ x }} b {% if y %}c{% endif %} {# note #}";
        assert_eq!(
            texts(src),
            ["{{ x }}", "{% if y %}", "{% endif %}", "{# note #}"]
        );
        let tags = lex(src.as_bytes()).unwrap();
        assert_eq!(tags[0].kind, TagKind::Expression);
        assert_eq!(tags[1].kind, TagKind::Statement);
        assert_eq!(tags[3].kind, TagKind::Comment);
        assert_eq!(&src[tags[1].code.clone()], "if y");
    }

    #[test]
    fn closers_inside_strings_and_brackets_do_not_end_a_tag() {
        let src = r#"{{ "}}" ~ x }} {% set d = {'a': {'b': 1}} %} {{ '\'}}' }}"#;
        assert_eq!(
            texts(src),
            [
                r#"{{ "}}" ~ x }}"#,
                "{% set d = {'a': {'b': 1}} %}",
                r"{{ '\'}}' }}"
            ]
        );
    }

    #[test]
    fn raw_blocks_are_text() {
        let src = "{% raw %}{{ not_a_tag }}{%- endraw -%} {{ y }}";
        assert_eq!(texts(src), ["{% raw %}", "{%- endraw -%}", "{{ y }}"]);
    }

    #[test]
    fn whitespace_control_widens_the_tag() {
        let src = "a  \n  {%- if x -%}  \n b";
        let t = &lex(src.as_bytes()).unwrap()[0];
        assert!(t.trims_left && t.trims_right);
        assert_eq!(t.effective, 1..src.len() - 1);
    }

    #[test]
    fn unclosed_tags_are_errors() {
        assert!(lex(b"{{ x ").is_err());
        assert!(lex(b"{# x ").is_err());
        assert!(lex(b"{% raw %} x").is_err());
        assert!(lex(b"{{ 'x }}").is_err());
        assert!(lex(b"{{ x) }}").is_err());
    }
}
