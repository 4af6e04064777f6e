//! The value of a PHP expression, as far as it is known before run time: string literals
//! joined with `.`, parentheses, and `sprintf()` with a literal format. Anything else
//! (variables, constants, other calls, interpolations) is opaque.

use std::ops::Range;

use super::lexer::{Kind, Quote};
use super::strings::{self, Elem};
use super::syntax::Code;
use super::vars::{self, Known, Vars};

/// A string literal that contributes to a value: where a fragment can be spliced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub quote: Quote,
    /// The whole literal token (quotes, heredoc labels included).
    pub token: Range<usize>,
    /// The bytes between its delimiters.
    pub content: Range<usize>,
    /// Part of a `sprintf` format: a `%` must be written `%%`.
    pub in_format: bool,
}

/// One operand of the top-level `.` chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operand {
    pub bytes: Range<usize>,
    /// Index into `Value::segments` when the operand is exactly one string literal.
    pub literal: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Value {
    pub elems: Vec<Elem>,
    pub segments: Vec<Segment>,
    pub operands: Vec<Operand>,
    /// Variables replaced by their one known value (see `vars.rs`).
    pub inlined: Vec<Inlined>,
    /// What run-time parts are, where the file says (`$csp`, set on lines 4, 9 ...), by the
    /// raw bytes of their reference.
    pub notes: Vec<(Range<usize>, String)>,
    /// Made with `implode()`: its separators are one literal read several times, so the
    /// value is never rewritten whole.
    pub joined: bool,
}

/// A variable whose value was put in place of its reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inlined {
    /// Indices into `Value::elems` of the value.
    pub elems: Range<usize>,
    /// File bytes of the reference (`$csp`).
    pub reference: Range<usize>,
    /// File bytes of the assigned expression.
    pub span: Range<usize>,
    pub name: String,
    /// The reference as written, for the literal around it read alone (`$csp`, `%s`).
    pub shown: String,
    pub line: usize,
    pub editable: bool,
    /// Variables inlined inside this one's value, `elems` relative to this one's start.
    pub inner: Vec<Inlined>,
}

/// How deep a chain of variables is followed (`$a = $b . '...'; $b = ...`).
const MAX_DEPTH: usize = 8;

impl Value {
    pub fn is_static(&self) -> bool {
        self.elems.iter().all(|e| matches!(e, Elem::Byte { .. }))
    }
}

/// Operators that bind more loosely than `.` (PHP 8 precedence): an expression with one of
/// them at top level is not a plain concatenation.
const LOOSER: &[&str] = &[
    "?", "??", ":", "||", "&&", "|", "^", "&", "==", "!=", "===", "!==", "<>", "<", ">", "<=",
    ">=", "<=>", "<<", ">>", "=", "+=", "-=", "*=", "/=", ".=", "%=", "**=", "??=", "&=", "|=",
    "^=", "<<=", ">>=", "=>",
];

pub fn evaluate(code: &Code, range: Range<usize>) -> Value {
    evaluate_with(code, range, None)
}

/// [`evaluate`], with the variables of `vars` that have one known value put in place.
pub fn evaluate_with(code: &Code, range: Range<usize>, vars: Option<&Vars>) -> Value {
    evaluate_in(code, range, vars, 0)
}

fn evaluate_in(code: &Code, range: Range<usize>, vars: Option<&Vars>, depth: usize) -> Value {
    let mut v = Value::default();
    if range.is_empty() {
        return v;
    }
    let looser = code.top(range.clone()).into_iter().any(|p| {
        LOOSER.iter().any(|op| code.is(p, op))
            || ["and", "or", "xor"].iter().any(|n| code.is_name(p, n))
    });
    if looser {
        opaque(code, range.clone(), &mut v.elems);
        v.operands.push(Operand {
            bytes: code.bytes(range),
            literal: None,
        });
        return v;
    }
    for op in code.split_top(range, |p| code.is(p, ".")) {
        if op.is_empty() {
            continue;
        }
        let literal = operand(code, op.clone(), &mut v, false, vars, depth);
        v.operands.push(Operand {
            bytes: code.bytes(op),
            literal,
        });
    }
    v
}

fn opaque(code: &Code, range: Range<usize>, out: &mut Vec<Elem>) {
    let bytes = code.bytes(range);
    out.push(Elem::Opaque {
        stand_in: strings::stand_in(&code.src[bytes.clone()]),
        raw: bytes,
    });
}

/// Does the value have literal text (not only white space)?
fn has_literal(v: &Value) -> bool {
    v.elems
        .iter()
        .any(|e| matches!(e, Elem::Byte { b, .. } if !b.is_ascii_whitespace()))
}

/// Append `inner` (evaluated from positions inside the expression being evaluated) to `v`.
fn absorb(v: &mut Value, inner: Value, in_format: bool) {
    v.segments.extend(inner.segments.into_iter().map(|mut s| {
        s.in_format |= in_format;
        s
    }));
    let shift = v.elems.len();
    v.inlined.extend(inner.inlined.into_iter().map(|mut i| {
        i.elems = i.elems.start + shift..i.elems.end + shift;
        i
    }));
    v.notes.extend(inner.notes);
    v.joined |= inner.joined;
    v.elems.extend(inner.elems);
}

/// Append the value `parts` give a reference (`reference`: its file bytes), each part a
/// literal of its own (a piece). `false`: nothing of it is known, and nothing was appended.
#[allow(clippy::too_many_arguments)]
fn inline_parts(
    code: &Code,
    v: &mut Value,
    vars: &Vars,
    depth: usize,
    name: &str,
    reference: Range<usize>,
    parts: &[super::vars::Part],
    editable: bool,
    separator: Option<&[Elem]>,
) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    let values: Vec<Value> = parts
        .iter()
        .map(|p| {
            // A loop pass: its variables hold the entry while its expression is read.
            let saved = (!p.bind.is_empty()).then(|| vars.bind(&p.bind));
            let v = evaluate_in(code, p.expr.clone(), Some(vars), depth + 1);
            if let Some(saved) = saved {
                vars.bind(&saved);
            }
            v
        })
        .collect();
    if !values.iter().any(has_literal) {
        // Nothing of it is known: say why, if the file does, at the reference.
        let whats: Vec<String> = values
            .iter()
            .flat_map(|v| v.notes.iter().map(|(_, w)| w.clone()))
            .collect();
        if !whats.is_empty() {
            let line = parts.last().map_or(0, |p| p.line);
            v.notes.push((
                reference,
                format!("`{name}` (line {line}), built from {}", whats.join("; ")),
            ));
        }
        return false;
    }
    // A chain (`=`, then `.=`): one piece for the variable, a piece inside it per part; an
    // element of a list: a piece each, whose "reference" is the element itself (text next
    // to it goes into the element or nowhere, never into the separator).
    let chain = separator.is_none() && parts.len() > 1;
    let mut w = Value::default();
    let target: &mut Value = if chain { &mut w } else { v };
    for (k, (part, inner)) in parts.iter().zip(values).enumerate() {
        if k > 0 {
            if let Some(sep) = separator {
                target.elems.extend(sep.iter().cloned());
            }
        }
        let span = code.bytes(part.expr.clone());
        let own_ref = if separator.is_some() || chain {
            span.clone()
        } else {
            reference.clone()
        };
        let start = target.elems.len();
        if !part.bind.is_empty() {
            // A loop pass: its own text (`"$k $v; "`) is every pass's, so it is no literal to
            // write into; the entry's key and value are, each a piece of the variable.
            target.notes.extend(inner.notes);
            target.joined |= inner.joined;
            target.inlined.extend(inner.inlined.into_iter().map(|mut i| {
                i.elems = i.elems.start + start..i.elems.end + start;
                i
            }));
            target.elems.extend(inner.elems);
            continue;
        }
        target.notes.extend(inner.notes);
        target.joined |= inner.joined;
        target.elems.extend(inner.elems);
        target.inlined.push(Inlined {
            elems: start..target.elems.len(),
            shown: name.to_string(),
            reference: own_ref,
            span,
            name: name.to_string(),
            line: part.line,
            editable,
            inner: inner.inlined,
        });
    }
    if chain {
        let start = v.elems.len();
        v.notes.extend(w.notes);
        v.joined |= w.joined;
        v.elems.extend(w.elems);
        v.inlined.push(Inlined {
            elems: start..v.elems.len(),
            shown: name.to_string(),
            reference,
            span: code.bytes(parts[0].expr.clone()),
            name: name.to_string(),
            line: parts[0].line,
            editable,
            inner: w.inlined,
        });
    }
    true
}

/// `$name` at position `p` (file bytes `reference`), replaced by its value when the file
/// says what it is. `false`: left to the caller (opaque), a note added if the file says why.
fn inline_variable(
    code: &Code,
    v: &mut Value,
    vars: Option<&Vars>,
    depth: usize,
    name: &str,
    p: usize,
    reference: Range<usize>,
) -> bool {
    let Some(vars) = vars else { return false };
    match vars.at(code, name, p) {
        Some(Known::Str(parts)) => inline_parts(
            code,
            v,
            vars,
            depth,
            name,
            reference,
            &parts,
            vars.editable(name),
            None,
        ),
        Some(Known::Unknown(why)) => {
            v.notes.push((reference, why));
            false
        }
        _ => false,
    }
}

/// Append the value of one operand; returns its segment index if it is a single literal.
fn operand(
    code: &Code,
    op: Range<usize>,
    v: &mut Value,
    in_format: bool,
    vars: Option<&Vars>,
    depth: usize,
) -> Option<usize> {
    let first = op.start;
    let last = op.end - 1;
    if op.len() == 1 && code.tok(first).kind == Kind::Variable && !in_format {
        let name = String::from_utf8_lossy(code.tok(first).text(code.src)).into_owned();
        if inline_variable(code, v, vars, depth, &name, first, code.bytes(op.clone())) {
            return None;
        }
    }
    // A constant: `CSP`, `self::CSP`, `static::CSP`, `Headers::CSP`.
    let constant = match op.len() {
        1 if code.tok(first).kind == Kind::Name => Some(first),
        3 if code.tok(first).kind == Kind::Name
            && code.is(first + 1, "::")
            && code.tok(last).kind == Kind::Name =>
        {
            Some(last)
        }
        _ => None,
    };
    if let (Some(c), Some(vars)) = (constant, vars) {
        let name = String::from_utf8_lossy(code.tok(c).text(code.src)).into_owned();
        if let Some(part) = vars.constant(&name) {
            let parts = [part.clone()];
            let editable = vars.constant_editable(&name);
            if inline_parts(code, v, vars, depth, &name, code.bytes(op.clone()), &parts, editable, None) {
                return None;
            }
        }
    }
    if op.len() == 1 {
        if let Kind::Str(lit) = &code.tok(first).kind {
            if lit.quote != Quote::Backtick {
                for e in strings::decode(code.src, lit) {
                    // `"...: $csp"`, `"{$csp}"`: a variable the file gives a value.
                    if let Elem::Opaque { raw, .. } = &e {
                        let text = &code.src[raw.clone()];
                        let bare = text.strip_prefix(b"{").and_then(|t| t.strip_suffix(b"}")).unwrap_or(text);
                        let simple = bare.len() > 1
                            && bare[0] == b'$'
                            && bare[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80);
                        if simple && !in_format {
                            let name = String::from_utf8_lossy(bare).into_owned();
                            if inline_variable(code, v, vars, depth, &name, first, raw.clone()) {
                                continue;
                            }
                        }
                    }
                    v.elems.push(e);
                }
                v.segments.push(Segment {
                    quote: lit.quote,
                    token: code.tok(first).span.clone(),
                    content: lit.content.clone(),
                    in_format,
                });
                return Some(v.segments.len() - 1);
            }
        }
    }
    let is_join = ["implode", "\\implode", "join", "\\join"]
        .iter()
        .any(|n| code.is_name(first, n));
    if is_join
        && code.is(first + 1, "(")
        && code.close_of(first + 1) == Some(last)
        && !in_format
        && join(code, first + 1, v, vars, depth)
    {
        return None;
    }
    if code.is(first, "(") && code.close_of(first) == Some(last) {
        let inner = evaluate_in(code, first + 1..last, vars, depth);
        absorb(v, inner, in_format);
        return None;
    }
    let is_sprintf = code.is_name(first, "sprintf") || code.is_name(first, "\\sprintf");
    if is_sprintf && code.is(first + 1, "(") && code.close_of(first + 1) == Some(last) {
        let args = code.arguments(first + 1);
        if let Some((None, fmt)) = args.first() {
            sprintf(code, v, vars, depth, fmt.clone(), &args[1..]);
            return None;
        }
    }
    // `trim($v)` of a value that neither starts nor ends with white space is that value
    // (Kanboard's `$policy.' '.trim($acl).'; '`).
    let is_trim = ["trim", "\\trim", "ltrim", "rtrim"].iter().any(|n| code.is_name(first, n));
    if is_trim && !in_format && code.is(first + 1, "(") && code.close_of(first + 1) == Some(last) {
        if let [(None, arg)] = code.arguments(first + 1).as_slice() {
            let inner = evaluate_in(code, arg.clone(), vars, depth);
            let edge = |e: Option<&Elem>| matches!(e, Some(Elem::Byte { b, .. }) if !b.is_ascii_whitespace() && *b != 0);
            if edge(inner.elems.first()) && edge(inner.elems.last()) {
                absorb(v, inner, false);
                return None;
            }
        }
    }
    if !in_format && inline_call(code, v, vars, depth, op.clone()) {
        return None;
    }
    opaque(code, op, &mut v.elems);
    None
}

/// The function a call operand calls: `name(...)`, `$this->name(...)`, `self::name(...)`,
/// `static::name(...)`, `Class::name(...)`, the call its whole operand. `(name position,
/// how it is shown)`.
fn called(code: &Code, op: Range<usize>) -> Option<(usize, String)> {
    let first = op.start;
    let last = op.end.checked_sub(1)?;
    let name = if code.tok(first).kind == Kind::Name && code.is(first + 1, "(") {
        first
    } else if op.len() >= 5
        && (code.tok(first).kind == Kind::Variable && code.tok(first).text(code.src) == b"$this"
            && (code.is(first + 1, "->") || code.is(first + 1, "?->"))
            || code.tok(first).kind == Kind::Name && code.is(first + 1, "::"))
        && code.tok(first + 2).kind == Kind::Name
        && code.is(first + 3, "(")
    {
        first + 2
    } else {
        return None;
    };
    if code.close_of(name + 1) != Some(last) {
        return None;
    }
    let head = &code.src[code.tok(first).span.start..code.tok(name).span.end];
    Some((name, format!("{}()", String::from_utf8_lossy(head))))
}

/// A call to a function or method the file defines with one `return` (README, "Values built
/// from variables"): replaced by what it returns, a piece whose literals are the function's.
/// `false`: left to the caller (opaque), a note added when the file says why it is unknown.
fn inline_call(
    code: &Code,
    v: &mut Value,
    vars: Option<&Vars>,
    depth: usize,
    op: Range<usize>,
) -> bool {
    let Some(vars) = vars else { return false };
    let Some((name, shown)) = called(code, op.clone()) else {
        return false;
    };
    let reference = code.bytes(op);
    let text = String::from_utf8_lossy(code.tok(name).text(code.src)).into_owned();
    match vars.returned(&text, &shown) {
        vars::Returned::Known { part, editable } => {
            // `return implode(SEP, [...]);`: each element a literal of its own, as for a list
            // variable (a new directive never goes into the separator).
            if let Some((sep, elems)) = inline_join(code, part.expr.clone()) {
                let parts: Vec<vars::Part> = elems
                    .into_iter()
                    .map(|e| vars::Part {
                        line: vars::line_of(code, e.start),
                        expr: e,
                        bind: Vec::new(),
                    })
                    .collect();
                let ok = inline_parts(
                    code, v, vars, depth, &shown, reference, &parts, editable, Some(&sep),
                );
                v.joined |= ok;
                return ok;
            }
            let parts = [part];
            inline_parts(code, v, vars, depth, &shown, reference, &parts, editable, None)
        }
        vars::Returned::Unknown(why) => {
            v.notes.push((reference, why));
            false
        }
        vars::Returned::Elsewhere => false,
    }
}

/// `implode(SEP, [...])` / `join(SEP, [...])` with a literal separator and an array literal
/// of at least one element: the separator's value and the elements.
fn inline_join(code: &Code, expr: Range<usize>) -> Option<(Vec<Elem>, Vec<Range<usize>>)> {
    let first = expr.start;
    let is_join = ["implode", "\\implode", "join", "\\join"]
        .iter()
        .any(|n| code.is_name(first, n));
    if !is_join || !code.is(first + 1, "(") || code.close_of(first + 1) != Some(expr.end - 1) {
        return None;
    }
    let args = code.arguments(first + 1);
    let [(None, sep), (None, list)] = args.as_slice() else {
        return None;
    };
    let sep = evaluate(code, sep.clone());
    if sep.segments.is_empty() || !sep.is_static() {
        return None;
    }
    match vars::list_literal(code, list.clone()) {
        Some(Ok(elems)) if !elems.is_empty() => Some((sep.elems, elems)),
        _ => None,
    }
}

/// `sprintf(FORMAT, ARGS...)` with a literal format: the format's text with each plain `%s`
/// (or `%n$s`) replaced by its argument's value when the file says what that is (a literal,
/// a variable, a constant, a call of the file): a piece whose literal is the argument, so a
/// source added to a directive whose sources are the argument goes into the argument, and
/// one added to a directive written in the format goes into the format (`%` written `%%`).
/// Any other conversion, or an argument not known, is a run-time part.
fn sprintf(
    code: &Code,
    v: &mut Value,
    vars: Option<&Vars>,
    depth: usize,
    fmt: Range<usize>,
    args: &[(Option<String>, Range<usize>)],
) {
    let inner = evaluate(code, fmt);
    let stand_ins: Vec<String> = args
        .iter()
        .map(|(_, r)| strings::stand_in(&code.src[code.bytes(r.clone())]))
        .collect();
    v.segments.extend(inner.segments.into_iter().map(|mut s| {
        s.in_format = true;
        s
    }));
    let (elems, plain) = format(&inner.elems, &stand_ins);
    // An argument read by two conversions is one literal that two places of the value share.
    let mut uses = vec![0usize; args.len()];
    for a in plain.iter().flatten() {
        uses[*a] += 1;
    }
    for (e, arg) in elems.into_iter().zip(plain) {
        let known = match (arg, vars) {
            (Some(a), Some(vars)) if depth < MAX_DEPTH && args[a].0.is_none() => {
                let range = args[a].1.clone();
                let value = evaluate_in(code, range.clone(), Some(vars), depth + 1);
                has_literal(&value).then_some((a, range, value))
            }
            _ => None,
        };
        let Some((a, range, value)) = known else {
            v.elems.push(e);
            continue;
        };
        let span = code.bytes(range);
        let line = code.src[..span.start].iter().filter(|&&b| b == b'\n').count() + 1;
        let start = v.elems.len();
        v.notes.extend(value.notes);
        v.joined |= value.joined;
        v.elems.extend(value.elems);
        v.inlined.push(Inlined {
            elems: start..v.elems.len(),
            shown: strings::stand_in(&code.src[e.raw().clone()]),
            reference: e.raw().clone(),
            span,
            name: format!("sprintf() argument {}", a + 2),
            line,
            editable: uses[a] == 1,
            inner: value.inlined,
        });
    }
}

/// `implode(SEP, LIST)` / `join(SEP, LIST)` with a literal separator and a list of
/// literals, inline (`[...]`) or in a variable the file fills (`$p[] = ...`): the elements
/// with the separator between them. `false`: not known (the caller makes it opaque).
fn join(code: &Code, open: usize, v: &mut Value, vars: Option<&Vars>, depth: usize) -> bool {
    let args = code.arguments(open);
    // The whole call, which is what stands in the value when it is not known.
    let call = code.bytes(open - 1..code.close_of(open).unwrap_or(open) + 1);
    let [(None, sep), (None, list)] = args.as_slice() else {
        return false;
    };
    let sep_value = evaluate(code, sep.clone());
    if sep_value.segments.is_empty() || !sep_value.is_static() {
        return false;
    }
    // The separator's segment is left out: text inserted into it would go between every
    // pair of elements.
    let sep_elems = sep_value.elems;
    if let Some(Ok(elems)) = vars::list_literal(code, list.clone()) {
        if elems.is_empty() {
            return false;
        }
        for (k, e) in elems.iter().enumerate() {
            if k > 0 {
                v.elems.extend(sep_elems.iter().cloned());
            }
            let inner = evaluate_in(code, e.clone(), vars, depth);
            absorb(v, inner, false);
        }
        v.joined = true;
        return true;
    }
    let Some(vars) = vars else { return false };
    if list.len() != 1 || code.tok(list.start).kind != Kind::Variable {
        return false;
    }
    let name = String::from_utf8_lossy(code.tok(list.start).text(code.src)).into_owned();
    match vars.at(code, &name, list.start) {
        Some(Known::List(parts)) if !parts.is_empty() => {
            let editable = vars.editable(&name);
            let reference = code.bytes(list.clone());
            let ok = inline_parts(
                code, v, vars, depth, &name, reference, &parts, editable, Some(&sep_elems),
            );
            v.joined |= ok;
            ok
        }
        Some(Known::Unknown(why)) => {
            v.notes.push((call, why));
            false
        }
        _ => false,
    }
}

/// Apply `sprintf` to a format known byte by byte: `%%` is a `%`, each conversion is the
/// (opaque) argument it consumes (ext/standard/formatted_print.c: argnum `n$`, flags
/// `-+ 0'c`, width, `.precision`, specifier). With each element, for a plain `%s` / `%n$s`
/// (no flags, width or precision: the argument's text as it is), the argument it prints.
fn format(fmt: &[Elem], args: &[String]) -> (Vec<Elem>, Vec<Option<usize>>) {
    let byte = |k: usize| match fmt.get(k) {
        Some(Elem::Byte { b, .. }) => Some(*b),
        _ => None,
    };
    let mut out = Vec::new();
    let mut plain = Vec::new();
    let mut next_arg = 0;
    let mut k = 0;
    while k < fmt.len() {
        if byte(k) != Some(b'%') {
            out.push(fmt[k].clone());
            plain.push(None);
            k += 1;
            continue;
        }
        let start = fmt[k].raw().start;
        if byte(k + 1) == Some(b'%') {
            out.push(Elem::Byte {
                b: b'%',
                raw: start..fmt[k + 1].raw().end,
                plain: false,
            });
            plain.push(None);
            k += 2;
            continue;
        }
        let mut j = k + 1;
        let digits = |j: &mut usize| {
            let mut n = 0usize;
            while let Some(d) = byte(*j).filter(u8::is_ascii_digit) {
                n = n * 10 + usize::from(d - b'0');
                *j += 1;
            }
            n
        };
        let mut argnum = None;
        let save = j;
        let mut decorated = false;
        let n = digits(&mut j);
        if byte(j) == Some(b'$') && n > 0 {
            argnum = Some(n - 1);
            j += 1;
        } else {
            j = save;
        }
        let flags = j;
        loop {
            match byte(j) {
                Some(b'-' | b'+' | b' ' | b'0') => j += 1,
                Some(b'\'') => j += 2,
                _ => break,
            }
        }
        digits(&mut j);
        if byte(j) == Some(b'.') {
            j += 1;
            digits(&mut j);
        }
        decorated |= j != flags;
        let spec_ok = byte(j).is_some_and(|c| b"bcdeEfFgGhHosuxX".contains(&c));
        let end = j.min(fmt.len() - 1);
        let arg = argnum.unwrap_or_else(|| {
            next_arg += 1;
            next_arg - 1
        });
        let stand_in = match (spec_ok, args.get(arg)) {
            (true, Some(a)) => a.clone(),
            _ => "%".to_string(),
        };
        let printed = (spec_ok && byte(j) == Some(b's') && !decorated && arg < args.len())
            .then_some(arg);
        out.push(Elem::Opaque {
            stand_in,
            raw: start..fmt[end].raw().end,
        });
        plain.push(printed);
        k = end + 1;
    }
    (out, plain)
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn text(php: &str) -> (String, usize) {
        let src = format!("<?php {php};");
        let code = Code::new(src.as_bytes(), tokenize(src.as_bytes()).unwrap());
        let v = evaluate(&code, 0..code.len() - 1);
        let mut s = Vec::new();
        for e in &v.elems {
            match e {
                Elem::Byte { b, .. } => s.push(*b),
                Elem::Opaque { stand_in, .. } => s.extend(format!("<{stand_in}>").bytes()),
            }
        }
        (String::from_utf8(s).unwrap(), v.segments.len())
    }

    #[test]
    fn concatenation_parentheses_and_sprintf() {
        assert_eq!(text("'a' . \"b\" . ('c' . $d)").0, "abc<$d>");
        assert_eq!(
            text("sprintf(\"x 'nonce-%s' %d%% %2$'*5s\", $n, 5)").0,
            "x 'nonce-<$n>' <5>% <5>"
        );
        assert_eq!(text("'a' . f(1, 2) . 1.5").0, "a<f(1, 2)><1.5>");
        assert_eq!(text("$c ? 'a' : 'b'"), ("<$c ? 'a' : 'b'>".into(), 0));
    }
}

#[cfg(test)]
mod vars_tests {
    use super::super::lexer::tokenize;
    use super::*;

    /// The value of the last statement's expression (`header(...)`'s first argument, or the
    /// whole last statement), with the file's variables: `<$x>` marks a run-time part.
    fn value(php: &str) -> (String, Vec<String>) {
        let src = format!("<?php {php}");
        let code = Code::new(src.as_bytes(), tokenize(src.as_bytes()).unwrap());
        let vars = Vars::collect(&code);
        // The last `use(` ... `)` call's argument.
        let open = (0..code.len())
            .rev()
            .find(|&p| code.is_name(p, "use") && code.is(p + 1, "("))
            .unwrap()
            + 1;
        let arg = code.arguments(open)[0].1.clone();
        let v = evaluate_with(&code, arg, Some(&vars));
        let mut s = Vec::new();
        for e in &v.elems {
            match e {
                Elem::Byte { b, .. } => s.push(*b),
                Elem::Opaque { stand_in, .. } => s.extend(format!("<{stand_in}>").bytes()),
            }
        }
        let notes = v.notes.iter().map(|(_, w)| w.clone()).collect();
        (String::from_utf8(s).unwrap(), notes)
    }

    #[test]
    fn lists_chains_constants_and_interpolation() {
        assert_eq!(
            value("$p[] = 'a'; $p[] = \"b c\"; $p = join(';', $p); use($p);").0,
            "a;b c"
        );
        assert_eq!(
            value("$p = ['a', 'b',]; use(implode('; ', $p));").0,
            "a; b"
        );
        assert_eq!(value("use(implode(' ', ['x', $y]));").0, "x <$y>");
        assert_eq!(
            value("$c = 'a; '; $c .= 'b'; $c .= \"; $n\"; use(\"CSP: {$c}\");").0,
            "CSP: a; b; <$n>"
        );
        assert_eq!(
            value("define('CSP', 'd ' . 'e'); use('CSP: ' . CSP);").0,
            "CSP: d e"
        );
        assert_eq!(
            value("class A { const P = 'q'; function f() { use(self::P); } }").0,
            "q"
        );
    }

    #[test]
    fn what_the_file_does_not_say_stays_run_time_with_the_reason() {
        // A write on some requests only that is not literal text added to the value.
        let (text, notes) =
            value("$p = ['a'];\nif ($x) {\n  $p[] = 'b' . $y;\n}\nuse(implode(';', $p));");
        assert_eq!(text, "<implode(';', $p)>");
        assert!(notes[0].contains("line 3 only runs on some requests"), "{notes:?}");
        let (_, notes) = value("$p = ['a'];\nforeach ($l as $x) {\n  $p[] = 'b';\n}\nuse(implode(';', $p));");
        assert!(notes[0].contains("line 3 only runs on some requests"), "{notes:?}");
        let (_, notes) = value("$p = ['script-src' => 'a'];\nuse(implode(';', $p));");
        assert!(notes[0].contains("keys"), "{notes:?}");
        // A write in another function is not this one's.
        assert_eq!(
            value("$c = 'a'; function f() { use('x' . $c); }").0,
            "x<$c>"
        );
        assert_eq!(value("$c = 'a'; $c['k'] = 'b'; use($c);").0, "<$c>");
    }

    #[test]
    fn a_function_of_the_file_with_one_return_is_what_it_returns() {
        assert_eq!(
            value("function csp_header() { return \"default-src 'self'\"; }\nuse('CSP: ' . csp_header());").0,
            "CSP: default-src 'self'"
        );
        // A method, its own variables read at its return; a run-time part stays one.
        assert_eq!(
            value(
                "class A {\n function p(): string {\n $c = $this->sources();\n $d = ['a', \"b 'self'\"];\n\
                 return implode('; ', $d) . '; c ' . $c;\n }\n function h() { use($this->p()); }\n}"
            )
            .0,
            "a; b 'self'; c <$c>"
        );
        assert_eq!(
            value("class B { static function p() { return 'x' . self::Q; } const Q = 'y'; }\nuse(B::p());").0,
            "xy"
        );
        // A closure's `return` inside it is not the function's.
        assert_eq!(
            value("function f() { $g = function () { return 'no'; }; return 'yes'; }\nuse(f());").0,
            "yes"
        );
    }

    #[test]
    fn a_function_whose_value_is_not_known_is_named_with_its_line() {
        let (text, notes) =
            value("function p($x) {\n if ($x) {\n  return 'a';\n }\n return 'b';\n}\nuse(p(1));");
        assert_eq!(text, "<p(1)>");
        assert!(notes[0].contains("`p()` (line 1), which has 2 `return`s (lines 3, 5)"), "{notes:?}");
        let (_, notes) = value("function p() {\n if (X) {\n  return 'a';\n }\n}\nuse(p());");
        assert!(notes[0].contains("line 3 runs only on some calls"), "{notes:?}");
        let (_, notes) = value(
            "class A { function p() { return 'a'; } }\nclass B { function p() { return 'b'; } }\nuse($this->p());",
        );
        assert!(notes[0].contains("`$this->p()`, defined 2 times in this file (lines 1, 2)"), "{notes:?}");
        // Not defined here: run-time, nothing said.
        assert_eq!(value("use('a' . other());"), ("a<other()>".into(), vec![]));
    }

    #[test]
    fn sprintf_arguments_the_file_knows_are_put_in_place() {
        assert_eq!(
            value("$s = \"'self' https://a\";\nuse(sprintf('default-src \\'self\\'; script-src %s; img-src %1$s %%; x %d', $s, 5));").0,
            "default-src 'self'; script-src 'self' https://a; img-src 'self' https://a %; x <5>"
        );
        assert_eq!(
            value("use(sprintf('script-src %s %s; style-src %5s', \"'self'\", $n, 'a'));").0,
            "script-src 'self' <$n>; style-src <'a'>"
        );
        assert_eq!(
            value("function s() { return 'https://b'; }\nuse(sprintf('img-src %s', s()));").0,
            "img-src https://b"
        );
    }

    /// The value of the last `use(...)` on each variant the file's conditional writes make.
    fn variants(php: &str) -> Vec<String> {
        let src = format!("<?php {php}");
        let code = Code::new(src.as_bytes(), tokenize(src.as_bytes()).unwrap());
        let vars = Vars::collect(&code);
        let open = (0..code.len())
            .rev()
            .find(|&p| code.is_name(p, "use") && code.is(p + 1, "("))
            .unwrap()
            + 1;
        let arg = code.arguments(open)[0].1.clone();
        let text = |v: Value| -> String {
            v.elems
                .iter()
                .map(|e| match e {
                    Elem::Byte { b, .. } => char::from(*b).to_string(),
                    Elem::Opaque { stand_in, .. } => format!("<{stand_in}>"),
                })
                .collect()
        };
        vars.begin_variants();
        let first = evaluate_with(&code, arg.clone(), Some(&vars));
        let n = vars.conditional_lines().len();
        if n == 0 || n > vars::MAX_CONDITIONAL {
            return vec![text(first)];
        }
        (0..1u32 << n)
            .map(|mask| {
                vars.set_variant(mask);
                text(evaluate_with(&code, arg.clone(), Some(&vars)))
            })
            .collect()
    }

    #[test]
    fn literal_writes_on_some_requests_make_variants() {
        assert_eq!(
            variants("$p = ['a'];\nif ($x) {\n  $p[] = 'b';\n} else {\n $p[] = 'c';\n}\nuse(implode(';', $p));"),
            ["a", "a;b", "a;c", "a;b;c"]
        );
        assert_eq!(
            variants("$c = 'a';\nif ($x) $c .= '; b';\nelseif ($y) $c .= \"; c\";\nuse(\"CSP: $c\");"),
            ["CSP: a", "CSP: a; b", "CSP: a; c", "CSP: a; b; c"]
        );
        // Inside the same `if` as the use: it always runs before it.
        assert_eq!(
            variants("$c = 'a';\nif ($x) {\n $c .= 'b';\n use($c);\n}"),
            ["ab"]
        );
        // More than MAX_CONDITIONAL: unknown.
        let many = "$p = ['a'];\nif ($x) $p[] = '1';\nif ($x) $p[] = '2';\nif ($x) $p[] = '3';\nif ($x) $p[] = '4';\nif ($x) $p[] = '5';\nuse(implode(';', $p));";
        assert_eq!(variants(many), ["<implode(';', $p)>"]);
        let (_, notes) = value(many);
        assert!(notes[0].contains("at most 4"), "{notes:?}");
    }

    #[test]
    fn a_keyed_array_joined_by_a_foreach_append_is_read_entry_by_entry() {
        assert_eq!(
            value("$p = ['default-src' => \"'self'\", 'img-src' => 'data:'];\n$h = '';\nforeach ($p as $k => $v) {\n  $h .= \"$k $v; \";\n}\nuse(\"CSP: $h\");").0,
            "CSP: default-src 'self'; img-src data:; "
        );
        assert_eq!(
            value("$p = array('a' => 'b');\n$h = '';\nforeach ($p as $k => $v) {\n  $h .= $k . ' ' . trim($v) . ';';\n}\nuse($h);").0,
            "a b;"
        );
        // A loop over what the file does not say stays run-time, with the reason.
        let (text, notes) = value("$h = '';\nforeach ($q as $k => $v) {\n  $h .= \"$k $v; \";\n}\nuse($h);");
        assert_eq!(text, "<$h>");
        assert!(notes[0].contains("line 3 is in a loop over `$q`"), "{notes:?}");
        // Two statements in the body: not followed.
        let (_, notes) = value("$p = ['a' => 'b'];\n$h = '';\nforeach ($p as $k => $v) {\n  $h .= $k;\n  $h .= $v;\n}\nuse($h);");
        assert!(notes[0].contains("only runs on some requests"), "{notes:?}");
    }
}
