//! Template tags: where each one is in the file, what it does, and the block structure they
//! form. One lexer per engine (`jinja.rs`, `gotmpl.rs`, `erb.rs`, `envsubst.rs`), each
//! mirroring the engine's own.

use std::ops::Range;

use super::Engine;

/// What a tag does to the rendered text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// Replaced by text only known when rendering: `{{ x }}`, `<%= @x %>`, `${X}`.
    Expression,
    /// Control flow or code that prints nothing itself: `{% if %}`, `{{ end }}`, `<% end %>`.
    Statement,
    /// Removed: `{# #}`, `{{/* */}}`, `<%# %>`, nginx-ui's template header.
    Comment,
}

/// One tag of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag's bytes, delimiters included.
    pub range: Range<usize>,
    /// `range` widened by the white space the engine strips next to it (`{%-`, `-}}`,
    /// ERB's `-%>` newline): those bytes do not reach the rendered file either.
    pub effective: Range<usize>,
    pub kind: TagKind,
    /// The code between the delimiters and trim markers, trimmed (`if x`, `.Values.csp`).
    pub code: Range<usize>,
    /// The engine strips the white space before the tag (`{%-`, `{{- `).
    pub trims_left: bool,
    /// The engine strips the white space after the tag (`-%}`, ` -}}`, `-%>`).
    pub trims_right: bool,
}

impl Tag {
    /// The tag as written, on one line (for messages).
    pub fn text(&self, src: &[u8]) -> String {
        let raw = String::from_utf8_lossy(&src[self.range.clone()]);
        let one_line: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 100 {
            let short: String = one_line.chars().take(97).collect();
            format!("{short}...")
        } else {
            one_line
        }
    }

    pub fn code_text<'a>(&self, src: &'a [u8]) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(&src[self.code.clone()])
    }
}

/// A template the engine itself would refuse: an unclosed tag or string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

/// Every tag of `src`, in order. `env_names`: for envsubst, the variables that are substituted
/// (`None`: the upper-case names, see `envsubst.rs`).
pub fn lex(
    engine: Engine,
    src: &[u8],
    env_names: Option<&std::collections::BTreeSet<String>>,
) -> Result<Vec<Tag>, LexError> {
    match engine {
        Engine::Jinja2 => super::jinja::lex(src),
        Engine::Go => super::gotmpl::lex(src),
        Engine::Erb => super::erb::lex(src),
        Engine::Envsubst => Ok(super::envsubst::lex(src, env_names)),
    }
}

/// How a statement tag shapes the template: it opens a block (`{% if %}`, `{{ range }}`,
/// `<% if @x %>`), starts another branch of the open one (`{% elif %}`, `{{ else }}`,
/// `<% else %>`), or closes it (`{% endif %}`, `{{ end }}`, `<% end %>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Open,
    Branch,
    Close,
    Other,
}

pub fn role(engine: Engine, tag: &Tag, src: &[u8]) -> Role {
    if tag.kind != TagKind::Statement {
        return Role::Other;
    }
    let code = tag.code_text(src);
    let code = code.trim();
    let first = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    match engine {
        Engine::Jinja2 => match first {
            "if" | "for" | "block" | "macro" | "call" | "filter" | "with" | "autoescape"
            | "trans" | "raw" => Role::Open,
            // `{% set x %}...{% endset %}` captures a block; `{% set x = 1 %}` does not.
            "set" if !code.contains('=') => Role::Open,
            "elif" | "else" | "pluralize" => Role::Branch,
            f if f.starts_with("end") => Role::Close,
            _ => Role::Other,
        },
        Engine::Go => match first {
            "if" | "range" | "with" | "define" | "block" => Role::Open,
            "else" => Role::Branch,
            "end" => Role::Close,
            _ => Role::Other,
        },
        Engine::Erb => {
            let opens = matches!(
                first,
                "if" | "unless" | "case" | "while" | "until" | "for" | "begin"
            ) || code.ends_with(" do")
                || code.ends_with('{')
                || (code.ends_with('|') && (code.contains(" do |") || code.contains("{ |")));
            if opens {
                Role::Open
            } else if matches!(
                first,
                "elsif" | "else" | "when" | "in" | "rescue" | "ensure"
            ) {
                Role::Branch
            } else if first == "end" || code == "}" {
                Role::Close
            } else {
                Role::Other
            }
        }
        Engine::Envsubst => Role::Other,
    }
}

/// The blocks open at byte `offset`, outermost first: for each, the tag that opened it and
/// the tag that started the branch `offset` is in (the opening tag itself for the first
/// branch). Unbalanced templates give what can be told.
pub fn open_blocks(engine: Engine, tags: &[Tag], src: &[u8], offset: usize) -> Vec<(usize, usize)> {
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if t.range.start >= offset {
            break;
        }
        match role(engine, t, src) {
            Role::Open => stack.push((i, i)),
            Role::Branch => {
                if let Some(top) = stack.last_mut() {
                    top.1 = i;
                }
            }
            Role::Close => {
                stack.pop();
            }
            Role::Other => {}
        }
    }
    stack
}

/// White space as template engines strip it: space, tab, CR, LF (Go's `isSpace`; Jinja2's
/// `\s` also takes FF and VT, which configuration files do not use).
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// The start of the white space that ends `src[..at]`.
pub fn space_before(src: &[u8], at: usize) -> usize {
    let mut i = at;
    while i > 0 && is_space(src[i - 1]) {
        i -= 1;
    }
    i
}

/// The end of the white space that starts `src[at..]`.
pub fn space_after(src: &[u8], at: usize) -> usize {
    let mut i = at;
    while i < src.len() && is_space(src[i]) {
        i += 1;
    }
    i
}

/// `range` without the white space at both ends.
pub fn trimmed(src: &[u8], range: Range<usize>) -> Range<usize> {
    let mut s = range.start;
    let mut e = range.end;
    while s < e && is_space(src[s]) {
        s += 1;
    }
    while e > s && is_space(src[e - 1]) {
        e -= 1;
    }
    s..e
}
