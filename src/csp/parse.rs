//! A serialized policy list as browsers read it, with the byte span of every part.
//!
//! Mirrors CSP3 §2.2.1 "Parse a serialized CSP" (<https://www.w3.org/TR/CSP3/#parse-serialized-policy>)
//! and §2.2.2 "Parse a response's Content Security Policies":
//!
//! - the header value is a comma-separated list of policies (`Content-Security-Policy =
//!   1#serialized-policy`); every policy is enforced on its own;
//! - a policy is strictly split on `;`; each token is stripped of ASCII whitespace (TAB, LF, FF,
//!   CR, SPACE: not VT) and skipped when empty or **not ASCII** (Firefox does the same:
//!   `nsCSPParser::policy`, "ignoringNonAsciiToken");
//! - the directive name is ASCII-lowercased; a name already in the policy makes the later
//!   directive inert;
//! - the value is split on ASCII whitespace. Tokens that are not valid source expressions stay in
//!   the list (browsers ignore them when matching) and are reported by the lints.
//!
//! Nothing here re-prints text: every token knows its span in the input, so edits are splices.

use std::ops::Range;
use std::sync::Arc;

use super::source::{Source, SourceError};

/// WHATWG "ASCII whitespace": U+0009 TAB, U+000A LF, U+000C FF, U+000D CR, U+0020 SPACE.
pub fn is_ascii_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// A whole header value (or meta `content`): one or more policies separated by `,`.
#[derive(Debug, Clone)]
pub struct PolicyList {
    /// The input, unchanged.
    pub text: String,
    /// One entry per comma-separated part, empty ones included (browsers drop a policy without
    /// directives; see [`Policy::is_empty`]), so indexes match the text.
    pub policies: Vec<Policy>,
}

/// One policy of a list.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Position in the comma-separated list (0-based).
    pub index: usize,
    /// The bytes between the commas (or the ends of the input), whitespace included.
    pub span: Range<usize>,
    /// Every non-empty `;`-separated token, in order, inert ones included.
    pub directives: Vec<Directive>,
}

/// How a browser treats a directive token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveState {
    /// The first directive with its name: this is the one browsers enforce.
    Effective,
    /// A later directive with the name of an earlier one (index into `directives`): ignored.
    Duplicate { first: usize },
    /// The token contains a non-ASCII character: CSP3 skips the whole directive.
    NonAscii,
}

/// One `;`-separated directive.
#[derive(Debug, Clone)]
pub struct Directive {
    /// The token without surrounding whitespace.
    pub span: Range<usize>,
    /// ASCII-lowercased name as browsers compare it.
    pub name: String,
    pub name_span: Range<usize>,
    /// The value: every whitespace-separated token after the name.
    pub sources: Vec<Token>,
    pub state: DirectiveState,
}

/// One token of a directive value.
#[derive(Debug, Clone)]
pub struct Token {
    pub span: Range<usize>,
    pub text: String,
    /// The token as a source expression, or why browsers ignore it.
    pub source: Result<Source, SourceError>,
}

impl Token {
    fn new(text: &str, span: Range<usize>) -> Token {
        Token {
            span,
            text: text.to_string(),
            source: Source::parse(text),
        }
    }

    /// An ASCII case-insensitive match for `'none'`.
    pub fn is_none_keyword(&self) -> bool {
        self.text.eq_ignore_ascii_case("'none'")
    }
}

impl Directive {
    pub fn is_effective(&self) -> bool {
        self.state == DirectiveState::Effective
    }

    /// The directive's value as the texts of its tokens.
    pub fn values(&self) -> Vec<String> {
        self.sources.iter().map(|t| t.text.clone()).collect()
    }
}

impl Policy {
    /// Browsers drop a policy whose directive set is empty (CSP3 §2.2.2 step 1.2).
    pub fn is_empty(&self) -> bool {
        !self
            .directives
            .iter()
            .any(|d| d.state != DirectiveState::NonAscii)
    }

    /// The directive browsers enforce under `name` (lower-case), if any.
    pub fn get(&self, name: &str) -> Option<&Directive> {
        self.directives
            .iter()
            .find(|d| d.is_effective() && d.name == name)
    }

    /// Index in `directives` of the enforced directive `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.directives
            .iter()
            .position(|d| d.is_effective() && d.name == name)
    }

    pub fn effective(&self) -> impl Iterator<Item = &Directive> {
        self.directives.iter().filter(|d| d.is_effective())
    }
}

impl PolicyList {
    /// Policies browsers keep (at least one directive).
    pub fn enforced(&self) -> impl Iterator<Item = &Policy> {
        self.policies.iter().filter(|p| !p.is_empty())
    }
}

/// Parse a policy list (a header value, or a meta tag's `content`) the way browsers do.
///
/// Shared, not copied: the pipeline reads one site's value about seven times and its merged
/// value twice, and a copy of a list cost a third of a parse (every token's text and source
/// allocated again, and freed again).
pub fn parse(text: &str) -> Arc<PolicyList> {
    if text.len() > PARSE_MEMO_MAX {
        return Arc::new(parse_uncached(text));
    }
    let hit = PARSED.with(|m| {
        m.borrow()
            .iter()
            .flatten()
            .find(|l| l.text == text)
            .cloned()
    });
    if let Some(hit) = hit {
        return hit;
    }
    let list = Arc::new(parse_uncached(text));
    PARSED.with(|m| {
        let mut m = m.borrow_mut();
        // The older entry goes: a site's value and its merged value alternate.
        m.swap(0, 1);
        m[0] = Some(list.clone());
    });
    list
}

/// [`parse`], for a caller that changes the list.
pub fn parse_owned(text: &str) -> PolicyList {
    Arc::unwrap_or_clone(parse(text))
}

/// Longest value kept by the parse memo (a policy is ~200 bytes; a huge one is parsed anew).
const PARSE_MEMO_MAX: usize = 16 * 1024;

thread_local! {
    /// The last two lists parsed: the pipeline reads one site's value seven times (the merge,
    /// the lock and semicolon checks, the refusal checks, the splice) and its merged value
    /// twice. `parse` is a pure function of the text, so a hit is the same list.
    static PARSED: std::cell::RefCell<[Option<Arc<PolicyList>>; 2]> = const { std::cell::RefCell::new([None, None]) };
}

fn parse_uncached(text: &str) -> PolicyList {
    let policies = split_spans(text, b',', 0..text.len())
        .enumerate()
        .map(|(index, span)| Policy {
            index,
            directives: parse_policy(text, span.clone()),
            span,
        })
        .collect();
    PolicyList {
        text: text.to_string(),
        policies,
    }
}

/// Strictly split `text[range]` on `sep`, giving absolute spans (one more than separators).
fn split_spans(
    text: &str,
    sep: u8,
    range: Range<usize>,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = &text.as_bytes()[..range.end];
    let mut start = Some(range.start);
    std::iter::from_fn(move || {
        let from = start?;
        match memchr::memchr(sep, &bytes[from..]) {
            Some(i) => {
                start = Some(from + i + 1);
                Some(from..from + i)
            }
            None => {
                start = None;
                Some(from..bytes.len())
            }
        }
    })
}

fn trim_span(text: &str, span: Range<usize>) -> Range<usize> {
    let bytes = text.as_bytes();
    let (mut start, mut end) = (span.start, span.end);
    while start < end && is_ascii_whitespace(bytes[start]) {
        start += 1;
    }
    while end > start && is_ascii_whitespace(bytes[end - 1]) {
        end -= 1;
    }
    start..end
}

/// Spans of the whitespace-separated words of `text[span]`.
fn words(text: &str, span: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut i = span.start;
    std::iter::from_fn(move || {
        while i < span.end && is_ascii_whitespace(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < span.end && !is_ascii_whitespace(bytes[i]) {
            i += 1;
        }
        (start < i).then_some(start..i)
    })
}

fn parse_policy(text: &str, span: Range<usize>) -> Vec<Directive> {
    let mut directives: Vec<Directive> = Vec::new();
    for token in split_spans(text, b';', span) {
        let token = trim_span(text, token);
        if token.is_empty() {
            continue;
        }
        let mut parts = words(text, token.clone());
        // There is a first word: the token is non-empty and trimmed.
        let name_span = parts.next().expect("a non-empty token");
        let name = text[name_span.clone()].to_ascii_lowercase();
        let sources: Vec<Token> = parts.map(|s| Token::new(&text[s.clone()], s)).collect();
        let state = if !text[token.clone()].is_ascii() {
            DirectiveState::NonAscii
        } else if let Some(first) = directives
            .iter()
            .position(|d| d.is_effective() && d.name == name)
        {
            DirectiveState::Duplicate { first }
        } else {
            DirectiveState::Effective
        };
        directives.push(Directive {
            span: token,
            name,
            name_span,
            sources,
            state,
        });
    }
    directives
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_policies_and_directives_with_spans() {
        let text = " Default-Src 'self' ;img-src  data: ,script-src x.com";
        let list = parse(text);
        assert_eq!(list.policies.len(), 2);
        let p0 = &list.policies[0];
        assert_eq!(p0.directives.len(), 2);
        let d = &p0.directives[0];
        assert_eq!(d.name, "default-src");
        assert_eq!(&text[d.span.clone()], "Default-Src 'self'");
        assert_eq!(&text[d.name_span.clone()], "Default-Src");
        assert_eq!(&text[d.sources[0].span.clone()], "'self'");
        assert_eq!(&text[p0.directives[1].sources[0].span.clone()], "data:");
        assert_eq!(&text[list.policies[1].span.clone()], "script-src x.com");
    }

    #[test]
    fn first_duplicate_wins_and_non_ascii_is_skipped() {
        let list = parse("script-src a; SCRIPT-SRC b; img-src ‘self’; img-src c");
        let p = &list.policies[0];
        assert_eq!(p.directives[0].state, DirectiveState::Effective);
        assert_eq!(
            p.directives[1].state,
            DirectiveState::Duplicate { first: 0 }
        );
        assert_eq!(p.directives[2].state, DirectiveState::NonAscii);
        // The skipped directive does not count: the later img-src is the enforced one.
        assert_eq!(p.directives[3].state, DirectiveState::Effective);
        assert_eq!(p.get("img-src").unwrap().values(), vec!["c"]);
    }

    #[test]
    fn vertical_tab_is_not_whitespace() {
        let list = parse("img-src\x0ba");
        let d = &list.policies[0].directives[0];
        assert_eq!(d.name, "img-src\x0ba");
        assert!(d.sources.is_empty());
    }

    #[test]
    fn empty_policies_are_kept_but_marked() {
        let list = parse("img-src a, ,;;");
        assert_eq!(list.policies.len(), 3);
        assert!(!list.policies[0].is_empty());
        assert!(list.policies[1].is_empty());
        assert!(list.policies[2].is_empty());
        assert_eq!(list.enforced().count(), 1);
    }

    #[test]
    fn a_memo_hit_is_the_same_list_not_a_copy() {
        let text = "script-src 'self' https://memo.example; img-src data:";
        let (a, b) = (parse(text), parse(text));
        assert!(Arc::ptr_eq(&a, &b));
        let other = parse("img-src 'none'");
        assert!(!Arc::ptr_eq(&a, &other));
        // Whatever the memo holds, a list is the parse of its own text.
        assert_eq!(other.text, "img-src 'none'");
        assert_eq!(parse(text).policies[0].directives[0].sources.len(), 2);
    }

    #[test]
    fn separators_at_the_ends_give_empty_spans() {
        let spans: Vec<_> = split_spans(";a;;b;", b';', 0..6).collect();
        assert_eq!(spans, vec![0..0, 1..2, 3..3, 4..5, 6..6]);
        let inner: Vec<_> = split_spans("x;a;b;y", b';', 2..5).collect();
        assert_eq!(inner, vec![2..3, 4..5]);
        let words: Vec<_> = words("  a  bc ", 0..8).collect();
        assert_eq!(words, vec![2..3, 5..7]);
    }

    #[test]
    fn invalid_tokens_stay_and_say_why() {
        let list = parse("media-src <customdomain> mediastream:");
        let d = &list.policies[0].directives[0];
        assert_eq!(d.values(), vec!["<customdomain>", "mediastream:"]);
        assert!(d.sources[0].source.is_err());
        assert!(d.sources[1].source.is_ok());
    }
}
