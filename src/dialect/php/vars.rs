//! PHP variables and constants whose value is known from the file (README, "Values built
//! from variables"): `$csp = "..."; header('...: ' . $csp);`, `$csp .= "...";` chains, arrays
//! of literals (`$p = [...]`, `$p[] = "..."`) joined with `implode()`/`join()`, and
//! `define('CSP', '...')` / `const CSP = '...'` constants.
//!
//! A variable's value at a use is read from its writes before the use, back to the function
//! the use is in: each write must be a statement of its own (`$v = ...;`, `$v .= ...;`,
//! `$v[] = ...;`) in a block that also holds the use, so that it runs whenever the use does.
//! Any other write (`$v['k'] = `, `+=`, a reference, a write inside an `if` or a loop the use
//! is not in) leaves the value unknown, and the refusal names the variable and its lines.

use std::collections::HashMap;
use std::ops::Range;

use super::lexer::Kind;
use super::syntax::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteKind {
    /// `$v = expr;`
    Assign,
    /// `$v .= expr;`
    Append,
    /// `$v[] = expr;`
    Push,
    /// Anything else: the value is not known after it.
    Other,
}

#[derive(Debug, Clone)]
struct Write {
    kind: WriteKind,
    /// Position of the `$name`.
    at: usize,
    /// Positions of the assigned expression.
    expr: Range<usize>,
    line: usize,
    /// The `{` of the innermost block around the write (`None`: the file's top level).
    block: Option<usize>,
    /// The write is the statement of an `if`/`elseif`/`else` (braced or not): `Some(the
    /// block around that statement)`, for a write that runs on some requests only.
    branch: Option<Option<usize>>,
    /// The write is the one statement of a `foreach ($arr as $k => $v)` body.
    pass: Option<Pass>,
}

/// A `foreach ($arr as $k => $v) { $h .= EXPR; }` around a write.
#[derive(Debug, Clone)]
struct Pass {
    arr: String,
    key: String,
    value: String,
    /// Position of `foreach`, and the block around the loop.
    at: usize,
    outer: Option<usize>,
}

/// At most this many writes that run on some requests only are followed for one value: each
/// doubles the policies csppatch checks (README, "Values built from variables").
pub const MAX_CONDITIONAL: usize = 4;

/// One write's expression, a part of a value.
#[derive(Debug, Clone)]
pub struct Part {
    pub expr: Range<usize>,
    /// 1-based line of the write, for messages.
    pub line: usize,
    /// One pass of a `foreach ($policy as $k => $v)` loop: the loop's variables and the
    /// entry's key and value expressions they hold while `expr` is read (with whether that
    /// literal may change).
    pub bind: Vec<(String, Range<usize>, bool)>,
}

/// What a variable holds at a use.
#[derive(Debug, Clone)]
pub enum Known {
    /// A string: the parts concatenated (`=`, then each `.=`).
    Str(Vec<Part>),
    /// A list of elements (`[...]`, `$v[] = ...`), for `implode()`.
    List(Vec<Part>),
    /// Not known from the file: why, for messages (`set on lines 4, 9 (9 inside a condition)`).
    Unknown(String),
}

/// The variables and constants of a file.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    writes: HashMap<String, Vec<Write>>,
    /// Reads other than by the variable's own writes and by legacy CSP header() calls.
    reads: HashMap<String, usize>,
    /// `define('NAME', expr)` / `const NAME = expr;`: name -> the definitions.
    consts: HashMap<String, Vec<Part>>,
    const_reads: HashMap<String, usize>,
    /// `function` / `fn` keyword positions: a use reads only writes after the last one.
    functions: Vec<usize>,
    /// Named functions and methods the file defines, by lower-case name (PHP's function
    /// and method names are case-insensitive).
    defined: HashMap<String, Vec<Defined>>,
    /// Calls by lower-case name (`name(`, `->name(`, `::name(`), definitions aside.
    calls: HashMap<String, usize>,
    /// The writes that run on some requests only which the values read since
    /// [`Vars::begin_variants`] depend on, by position, in the order read; and which of them
    /// are taken to run (a bit each): the value of one variant.
    conditional: std::cell::RefCell<Vec<(usize, usize)>>,
    variant: std::cell::Cell<u32>,
    /// The loop variables of the pass being read (see [`Part::bind`]).
    bound: std::cell::RefCell<Vec<(String, Range<usize>, bool)>>,
}

/// A named function or method of the file.
#[derive(Debug, Clone)]
struct Defined {
    line: usize,
    /// Each `return EXPR` of its own body (not of a closure inside it): the expression, its
    /// line, and whether it is a statement of the body itself (not inside an `if` or a loop).
    returns: Vec<(Range<usize>, usize, bool)>,
}

/// What a call to a function of the file returns (README, "Values built from variables").
#[derive(Debug, Clone)]
pub enum Returned {
    /// The one `return` of a function defined once: its expression, and whether its literals
    /// may change (the file calls it only here).
    Known { part: Part, editable: bool },
    /// Defined in the file, but what it returns is not known: why, for messages.
    Unknown(String),
    /// Not defined in this file.
    Elsewhere,
}

/// The lower-case function name a `Name` token calls (`\Foo\csp_header` -> `csp_header`).
pub fn callee_key(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    text.rsplit('\\').next().unwrap_or("").to_ascii_lowercase()
}

pub(super) fn line_of(code: &Code, p: usize) -> usize {
    let offset = code.tok(p).span.start;
    code.src[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Is the literal at `p` a legacy CSP header line (`'X-Content-Security-Policy: '`)?
fn legacy_header_literal(code: &Code, p: usize) -> bool {
    if !matches!(code.tok(p).kind, Kind::Str(_)) {
        return false;
    }
    let v = super::expr::evaluate(code, p..p + 1);
    let bytes: Vec<u8> = v
        .elems
        .iter()
        .map_while(|e| match e {
            super::strings::Elem::Byte { b, .. } => Some(b.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    bytes.starts_with(b"x-content-security-policy") || bytes.starts_with(b"x-webkit-csp")
}

impl Vars {
    pub fn collect(code: &Code) -> Vars {
        let mut vars = Vars::default();
        // The innermost open `{` at each position.
        let mut blocks: Vec<Option<usize>> = Vec::with_capacity(code.len());
        let mut stack: Vec<usize> = Vec::new();
        for p in 0..code.len() {
            if code.is(p, "}") {
                stack.pop();
            }
            blocks.push(stack.last().copied());
            if code.is(p, "{") && code.close_of(p).is_some() {
                stack.push(p);
            }
        }
        // Arguments of header('X-Content-Security-Policy: ' ...): reads that send the same
        // value under an obsolete name change nothing a browser enforces.
        let mut legacy: Vec<Range<usize>> = Vec::new();
        let mut own: HashMap<String, Vec<Range<usize>>> = HashMap::new();
        // Named functions and methods, and the `return`s of each (a closure's aside).
        let funcs = super::hooks::functions(code);
        for f in &funcs {
            let Some(name) = &f.name else { continue };
            let Some(open) = f.body.start.checked_sub(1).filter(|&o| code.is(o, "{")) else {
                continue;
            };
            let nested: Vec<Range<usize>> = funcs
                .iter()
                .filter(|g| g.start > f.start && g.start < f.body.end)
                .map(|g| g.start..g.body.end + 1)
                .collect();
            let mut returns = Vec::new();
            for p in f.body.clone() {
                if code.is_name(p, "return") && !nested.iter().any(|r| r.contains(&p)) {
                    let end = code.expression_end(p + 1, f.body.end);
                    let top = blocks.get(p).copied().flatten() == Some(open);
                    returns.push((p + 1..end, line_of(code, p), top));
                }
            }
            vars.defined
                .entry(callee_key(name.as_bytes()))
                .or_default()
                .push(Defined {
                    line: line_of(code, f.start),
                    returns,
                });
        }
        for p in 0..code.len() {
            if code.is_name(p, "function") || code.is_name(p, "fn") {
                vars.functions.push(p);
            }
            if code.tok(p).kind == Kind::Name
                && code.is(p + 1, "(")
                && !(p > 0 && code.is_name(p - 1, "function"))
            {
                *vars
                    .calls
                    .entry(callee_key(code.tok(p).text(code.src)))
                    .or_default() += 1;
            }
            if (code.is_name(p, "header") || code.is_name(p, "\\header")) && code.is(p + 1, "(") {
                if let Some(close) = code.close_of(p + 1) {
                    if legacy_header_literal(code, p + 2) {
                        legacy.push(p + 2..close);
                    }
                }
            }
            if code.is_name(p, "define") && code.is(p + 1, "(") {
                let args = code.arguments(p + 1);
                if let [(None, name), (None, value)] = args.as_slice() {
                    if let Some(n) = super::hooks::literal_text(code, name.clone()) {
                        vars.consts.entry(n).or_default().push(Part {
                            expr: value.clone(),
                            line: line_of(code, p),
                            bind: Vec::new(),
                        });
                    }
                }
            }
            if code.is_name(p, "const")
                && p + 1 < code.len()
                && code.tok(p + 1).kind == Kind::Name
                && code.is(p + 2, "=")
            {
                let end = code.expression_end(p + 3, code.len());
                if end > p + 3 && (end >= code.len() || code.is(end, ";")) {
                    let n = String::from_utf8_lossy(code.tok(p + 1).text(code.src)).into_owned();
                    vars.consts.entry(n).or_default().push(Part {
                        expr: p + 3..end,
                        line: line_of(code, p),
                        bind: Vec::new(),
                    });
                }
            }
            if code.tok(p).kind == Kind::Name {
                let member = p > 0 && ["->", "?->"].iter().any(|op| code.is(p - 1, op));
                let decl = p > 0 && code.is_name(p - 1, "const");
                if !member && !decl && !code.is(p + 1, "(") {
                    let n = String::from_utf8_lossy(code.tok(p).text(code.src)).into_owned();
                    *vars.const_reads.entry(n).or_default() += 1;
                }
            }
            if let Kind::Str(lit) = &code.tok(p).kind {
                // `"...: $csp"`, `"{$csp}"`: reads too.
                for part in &lit.parts {
                    if let super::lexer::Part::Interp(r) = part {
                        let raw = &code.src[r.clone()];
                        let raw = raw.strip_prefix(b"{").unwrap_or(raw);
                        let n = raw
                            .iter()
                            .enumerate()
                            .take_while(|(i, c)| {
                                *i == 0 && **c == b'$'
                                    || *i > 0 && (c.is_ascii_alphanumeric() || **c == b'_' || **c >= 0x80)
                            })
                            .count();
                        if n > 1 && !legacy.iter().any(|l| l.contains(&p)) {
                            let name = String::from_utf8_lossy(&raw[..n]).into_owned();
                            let mine = own.get(&name).is_some_and(|rs| rs.iter().any(|r| r.contains(&p)));
                            if !mine {
                                *vars.reads.entry(name).or_default() += 1;
                            }
                        }
                    }
                }
            }
            if code.tok(p).kind != Kind::Variable {
                continue;
            }
            let name = String::from_utf8_lossy(code.tok(p).text(code.src)).into_owned();
            // `if (...) $v .= '...';`, `else $v[] = '...';`: a statement of its own too.
            let braceless_branch = p > 0
                && (code.is_name(p - 1, "else")
                    || code.is(p - 1, ")")
                        && code.partner[p - 1]
                            .filter(|&o| o > 0)
                            .is_some_and(|o| code.is_name(o - 1, "if") || code.is_name(o - 1, "elseif")));
            let starts = p == 0 || code.is_statement_end(p - 1) || code.is(p - 1, "{")
                || code.is(p - 1, "}") || braceless_branch;
            let block = blocks.get(p).copied().flatten();
            let branch = if braceless_branch {
                Some(block)
            } else {
                block.filter(|&b| branch_block(code, b)).map(|b| blocks.get(b).copied().flatten())
            };
            let (kind, expr_start) = if code.is(p + 1, "=") && !code.is(p + 2, "&") {
                (WriteKind::Assign, p + 2)
            } else if code.is(p + 1, ".=") {
                (WriteKind::Append, p + 2)
            } else if code.is(p + 1, "[") && code.is(p + 2, "]") && code.is(p + 3, "=") {
                (WriteKind::Push, p + 4)
            } else if code.is(p + 1, "[")
                && code
                    .close_of(p + 1)
                    .is_some_and(|c| is_assign_op(code, c + 1))
                || is_assign_op(code, p + 1)
            {
                (WriteKind::Other, p + 1)
            } else {
                // A read, unless it is in the variable's own write (`$p = join(';', $p)`) or
                // a legacy header's argument.
                let mine = own
                    .get(&name)
                    .is_some_and(|rs| rs.iter().any(|r| r.contains(&p)));
                if !mine && !legacy.iter().any(|r| r.contains(&p)) && !is_test(code, p) {
                    *vars.reads.entry(name).or_default() += 1;
                }
                continue;
            };
            let end = code.expression_end(expr_start, code.len());
            let statement = end >= code.len() || code.is_statement_end(end);
            let kind = if starts && statement && end > expr_start {
                kind
            } else {
                WriteKind::Other
            };
            own.entry(name.clone()).or_default().push(expr_start..end);
            vars.writes.entry(name).or_default().push(Write {
                kind,
                at: p,
                expr: expr_start..end,
                line: line_of(code, p),
                block,
                branch,
                pass: block.and_then(|b| {
                    let stmt_end = end;
                    let only = code.close_of(b) == Some(stmt_end + 1) && b + 1 == p;
                    only.then(|| loop_pass(code, b, &blocks)).flatten()
                }),
            });
        }
        vars
    }

    /// What `$name` holds at position `use_at`, if the file writes it before (`None`: no
    /// write the use can see, a parameter or a global).
    pub fn at(&self, code: &Code, name: &str, use_at: usize) -> Option<Known> {
        if let Some((_, expr, _)) = self.bound.borrow().iter().find(|(n, _, _)| n == name) {
            return Some(Known::Str(vec![Part {
                expr: expr.clone(),
                line: line_of(code, expr.start),
                bind: Vec::new(),
            }]));
        }
        let since = self
            .functions
            .iter()
            .rev()
            .find(|&&f| f < use_at)
            .copied()
            .unwrap_or(0);
        let writes: Vec<&Write> = self
            .writes
            .get(name)?
            .iter()
            .filter(|w| w.at >= since && w.expr.end <= use_at)
            .collect();
        if writes.is_empty() {
            return None;
        }
        let lines: Vec<String> = writes.iter().map(|w| w.line.to_string()).collect();
        let unknown = |why: String| {
            Some(Known::Unknown(format!(
                "`{name}`, set on line{} {}{why}",
                if lines.len() > 1 { "s" } else { "" },
                lines.join(", "),
            )))
        };
        let mut state: Option<Known> = None;
        let mut pending: Vec<(usize, usize)> = Vec::new();
        let holds_use = |b: Option<usize>| b.is_none_or(|b| code.close_of(b).is_some_and(|c| c > use_at));
        for w in writes {
            let runs_always = holds_use(w.block);
            // A wholly literal `.=` / `[] =` in an `if` or `else` next to the use: a variant
            // with it and one without (each checked, README "Values built from variables").
            let conditional = match w.branch {
                Some(outer) => !(runs_always && w.block != outer) && holds_use(outer),
                None => false,
            };
            if conditional {
                let literal = matches!(w.kind, WriteKind::Append | WriteKind::Push) && {
                    let v = super::expr::evaluate(code, w.expr.clone());
                    v.is_static() && !v.segments.is_empty()
                };
                if !literal {
                    return unknown(format!(
                        " (line {} only runs on some requests, and is not wholly literal text added to it)",
                        w.line
                    ));
                }
                // Its bit: kept with the others only if the value turns out known.
                let seen = self.conditional.borrow();
                let id = match seen.iter().chain(&pending).position(|&(at, _)| at == w.at) {
                    Some(i) => i,
                    None => {
                        pending.push((w.at, w.line));
                        seen.len() + pending.len() - 1
                    }
                };
                if id >= MAX_CONDITIONAL {
                    let lines: Vec<String> =
                        seen.iter().chain(&pending).map(|(_, l)| l.to_string()).collect();
                    return unknown(format!(
                        " (lines {} only run on some requests: csppatch checks at most {MAX_CONDITIONAL} such writes for one value)",
                        lines.join(", ")
                    ));
                }
                if self.variant.get() & (1 << id) == 0 {
                    continue; // this variant: the write does not run
                }
            } else if !runs_always {
                // `foreach ($policy as $k => $v) { $h .= "$k $v; "; }` over a keyed array
                // literal: one part per entry, read with `$k` and `$v` bound to it.
                let pass = w.pass.as_ref().filter(|l| {
                    w.kind == WriteKind::Append
                        && holds_use(l.outer)
                        && matches!(state, Some(Known::Str(_)))
                });
                let entries = pass.and_then(|l| Some((l, self.keyed_array(code, &l.arr, l.at)?)));
                let Some((l, entries)) = entries else {
                    if let Some(l) = &w.pass {
                        return unknown(format!(
                            " (line {} is in a loop over `{}`, which is not an array literal with string keys assigned once before it)",
                            w.line, l.arr
                        ));
                    }
                    return unknown(format!(" (line {} only runs on some requests)", w.line));
                };
                let editable = self.editable(&l.arr);
                if let Some(Known::Str(parts)) = &mut state {
                    for (k, v) in entries {
                        parts.push(Part {
                            expr: w.expr.clone(),
                            line: w.line,
                            bind: vec![(l.key.clone(), k, false), (l.value.clone(), v, editable)],
                        });
                    }
                }
                continue;
            }
            let part = Part {
                expr: w.expr.clone(),
                line: w.line,
                bind: Vec::new(),
            };
            state = match (w.kind, state) {
                (WriteKind::Assign, _) => match list_literal(code, w.expr.clone()) {
                    Some(Ok(elems)) => Some(Known::List(
                        elems
                            .into_iter()
                            .map(|expr| Part {
                                expr,
                                line: w.line,
                                bind: Vec::new(),
                            })
                            .collect(),
                    )),
                    Some(Err(())) => {
                        return unknown(format!(
                            " (line {}: an array with keys, which a loop turns into text at run time)",
                            w.line
                        ))
                    }
                    None => Some(Known::Str(vec![part])),
                },
                (WriteKind::Append, Some(Known::Str(mut parts))) => {
                    parts.push(part);
                    Some(Known::Str(parts))
                }
                (WriteKind::Push, None) => Some(Known::List(vec![part])),
                (WriteKind::Push, Some(Known::List(mut parts))) => {
                    parts.push(part);
                    Some(Known::List(parts))
                }
                _ => return unknown(format!(" (line {} changes it in a way csppatch does not follow)", w.line)),
            };
        }
        self.conditional.borrow_mut().extend(pending);
        state
    }

    /// Start reading a value: no write that runs on some requests only seen yet, and each
    /// taken not to run.
    pub fn begin_variants(&self) {
        self.conditional.borrow_mut().clear();
        self.variant.set(0);
    }

    /// The lines of the writes that run on some requests only that the values read since
    /// [`Vars::begin_variants`] depend on (more than [`MAX_CONDITIONAL`]: their values are
    /// unknown).
    pub fn conditional_lines(&self) -> Vec<usize> {
        self.conditional
            .borrow()
            .iter()
            .map(|&(_, l)| l)
            .collect()
    }

    /// Read values as on requests where the writes of the bits of `mask` run (bit `i`: the
    /// `i`-th of [`Vars::conditional_lines`]) and the others do not.
    pub fn set_variant(&self, mask: u32) {
        self.variant.set(mask);
    }

    /// May a literal of `$name`'s value be changed? Only when its one reader is the CSP
    /// value being patched (reads by its own writes and by legacy X-CSP headers aside).
    pub fn editable(&self, name: &str) -> bool {
        if let Some((_, _, e)) = self.bound.borrow().iter().find(|(n, _, _)| n == name) {
            return *e;
        }
        self.reads.get(name).copied().unwrap_or(0) == 1
    }

    /// Read with a loop pass's variables bound (see [`Part::bind`]); `None` leaves them.
    pub fn bind(&self, bind: &[(String, Range<usize>, bool)]) -> Vec<(String, Range<usize>, bool)> {
        std::mem::replace(&mut *self.bound.borrow_mut(), bind.to_vec())
    }

    /// The entries (key, value) of the array literal with string-literal keys that `$arr`
    /// is assigned once before position `at`, in a block that also holds `at`.
    fn keyed_array(&self, code: &Code, arr: &str, at: usize) -> Option<Vec<(Range<usize>, Range<usize>)>> {
        let since = self.functions.iter().rev().find(|&&f| f < at).copied().unwrap_or(0);
        let writes: Vec<&Write> = self
            .writes
            .get(arr)?
            .iter()
            .filter(|w| w.at >= since && w.expr.end <= at)
            .collect();
        let [w] = writes.as_slice() else { return None };
        let holds = w.block.is_none_or(|b| code.close_of(b).is_some_and(|c| c > at));
        if w.kind != WriteKind::Assign || !holds {
            return None;
        }
        keyed_literal(code, w.expr.clone())
    }

    /// A constant's one definition in the file.
    pub fn constant(&self, name: &str) -> Option<&Part> {
        match self.consts.get(name)?.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn constant_editable(&self, name: &str) -> bool {
        self.const_reads.get(name).copied().unwrap_or(0) == 1
    }

    /// What a call to `name` (shown as `shown`, e.g. `$this->getPolicy()`) returns, when the
    /// file defines it once with one `return`, a statement of its body: its value is then
    /// that expression's, read like any other (its variables from the function's own writes,
    /// a parameter a run-time part). Its literals may change when this is the file's one
    /// call of it.
    pub fn returned(&self, name: &str, shown: &str) -> Returned {
        let key = callee_key(name.as_bytes());
        let Some(defs) = self.defined.get(&key) else {
            return Returned::Elsewhere;
        };
        let def = match defs.as_slice() {
            [one] => one,
            _ => {
                let lines: Vec<String> = defs.iter().map(|d| d.line.to_string()).collect();
                return Returned::Unknown(format!(
                    "`{shown}`, defined {} times in this file (lines {}): which one runs is only known at run time",
                    defs.len(),
                    lines.join(", ")
                ));
            }
        };
        match def.returns.as_slice() {
            [(expr, line, true)] if !expr.is_empty() => Returned::Known {
                part: Part {
                    expr: expr.clone(),
                    line: *line,
                    bind: Vec::new(),
                },
                editable: self.calls.get(&key).copied().unwrap_or(0) == 1,
            },
            [(_, line, false)] => Returned::Unknown(format!(
                "`{shown}` (line {}), whose `return` on line {line} runs only on some calls",
                def.line
            )),
            [] | [(_, _, true)] => Returned::Unknown(format!(
                "`{shown}` (line {}), which returns no value csppatch can read",
                def.line
            )),
            many => {
                let lines: Vec<String> = many.iter().map(|r| r.1.to_string()).collect();
                Returned::Unknown(format!(
                    "`{shown}` (line {}), which has {} `return`s (lines {}): which one runs is only known at run time",
                    def.line,
                    many.len(),
                    lines.join(", ")
                ))
            }
        }
    }
}

/// The `foreach ($arr as $k => $v)` whose body the block opened at `b` is.
fn loop_pass(code: &Code, b: usize, blocks: &[Option<usize>]) -> Option<Pass> {
    let close = b.checked_sub(1).filter(|&c| code.is(c, ")"))?;
    let open = code.partner[close].filter(|&o| o > 0 && o < close)?;
    if !code.is_name(open - 1, "foreach") || close != open + 6 {
        return None;
    }
    let var = |p: usize| {
        (code.tok(p).kind == Kind::Variable)
            .then(|| String::from_utf8_lossy(code.tok(p).text(code.src)).into_owned())
    };
    if !code.is_name(open + 2, "as") || !code.is(open + 4, "=>") {
        return None;
    }
    Some(Pass {
        arr: var(open + 1)?,
        key: var(open + 3)?,
        value: var(open + 5)?,
        at: open - 1,
        outer: blocks.get(open - 1).copied().flatten(),
    })
}

/// The entries of an array literal whose keys are all string literals (`['script-src' =>
/// "'self'"]`): `(key, value)` positions.
pub fn keyed_literal(code: &Code, range: Range<usize>) -> Option<Vec<(Range<usize>, Range<usize>)>> {
    if range.is_empty() {
        return None;
    }
    let open = if code.is(range.start, "[") {
        range.start
    } else if code.is_name(range.start, "array") && code.is(range.start + 1, "(") {
        range.start + 1
    } else {
        return None;
    };
    if code.close_of(open) != Some(range.end - 1) {
        return None;
    }
    let mut out = Vec::new();
    for (label, r) in code.arguments(open) {
        let arrow = code.top(r.clone()).into_iter().find(|&p| code.is(p, "=>"))?;
        let key = r.start..arrow;
        let value = arrow + 1..r.end;
        let literal_key = label.is_none()
            && key.len() == 1
            && super::hooks::literal_text(code, key.clone()).is_some();
        if !literal_key || value.is_empty() {
            return None;
        }
        out.push((key, value));
    }
    (!out.is_empty()).then_some(out)
}

/// Is the block opened at `b` the body of an `if`, `elseif` or `else`?
fn branch_block(code: &Code, b: usize) -> bool {
    if b == 0 {
        return false;
    }
    if code.is_name(b - 1, "else") {
        return true;
    }
    code.is(b - 1, ")")
        && code.partner[b - 1]
            .filter(|&o| o > 0)
            .is_some_and(|o| code.is_name(o - 1, "if") || code.is_name(o - 1, "elseif"))
}

/// Is the variable at `p` the one argument of a test whose answer an insertion into its
/// literals cannot change (`empty($p)`, `isset($p)`, `count($p)`, `is_array($p)`): such a
/// read sees no text, and csppatch adds text only to a literal that holds a directive.
fn is_test(code: &Code, p: usize) -> bool {
    p >= 2
        && code.is(p - 1, "(")
        && code.is(p + 1, ")")
        && ["empty", "isset", "count", "is_array", "is_string"]
            .iter()
            .any(|n| code.is_name(p - 2, n))
}

fn is_assign_op(code: &Code, p: usize) -> bool {
    [
        "=", "+=", "-=", "*=", "/=", ".=", "%=", "**=", "??=", "&=", "|=", "^=", "<<=", ">>=",
    ]
    .iter()
    .any(|op| code.is(p, op))
}

/// The elements of an array literal (`[a, b]`, `array(a, b)`): `Some(Err)` when it has keys,
/// `None` when `range` is not an array literal.
pub fn list_literal(code: &Code, range: Range<usize>) -> Option<Result<Vec<Range<usize>>, ()>> {
    if range.is_empty() {
        return None;
    }
    let open = if code.is(range.start, "[") {
        range.start
    } else if code.is_name(range.start, "array") && code.is(range.start + 1, "(") {
        range.start + 1
    } else {
        return None;
    };
    if code.close_of(open) != Some(range.end - 1) {
        return None;
    }
    let mut out = Vec::new();
    for (label, r) in code.arguments(open) {
        if label.is_some() || code.top(r.clone()).iter().any(|&p| code.is(p, "=>")) {
            return Some(Err(()));
        }
        if code.is(r.start, "...") {
            return Some(Err(()));
        }
        out.push(r);
    }
    Some(Ok(out))
}
