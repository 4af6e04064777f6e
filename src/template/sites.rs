//! What the tags mean for the sites the dialect found in the masked file.
//!
//! Template tags inside a CSP value are treated like the server's run-time variables (the
//! README's "values built from variables"): the bytes a tag's mask produced are an opaque
//! part, which the merge never edits, and
//! - an expression among a directive's sources (`script-src 'self' {{ cdn }}`) is patched
//!   around: the vendor's sources go before or after it;
//! - an expression where a directive name could be (`default-src 'self'; {{ extra }}`) may
//!   add any directive: only directives written before it are patched (browsers use the first
//!   of two directives with one name); a directive the vendor needs that is not written there
//!   is refused, naming the tag (see `finder.rs`);
//! - a value that is nothing but tags, or that a statement changes (`"a {% if x %}b{% endif %}"`),
//!   is refused, naming the tag: the policy is not in this file, or not one policy.
//!
//! A site inside a branch (`{% if %}...{% else %}`) is one site per branch, as the masked file
//! shows each branch's header; the report says which branch each is in.

use std::ops::Range;
use std::path::Path;

use crate::diag::{Diagnostic, Location};
use crate::site::{FileScan, Site};

use super::mask::{tag_at, Masked, Style};
use super::tags::{open_blocks, Tag, TagKind};
use super::Engine;

/// Where a tag stands in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Where a directive name could be: it may add any directive.
    Directive,
    /// Among a directive's sources (or glued to one: `'nonce-{{ n }}'`).
    Source,
}

/// A tag inside one site's value.
#[derive(Debug, Clone)]
pub struct InValue {
    /// Index into the file's tags.
    pub tag: usize,
    /// The value text it produced (its stand-in).
    pub text: Range<usize>,
    pub position: Position,
}

/// The tags of `site` (as the dialect found it in the masked file), in text order.
pub fn tags_in_value(site: &Site, tags: &[Tag]) -> Vec<InValue> {
    let mut out: Vec<InValue> = Vec::new();
    for i in 0..site.value.text.len() {
        let Some(raw) = site.value.raw(i) else {
            continue;
        };
        let Some(k) = raw.clone().find_map(|b| tag_at(tags, b)) else {
            continue;
        };
        match out.last_mut() {
            Some(last) if last.tag == k && last.text.end == i => last.text.end = i + 1,
            _ => out.push(InValue {
                tag: k,
                text: i..i + 1,
                position: Position::Source,
            }),
        }
    }
    let list = crate::csp::parse::parse(&site.value.text);
    for t in &mut out {
        let names_it = list
            .policies
            .iter()
            .flat_map(|p| &p.directives)
            .any(|d| d.name_span.start < t.text.end && t.text.start < d.name_span.end);
        if names_it {
            t.position = Position::Directive;
        }
    }
    out
}

/// The line of byte `offset`, for messages.
pub fn line_of(src: &[u8], offset: usize) -> usize {
    crate::diag::line_col(src, offset).0
}

/// `` `{{ x }}` (line 3) `` for messages.
pub fn named(tags: &[Tag], k: usize, src: &[u8]) -> String {
    format!(
        "`{}` (line {})",
        tags[k].text(src),
        line_of(src, tags[k].range.start)
    )
}

/// Everything the tags change about what the dialect found in the masked file.
pub fn process(
    scan: &mut FileScan,
    engine: Engine,
    tags: &[Tag],
    masked: &Masked,
    path: &Path,
    src: &[u8],
) {
    let unmask = |text: &str| unmask(text, tags, masked, src);
    for d in &mut scan.diagnostics {
        relocate(d, path, &masked.bytes, src);
        d.message = unmask(&d.message);
    }
    let mut notes = Vec::new();
    // A template's includes name files on the hosts it is rendered onto (often rendered from
    // templates themselves): following them here would read, and patch, this machine's files.
    if let Some(first) = scan.includes.first() {
        let message = match scan.includes.len() {
            1 => "this template's include is not followed: it names a file on the hosts the \
                  template is rendered onto; pass that file (or its template) too if it sets a \
                  policy"
                .to_string(),
            n => format!(
                "this template's {n} includes are not followed: they name files on the hosts \
                 the template is rendered onto; pass those files (or their templates) too if \
                 they set a policy"
            ),
        };
        notes.push(Diagnostic::note("TPL004", message).at(Location::of(path, src, first.offset)));
        scan.includes.clear();
    }
    // A `more_set_headers` replaces an earlier one (nginx's scan, `FileScan::replaced`) only
    // where both are rendered together: in the same template branch, not one in `{% if %}`
    // and the other in its `{% else %}` (YunoHost's security.conf.inc.j2).
    let sites = &scan.sites;
    scan.replaced.retain(|&(i, by)| {
        open_blocks(engine, tags, src, sites[i].span.start) == open_blocks(engine, tags, src, by)
    });
    for (direct, site) in scan
        .sites
        .iter_mut()
        .map(|s| (true, s))
        .chain(scan.bindings.iter_mut().map(|s| (false, s)))
    {
        let at = Location::of(path, src, site.span.start);
        let inside = tags_in_value(site, tags);
        apply(site, &inside, tags, src, engine);
        site.context = unmask(&site.context);
        let blocks = open_blocks(engine, tags, src, site.span.start);
        if let Some(branch) = describe_branch(&blocks, tags, src) {
            site.context.push_str(&format!(" > {branch}"));
            if direct {
                notes.push(
                    Diagnostic::note(
                        "TPL002",
                        format!(
                            "this {} is set {branch}: it is patched in the template, so every \
                             rendering of it gets the change; each branch that sets a policy is \
                             its own site, patched on its own",
                            site.disposition.header_name()
                        ),
                    )
                    .at(at.clone()),
                );
            }
        }
        let directive_tags: Vec<String> = inside
            .iter()
            .filter(|t| {
                t.position == Position::Directive && tags[t.tag].kind == TagKind::Expression
            })
            .map(|t| named(tags, t.tag, src))
            .collect();
        if direct && site.refusal.is_none() && !directive_tags.is_empty() {
            notes.push(
                Diagnostic::note(
                    "TPL003",
                    format!(
                        "{} may add directives csppatch cannot see: only directives written \
                         before it are patched (browsers use the first directive of a name), and \
                         a directive the vendor needs that is not written there is refused",
                        directive_tags.join(", ")
                    ),
                )
                .at(at),
            );
        }
    }
    scan.diagnostics.extend(notes);
}

/// Mark the tags' text opaque, give it readable stand-ins, and refuse what cannot be patched.
fn apply(site: &mut Site, inside: &[InValue], tags: &[Tag], src: &[u8], engine: Engine) {
    if inside.is_empty() {
        return;
    }
    let mut text = std::mem::take(&mut site.value.text).into_bytes();
    for t in inside {
        for i in t.text.clone() {
            if !text[i].is_ascii() {
                continue;
            }
            text[i] = match (t.position, site.value.raw(i)) {
                // An empty directive, which no browser reads: the merge sees no unknown name.
                (Position::Directive, _) => b' ',
                (Position::Source, Some(r)) if r.len() == 1 => stand_in(src[r.start]),
                _ => b'_',
            };
        }
        if !site
            .value
            .opaque
            .iter()
            .any(|o| o.start <= t.text.start && t.text.end <= o.end)
        {
            site.value.opaque.push(t.text.clone());
        }
    }
    site.value.opaque.sort_by_key(|o| o.start);
    // envsubst substitutes raw text before nginx reads the file, as Caddy does `{$ENV}`: it
    // may hold `;` and whole directives, so the directive that holds it is neither changed
    // nor copied (README, "What is refused").
    if engine == Engine::Envsubst {
        for t in inside {
            site.value.notes.push(crate::site::OpaqueNote {
                range: t.text.clone(),
                what: format!(
                    "{}, which envsubst substitutes into the file before nginx reads it",
                    named(tags, t.tag, src)
                ),
                reach: crate::site::Reach::Any,
            });
        }
    }
    // Every byte replaced was ASCII and became ASCII.
    site.value.text = String::from_utf8(text).unwrap_or_default();
    if site.refusal.is_some() {
        return;
    }
    if let Some(s) = inside
        .iter()
        .find(|t| tags[t.tag].kind != TagKind::Expression)
    {
        site.refusal = Some(format!(
            "the value changes with the template tag {}: csppatch cannot tell which policy is \
             sent; put the condition around the whole header instead (each branch is then \
             patched on its own)",
            named(tags, s.tag, src)
        ));
        return;
    }
    let literal = (0..site.value.text.len())
        .filter(|&i| !inside.iter().any(|t| t.text.contains(&i)))
        .any(|i| !site.value.text.as_bytes()[i].is_ascii_whitespace());
    if !literal {
        let names: Vec<String> = inside.iter().map(|t| named(tags, t.tag, src)).collect();
        site.refusal = Some(format!(
            "the whole value comes from the template: {}; add the vendor's sources where the \
             template's variables are set (inventory, group_vars, values file, environment)",
            names.join(", ")
        ));
    }
}

/// What a tag's byte reads as in the merge: itself where that cannot split a policy.
fn stand_in(b: u8) -> u8 {
    if b.is_ascii_graphic() && b != b';' && b != b',' {
        b
    } else {
        b'_'
    }
}

/// `in the branch `{% if x %}``, `in `{% else %}` of `{% if x %}` (line 3)`, innermost last.
fn describe_branch(blocks: &[(usize, usize)], tags: &[Tag], src: &[u8]) -> Option<String> {
    if blocks.is_empty() {
        return None;
    }
    let parts: Vec<String> = blocks
        .iter()
        .map(|&(open, branch)| {
            if open == branch {
                format!(
                    "in `{}` (line {})",
                    tags[open].text(src),
                    line_of(src, tags[open].range.start)
                )
            } else {
                format!(
                    "in `{}` (line {}) of `{}`",
                    tags[branch].text(src),
                    line_of(src, tags[branch].range.start),
                    tags[open].text(src)
                )
            }
        })
        .collect();
    Some(parts.join(", "))
}

/// `text` (a context, a message) with each tag's mask written as the tag.
pub fn unmask(text: &str, tags: &[Tag], masked: &Masked, src: &[u8]) -> String {
    let mut out = text.to_string();
    for (k, t) in tags.iter().enumerate() {
        if masked.styles[k] != Style::Word || t.effective.len() < 3 {
            continue;
        }
        let m = String::from_utf8_lossy(&masked.bytes[t.effective.clone()]);
        if out.contains(m.as_ref()) {
            out = out.replace(m.as_ref(), &t.text(src));
        }
    }
    out
}

/// A diagnostic's place computed on the masked bytes, moved to the real file (a tag that
/// spans lines is masked on one).
pub fn relocate(d: &mut Diagnostic, path: &Path, masked: &[u8], src: &[u8]) {
    let Some(loc) = &d.location else { return };
    if loc.path != path {
        return;
    }
    let mut line = 1;
    let mut offset = masked.len();
    for (i, &b) in masked.iter().enumerate() {
        if line == loc.line {
            offset = i + loc.col.saturating_sub(1);
            break;
        }
        if b == b'\n' {
            line += 1;
        }
    }
    d.location = Some(Location::of(path, src, offset.min(src.len())));
}
