//! Checks that need the whole configuration: which `add_header` directives reach which block.
//!
//! nginx's headers filter inherits `add_header` from the enclosing level *only* when a level has
//! none of its own (ngx_http_headers_merge_conf: `if (conf->headers == NULL) conf->headers =
//! prev->headers`). nginx 1.29.3 added `add_header_inherit on|off|merge`, itself inherited.
//! Includes are followed (h5bp sets its headers in included snippets), so these checks run on
//! [`TreeFile`]s, whose `included` lists the files each include resolved to.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::diag::{Diagnostic, Location};
use crate::dialect::TreeFile;
use crate::site::Disposition;

use super::sites::block_label;
use super::syntax::{parse, Directive};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Inherit {
    #[default]
    On,
    Off,
    Merge,
}

/// An `add_header` and where it is. Names are shared (`Arc`: outlines are made on the run's
/// threads): a level's headers are copied into every level that inherits them.
#[derive(Debug, Clone)]
struct Header {
    name: Arc<str>,
    csp: Option<Disposition>,
    file: usize,
    offset: usize,
}

/// A `proxy_pass` (`fastcgi_pass`, `uwsgi_pass`, `scgi_pass`, `grpc_pass`) and where it is.
#[derive(Debug, Clone)]
struct Pass {
    directive: &'static str,
    file: usize,
    offset: usize,
}

/// An `http`, `server`, `location` or `if` block with the `add_header`s written at its level,
/// through includes.
#[derive(Debug, Default)]
struct Level {
    /// The block is the directive at `offset` in `file`, or (`top`) the top level of `file`:
    /// its label (`server example.com`) is made only for a message ([`Tree::label`]).
    top: bool,
    file: usize,
    offset: usize,
    headers: Vec<Header>,
    inherit: Option<Inherit>,
    /// The upstreams this level hands requests to.
    passes: Vec<Pass>,
    /// `(module, hides the CSP)` for each `*_hide_header` written at this level: like
    /// `add_header`, a module's list is inherited only by a level that has none of its own
    /// (ngx_http_upstream_hide_headers_hash: `conf->hide_headers = prev->hide_headers`).
    hides: Vec<(&'static str, bool)>,
    /// A headers-more `more_clear_headers` that clears the CSP, whatever the module.
    cleared: bool,
}

/// A block met while collecting a level, collected and checked after the level itself.
struct Block<'i> {
    file: usize,
    offset: usize,
    items: &'i [Item],
    /// The files being included when it was met (for the include cycle check).
    stack: Vec<usize>,
}

/// The upstream modules, by their pass directive and their hide directive.
const UPSTREAMS: &[(&str, &str)] = &[
    ("proxy_pass", "proxy_hide_header"),
    ("fastcgi_pass", "fastcgi_hide_header"),
    ("uwsgi_pass", "uwsgi_hide_header"),
    ("scgi_pass", "scgi_hide_header"),
    ("grpc_pass", "grpc_hide_header"),
];

/// What the checks need of a file, without the rest of its syntax tree (which, for every
/// file of a 10,000-vhost configuration at once, was most of csppatch's memory). Every file's
/// outline is held at once, so it is kept small: a block has no label (it is made again from
/// the file when a message needs it), and a block with nothing in it is left out (it inherits
/// everything and adds nothing, so no check can fire there).
#[derive(Debug)]
enum Item {
    Header {
        name: Arc<str>,
        csp: Option<Disposition>,
        offset: usize,
    },
    Inherit(Option<Inherit>),
    Include {
        offset: usize,
    },
    Pass {
        directive: &'static str,
        offset: usize,
    },
    /// `*_hide_header NAME` of the module whose pass directive is `module`.
    Hide {
        module: &'static str,
        csp: bool,
    },
    /// `more_clear_headers` naming the CSP (or a wildcard that covers it).
    Cleared,
    Block {
        offset: usize,
        children: Box<[Item]>,
    },
}

fn outline(directives: &[Directive], src: &[u8]) -> Box<[Item]> {
    let mut out = Vec::new();
    for d in directives {
        let name = d.name.bytes(src);
        match &*name {
            b"add_header" => {
                let name = d.args.first().map(|a| a.bytes(src)).unwrap_or_default();
                out.push(Item::Header {
                    name: String::from_utf8_lossy(&name).into(),
                    csp: Disposition::from_header_name(&name),
                    offset: d.span.start,
                })
            }
            b"add_header_inherit" => out.push(Item::Inherit(
                match d.args.first().map(|a| a.text(src)).as_deref() {
                    Some("merge") => Some(Inherit::Merge),
                    Some("off") => Some(Inherit::Off),
                    Some("on") => Some(Inherit::On),
                    _ => None,
                },
            )),
            b"include" => out.push(Item::Include {
                offset: d.span.start,
            }),
            b"more_clear_headers" => {
                let clears = d.args.iter().any(|a| {
                    let v = a.value(src).to_ascii_lowercase();
                    !v.starts_with(b"-") && clears_csp(&v)
                });
                if clears {
                    out.push(Item::Cleared);
                }
            }
            b"http" | b"server" | b"location" | b"if" => {
                let children = outline(d.children(), src);
                if !children.is_empty() {
                    out.push(Item::Block {
                        offset: d.span.start,
                        children,
                    })
                }
            }
            name => {
                if let Some(&(pass, _)) = UPSTREAMS.iter().find(|(p, _)| p.as_bytes() == name) {
                    out.push(Item::Pass {
                        directive: pass,
                        offset: d.span.start,
                    });
                } else if let Some(&(pass, _)) = UPSTREAMS.iter().find(|(_, h)| h.as_bytes() == name) {
                    let csp = d.args.first().is_some_and(|a| {
                        a.value(src)
                            .eq_ignore_ascii_case(b"content-security-policy")
                    });
                    out.push(Item::Hide { module: pass, csp });
                }
            }
        }
    }
    out.into_boxed_slice()
}

/// The block directive that starts at `offset`, at any depth.
fn block_at(directives: &[Directive], offset: usize) -> Option<&Directive> {
    directives.iter().find_map(|d| {
        if d.span.start == offset {
            Some(d)
        } else if d.span.contains(&offset) {
            block_at(d.children(), offset)
        } else {
            None
        }
    })
}

/// Whether a `more_clear_headers` argument (lower-cased) names the CSP: the name itself or a
/// trailing-`*` pattern that matches it (`Content-Security-*`).
fn clears_csp(arg: &[u8]) -> bool {
    const CSP: &[u8] = b"content-security-policy";
    match arg.strip_suffix(b"*") {
        Some(prefix) => CSP.starts_with(prefix),
        None => arg == CSP,
    }
}

/// What a level inherits from the levels around it.
#[derive(Default)]
struct Outer<'l> {
    headers: Vec<Header>,
    mode: Inherit,
    level: Option<&'l Level>,
    /// The modules whose inherited hide list holds the CSP.
    hidden: Vec<&'static str>,
    cleared: bool,
}

struct Tree<'f, 'a> {
    files: &'f [TreeFile<'a>],
    parsed: Vec<Option<Box<[Item]>>>,
    /// Labels made so far, by (file, offset, top level): a block at a file's first byte
    /// and the file's top level share the rest.
    labels: RefCell<HashMap<(usize, usize, bool), Rc<str>>>,
}

pub fn check_tree(files: &[TreeFile<'_>]) -> Vec<Diagnostic> {
    let tree = Tree {
        files,
        // Each file parsed and outlined on the run's threads: this was a serial 8% of a
        // 10,000-vhost run's instructions.
        parsed: crate::par::par_map(crate::par::jobs_for(files.len()), files, |f| {
            parse(f.src).ok().map(|d| outline(&d, f.src))
        }),
        labels: RefCell::default(),
    };
    let mut out = Vec::new();
    for root in tree.roots() {
        let mut top = Level {
            top: true,
            file: root,
            ..Level::default()
        };
        let mut stack = vec![root];
        let mut blocks = Vec::new();
        if let Some(directives) = &tree.parsed[root] {
            tree.collect(root, directives, &mut top, &mut stack, &mut blocks);
        }
        // The top level of nginx.conf has no add_header; that of a snippet nothing includes
        // stands for whatever block the user includes it in.
        tree.check(&top, blocks, &Outer::default(), &mut out);
    }
    let mut seen = HashSet::new();
    out.retain(|d| {
        seen.insert((
            d.code,
            d.location.as_ref().map(ToString::to_string),
            d.message.clone(),
        ))
    });
    out
}

impl Tree<'_, '_> {
    /// Files the checks start from: the main configuration, or else every file no other file
    /// includes.
    fn roots(&self) -> Vec<usize> {
        let roots: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].is_root)
            .collect();
        if !roots.is_empty() {
            return roots;
        }
        let mut included = vec![false; self.files.len()];
        for &j in self.files.iter().flat_map(|f| f.included.iter().flatten()) {
            included[j] = true;
        }
        (0..self.files.len()).filter(|&i| !included[i]).collect()
    }

    /// How messages name a level: `top level of "nginx.conf"`, `server example.com`.
    fn label(&self, level: &Level) -> Rc<str> {
        let key = (level.file, level.offset, level.top);
        if let Some(label) = self.labels.borrow().get(&key) {
            return label.clone();
        }
        let f = &self.files[level.file];
        let label: Rc<str> = if level.top {
            format!("top level of {}", crate::diag::quoted(f.path)).into()
        } else {
            // The file parsed when its outline was made, so it parses now.
            let directives = parse(f.src).unwrap_or_default();
            block_at(&directives, level.offset)
                .map_or_else(|| "block".to_string(), |d| block_label(d, f.src))
                .into()
        };
        self.labels.borrow_mut().insert(key, label.clone());
        label
    }

    /// Gather the items of `file` into `level`, following includes in place.
    fn collect<'i>(
        &'i self,
        file: usize,
        items: &'i [Item],
        level: &mut Level,
        stack: &mut Vec<usize>,
        blocks: &mut Vec<Block<'i>>,
    ) {
        for item in items {
            match item {
                Item::Header { name, csp, offset } => level.headers.push(Header {
                    name: name.clone(),
                    csp: *csp,
                    file,
                    offset: *offset,
                }),
                Item::Inherit(inherit) => level.inherit = inherit.or(level.inherit),
                Item::Include { offset } => {
                    self.follow_include(file, *offset, level, stack, blocks)
                }
                Item::Pass { directive, offset } => level.passes.push(Pass {
                    directive,
                    file,
                    offset: *offset,
                }),
                Item::Hide { module, csp } => level.hides.push((module, *csp)),
                Item::Cleared => level.cleared = true,
                Item::Block { offset, children } => blocks.push(Block {
                    file,
                    offset: *offset,
                    items: children,
                    stack: stack.clone(),
                }),
            }
        }
    }

    fn follow_include<'i>(
        &'i self,
        file: usize,
        offset: usize,
        level: &mut Level,
        stack: &mut Vec<usize>,
        blocks: &mut Vec<Block<'i>>,
    ) {
        let f = &self.files[file];
        let Some(k) = f.scan.includes.iter().position(|i| i.offset == offset) else {
            return;
        };
        for &target in f.included.get(k).into_iter().flatten() {
            // nginx itself would recurse until it runs out of file descriptors.
            if stack.contains(&target) || stack.len() > 32 {
                continue;
            }
            if let Some(items) = &self.parsed[target] {
                stack.push(target);
                self.collect(target, items, level, stack, blocks);
                stack.pop();
            }
        }
    }

    fn location(&self, file: usize, offset: usize) -> Location {
        Location::of(self.files[file].path, self.files[file].src, offset)
    }

    /// Where `h` is, seen from a diagnostic in file `from`: `line 4`, or `path:4:5`.
    fn place(&self, h: &Header, from: usize) -> String {
        let location = self.location(h.file, h.offset);
        if h.file == from {
            format!("line {}", location.line)
        } else {
            location.to_string()
        }
    }

    fn check(
        &self,
        level: &Level,
        blocks: Vec<Block<'_>>,
        outer: &Outer<'_>,
        out: &mut Vec<Diagnostic>,
    ) {
        let inherited = outer.headers.as_slice();
        let mode = level.inherit.unwrap_or(outer.mode);
        let own = &level.headers;
        let effective: Vec<Header> = match mode {
            Inherit::On if own.is_empty() => inherited.to_vec(),
            Inherit::On | Inherit::Off => own.clone(),
            Inherit::Merge => inherited.iter().chain(own).cloned().collect(),
        };
        if mode == Inherit::On && !own.is_empty() {
            self.dropped_csp(level, inherited, outer.level, out);
        }
        self.duplicate_csp(level, &effective, out);
        let mut hidden = outer.hidden.clone();
        for &(module, _) in UPSTREAMS {
            if level.hides.iter().any(|(m, _)| *m == module) {
                hidden.retain(|m| *m != module);
                if level.hides.iter().any(|&(m, csp)| m == module && csp) {
                    hidden.push(module);
                }
            }
        }
        let cleared = outer.cleared || level.cleared;
        self.upstream_csp(level, &effective, &hidden, cleared, out);
        let inner = Outer {
            headers: effective,
            mode,
            level: Some(level),
            hidden,
            cleared,
        };
        for mut b in blocks {
            let mut child = Level {
                file: b.file,
                offset: b.offset,
                ..Level::default()
            };
            let mut inner_blocks = Vec::new();
            self.collect(b.file, b.items, &mut child, &mut b.stack, &mut inner_blocks);
            self.check(&child, inner_blocks, &inner, out);
        }
    }

    /// NGX206: this level hands requests to an upstream whose responses pass through with
    /// their own CSP, if the application sends one, next to the one `add_header` adds.
    fn upstream_csp(
        &self,
        level: &Level,
        effective: &[Header],
        hidden: &[&'static str],
        cleared: bool,
        out: &mut Vec<Diagnostic>,
    ) {
        let Some(csp) = effective
            .iter()
            .find(|h| h.csp == Some(Disposition::Enforce))
        else {
            return;
        };
        if cleared {
            return;
        }
        for pass in level.passes.iter().filter(|p| !hidden.contains(&p.directive)) {
            let hide = UPSTREAMS
                .iter()
                .find(|(p, _)| *p == pass.directive)
                .map_or("proxy_hide_header", |(_, h)| *h);
            let label = self.label(level);
            out.push(
                Diagnostic::note(
                    "NGX206",
                    format!(
                        "`{}` passes requests to an upstream ({}): if the application sends its own \
                         Content-Security-Policy, it reaches the browser beside the one added at \
                         {}, browsers enforce both, and the vendor must be allowed by the \
                         application's policy too, which csppatch cannot read",
                        label,
                        pass.directive,
                        self.place(csp, pass.file),
                    ),
                )
                .at(self.location(pass.file, pass.offset))
                .with_help(format!(
                    "see what a browser receives with `csppatch probe <url> --vendor NAME`; \
                     if the application's policy should not apply, `{hide} \
                     Content-Security-Policy;` in `{label}` drops it",
                )),
            );
        }
    }

    /// NGX202: this level has its own `add_header`s and none for a CSP the outer level sends.
    fn dropped_csp(
        &self,
        level: &Level,
        inherited: &[Header],
        outer: Option<&Level>,
        out: &mut Vec<Diagnostic>,
    ) {
        let own = &level.headers;
        let lost: Vec<&Header> = inherited
            .iter()
            .filter(|h| h.csp.is_some_and(|d| !own.iter().any(|o| o.csp == Some(d))))
            .collect();
        let Some(first_lost) = lost.first() else {
            return;
        };
        let names: Vec<String> = lost
            .iter()
            .map(|h| format!("{} ({})", h.name, self.place(h, level.file)))
            .collect();
        let from = outer.map_or_else(
            || "the enclosing level".to_string(),
            |o| format!("`{}`", self.label(o)),
        );
        let label = self.label(level);
        out.push(
            Diagnostic::warning(
                "NGX202",
                format!(
                    "`{}` has its own add_header ({} at {}), so it inherits none from {from}: \
                     {} is not sent for requests handled here",
                    label,
                    own[0].name,
                    self.place(&own[0], level.file),
                    names.join(", "),
                ),
            )
            .at(self.location(level.file, level.offset))
            .with_help(format!(
                "repeat the {} add_header inside `{}` (or include the snippet that sets it); \
                 with nginx 1.29.3 or later, `add_header_inherit merge;` keeps the outer headers",
                first_lost.name, label
            )),
        );
    }

    /// NGX204: two CSP headers of the same kind reach this level.
    fn duplicate_csp(&self, level: &Level, effective: &[Header], out: &mut Vec<Diagnostic>) {
        for disposition in [Disposition::Enforce, Disposition::ReportOnly] {
            let same: Vec<&Header> = effective
                .iter()
                .filter(|h| h.csp == Some(disposition))
                .collect();
            // Report where the second one is added, not again in every block that inherits both.
            let Some(second) = same.get(1) else { continue };
            if !level
                .headers
                .iter()
                .any(|h| h.file == second.file && h.offset == second.offset)
            {
                continue;
            }
            out.push(
                Diagnostic::warning(
                    "NGX204",
                    format!(
                        "`{}` sends {} {} headers (the first at {}): browsers enforce every \
                         policy they receive, so a source must be allowed by all of them",
                        self.label(level),
                        same.len(),
                        disposition.header_name(),
                        self.place(same[0], second.file),
                    ),
                )
                .at(self.location(second.file, second.offset))
                .with_help(
                    "keep one policy per response: merge the two values into one add_header",
                ),
            );
        }
    }
}
