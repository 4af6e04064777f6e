//! The parts of the WHATWG HTML tokenizer (HTML Standard §13.2.5) that decide where a tag,
//! an attribute value, a comment or raw text begins and ends; see `grammars/html.ebnf`.
//!
//! It works on bytes: every character with a meaning to the tokenizer is ASCII, so UTF-8 text
//! passes through untouched and offsets are file offsets. Character references are decoded
//! later, only in the attribute values that matter (`charref.rs`).

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrValue {
    /// `"`, `'` or `None` (unquoted).
    pub quote: Option<u8>,
    /// The value token, quotes included.
    pub token: Range<usize>,
    /// The bytes between the quotes.
    pub raw: Range<usize>,
    /// Template tags (`{{ }}`, `{% %}`, `<%= %>`, `<?php ?>`) inside the value.
    pub templates: Vec<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// ASCII-lowercased, as the tokenizer does.
    pub name: String,
    pub value: Option<AttrValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub span: Range<usize>,
    /// Duplicates are dropped: the first attribute of a name wins (§13.2.5.33).
    pub attrs: Vec<Attr>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Start(Tag),
    End(Tag),
    /// Character data in the data state.
    Text(Range<usize>),
    /// The content of a script, RAWTEXT or RCDATA element: never markup.
    RawText(Range<usize>),
    /// Comments, bogus comments, DOCTYPEs, CDATA sections.
    Other(Range<usize>),
}

/// Template delimiters, skipped as a whole when the file is a server-side template.
const TEMPLATE: &[(&[u8], &[u8])] = &[
    (b"{{", b"}}"),
    (b"{%", b"%}"),
    (b"{#", b"#}"),
    (b"<%", b"%>"),
    (b"<?", b"?>"),
];

/// A Blade tag opening at `i` other than `{{ }}` (which `TEMPLATE` has): where it ends.
/// `@name` counts only after a byte that cannot end a word (`user@example.com` is text).
/// Blade's escapes (`BladeCompiler::compileEchos`, `compileStatements`): `@{{ ... }}` and
/// `@{!! ... !!}` print the tag without the `@`, as text, and `@@name` prints `@name`: their
/// `@` is a tag of one byte that prints nothing ([`blade_escape`]), and what follows it is
/// text.
pub fn blade_tag(src: &[u8], i: usize) -> Option<usize> {
    let rest = &src[i..];
    let to = |close: &[u8], from: usize| find(src, from, close).map_or(src.len(), |e| e + close.len());
    if blade_escape(src, i) {
        return Some(i + 1);
    }
    if rest.starts_with(b"{{--") {
        return Some(to(b"--}}", i + 4));
    }
    if rest.starts_with(b"{!!") {
        return Some(to(b"!!}", i + 3));
    }
    if rest.first() != Some(&b'@') {
        return None;
    }
    let word_before = i > 0 && (src[i - 1].is_ascii_alphanumeric() || b"_@.-".contains(&src[i - 1]));
    if word_before {
        return None;
    }
    directive_end(src, i)
}

/// Is the `@` at `i` the escape of a Blade echo (`@{{`, `@{!!`) or directive (`@@name`, not
/// after a word character)? It prints nothing; the text after it is printed as it is.
pub fn blade_escape(src: &[u8], i: usize) -> bool {
    let rest = &src[i..];
    if rest.starts_with(b"@{{--") {
        return false; // a comment, removed before echoes are read: the `@` stays
    }
    if rest.starts_with(b"@{{") || rest.starts_with(b"@{!!") {
        return true;
    }
    let word_before = i > 0 && (src[i - 1].is_ascii_alphanumeric() || src[i - 1] == b'_');
    rest.starts_with(b"@@") && rest.get(2).is_some_and(u8::is_ascii_alphabetic) && !word_before
}

/// The end of the directive `@name(...)` at `i`.
fn directive_end(src: &[u8], i: usize) -> Option<usize> {
    let rest = &src[i..];
    let to = |close: &[u8], from: usize| find(src, from, close).map_or(src.len(), |e| e + close.len());
    let name_len = rest[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    if name_len == 0 || !rest[1].is_ascii_alphabetic() {
        return None;
    }
    let name = &rest[1..1 + name_len];
    let mut end = i + 1 + name_len;
    for (open, close) in [(&b"php"[..], &b"@endphp"[..]), (b"verbatim", b"@endverbatim")] {
        if name == open && !src[end..].starts_with(b"(") {
            return Some(to(close, end));
        }
    }
    // The arguments: balanced parentheses, PHP strings skipped (`@if(str_contains($a, ')'))`).
    let mut j = end;
    while j < src.len() && matches!(src[j], b' ' | b'\t') {
        j += 1;
    }
    if src.get(j) == Some(&b'(') {
        let mut depth = 0usize;
        let mut k = j;
        while k < src.len() {
            match src[k] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                q @ (b'\'' | b'"') => {
                    k += 1;
                    while k < src.len() && src[k] != q {
                        k += if src[k] == b'\\' { 2 } else { 1 };
                    }
                }
                _ => {}
            }
            k += 1;
        }
        if k >= src.len() {
            end = src.len();
        }
    }
    Some(end)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

pub struct Tokenizer<'a> {
    src: &'a [u8],
    pos: usize,
    template: bool,
    /// A Blade template (`*.blade.php`): also `{!! !!}`, `{{-- --}}` and `@directive(...)`.
    blade: bool,
    /// Inside `<svg>`/`<math>`: `<![CDATA[` opens a real CDATA section there (§13.2.5.42).
    foreign: usize,
    pub tokens: Vec<Token>,
}

pub fn tokenize(src: &[u8], template: bool) -> Vec<Token> {
    tokenize_with(src, template, false)
}

/// [`tokenize`], for a Blade template when `blade` (Laravel's `BladeCompiler`: echoes
/// `{{ }}` and `{!! !!}`, comments `{{-- --}}`, and `@name` directives with their
/// parenthesised arguments, `@php ... @endphp` and `@verbatim ... @endverbatim` whole).
pub fn tokenize_with(src: &[u8], template: bool, blade: bool) -> Vec<Token> {
    let mut t = Tokenizer {
        src,
        pos: 0,
        template: template || blade,
        blade,
        foreign: 0,
        tokens: Vec::new(),
    };
    t.run();
    t.tokens
}

fn starts_ci(src: &[u8], at: usize, s: &[u8]) -> bool {
    src.len() >= at + s.len() && src[at..at + s.len()].eq_ignore_ascii_case(s)
}

fn find(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= src.len() {
        return None;
    }
    src[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

impl Tokenizer<'_> {
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    /// A template tag opening at `i`: where it ends (after its closing delimiter, or at EOF).
    fn template_at(&self, i: usize) -> Option<usize> {
        // Every tag opens with `{`, `<` or (Blade) `@`: the data state asks at each byte.
        if !self.template || !matches!(self.src.get(i), Some(b'{' | b'<' | b'@')) {
            return None;
        }
        if self.blade {
            if i > 0 && self.src[i] == b'{' && blade_escape(self.src, i - 1) {
                return None; // `@{{ }}` prints `{{ }}` as text
            }
            if let Some(end) = blade_tag(self.src, i) {
                return Some(end);
            }
        }
        TEMPLATE.iter().find_map(|(open, close)| {
            self.src[i..].starts_with(open).then(|| {
                find(self.src, i + open.len(), close).map_or(self.src.len(), |e| e + close.len())
            })
        })
    }

    /// The data state.
    fn run(&mut self) {
        let len = self.src.len();
        let mut text = self.pos;
        while self.pos < len {
            // Only `<` can start markup, and `{`, `<` or `@` a template tag: the bytes before
            // the next of them are text, skipped at once (asking at each byte was a third of
            // the tokenizer).
            let template = self.template;
            let skip = self.src[self.pos..]
                .iter()
                .position(|&b| b == b'<' || template && matches!(b, b'{' | b'@'));
            match skip {
                Some(0) => {}
                Some(n) => {
                    self.pos += n;
                    continue;
                }
                None => {
                    self.pos = len;
                    continue;
                }
            }
            let i = self.pos;
            if let Some(end) = self.template_at(i) {
                // A template tag is not page text (it renders to something else).
                if text < i {
                    self.tokens.push(Token::Text(text..i));
                }
                self.tokens.push(Token::Other(i..end));
                self.pos = end;
                text = end;
                continue;
            }
            if self.src[i] != b'<' {
                self.pos += 1;
                continue;
            }
            let next = self.at(i + 1);
            let markup = next == b'!'
                || next == b'?'
                || next.is_ascii_alphabetic()
                || (next == b'/' && i + 2 < len);
            if !markup {
                self.pos += 1;
                continue;
            }
            if text < i {
                self.tokens.push(Token::Text(text..i));
            }
            self.markup(i);
            text = self.pos;
        }
        if text < len {
            self.tokens.push(Token::Text(text..len));
        }
    }

    fn markup(&mut self, i: usize) {
        let len = self.src.len();
        let next = self.at(i + 1);
        let bogus = |t: &Self, from: usize| find(t.src, from, b">").map_or(len, |e| e + 1);
        if next == b'!' {
            let end = if self.src[i..].starts_with(b"<!--") {
                self.comment_end(i + 4)
            } else if self.src[i..].starts_with(b"<![CDATA[") && self.foreign > 0 {
                find(self.src, i + 9, b"]]>").map_or(len, |e| e + 3)
            } else {
                // DOCTYPE, and `<![CDATA[` in HTML content, end at the first `>`.
                bogus(self, i + 2)
            };
            self.pos = end;
            self.tokens.push(Token::Other(i..end));
        } else if next == b'?' {
            self.pos = bogus(self, i + 2);
            self.tokens.push(Token::Other(i..self.pos));
        } else if next == b'/' {
            if self.at(i + 2).is_ascii_alphabetic() {
                if let Some(tag) = self.tag(i, i + 2) {
                    if matches!(tag.name.as_str(), "svg" | "math") {
                        self.foreign = self.foreign.saturating_sub(1);
                    }
                    self.tokens.push(Token::End(tag));
                }
            } else if self.at(i + 2) == b'>' {
                self.pos = i + 3; // `</>` is dropped
            } else {
                self.pos = bogus(self, i + 2);
                self.tokens.push(Token::Other(i..self.pos));
            }
        } else if let Some(tag) = self.tag(i, i + 1) {
            let name = tag.name.clone();
            let self_closing = self.src[..tag.span.end].ends_with(b"/>");
            self.tokens.push(Token::Start(tag));
            match name.as_str() {
                "svg" | "math" if !self_closing => self.foreign += 1,
                "script" => self.raw_until(Self::script_end, "script"),
                "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" | "textarea"
                | "title" => self.raw_until(Self::end_tag, &name),
                "plaintext" => {
                    let start = self.pos;
                    self.pos = len;
                    self.tokens.push(Token::RawText(start..len));
                }
                _ => {}
            }
        }
    }

    /// Comment states (§13.2.5.43-52): `<!-->` and `<!--->` close at once; otherwise the
    /// first `-->` or `--!>` closes; EOF closes too.
    fn comment_end(&self, from: usize) -> usize {
        if self.at(from) == b'>' {
            return from + 1;
        }
        if self.src[from..].starts_with(b"->") {
            return from + 2;
        }
        let a = find(self.src, from, b"-->").map(|e| e + 3);
        let b = find(self.src, from, b"--!>").map(|e| e + 4);
        match (a, b) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => self.src.len(),
        }
    }

    /// RCDATA/RAWTEXT/script content up to the appropriate end tag, which is then tokenized.
    fn raw_until(&mut self, end: fn(&Self, usize, &str) -> Option<usize>, name: &str) {
        let start = self.pos;
        let stop = end(self, start, name).unwrap_or(self.src.len());
        if stop > start {
            self.tokens.push(Token::RawText(start..stop));
        }
        self.pos = stop;
        if stop < self.src.len() {
            if let Some(tag) = self.tag(stop, stop + 2) {
                self.tokens.push(Token::End(tag));
            }
        }
    }

    /// `</name` followed by whitespace, `/` or `>`: an "appropriate end tag".
    fn is_end_tag(&self, i: usize, name: &str) -> bool {
        self.src[i..].starts_with(b"</")
            && starts_ci(self.src, i + 2, name.as_bytes())
            && matches!(
                self.at(i + 2 + name.len()),
                b'\t' | b'\n' | 0x0c | b'\r' | b' ' | b'/' | b'>'
            )
    }

    fn end_tag(&self, from: usize, name: &str) -> Option<usize> {
        let mut i = from;
        while let Some(lt) = find(self.src, i, b"</") {
            if self.is_end_tag(lt, name) {
                return Some(lt);
            }
            i = lt + 1;
        }
        None
    }

    /// Script data states with their escaped and double-escaped variants (§13.2.5.4,
    /// 13.2.5.15-31): `</script>` inside `<!--<script>...-->` does not end the script.
    fn script_end(&self, from: usize, _name: &str) -> Option<usize> {
        #[derive(Clone, Copy, PartialEq)]
        enum S {
            Data,
            Escaped,
            EscapedDash,
            EscapedDashDash,
            Double,
            DoubleDash,
            DoubleDashDash,
        }
        let letters_script = |i: usize| {
            starts_ci(self.src, i, b"script")
                && matches!(
                    self.at(i + 6),
                    b'\t' | b'\n' | 0x0c | b'\r' | b' ' | b'/' | b'>'
                )
        };
        let mut s = S::Data;
        let mut i = from;
        while i < self.src.len() {
            let c = self.src[i];
            match (s, c) {
                (S::Data, b'<') if self.is_end_tag(i, "script") => return Some(i),
                (S::Data, b'<') if self.src[i..].starts_with(b"<!--") => {
                    s = S::EscapedDashDash;
                    i += 4;
                    continue;
                }
                (S::Escaped | S::EscapedDash | S::EscapedDashDash, b'<') => {
                    if self.is_end_tag(i, "script") {
                        return Some(i);
                    }
                    if letters_script(i + 1) {
                        s = S::Double;
                        i += 8;
                        continue;
                    }
                    s = S::Escaped;
                }
                (S::Escaped, b'-') => s = S::EscapedDash,
                (S::EscapedDash, b'-') => s = S::EscapedDashDash,
                (S::EscapedDashDash, b'-') | (S::DoubleDashDash, b'-') => {}
                (S::EscapedDashDash | S::DoubleDashDash, b'>') => s = S::Data,
                (S::EscapedDash | S::EscapedDashDash, _) => s = S::Escaped,
                (S::Double | S::DoubleDash | S::DoubleDashDash, b'<') => {
                    if self.at(i + 1) == b'/' && letters_script(i + 2) {
                        s = S::Escaped;
                        i += 9;
                        continue;
                    }
                    s = S::Double;
                }
                (S::Double, b'-') => s = S::DoubleDash,
                (S::DoubleDash, b'-') => s = S::DoubleDashDash,
                (S::DoubleDash | S::DoubleDashDash, _) => s = S::Double,
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// Tag open through the attribute states (§13.2.5.6-40). `name_at`: first byte of the
    /// name. `None` when EOF comes first (the tag is dropped, as the spec says).
    fn tag(&mut self, start: usize, name_at: usize) -> Option<Tag> {
        let len = self.src.len();
        let mut i = name_at;
        while i < len && !is_ws(self.src[i]) && self.src[i] != b'/' && self.src[i] != b'>' {
            i += 1;
        }
        let name = String::from_utf8_lossy(&self.src[name_at..i]).to_ascii_lowercase();
        let mut attrs: Vec<Attr> = Vec::new();
        loop {
            while i < len && is_ws(self.src[i]) {
                i += 1;
            }
            if i >= len {
                self.pos = len;
                return None;
            }
            match self.src[i] {
                b'>' => {
                    self.pos = i + 1;
                    return Some(Tag {
                        name,
                        span: start..i + 1,
                        attrs,
                    });
                }
                b'/' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if let Some(end) = self.template_at(i) {
                i = end;
                continue;
            }
            let name_start = i;
            i += 1; // a leading `=` belongs to the name
            while i < len && !is_ws(self.src[i]) && !matches!(self.src[i], b'/' | b'>' | b'=') {
                i += 1;
            }
            let attr_name = String::from_utf8_lossy(&self.src[name_start..i]).to_ascii_lowercase();
            let mut j = i;
            while j < len && is_ws(self.src[j]) {
                j += 1;
            }
            let mut value = None;
            if self.at(j) == b'=' {
                j += 1;
                while j < len && is_ws(self.src[j]) {
                    j += 1;
                }
                let (v, end) = self.attr_value(j)?;
                value = v;
                i = end;
            }
            if !attrs.iter().any(|a| a.name == attr_name) {
                attrs.push(Attr {
                    name: attr_name,
                    value,
                });
            }
        }
    }

    /// Before/in attribute value states; `Ok((None, i))` for a missing value (`a=>`).
    fn attr_value(&mut self, i: usize) -> Option<(Option<AttrValue>, usize)> {
        let len = self.src.len();
        let mut templates = Vec::new();
        let quote = match self.at(i) {
            q @ (b'"' | b'\'') => Some(q),
            b'>' => return Some((None, i)),
            _ => None,
        };
        let from = i + usize::from(quote.is_some());
        let mut j = from;
        loop {
            if j >= len {
                self.pos = len;
                return None;
            }
            if let Some(end) = self.template_at(j) {
                templates.push(j..end.min(len));
                j = end;
                continue;
            }
            let ends = |c: u8| match quote {
                Some(q) => c == q,
                None => is_ws(c) || c == b'>',
            };
            if ends(self.src[j]) {
                break;
            }
            // The bytes up to the next that ends the value or may open a template tag.
            let template = self.template;
            j += 1 + self.src[j + 1..]
                .iter()
                .position(|&c| ends(c) || template && matches!(c, b'{' | b'<' | b'@'))
                .unwrap_or(len - j - 1);
        }
        let token_end = if quote.is_some() { j + 1 } else { j };
        let value = AttrValue {
            quote,
            token: i..token_end,
            raw: from..j,
            templates,
        };
        Some((Some(value), token_end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metas(src: &str) -> Vec<String> {
        tokenize(src.as_bytes(), false)
            .into_iter()
            .filter_map(|t| match t {
                Token::Start(tag) if tag.name == "meta" => Some(
                    tag.attrs
                        .iter()
                        .map(|a| {
                            let v = a.value.as_ref().map_or("", |v| &src[v.raw.clone()]);
                            format!("{}={}", a.name, v)
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn attributes_any_quoting_first_wins() {
        assert_eq!(
            metas("<META Content='a \"b' HTTP-EQUIV=x content=\"dup\" c=d/e =f g>"),
            ["content=a \"b http-equiv=x c=d/e =f= g="]
        );
    }

    #[test]
    fn raw_text_comments_and_script_escapes_hide_tags() {
        let src = "<!-- <meta a=1> --><script>x='<!--<script>'; '</script>'; --></script>\
                   <style><meta a=2></style><textarea><meta a=3></TEXTAREA ><meta a=4>\
                   <![CDATA[<meta a=5>]]><svg><![CDATA[<meta a=6>]]></svg><!--><meta a=7>";
        assert_eq!(metas(src), ["a=4", "a=7"]);
    }

    #[test]
    fn blade_escapes_are_text_and_their_at_prints_nothing() {
        let src = "<p>@{{ name }} @@if($x) a@@b {{-- c --}}</p>\
                   <meta content=\"script-src 'self' @{{ x }} {{ $n }} @{!! y !!}\">";
        let toks = tokenize_with(src.as_bytes(), false, true);
        let others: Vec<&str> = toks
            .iter()
            .filter_map(|t| match t {
                Token::Other(r) => Some(&src[r.clone()]),
                _ => None,
            })
            .collect();
        // The escapes' `@` only; `a@@b` is text (after a word), the comment a tag.
        assert_eq!(others, ["@", "@", "{{-- c --}}"]);
        let meta = toks
            .iter()
            .find_map(|t| match t {
                Token::Start(tag) if tag.name == "meta" => tag.attr("content")?.value.clone(),
                _ => None,
            })
            .unwrap();
        let templates: Vec<&str> = meta.templates.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(templates, ["@", "{{ $n }}", "@"]);
        let (d, _) = super::super::charref::decode(src.as_bytes(), meta.raw, &meta.templates);
        assert_eq!(d.text, "script-src 'self' {{ x }} {{ $n }} {!! y !!}");
        assert_eq!(d.opaque.len(), 1, "only `{{ $n }}` is run-time");
    }
}
