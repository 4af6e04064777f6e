//! Functions, closures and methods of a PHP file, and the WordPress hooks
//! (`add_action`/`add_filter`) they are attached to: where a `header()` call runs.

use std::ops::Range;

use super::expr;
use super::lexer::Kind;
use super::syntax::Code;

/// A WordPress hook a callback is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// `add_action` or `add_filter`.
    pub adder: &'static str,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Function {
    /// `None` for a closure or an arrow function.
    pub name: Option<String>,
    pub class: Option<String>,
    /// Position of `function`/`fn`.
    pub start: usize,
    /// Positions of the body (inside the braces; an arrow function's expression).
    pub body: Range<usize>,
    /// File bytes of the body.
    pub bytes: Range<usize>,
    pub hooks: Vec<Hook>,
}

impl Function {
    pub fn hooked_to(&self, hook: &str) -> bool {
        self.hooks.iter().any(|h| h.name == hook)
    }

    /// `add_action('send_headers') closure`, `function my_csp()`, `Theme::headers()`.
    pub fn describe(&self) -> String {
        let hook = self.hooks.first();
        match (&self.name, hook) {
            (None, Some(h)) => format!("{}('{}') closure", h.adder, h.name),
            (None, None) => "closure".to_string(),
            (Some(n), h) => {
                let f = match &self.class {
                    Some(c) => format!("{c}::{n}()"),
                    None => format!("function {n}()"),
                };
                match h {
                    Some(h) => format!("{f} via {}('{}')", h.adder, h.name),
                    None => f,
                }
            }
        }
    }
}

pub fn functions(code: &Code) -> Vec<Function> {
    let classes = classes(code);
    let mut out = Vec::new();
    for p in 0..code.len() {
        let arrow = code.is_name(p, "fn");
        if !(arrow || code.is_name(p, "function")) {
            continue;
        }
        if p > 0 && ["->", "?->", "::"].iter().any(|op| code.is(p - 1, op)) {
            continue;
        }
        let mut q = p + 1;
        if code.is(q, "&") {
            q += 1;
        }
        let mut name = None;
        if !arrow && q < code.len() && code.tok(q).kind == Kind::Name {
            name = Some(String::from_utf8_lossy(code.tok(q).text(code.src)).into_owned());
            q += 1;
        }
        if !code.is(q, "(") {
            continue;
        }
        let Some(close) = code.close_of(q) else {
            continue;
        };
        q = close + 1;
        if code.is_name(q, "use") && code.is(q + 1, "(") {
            match code.close_of(q + 1) {
                Some(c) => q = c + 1,
                None => continue,
            }
        }
        let body = if arrow {
            match arrow_body(code, q) {
                Some(b) => b,
                None => continue,
            }
        } else {
            while q < code.len() && !code.is(q, "{") && !code.is_statement_end(q) {
                q += 1;
            }
            match code.is(q, "{").then(|| code.close_of(q)).flatten() {
                Some(c) => q + 1..c,
                None => continue, // an abstract or interface method
            }
        };
        let bytes = if arrow {
            code.bytes(body.clone())
        } else {
            code.tok(body.start - 1).span.end..code.tok(body.end).span.start
        };
        let class = name.as_ref().and_then(|_| {
            classes
                .iter()
                .filter(|(_, r)| r.contains(&p))
                .min_by_key(|(_, r)| r.len())
                .map(|(n, _)| n.clone())
        });
        out.push(Function {
            name,
            class,
            start: p,
            body,
            bytes,
            hooks: Vec::new(),
        });
    }
    attach_hooks(code, &mut out);
    out
}

/// `fn (...) => expr`: the expression runs to the first top-level `,`, `;`, `?>` or closing
/// bracket of an enclosing construct.
fn arrow_body(code: &Code, mut q: usize) -> Option<Range<usize>> {
    while q < code.len() && !code.is(q, "=>") {
        if code.is(q, "{") || code.is_statement_end(q) {
            return None;
        }
        q += 1;
    }
    let start = q + 1;
    let r = code.expression_end(start, code.len());
    (r > start).then_some(start..r)
}

/// Class-like bodies: (name, positions inside the braces).
fn classes(code: &Code) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    for p in 0..code.len() {
        let kw = ["class", "trait", "interface", "enum"]
            .iter()
            .any(|k| code.is_name(p, k));
        if !kw || (p > 0 && code.is(p - 1, "::")) {
            continue;
        }
        if p + 1 >= code.len() || code.tok(p + 1).kind != Kind::Name {
            continue;
        }
        let name = String::from_utf8_lossy(code.tok(p + 1).text(code.src)).into_owned();
        let mut q = p + 2;
        while q < code.len() && !code.is(q, "{") && !code.is_statement_end(q) {
            q += 1;
        }
        if let Some(c) = code.is(q, "{").then(|| code.close_of(q)).flatten() {
            out.push((name, q + 1..c));
        }
    }
    out
}

/// The static text of a string-literal argument (`'send_headers'`).
pub fn literal_text(code: &Code, range: Range<usize>) -> Option<String> {
    if range.len() != 1 || !matches!(code.tok(range.start).kind, Kind::Str(_)) {
        return None;
    }
    let v = expr::evaluate(code, range);
    v.is_static().then(|| {
        let bytes: Vec<u8> = v
            .elems
            .iter()
            .filter_map(|e| match e {
                super::strings::Elem::Byte { b, .. } => Some(*b),
                _ => None,
            })
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn attach_hooks(code: &Code, funcs: &mut [Function]) {
    for p in 0..code.len() {
        let adder = if code.is_name(p, "add_action") || code.is_name(p, "\\add_action") {
            "add_action"
        } else if code.is_name(p, "add_filter") || code.is_name(p, "\\add_filter") {
            "add_filter"
        } else {
            continue;
        };
        if !code.is(p + 1, "(") || (p > 0 && ["->", "::"].iter().any(|o| code.is(p - 1, o))) {
            continue;
        }
        let args = code.arguments(p + 1);
        let (Some((_, hook_arg)), Some((_, cb))) = (args.first(), args.get(1)) else {
            continue;
        };
        let Some(hook) = literal_text(code, hook_arg.clone()) else {
            continue;
        };
        let hook = Hook { adder, name: hook };
        let mut start = cb.start;
        if code.is_name(start, "static") {
            start += 1;
        }
        if let Some(f) = funcs.iter_mut().find(|f| f.start == start) {
            f.hooks.push(hook);
            continue;
        }
        // A callable by name: 'my_csp', 'Theme::headers', [$this, 'headers'], array(...).
        let name = literal_text(code, cb.clone()).or_else(|| {
            let open = cb.start + usize::from(code.is_name(cb.start, "array"));
            let close = code.close_of(open)?;
            let parts = code.split_top(open + 1..close, |q| code.is(q, ","));
            parts.get(1).and_then(|r| literal_text(code, r.clone()))
        });
        let Some(name) = name else { continue };
        let name = name.rsplit("::").next().unwrap_or(&name).to_string();
        let name = name.trim_start_matches('\\');
        for f in funcs.iter_mut() {
            if f.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            {
                f.hooks.push(hook.clone());
            }
        }
    }
}

/// The innermost function whose body holds position `p`.
pub fn enclosing(funcs: &[Function], p: usize) -> Option<&Function> {
    funcs
        .iter()
        .filter(|f| f.body.contains(&p))
        .min_by_key(|f| f.body.len())
}
