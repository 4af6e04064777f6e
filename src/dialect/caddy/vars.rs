//! Caddy `vars` a CSP value reads through `{vars.name}` (or `{http.vars.name}`): a name has
//! one value at a site's headers when the site block sets it exactly once, with a `vars`
//! directive of the block itself and no matcher (README, "Values built from variables").
//! Caddy's `vars` handler runs before `header` (its place in the directive order), so that
//! value is what the header's placeholder is replaced with. A name set twice, under a
//! matcher, inside `route`/`handle` blocks, or not at all in the block (a snippet, another
//! file) stays a run-time part, named in any refusal.

use std::collections::HashMap;

use super::dispenser::Dispenser;
use super::lexer::{Quote, Token};

/// One assignment `name value`.
#[derive(Debug, Clone)]
struct Assignment {
    /// Token index of the value.
    value: usize,
    /// Under a matcher or inside a nested block: it may or may not run.
    conditional: bool,
}

/// Why a name's value is not known at a header.
pub enum Unknown {
    NotSet,
    /// Token indices of the values assigned.
    Several(Vec<usize>),
    /// Its one value holds placeholders of its own (Caddy's `vars` replaces unknown ones
    /// with nothing) or is not a plain token.
    NotLiteral(usize),
}

/// The `vars` of one site block.
#[derive(Debug, Clone, Default)]
pub struct BlockVars {
    by_name: HashMap<String, Vec<Assignment>>,
}

impl BlockVars {
    /// Every `vars` assignment of a block's directive segments.
    pub fn collect(toks: &[Token], segments: &[Vec<usize>]) -> BlockVars {
        let mut out = BlockVars::default();
        out.walk(toks, segments, false);
        out
    }

    fn walk(&mut self, toks: &[Token], segments: &[Vec<usize>], nested: bool) {
        for seg in segments {
            let Some(&first) = seg.first() else { continue };
            let head = &toks[first];
            if head.text.starts_with(b"@") {
                continue; // a matcher definition: a `vars` matcher reads, it sets nothing
            }
            let mut d = Dispenser::new(toks, seg.clone());
            d.next();
            let mut args = Vec::new();
            while d.next_arg() {
                args.extend(d.current());
            }
            let mut inner = Vec::new();
            let nesting = d.nesting();
            while d.next_block(nesting) {
                let s = d.next_segment();
                if !s.is_empty() {
                    inner.push(s);
                }
            }
            if head.text != b"vars" || head.quote != Quote::Bare {
                self.walk(toks, &inner, true);
                continue;
            }
            let matcher = args.first().is_some_and(|&a| {
                let t = &toks[a].text;
                t.starts_with(b"@") || t.starts_with(b"/") || t == b"*"
            });
            let conditional = nested
                || args
                    .first()
                    .is_some_and(|&a| toks[a].text.starts_with(b"@") || toks[a].text.starts_with(b"/"));
            let args = if matcher { &args[1..] } else { &args[..] };
            if let [name, value] = args {
                self.add(toks, *name, *value, conditional);
            }
            for line in &inner {
                if let [name, value] = line.as_slice() {
                    self.add(toks, *name, *value, conditional);
                }
            }
        }
    }

    fn add(&mut self, toks: &[Token], name: usize, value: usize, conditional: bool) {
        let name = toks[name].text_lossy();
        self.by_name.entry(name).or_default().push(Assignment {
            value,
            conditional,
        });
    }

    /// The token of the one value of `name` at this block's headers.
    pub fn known(&self, toks: &[Token], name: &str) -> Result<usize, Unknown> {
        let all = self.by_name.get(name).map(Vec::as_slice).unwrap_or_default();
        match all {
            [] => Err(Unknown::NotSet),
            [one] if !one.conditional => {
                let t = &toks[one.value];
                if t.text.contains(&b'{') || t.text.contains(&b'}') || t.unterminated {
                    Err(Unknown::NotLiteral(one.value))
                } else {
                    Ok(one.value)
                }
            }
            many => Err(Unknown::Several(many.iter().map(|a| a.value).collect())),
        }
    }
}

/// The variable name of a `{vars.name}` or `{http.vars.name}` placeholder.
pub fn reference(placeholder: &str) -> Option<&str> {
    let inner = placeholder.strip_prefix('{')?.strip_suffix('}')?;
    let name = inner
        .strip_prefix("vars.")
        .or_else(|| inner.strip_prefix("http.vars."))?;
    (!name.is_empty()).then_some(name)
}

/// How many times each variable is read through a placeholder in the whole file.
pub fn reads(toks: &[Token]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for t in toks {
        let text = t.text_lossy();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            if let Some(name) = reference(&rest[open..open + close + 1]) {
                *out.entry(name.to_string()).or_default() += 1;
            }
            rest = &rest[open + close + 1..];
        }
    }
    out
}
