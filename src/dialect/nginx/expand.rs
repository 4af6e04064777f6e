//! Values built from variables: a CSP header's `$name` / `${name}` replaced by the value a
//! `set` of the same file gives it, when that value is the only one it can have (README,
//! "How variables are expanded").
//!
//! `set` runs in the rewrite phase, before any header is added, in the server block and then
//! in the location the request ends in; a `set` inside `if` runs only when the condition
//! holds. So the `set`s that can give `$name` its value at a header are those of the same
//! lineage of blocks (the header's server/location, a block around it, or a block inside it
//! that inherits the header), `if` blocks looked through. Exactly one such `set`, not inside
//! an `if`: the value is known and expanded (recursively: `set $a "$b ..."`). Otherwise the
//! reference stays opaque, with a note saying why and where it is set.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::site::{Decoded, OpaqueNote, PieceOf, Reach};

use super::syntax::{unescape, Directive, Word};
use super::value::{self, Mapped};

/// How many `set`s deep a chain is followed (`set $a "$b"; set $b "$c"` ...).
const MAX_DEPTH: usize = 8;

/// One `set $name VALUE`.
#[derive(Debug, Clone)]
struct Assignment {
    word: Word,
    /// Indices of the enclosing blocks, `if` blocks left out.
    path: Vec<usize>,
    /// Inside an `if`: it may not run.
    conditional: bool,
}

/// Every `set` of a file, and which variables something other than a CSP value reads.
#[derive(Debug, Default)]
pub struct Assignments {
    by_name: HashMap<String, Vec<Assignment>>,
    /// Variables read by a directive that is not a CSP header or a `set`: changing their
    /// value would change that directive too.
    read_elsewhere: HashSet<String>,
    /// How many `set` values read each variable (`set $style "... ${main_domain}"`).
    read_in_sets: HashMap<String, usize>,
    /// How many CSP header values read each variable.
    read_in_csp: HashMap<String, usize>,
}

impl Assignments {
    /// Collect the `set`s of a parsed file.
    pub fn collect(directives: &[Directive], src: &[u8]) -> Assignments {
        let mut a = Assignments::default();
        a.visit(directives, src, &mut Vec::new(), false);
        a
    }

    fn visit(&mut self, directives: &[Directive], src: &[u8], path: &mut Vec<usize>, cond: bool) {
        for (i, d) in directives.iter().enumerate() {
            let name = d.name.value(src);
            let skip: &[usize] = match name.as_slice() {
                b"set" => &[0, 1],
                b"map" => &[1],
                b"add_header" if is_csp_header(d, src) => &[1],
                _ => &[],
            };
            if name == b"set" {
                if let [var, word] = d.args.as_slice() {
                    if let Some(n) = var.value(src).strip_prefix(b"$") {
                        self.by_name
                            .entry(String::from_utf8_lossy(n).into_owned())
                            .or_default()
                            .push(Assignment {
                                word: word.clone(),
                                path: path.clone(),
                                conditional: cond,
                            });
                    }
                }
            }
            for (k, w) in d.args.iter().enumerate() {
                let names = names_in(&w.value(src));
                let counts = if name == b"set" && k == 1 {
                    &mut self.read_in_sets
                } else if skip.contains(&k) || (name == b"more_set_headers" && is_csp_line(w, src))
                {
                    if name == b"set" || name == b"map" {
                        continue;
                    }
                    &mut self.read_in_csp
                } else {
                    self.read_elsewhere.extend(names);
                    continue;
                };
                for n in names {
                    *counts.entry(n).or_default() += 1;
                }
            }
            if !d.children().is_empty() && name != b"map" {
                let is_if = name == b"if";
                if !is_if {
                    path.push(i);
                }
                self.visit(d.children(), src, path, cond || is_if);
                if !is_if {
                    path.pop();
                }
            } else if name == b"map" {
                for entry in d.children() {
                    for w in entry.args.iter() {
                        self.read_elsewhere.extend(names_in(&w.value(src)));
                    }
                }
            }
        }
    }

    /// Decode a header value (`bytes`, at block path `path`) with every variable that has one
    /// known value expanded. `None`: no variable was expanded (decode it as before).
    pub fn expand(&self, bytes: &[Mapped], path: &[usize], src: &[u8]) -> Option<Decoded> {
        let alone = value::decode_complex(bytes).ok()?;
        if alone.opaque.is_empty() {
            return None;
        }
        let mut chain = Vec::new();
        let d = self.expand_in(bytes, path, src, &mut chain)?;
        if d.pieces.is_empty() {
            // Nothing known: keep the notes (they say why), drop nothing else.
            return Some(d);
        }
        Some(d.finish(alone))
    }

    fn expand_in(
        &self,
        bytes: &[Mapped],
        path: &[usize],
        src: &[u8],
        chain: &mut Vec<String>,
    ) -> Option<Decoded> {
        let plain = value::decode_complex(bytes).ok()?;
        let mut d = Decoded::default();
        let mut last = 0;
        for o in &plain.opaque {
            // The literal text before the reference, as the plain decoding has it.
            push_text(&mut d, &plain, last..o.start);
            last = o.end;
            let stand_in = &plain.text[o.clone()];
            let reference = plain.raw(o.start)?.start..plain.raw(o.end - 1)?.end;
            let name = variable_name(stand_in);
            let found = self.known(&name, path);
            match found {
                Ok(a) if chain.len() < MAX_DEPTH && !chain.contains(&name) => {
                    let inner = unescape(src, a.word.span.clone(), a.word.quote);
                    chain.push(name.clone());
                    let value = self.expand_in(&inner, path, src, chain);
                    chain.pop();
                    let Some(value) = value else {
                        d.push_noted(stand_in, reference, note(stand_in, "nginx refuses its value"));
                        continue;
                    };
                    let value = value.finish(value::decode_complex(&inner).ok()?);
                    d.push_value(
                        reference,
                        &value,
                        PieceOf {
                            span: a.word.span.clone(),
                            name: format!("${name}"),
                            origin: format!("line {}", line_of(src, a.word.span.start)),
                            editable: self.editable(&name),
                        },
                    );
                }
                Ok(_) => d.push_noted(stand_in, reference, note(stand_in, "its `set` refers to itself")),
                Err(why) => {
                    let why = why.describe(src);
                    d.push_noted(stand_in, reference, note(stand_in, &why));
                }
            }
        }
        push_text(&mut d, &plain, last..plain.text.len());
        Some(d)
    }

    /// May a `set` of `name` be changed for a CSP? Not when another directive reads the
    /// variable, nor when it is read by several `set`s or by a `set` and a header (changing
    /// it would change all of them). Several headers reading it directly is fine: each is
    /// patched, and the same change is written once.
    fn editable(&self, name: &str) -> bool {
        let sets = self.read_in_sets.get(name).copied().unwrap_or(0);
        let csp = self.read_in_csp.get(name).copied().unwrap_or(0);
        !self.read_elsewhere.contains(name) && (sets == 0 || (sets == 1 && csp == 0))
    }

    /// The one `set` that gives `name` its value at a header at `path`.
    fn known(&self, name: &str, path: &[usize]) -> Result<&Assignment, Unknown> {
        let all: Vec<&Assignment> = self
            .by_name
            .get(name)
            .map(|v| v.iter().filter(|a| same_lineage(&a.path, path)).collect())
            .unwrap_or_default();
        match all.as_slice() {
            [] => Err(Unknown::NotSet),
            [one] if !one.conditional => Ok(one),
            many => Err(Unknown::Several(
                many.iter().map(|a| a.word.span.start).collect(),
            )),
        }
    }
}

/// Why a variable's value is not known from the file.
enum Unknown {
    /// No `set` of this file assigns it where the header is.
    NotSet,
    /// Several `set`s (or one inside an `if`): file offsets of their values.
    Several(Vec<usize>),
}

impl Unknown {
    fn describe(&self, src: &[u8]) -> String {
        match self {
            Unknown::NotSet => "no `set` of this file assigns it here (a `map`, another file \
                                or nginx itself gives it its value at request time)"
                .into(),
            Unknown::Several(at) => {
                let lines: Vec<String> = at.iter().map(|&o| line_of(src, o).to_string()).collect();
                format!(
                    "it has more than one possible value here (`set` on line{} {}{})",
                    if lines.len() == 1 { "" } else { "s" },
                    lines.join(", "),
                    if lines.len() == 1 { ", inside `if`" } else { "" }
                )
            }
        }
    }
}

fn note(stand_in: &str, why: &str) -> OpaqueNote {
    OpaqueNote {
        range: 0..0,
        what: format!("`{stand_in}`: {why}"),
        reach: Reach::Source,
    }
}

/// Copy `plain.text[range]` (literal text, or an escape) with its raw mapping.
fn push_text(d: &mut Decoded, plain: &Decoded, range: Range<usize>) {
    let text = &plain.text[range.clone()];
    let mut i = range.start;
    for ch in text.chars() {
        let n = ch.len_utf8();
        if let Some(r) = plain.raw(i) {
            d.push_char(ch, r);
        }
        i += n;
    }
}

/// `$name` / `${name}` → `name`.
fn variable_name(stand_in: &str) -> String {
    let n = stand_in.trim_start_matches('$');
    n.strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(n)
        .to_string()
}

fn same_lineage(a: &[usize], b: &[usize]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn line_of(src: &[u8], offset: usize) -> usize {
    src[..offset.min(src.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

fn is_csp_header(d: &Directive, src: &[u8]) -> bool {
    d.args.first().is_some_and(|h| {
        crate::site::Disposition::from_header_name(&h.value(src)).is_some()
    })
}

/// A `more_set_headers` argument that sets a CSP header.
fn is_csp_line(w: &Word, src: &[u8]) -> bool {
    let v = w.value(src);
    let key: Vec<u8> = v
        .iter()
        .copied()
        .take_while(|&b| b != b':' && !b.is_ascii_whitespace())
        .collect();
    crate::site::Disposition::from_header_name(&key).is_some()
}

/// The variable names a value reads (`$a`, `${b}`; not `$1`).
fn names_in(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'$' {
            let braced = v.get(i + 1) == Some(&b'{');
            let start = i + 1 + usize::from(braced);
            let len = v[start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if len > 0 && !v[start].is_ascii_digit() {
                out.push(String::from_utf8_lossy(&v[start..start + len]).into_owned());
            }
            i = start + len;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_in_both_forms() {
        assert_eq!(names_in(b"a $x ${y}z $1 $"), vec!["x", "y"]);
    }

    #[test]
    fn lineage_is_either_way() {
        assert!(same_lineage(&[0, 1], &[0]));
        assert!(same_lineage(&[0], &[0, 1, 2]));
        assert!(!same_lineage(&[0, 1], &[0, 2]));
    }
}
