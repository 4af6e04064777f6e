//! ERB tags (Chef, Puppet), as Ruby's `ERB::Compiler` scans them with `trim_mode: '-'` (what
//! Chef and Puppet use):
//!
//! - `<%%` is an escape for a literal `<%`; inside a tag `%%>` is a literal `%>`;
//! - `<%=` prints, `<%#` is a comment, `<%` runs code; the tag ends at the first `%>` (ERB
//!   does not read Ruby, so a `%>` inside a Ruby string ends the tag too);
//! - `-%>` followed by a newline removes the newline, and `<%-` with only spaces or tabs
//!   before it on its line removes that indentation (`TrimScanner#explicit_trim_line`).

use super::tags::{trimmed, LexError, Tag, TagKind};

pub fn lex(src: &[u8]) -> Result<Vec<Tag>, LexError> {
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(p) = (i..src.len().saturating_sub(1)).find(|&k| src[k..].starts_with(b"<%")) {
        if src[p..].starts_with(b"<%%") {
            // Rendered as `<%`: the bytes differ from what the file holds.
            tags.push(Tag {
                range: p..p + 3,
                effective: p..p + 3,
                kind: TagKind::Expression,
                code: p + 3..p + 3,
                trims_left: false,
                trims_right: false,
            });
            i = p + 3;
            continue;
        }
        let (kind, body) = match src.get(p + 2) {
            Some(b'=') => (TagKind::Expression, p + 3),
            Some(b'#') => (TagKind::Comment, p + 3),
            Some(b'-') => (TagKind::Statement, p + 3),
            _ => (TagKind::Statement, p + 2),
        };
        let line_start = src[..p]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        let trims_left = src.get(p + 2) == Some(&b'-')
            && src[line_start..p].iter().all(|&b| b == b' ' || b == b'\t');
        let mut k = body;
        let close = loop {
            if k + 1 >= src.len() {
                return Err(LexError {
                    offset: p,
                    message: "`<%` is never closed (expected `%>`)".into(),
                });
            }
            if src[k..].starts_with(b"%%>") {
                k += 3;
            } else if src[k..].starts_with(b"%>") {
                break k;
            } else {
                k += 1;
            }
        };
        let dash = close > body && src[close - 1] == b'-';
        let end = close + 2;
        let trims_right = dash && src.get(end) == Some(&b'\n');
        tags.push(Tag {
            range: p..end,
            effective: (if trims_left { line_start } else { p })..(if trims_right {
                end + 1
            } else {
                end
            }),
            kind,
            code: trimmed(src, body..if dash { close - 1 } else { close }),
            trims_left,
            trims_right,
        });
        i = end;
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_escapes_and_trims() {
        let src = "a <%= @x %> b\n  <%- if @y -%>\nc <%%>\n<%# n %><% end %>";
        let tags = lex(src.as_bytes()).unwrap();
        let texts: Vec<&str> = tags.iter().map(|t| &src[t.range.clone()]).collect();
        assert_eq!(
            texts,
            ["<%= @x %>", "<%- if @y -%>", "<%%", "<%# n %>", "<% end %>"]
        );
        assert_eq!(tags[0].kind, TagKind::Expression);
        assert_eq!(tags[1].kind, TagKind::Statement);
        assert_eq!(tags[3].kind, TagKind::Comment);
        assert!(tags[1].trims_left && tags[1].trims_right);
        assert_eq!(&src[tags[1].effective.clone()], "  <%- if @y -%>\n");
        assert_eq!(&src[tags[1].code.clone()], "if @y");
    }

    #[test]
    fn a_percent_percent_close_is_literal() {
        let src = "<%= '%%>' %>";
        assert_eq!(lex(src.as_bytes()).unwrap()[0].range, 0..src.len());
        assert!(lex(b"<% x").is_err());
    }
}
