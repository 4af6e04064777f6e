//! Masking: each tag is overwritten, in a copy of the file, by bytes of the same length that
//! the dialect's own tokenizer reads as something harmless, so that the dialect's parser finds
//! the same directives, at the same offsets, as in the real file.
//!
//! - A tag alone on its line(s) (`{% if x %}`, `{{ end }}`, an `{{ extra_directives }}`
//!   line), and a statement or comment next to white space, becomes white space: nothing
//!   for the parser to see. Line breaks stay, so line numbers stay.
//! - Any other tag is part of a word (`server_name {{ domain }};`, `"... {{ cdn }}"`) and
//!   becomes word characters: its letters and digits, every other byte `_`. No dialect gives
//!   those a meaning (`$`, `{`, `%`, quotes, `;`, `#` and white space are all gone), and the
//!   rest of the word reads as it does in the rendered file.
//!
//! Offsets never move, so every span the dialect returns is a span of the real file.

use super::tags::{is_space, Tag, TagKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Space,
    Word,
}

/// The masked copy and how each tag (same order as the tags) was masked.
#[derive(Debug, Clone)]
pub struct Masked {
    pub bytes: Vec<u8>,
    pub styles: Vec<Style>,
}

pub fn mask(src: &[u8], tags: &[Tag]) -> Masked {
    let mut bytes = src.to_vec();
    let mut styles = vec![Style::Word; tags.len()];
    // Statements and comments first: once they are white space, an expression between two of
    // them on one line (`{% if a %}{{ b }}{% endif %}`) is alone on it.
    for (k, t) in tags.iter().enumerate() {
        if t.kind == TagKind::Expression {
            continue;
        }
        let before = t.effective.start.checked_sub(1).map(|i| src[i]);
        let after = src.get(t.effective.end).copied();
        let glued = before.is_some_and(|b| !is_space(b)) && after.is_some_and(|b| !is_space(b));
        styles[k] = if glued { Style::Word } else { Style::Space };
        if styles[k] == Style::Space {
            blank(&mut bytes, t);
        }
    }
    for (k, t) in tags.iter().enumerate() {
        if t.kind != TagKind::Expression {
            continue;
        }
        if alone_on_line(&bytes, t) {
            styles[k] = Style::Space;
            blank(&mut bytes, t);
        }
    }
    for (k, t) in tags.iter().enumerate() {
        if styles[k] == Style::Word {
            for i in t.effective.clone() {
                if !src[i].is_ascii_alphanumeric() {
                    bytes[i] = b'_';
                }
            }
        }
    }
    Masked { bytes, styles }
}

fn blank(bytes: &mut [u8], t: &Tag) {
    for b in &mut bytes[t.effective.clone()] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
}

fn alone_on_line(bytes: &[u8], t: &Tag) -> bool {
    let line_start = bytes[..t.effective.start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |n| n + 1);
    let line_end = bytes[t.effective.end..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| t.effective.end + n);
    bytes[line_start..t.effective.start]
        .iter()
        .all(|&b| is_space(b))
        && bytes[t.effective.end..line_end]
            .iter()
            .all(|&b| is_space(b))
}

/// The tag (index into `tags`) whose masked bytes include file byte `i`.
pub fn tag_at(tags: &[Tag], i: usize) -> Option<usize> {
    let k = tags.partition_point(|t| t.effective.end <= i);
    // Effective ranges may overlap in the white space between two trimming tags.
    (k..tags.len())
        .take_while(|&k| tags[k].effective.start <= i)
        .find(|&k| tags[k].effective.contains(&i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::jinja;

    fn masked(src: &str) -> String {
        let tags = jinja::lex(src.as_bytes()).unwrap();
        String::from_utf8(mask(src.as_bytes(), &tags).bytes).unwrap()
    }

    #[test]
    fn same_length_and_line_breaks() {
        let src = "server {\n    server_name {{ domain }};\n    {% if x %}\n    listen 80;\n    {% endif %}\n}\n";
        let m = masked(src);
        assert_eq!(m.len(), src.len());
        assert_eq!(
            m,
            "server {\n    server_name ___domain___;\n              \n    listen 80;\n               \n}\n"
        );
    }

    #[test]
    fn inside_a_quoted_value_a_tag_is_a_word() {
        let src = r#"add_header X "a {{ "b;c" | e }} d";"#;
        assert_eq!(masked(src), r#"add_header X "a ____b_c____e___ d";"#);
    }

    #[test]
    fn expression_between_statements_on_its_own_line_is_blank() {
        let src = "{% if a %}{{ extra }}{% endif %}\nx;";
        assert_eq!(masked(src).trim(), "x;");
    }

    #[test]
    fn finds_the_tag_of_a_byte() {
        let src = "a {{ x }} b {{ y }}";
        let tags = jinja::lex(src.as_bytes()).unwrap();
        assert_eq!(tag_at(&tags, 2), Some(0));
        assert_eq!(tag_at(&tags, 9), None);
        assert_eq!(tag_at(&tags, 13), Some(1));
    }
}
