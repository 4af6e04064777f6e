//! Values built from variables: a CSP header's `$name` / `${name}` replaced by the value a
//! `set` or `map` of the same file gives it (README, "Values built from variables").
//!
//! `set` runs in the rewrite phase, before any header is added, in the server block and then
//! in the location the request ends in; a `set` inside `if` runs only when the condition
//! holds. So the `set`s that can give `$name` its value at a header are those of the same
//! lineage of blocks (the header's server/location, a block around it, or a block inside it
//! that inherits the header), `if` blocks looked through; a `set` followed in its own block
//! by a `set` of the same name outside `if` never gives the final value and is left out. A
//! `map` (http level) gives each of its values. One possible value: the variable is known
//! and expanded (recursively: `set $a "$b ..."`). Several (a `set` and another inside `if`,
//! `map` entries): the value is expanded once per combination of the values its variables
//! can have, each a policy browsers may receive (at most [`MAX_VARIANTS`]). A variable every
//! `set` of which is inside `if` can also be unset, and a `map` without `default` gives the
//! empty string when no key matches: nginx then sends the value with nothing in its place,
//! which is one more variant. Otherwise the reference stays opaque, with a note saying why and
//! where it is set.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Range;

use crate::site::{Decoded, OpaqueNote, PieceOf, Reach};

use super::syntax::{unescape, Directive, Word};
use super::value;

/// How many `set`s deep a chain is followed (`set $a "$b"; set $b "$c"` ...).
const MAX_DEPTH: usize = 8;

/// How many variants of one header value are expanded (each is merged, patched and read
/// back): several variables with several values each multiply.
pub const MAX_VARIANTS: usize = 16;

/// One `set $name VALUE`, or one value of a `map`.
#[derive(Debug, Clone)]
struct Assignment {
    word: Word,
    /// Indices of the enclosing blocks, `if` blocks left out (a `map` value: none, it is
    /// http-wide).
    path: Vec<usize>,
    /// The innermost `if` around it (it may not run), as written: `if ($unsafe)`.
    within: Option<String>,
    /// A `map` value: its key as written (`default`, `~*\.pdf$`).
    key: Option<String>,
}

impl Assignment {
    fn conditional(&self) -> bool {
        self.within.is_some() || self.key.is_some()
    }

    /// `line 25, in `if ($unsafe)``, `line 7, map key `~\.pdf$``.
    fn origin(&self, src: &[u8]) -> String {
        let line = line_of(src, self.word.span.start);
        match (&self.within, &self.key) {
            (_, Some(key)) => format!("line {line}, map key `{key}`"),
            (Some(within), None) => format!("line {line}, in `{within}`"),
            (None, None) => format!("line {line}"),
        }
    }
}

/// One value a variable can have at a header.
#[derive(Debug, Clone, Copy)]
enum Choice<'a> {
    Value(&'a Assignment),
    /// No `set` of it runs (every one is inside `if`), or no key of its `map` matches and
    /// the map has no `default`: nginx sends nothing in its place.
    Empty { map: bool },
}

/// A `map`'s variable: its values, and whether it has a `default`.
#[derive(Debug, Default)]
struct MapVar {
    entries: Vec<Assignment>,
    default: bool,
}

/// Every `set` and `map` of a file, and which variables something other than a CSP value
/// reads.
#[derive(Debug, Default)]
pub struct Assignments {
    by_name: HashMap<String, Vec<Assignment>>,
    maps: HashMap<String, MapVar>,
    /// Variables read by a directive that is not a CSP header or a `set`: changing their
    /// value would change that directive too.
    read_elsewhere: HashSet<String>,
    /// How many `set` values read each variable (`set $style "... ${main_domain}"`).
    read_in_sets: HashMap<String, usize>,
    /// How many CSP header values read each variable.
    read_in_csp: HashMap<String, usize>,
}

/// What a header value expands to.
#[derive(Debug)]
pub enum Expansion {
    /// No variable was expanded: decode it as before.
    Plain,
    /// One value (the variables with one possible value expanded, the others opaque).
    One(Decoded),
    /// Several: each combination of the variables' values, with what was chosen
    /// (`` `$scriptSrc` from line 25, in `if ($unsafe)` ``).
    Variants(Vec<(Decoded, String)>),
    /// More than [`MAX_VARIANTS`]: the value with the variables opaque, and the refusal when
    /// one of their values holds a `;` (it could end the directive it stands in).
    TooMany(Decoded, Option<String>),
}

/// The values chosen for the variables with several, in one expansion.
#[derive(Debug, Default, Clone)]
struct Pick {
    /// Variable name and index into its choices.
    chosen: Vec<(String, usize)>,
    /// Expand variables with several values (else they stay opaque, noted).
    fork: bool,
    /// Set when a variable with several values and none chosen yet was met: its name and how
    /// many values it has (the expansion stops there).
    need: Option<(String, usize)>,
    /// Not expanded because of [`MAX_VARIANTS`] (said in the notes).
    over: bool,
}

impl Pick {
    fn get(&self, name: &str) -> Option<usize> {
        self.chosen.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }
}

impl Assignments {
    /// Collect the `set`s and `map`s of a parsed file.
    pub fn collect(directives: &[Directive], src: &[u8]) -> Assignments {
        let mut a = Assignments::default();
        a.visit(directives, src, &mut Vec::new(), None);
        a
    }

    fn visit(
        &mut self,
        directives: &[Directive],
        src: &[u8],
        path: &mut Vec<usize>,
        within: Option<&str>,
    ) {
        for (i, d) in directives.iter().enumerate() {
            let name = d.name.bytes(src);
            let name: &[u8] = &name;
            let skip: &[usize] = match name {
                b"set" => &[0, 1],
                b"map" => &[1],
                b"add_header" if is_csp_header(d, src) => &[1],
                _ => &[],
            };
            if name == b"set" {
                if let [var, word] = d.args.as_slice() {
                    if let Some(n) = var.bytes(src).strip_prefix(b"$") {
                        self.by_name
                            .entry(String::from_utf8_lossy(n).into_owned())
                            .or_default()
                            .push(Assignment {
                                word: word.clone(),
                                path: path.clone(),
                                within: within.map(str::to_string),
                                key: None,
                            });
                    }
                }
            }
            for (k, w) in d.args.iter().enumerate() {
                let names = names_in(&w.bytes(src));
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
                let label = is_if.then(|| super::sites::block_label(d, src));
                self.visit(d.children(), src, path, label.as_deref().or(within));
                if !is_if {
                    path.pop();
                }
            } else if name == b"map" {
                self.map(d, src);
            }
        }
    }

    /// `map SOURCE $var { KEY VALUE; ... }`: each value is one the variable can have.
    fn map(&mut self, d: &Directive, src: &[u8]) {
        for entry in d.children() {
            for w in entry.args.iter() {
                self.read_elsewhere.extend(names_in(&w.bytes(src)));
            }
        }
        let [_, var] = d.args.as_slice() else {
            return;
        };
        let Some(n) = var.value(src).strip_prefix(b"$").map(<[u8]>::to_vec) else {
            return;
        };
        let m = self
            .maps
            .entry(String::from_utf8_lossy(&n).into_owned())
            .or_default();
        for entry in d.children() {
            // `include`, `hostnames;`, `volatile;` and entries nginx refuses give no value.
            let [word] = entry.args.as_slice() else {
                continue;
            };
            if entry.name_is(src, "include") {
                continue;
            }
            let key = String::from_utf8_lossy(&src[entry.name.span.clone()]).into_owned();
            m.default |= key == "default";
            m.entries.push(Assignment {
                word: word.clone(),
                path: Vec::new(),
                within: None,
                key: Some(key),
            });
        }
    }

    /// Decode a header value (`alone`: as written, its references opaque, at block path
    /// `path`) with its variables expanded: once, or once per combination of the values its
    /// variables can have.
    pub fn expand(&self, alone: &Decoded, path: &[usize], src: &[u8]) -> Expansion {
        if alone.opaque.is_empty() {
            return Expansion::Plain;
        }
        let finish = |d: Decoded| {
            if d.pieces.is_empty() {
                // Nothing known: keep the notes (they say why), drop nothing else.
                d
            } else {
                d.finish(alone.clone())
            }
        };
        let mut done: Vec<(Decoded, Pick)> = Vec::new();
        let mut queue = VecDeque::from([Pick {
            fork: true,
            ..Pick::default()
        }]);
        let mut names: Vec<String> = Vec::new();
        let mut combinations = 1usize;
        while let Some(mut pick) = queue.pop_front() {
            let d = self.expand_in(alone, path, src, &mut Vec::new(), &mut pick);
            if let Some((name, n)) = pick.need.take() {
                if !names.contains(&name) {
                    names.push(name.clone());
                }
                combinations = done.len() + queue.len() + n;
                if combinations > MAX_VARIANTS {
                    break;
                }
                for i in 0..n {
                    let mut next = pick.clone();
                    next.chosen.push((name.clone(), i));
                    queue.push_back(next);
                }
                continue;
            }
            let Some(d) = d else {
                return Expansion::Plain;
            };
            done.push((d, pick));
        }
        if combinations > MAX_VARIANTS {
            // Not expanded: the variables stay run-time parts, patched around inside a
            // directive's sources (right for any value of theirs that holds no `;`) and refused
            // where a directive is, as they were before variants were expanded.
            let mut pick = Pick {
                over: true,
                ..Pick::default()
            };
            let Some(d) = self.expand_in(alone, path, src, &mut Vec::new(), &mut pick) else {
                return Expansion::Plain;
            };
            let ends_directive = names.iter().any(|n| {
                self.choices(n, path).unwrap_or_default().iter().any(|c| {
                    matches!(c, Choice::Value(a) if unescape(src, a.word.span.clone(), a.word.quote)
                        .iter()
                        .any(|(b, _)| *b == b';'))
                })
            });
            let why = ends_directive.then(|| {
                let list: Vec<String> = names
                    .iter()
                    .map(|n| format!("`${n}` ({})", self.lines(n, path, src)))
                    .collect();
                format!(
                    "{} can hold more than {MAX_VARIANTS} combinations of values here, some with \
                     more directives; each is a policy browsers may receive, and csppatch \
                     expands at most {MAX_VARIANTS}: give them fewer values (or write the \
                     directives in the header), then run csppatch again",
                    list.join(", ")
                )
            });
            return Expansion::TooMany(finish(d), why);
        }
        match done.len() {
            0 => Expansion::Plain,
            1 => Expansion::One(finish(done.pop().expect("one").0)),
            _ => Expansion::Variants(
                done.into_iter()
                    .map(|(d, pick)| {
                        let label = pick
                            .chosen
                            .iter()
                            .map(|(n, i)| self.describe_choice(n, *i, path, src))
                            .collect::<Vec<_>>()
                            .join(", ");
                        (finish(d), label)
                    })
                    .collect(),
            ),
        }
    }

    /// `plain`: a value as written (decoded, its references opaque).
    fn expand_in(
        &self,
        plain: &Decoded,
        path: &[usize],
        src: &[u8],
        chain: &mut Vec<String>,
        pick: &mut Pick,
    ) -> Option<Decoded> {
        let mut d = Decoded::default();
        let mut last = 0;
        for o in &plain.opaque {
            // The literal text before the reference, as the plain decoding has it.
            push_text(&mut d, plain, last..o.start);
            last = o.end;
            let stand_in = &plain.text[o.clone()];
            let reference = plain.raw(o.start)?.start..plain.raw(o.end - 1)?.end;
            let name = variable_name(stand_in);
            let choices = match self.choices(&name, path) {
                Ok(c) => c,
                Err(why) => {
                    let why = why.describe(src);
                    d.push_noted(stand_in, reference, note(stand_in, &why));
                    continue;
                }
            };
            let several = choices.len() > 1;
            let choice = match (several, pick.get(&name)) {
                (false, _) => choices[0],
                (true, Some(i)) => choices[i],
                (true, None) if pick.fork => {
                    pick.need = Some((name, choices.len()));
                    return None;
                }
                (true, None) => {
                    let mut why = Unknown::Several(self.offsets(&name, path)).describe(src);
                    if pick.over {
                        why.push_str(&format!(
                            ", and with the other variables more than {MAX_VARIANTS} \
                             combinations, more than csppatch expands"
                        ));
                    }
                    d.push_noted(stand_in, reference, note(stand_in, &why));
                    continue;
                }
            };
            let a = match choice {
                Choice::Empty { .. } => continue,
                Choice::Value(a) => a,
            };
            if chain.len() >= MAX_DEPTH || chain.contains(&name) {
                d.push_noted(
                    stand_in,
                    reference,
                    note(stand_in, "its `set` refers to itself"),
                );
                continue;
            }
            let inner = unescape(src, a.word.span.clone(), a.word.quote);
            let inner = value::decode_complex(&inner).ok();
            chain.push(name.clone());
            let value = inner
                .as_ref()
                .and_then(|inner| self.expand_in(inner, path, src, chain, pick));
            chain.pop();
            if pick.need.is_some() {
                return None;
            }
            let (Some(value), Some(inner)) = (value, inner) else {
                d.push_noted(stand_in, reference, note(stand_in, "nginx refuses its value"));
                continue;
            };
            let value = value.finish(inner);
            let at = d.pieces.len();
            d.push_value(
                reference,
                &value,
                PieceOf {
                    span: a.word.span.clone(),
                    name: format!("${name}"),
                    origin: a.origin(src),
                    editable: self.editable(&name),
                },
            );
            d.pieces[at].variant = several;
        }
        push_text(&mut d, plain, last..plain.text.len());
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

    /// The `set`s of `name` that can give it its value at a header at `path`: those of the
    /// same lineage, less any followed in its own block by an unconditional `set` of it.
    fn sets(&self, name: &str, path: &[usize]) -> Vec<&Assignment> {
        let all: Vec<&Assignment> = self
            .by_name
            .get(name)
            .map(|v| v.iter().filter(|a| same_lineage(&a.path, path)).collect())
            .unwrap_or_default();
        all.iter()
            .copied()
            .filter(|a| {
                !all.iter().any(|b| {
                    !b.conditional()
                        && b.path == a.path
                        && b.word.span.start > a.word.span.start
                })
            })
            .collect()
    }

    /// Every value `name` can have at a header at `path`.
    fn choices(&self, name: &str, path: &[usize]) -> Result<Vec<Choice<'_>>, Unknown> {
        let sets = self.sets(name, path);
        let map = self.maps.get(name);
        if sets.is_empty() && map.is_none_or(|m| m.entries.is_empty()) {
            return Err(Unknown::NotSet);
        }
        let mut out: Vec<Choice> = sets.iter().map(|a| Choice::Value(a)).collect();
        let always = sets.iter().any(|a| !a.conditional());
        if !always {
            out.extend(map.iter().flat_map(|m| &m.entries).map(Choice::Value));
            if !map.is_some_and(|m| m.default) {
                out.push(Choice::Empty { map: map.is_some() });
            }
        }
        Ok(out)
    }

    /// File offsets of the values `name` can have at `path`, for messages.
    fn offsets(&self, name: &str, path: &[usize]) -> Vec<usize> {
        self.choices(name, path)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| match c {
                Choice::Value(a) => Some(a.word.span.start),
                Choice::Empty { .. } => None,
            })
            .collect()
    }

    /// `set on lines 20, 25`, for messages (the first few of a long `map`).
    fn lines(&self, name: &str, path: &[usize], src: &[u8]) -> String {
        const SHOWN: usize = 8;
        let offsets = self.offsets(name, path);
        let mut lines: Vec<String> = offsets
            .iter()
            .take(SHOWN)
            .map(|&o| line_of(src, o).to_string())
            .collect();
        if offsets.len() > SHOWN {
            lines.push(format!("and {} more", offsets.len() - SHOWN));
        }
        format!(
            "set on line{} {}",
            if offsets.len() == 1 { "" } else { "s" },
            lines.join(", ")
        )
    }

    /// `` `$scriptSrc` from line 25, in `if ($unsafe)` ``, `` `$extra` unset ``.
    fn describe_choice(&self, name: &str, i: usize, path: &[usize], src: &[u8]) -> String {
        match self.choices(name, path).ok().and_then(|c| c.get(i).copied()) {
            Some(Choice::Value(a)) => format!("`${name}` from {}", a.origin(src)),
            Some(Choice::Empty { map: true }) => {
                format!("`${name}` empty (no key of its `map` matches)")
            }
            Some(Choice::Empty { map: false }) => {
                format!("`${name}` unset (none of its `set`s runs)")
            }
            None => format!("`${name}`"),
        }
    }
}

/// Why a variable's value is not known from the file.
enum Unknown {
    /// No `set` or `map` of this file assigns it where the header is.
    NotSet,
    /// Several values, and they are not expanded: file offsets of their values.
    Several(Vec<usize>),
}

impl Unknown {
    fn describe(&self, src: &[u8]) -> String {
        match self {
            Unknown::NotSet => "no `set` of this file assigns it here, nor a `map` (a `map` of \
                                another file or nginx itself gives it its value at request \
                                time)"
                .into(),
            Unknown::Several(at) => {
                let mut lines: Vec<String> = at
                    .iter()
                    .take(8)
                    .map(|&o| line_of(src, o).to_string())
                    .collect();
                if at.len() > 8 {
                    lines.push(format!("and {} more", at.len() - 8));
                }
                format!(
                    "it has more than one possible value here (line{} {})",
                    if lines.len() == 1 { "" } else { "s" },
                    lines.join(", "),
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
        crate::site::Disposition::from_header_name(&h.bytes(src)).is_some()
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

    fn sites(src: &str) -> Vec<crate::site::Site> {
        use crate::dialect::Dialect;
        super::super::Nginx
            .find(std::path::Path::new("t.conf"), src.as_bytes())
            .expect("nginx reads it")
            .sites
    }

    fn texts(src: &str) -> Vec<String> {
        sites(src).into_iter().map(|s| s.value.text).collect()
    }

    #[test]
    fn a_set_and_another_inside_if_are_two_variants() {
        let src = "server {\n\
                   set $s \"'self'\";\n\
                   if ($arg_x) { set $s \"'self' 'unsafe-eval'\"; }\n\
                   add_header Content-Security-Policy \"script-src $s; object-src 'none'\";\n}\n";
        let all = sites(src);
        assert_eq!(
            all.iter().map(|s| s.value.text.as_str()).collect::<Vec<_>>(),
            [
                "script-src 'self'; object-src 'none'",
                "script-src 'self' 'unsafe-eval'; object-src 'none'"
            ]
        );
        for s in &all {
            assert!(s.refusal.is_none(), "{:?}", s.refusal);
            assert_eq!(s.span, all[0].span, "both are the header's word");
            assert!(s.value.pieces[0].variant);
        }
        assert!(all[0].context.ends_with("[with `$s` from line 2]"), "{}", all[0].context);
        assert!(
            all[1].context.ends_with("[with `$s` from line 3, in `if ($arg_x)`]"),
            "{}",
            all[1].context
        );
    }

    #[test]
    fn sets_only_inside_if_can_also_leave_the_variable_unset() {
        let src = "server {\n\
                   if ($a) { set $extra \"https://a.example\"; }\n\
                   add_header Content-Security-Policy \"script-src 'self' $extra\";\n}\n";
        assert_eq!(
            texts(src),
            ["script-src 'self' https://a.example", "script-src 'self' "]
        );
        assert!(sites(src)[1].context.contains("`$extra` unset"));
    }

    #[test]
    fn a_set_followed_by_another_in_its_block_is_never_the_value() {
        let src = "server {\n set $s \"a.example\";\n set $s \"b.example\";\n\
                   add_header Content-Security-Policy \"img-src $s\";\n}\n";
        let all = sites(src);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].value.text, "img-src b.example");
        assert!(!all[0].value.pieces[0].variant, "one value: known");
    }

    #[test]
    fn each_map_value_is_a_variant_and_no_default_adds_the_empty_one() {
        let with_default = "map $uri $h {\n default \"'sha256-a'\";\n ~^/b \"'sha256-b'\";\n}\n\
                            server {\n add_header Content-Security-Policy \"script-src 'self' $h\";\n}\n";
        assert_eq!(
            texts(with_default),
            ["script-src 'self' 'sha256-a'", "script-src 'self' 'sha256-b'"]
        );
        assert!(sites(with_default)[1]
            .context
            .contains("`$h` from line 3, map key `~^/b`"));
        let without = "map $uri $h {\n ~^/b \"'sha256-b'\";\n}\n\
                       server {\n add_header Content-Security-Policy \"script-src 'self' $h\";\n}\n";
        assert_eq!(
            texts(without),
            ["script-src 'self' 'sha256-b'", "script-src 'self' "]
        );
        assert!(sites(without)[1].context.contains("no key of its `map` matches"));
    }

    #[test]
    fn a_map_value_in_the_place_of_a_directive_is_expanded_not_refused() {
        let src = "map $uri $extra {\n default \"\";\n ~^/embed \"frame-ancestors *\";\n}\n\
                   server {\n add_header Content-Security-Policy \"default-src 'self'; $extra\";\n}\n";
        let all = sites(src);
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|s| s.refusal.is_none()));
        assert_eq!(all[1].value.text, "default-src 'self'; frame-ancestors *");
    }

    #[test]
    fn more_combinations_than_the_bound_stay_run_time_parts_or_refuse_naming_the_variables() {
        let mut src = String::from("server {\n");
        for v in ["a", "b", "c"] {
            src.push_str(&format!(
                " set ${v} \"{v}0.example\";\n if ($arg_{v}) {{ set ${v} \"{v}1.example\"; }}\n \
                 if ($arg_{v}2) {{ set ${v} \"{v}2.example\"; }}\n"
            ));
        }
        src.push_str(" add_header Content-Security-Policy \"img-src $a $b $c\";\n}\n");
        let all = sites(&src);
        assert_eq!(all.len(), 1, "27 combinations: not expanded");
        assert!(all[0].refusal.is_none(), "sources only: patched around");
        assert_eq!(all[0].value.text, "img-src $a $b $c", "the variables stay opaque");
        assert!(all[0].value.notes[0].what.contains("more than 16 combinations"));
        // With a value that holds another directive, it is refused, naming them.
        let src = src.replace("a2.example", "a2.example; frame-ancestors *");
        let all = sites(&src);
        let why = all[0].refusal.as_deref().expect("refused");
        assert!(
            why.contains("`$a` (set on lines 2, 3, 4)") && why.contains("`$b`") && why.contains("16"),
            "{why}"
        );
    }

    #[test]
    fn the_same_variable_twice_takes_the_same_value_in_a_variant() {
        let src = "server {\n set $s \"'self'\";\n if ($x) { set $s \"'none'\"; }\n\
                   add_header Content-Security-Policy \"script-src $s; worker-src $s\";\n}\n";
        assert_eq!(
            texts(src),
            [
                "script-src 'self'; worker-src 'self'",
                "script-src 'none'; worker-src 'none'"
            ]
        );
    }

    #[test]
    fn lineage_is_either_way() {
        assert!(same_lineage(&[0, 1], &[0]));
        assert!(same_lineage(&[0], &[0, 1, 2]));
        assert!(!same_lineage(&[0, 1], &[0, 2]));
    }
}
