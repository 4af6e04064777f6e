//! The value of a PHP expression, as far as it is known before run time: string literals
//! joined with `.`, parentheses, and `sprintf()` with a literal format. Anything else
//! (variables, constants, other calls, interpolations) is opaque.

use std::ops::Range;

use super::lexer::{Kind, Quote};
use super::strings::{self, Elem};
use super::syntax::Code;
use super::vars::Vars;

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
    pub line: usize,
    pub editable: bool,
}

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
        let literal = operand(code, op.clone(), &mut v, false, vars);
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

/// Append the value of one operand; returns its segment index if it is a single literal.
fn operand(
    code: &Code,
    op: Range<usize>,
    v: &mut Value,
    in_format: bool,
    vars: Option<&Vars>,
) -> Option<usize> {
    let first = op.start;
    let last = op.end - 1;
    if op.len() == 1 && code.tok(first).kind == Kind::Variable && !in_format {
        let name = String::from_utf8_lossy(code.tok(first).text(code.src)).into_owned();
        if let Some(k) = vars.and_then(|vars| vars.at(code, &name, first)) {
            // One level: the assigned value's own variables stay run-time parts.
            let inner = evaluate(code, k.expr.clone());
            let literal = inner
                .elems
                .iter()
                .any(|e| matches!(e, Elem::Byte { b, .. } if !b.is_ascii_whitespace()));
            if !literal {
                // Nothing of it is known: the variable itself is the run-time part to name.
                opaque(code, op, &mut v.elems);
                return None;
            }
            let start = v.elems.len();
            v.elems.extend(inner.elems);
            v.inlined.push(Inlined {
                elems: start..v.elems.len(),
                reference: code.bytes(op.clone()),
                span: code.bytes(k.expr.clone()),
                name,
                line: k.line,
                editable: k.editable,
            });
            return None;
        }
    }
    if op.len() == 1 {
        if let Kind::Str(lit) = &code.tok(first).kind {
            if lit.quote != Quote::Backtick {
                v.elems.extend(strings::decode(code.src, lit));
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
    if code.is(first, "(") && code.close_of(first) == Some(last) {
        let inner = evaluate_with(code, first + 1..last, vars);
        let base = v.segments.len();
        v.segments.extend(inner.segments.into_iter().map(|mut s| {
            s.in_format |= in_format;
            s
        }));
        let shift = v.elems.len();
        v.inlined.extend(inner.inlined.into_iter().map(|mut i| {
            i.elems = i.elems.start + shift..i.elems.end + shift;
            i
        }));
        v.elems.extend(inner.elems);
        let _ = base;
        return None;
    }
    let is_sprintf = code.is_name(first, "sprintf") || code.is_name(first, "\\sprintf");
    if is_sprintf && code.is(first + 1, "(") && code.close_of(first + 1) == Some(last) {
        let args = code.arguments(first + 1);
        if let Some((None, fmt)) = args.first() {
            let inner = evaluate(code, fmt.clone());
            let stand_ins: Vec<String> = args[1..]
                .iter()
                .map(|(_, r)| strings::stand_in(&code.src[code.bytes(r.clone())]))
                .collect();
            v.segments.extend(inner.segments.into_iter().map(|mut s| {
                s.in_format = true;
                s
            }));
            v.elems.extend(format(&inner.elems, &stand_ins));
            return None;
        }
    }
    opaque(code, op, &mut v.elems);
    None
}

/// Apply `sprintf` to a format known byte by byte: `%%` is a `%`, each conversion is the
/// (opaque) argument it consumes (ext/standard/formatted_print.c: argnum `n$`, flags
/// `-+ 0'c`, width, `.precision`, specifier).
fn format(fmt: &[Elem], args: &[String]) -> Vec<Elem> {
    let byte = |k: usize| match fmt.get(k) {
        Some(Elem::Byte { b, .. }) => Some(*b),
        _ => None,
    };
    let mut out = Vec::new();
    let mut next_arg = 0;
    let mut k = 0;
    while k < fmt.len() {
        if byte(k) != Some(b'%') {
            out.push(fmt[k].clone());
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
        let n = digits(&mut j);
        if byte(j) == Some(b'$') && n > 0 {
            argnum = Some(n - 1);
            j += 1;
        } else {
            j = save;
        }
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
        out.push(Elem::Opaque {
            stand_in,
            raw: start..fmt[end].raw().end,
        });
        k = end + 1;
    }
    out
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
