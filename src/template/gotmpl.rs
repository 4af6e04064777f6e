//! Go `text/template` actions (Helm, consul-template, gotpl, nginx-ui), as
//! `text/template/parse/lex.go` finds them with the default delimiters:
//!
//! - text runs to the next `{{`; `{{- ` (a dash and white space) strips the white space
//!   before the action, ` -}}` the white space after it (`hasLeftTrimMarker`,
//!   `hasRightTrimMarker`; `{{-3}}` is the number -3, not a trim);
//! - a comment `/* ... */` must follow the opening delimiter (or its trim marker) directly and
//!   be followed by the closing one: "comment ends before closing delimiter" otherwise;
//! - inside an action the closing delimiter counts only between items: never inside a
//!   quoted string (`"..."` with escapes, which cannot span lines), a raw string (`` `...` ``)
//!   or a character constant (`'x'`).
//!
//! nginx-ui's templates (`template/block/*.conf`) start with a TOML header between the lines
//! `# Nginx UI Template Start` and `# Nginx UI Template End`, which nginx-ui removes before
//! rendering the rest with text/template: the header is read as one comment.

use super::tags::{is_space, space_after, space_before, trimmed, LexError, Tag, TagKind};

pub const NGINX_UI_START: &str = "# Nginx UI Template Start";
pub const NGINX_UI_END: &str = "# Nginx UI Template End";

pub fn lex(src: &[u8]) -> Result<Vec<Tag>, LexError> {
    let mut tags = Vec::new();
    let mut i = 0;
    if let Some(header) = nginx_ui_header(src) {
        i = header.end;
        tags.push(Tag {
            range: header.clone(),
            effective: header.clone(),
            kind: TagKind::Comment,
            code: header,
            trims_left: false,
            trims_right: false,
        });
    }
    while let Some(p) = (i..src.len().saturating_sub(1)).find(|&k| src[k..].starts_with(b"{{")) {
        let t = action(src, p)?;
        i = t.range.end;
        tags.push(t);
    }
    Ok(tags)
}

/// The lines from `# Nginx UI Template Start` to `# Nginx UI Template End`, inclusive
/// (nginx-ui reads the file line by line and drops those, wherever they are).
pub(crate) fn nginx_ui_header(src: &[u8]) -> Option<std::ops::Range<usize>> {
    // A file without the opening line has no header: one search, where reading every line
    // as text was a tenth of the unread-CSP check over 10,000 vhosts.
    memchr::memmem::find(src, NGINX_UI_START.as_bytes())?;
    let mut start = None;
    let mut at = 0;
    for line in src.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let t = text.trim();
        match start {
            None if t == NGINX_UI_START => start = Some(at),
            Some(s) if t == NGINX_UI_END => return Some(s..at + line.len()),
            _ => {}
        }
        at += line.len();
    }
    None
}

fn left_trim(src: &[u8], at: usize) -> bool {
    src.get(at) == Some(&b'-') && src.get(at + 1).is_some_and(|&b| is_space(b))
}

/// At `k`: ` -}}` (`Some(true)`), `}}` (`Some(false)`), or neither.
fn right_delim(src: &[u8], k: usize) -> Option<bool> {
    if src.get(k).is_some_and(|&b| is_space(b))
        && src.get(k + 1) == Some(&b'-')
        && src[k + 2..].starts_with(b"}}")
    {
        return Some(true);
    }
    src[k..].starts_with(b"}}").then_some(false)
}

fn action(src: &[u8], p: usize) -> Result<Tag, LexError> {
    let err = |offset: usize, message: &str| LexError {
        offset,
        message: message.to_string(),
    };
    let trims_left = left_trim(src, p + 2);
    let body = p + 2 + if trims_left { 2 } else { 0 };
    let finish = |k: usize, trims_right: bool, kind: TagKind| {
        let end = k + if trims_right { 4 } else { 2 };
        Tag {
            range: p..end,
            effective: (if trims_left { space_before(src, p) } else { p })..(if trims_right {
                space_after(src, end)
            } else {
                end
            }),
            kind,
            code: trimmed(src, body..k.max(body)),
            trims_left,
            trims_right,
        }
    };
    if src[body..].starts_with(b"/*") {
        let close = (body + 2..src.len().saturating_sub(1))
            .find(|&k| src[k..].starts_with(b"*/"))
            .ok_or_else(|| err(p, "unclosed comment `/*` in `{{`"))?;
        return match right_delim(src, close + 2) {
            Some(t) => Ok(finish(close + 2, t, TagKind::Comment)),
            None => Err(err(close, "comment ends before closing delimiter `}}`")),
        };
    }
    let mut k = body;
    while k < src.len() {
        if let Some(t) = right_delim(src, k) {
            let tag = finish(k, t, TagKind::Expression);
            let kind = kind_of(&String::from_utf8_lossy(&src[tag.code.clone()]));
            return Ok(Tag { kind, ..tag });
        }
        match src[k] {
            q @ (b'"' | b'\'') => {
                k += 1;
                loop {
                    match src.get(k) {
                        Some(b'\\') => k += 2,
                        Some(&b) if b == q => break,
                        None | Some(b'\n') => {
                            return Err(err(k, "unterminated quoted string in `{{`"));
                        }
                        Some(_) => k += 1,
                    }
                }
                k += 1;
            }
            b'`' => {
                k = (k + 1..src.len())
                    .find(|&j| src[j] == b'`')
                    .ok_or_else(|| err(k, "unterminated raw quoted string in `{{`"))?
                    + 1;
            }
            _ => k += 1,
        }
    }
    Err(err(p, "`{{` is never closed (expected `}}`)"))
}

/// Actions that print nothing: control keywords and variable assignments.
fn kind_of(code: &str) -> TagKind {
    let first = code.split_whitespace().next().unwrap_or("");
    let assigns = first.starts_with('$')
        && code
            .split_whitespace()
            .nth(1)
            .is_some_and(|op| op == ":=" || op == "=");
    let control = matches!(
        first,
        "if" | "else" | "end" | "range" | "with" | "define" | "block" | "break" | "continue"
    );
    if control || assigns || code.is_empty() {
        TagKind::Statement
    } else {
        TagKind::Expression
    }
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
    fn actions_comments_and_kinds() {
        let src = "a {{ .X }} {{- if .Y }}b{{ end -}} {{/* c */}} {{ $v := 1 }}";
        assert_eq!(
            texts(src),
            [
                "{{ .X }}",
                "{{- if .Y }}",
                "{{ end -}}",
                "{{/* c */}}",
                "{{ $v := 1 }}"
            ]
        );
        let tags = lex(src.as_bytes()).unwrap();
        let kinds: Vec<TagKind> = tags.iter().map(|t| t.kind).collect();
        use TagKind::*;
        assert_eq!(
            kinds,
            [Expression, Statement, Statement, Comment, Statement]
        );
        assert!(tags[1].trims_left && tags[2].trims_right);
        assert_eq!(
            tags[1].effective.start, 10,
            "the space before `{{-` is trimmed"
        );
    }

    #[test]
    fn closers_inside_strings_do_not_end_an_action() {
        let src = r#"{{ getenv "A}}" `x}}` '}' }}"#;
        assert_eq!(texts(src), [src]);
    }

    #[test]
    fn a_dash_without_space_is_a_number() {
        let t = &lex(b"{{-3}}").unwrap()[0];
        assert!(!t.trims_left);
    }

    #[test]
    fn malformed_actions_are_errors() {
        assert!(lex(b"{{ .X ").is_err());
        assert!(lex(b"{{ \"x\n\" }}").is_err());
        assert!(lex(b"{{/* x */ .Y }}").is_err());
    }

    #[test]
    fn nginx_ui_header_is_one_comment() {
        let src = "# Nginx UI Template Start\nname = \"x\"\n# Nginx UI Template End\nlisten {{ .Port }};\n";
        let tags = lex(src.as_bytes()).unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].kind, TagKind::Comment);
        assert_eq!(
            &src[tags[0].range.clone()],
            "# Nginx UI Template Start\nname = \"x\"\n# Nginx UI Template End\n"
        );
    }
}
