//! CSP sites in PHP code: `header('Content-Security-Policy: ...')` calls and
//! `$headers['Content-Security-Policy'] = ...` in a `wp_headers` filter, with their lints.

use std::ops::Range;
use std::path::Path;

use crate::diag::{Diagnostic, Location};
use crate::csp::Delivery;
use crate::site::{Decoded, Disposition, Repair, Site};

use super::expr::{self, Inlined, Value};
use super::vars::Vars;
use super::hooks::{self, Function};
use super::lexer::Kind;
use super::strings::Elem;
use super::syntax::Code;

/// Hooks that run after WordPress has started to print the page.
const OUTPUT_HOOKS: &[&str] = &[
    "wp_head",
    "wp_body_open",
    "wp_footer",
    "wp_enqueue_scripts",
    "wp_print_scripts",
    "wp_print_styles",
    "wp_print_footer_scripts",
    "admin_head",
    "admin_footer",
    "admin_enqueue_scripts",
    "login_head",
    "login_footer",
    "login_enqueue_scripts",
    "get_footer",
];

pub struct Finder<'a> {
    pub path: &'a Path,
    pub code: &'a Code<'a>,
    pub funcs: Vec<Function>,
    pub sites: Vec<Site>,
    pub diagnostics: Vec<Diagnostic>,
    /// Variables with one known value (`$csp = "...";`).
    vars: Vars,
}

/// Where a header call's value starts, when its first argument names a CSP header.
pub struct HeaderValue {
    pub disposition: Disposition,
    /// Index into the value's elements of the first byte after `Name:` and its spaces.
    pub start: usize,
}

/// `Name: value` with a literal name that is a CSP header: PHP sends the line as is and the
/// client drops the spaces after the colon (PHP itself strips only trailing whitespace:
/// `sapi_header_op` in main/SAPI.c).
pub fn header_value(v: &Value) -> Option<HeaderValue> {
    let colon = v.elems.iter().position(|e| match e {
        Elem::Byte { b, .. } => *b == b':',
        Elem::Opaque { .. } => true,
    })?;
    let name: Vec<u8> = v.elems[..colon]
        .iter()
        .filter_map(|e| match e {
            Elem::Byte { b, .. } => Some(*b),
            Elem::Opaque { .. } => None,
        })
        .collect();
    if matches!(v.elems[colon], Elem::Opaque { .. }) {
        return None;
    }
    let disposition = Disposition::from_header_name(&name)?;
    let mut start = colon + 1;
    while matches!(
        v.elems.get(start),
        Some(Elem::Byte {
            b: b' ' | b'\t',
            ..
        })
    ) {
        start += 1;
    }
    Some(HeaderValue { disposition, start })
}

/// How many spaces and tabs `elems` starts with.
fn leading_blanks(elems: &[Elem]) -> usize {
    elems
        .iter()
        .take_while(|e| matches!(e, Elem::Byte { b: b' ' | b'\t', .. }))
        .count()
}

/// The value's elements without the trailing whitespace PHP strips (`isspace` in C).
pub fn trim_end(elems: &[Elem]) -> &[Elem] {
    let mut end = elems.len();
    while end > 0
        && matches!(
            elems[end - 1],
            Elem::Byte {
                b: b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c,
                ..
            }
        )
    {
        end -= 1;
    }
    &elems[..end]
}

/// A `Decoded` built from elements; also says whether some bytes were not UTF-8.
/// The variables inlined in `value.elems[start..start + len]`, relative to that slice.
/// A variable whose value ends with white space PHP strips from the header
/// (`"$k $v; "` in a loop) is cut there: the stripped bytes are sent by no literal.
fn inlined_in(value: &Value, start: usize, len: usize) -> Vec<Inlined> {
    clamp(&value.inlined, start, len)
}

fn clamp(inlined: &[Inlined], start: usize, len: usize) -> Vec<Inlined> {
    inlined
        .iter()
        .filter(|i| i.elems.start >= start && i.elems.start < start + len)
        .map(|i| {
            let end = i.elems.end.min(start + len);
            Inlined {
                elems: i.elems.start - start..end - start,
                inner: clamp(&i.inner, 0, end - i.elems.start),
                ..i.clone()
            }
        })
        .collect()
}

/// [`to_decoded`] for a value with inlined variables: each variable's value is a piece, so
/// a change to it is written into the assigned literal (see `crate::site::Piece`); a piece's
/// own inlined variables are pieces inside it. `notes`: what run-time parts are, by the raw
/// bytes of their reference.
fn to_decoded_with(
    elems: &[Elem],
    inlined: &[Inlined],
    notes: &[(Range<usize>, String)],
) -> (Decoded, bool) {
    if inlined.is_empty() {
        return to_decoded_noted(elems, notes);
    }
    let mut d = Decoded::default();
    let mut alone: Vec<Elem> = Vec::new();
    let mut non_utf8 = false;
    let mut k = 0;
    for i in inlined {
        let (part, bad) = to_decoded_noted(&elems[k..i.elems.start], notes);
        non_utf8 |= bad;
        append(&mut d, &part);
        alone.extend_from_slice(&elems[k..i.elems.start]);
        let (value, bad) = to_decoded_with(&elems[i.elems.clone()], &i.inner, notes);
        non_utf8 |= bad;
        d.push_value(
            i.reference.clone(),
            &value,
            crate::site::PieceOf {
                span: i.span.clone(),
                name: i.name.clone(),
                origin: format!("line {}", i.line),
                editable: i.editable,
            },
        );
        // A list element's "reference" is the element itself: the literal around it
        // has the separator there, not a reference.
        if i.reference != i.span {
            alone.push(Elem::Opaque {
                stand_in: i.shown.clone(),
                raw: i.reference.clone(),
            });
        }
        k = i.elems.end;
    }
    let (part, bad) = to_decoded_noted(&elems[k..], notes);
    non_utf8 |= bad;
    append(&mut d, &part);
    alone.extend_from_slice(&elems[k..]);
    (d.finish(to_decoded(&alone).0), non_utf8)
}

/// [`to_decoded`], each run-time part the file says something about noted.
fn to_decoded_noted(elems: &[Elem], notes: &[(Range<usize>, String)]) -> (Decoded, bool) {
    if notes.is_empty() {
        return to_decoded(elems);
    }
    let mut d = Decoded::default();
    let mut bad = false;
    let mut k = 0;
    for (n, e) in elems.iter().enumerate() {
        if let Elem::Opaque { stand_in, raw } = e {
            if let Some((_, what)) = notes.iter().find(|(r, _)| r == raw) {
                let (part, b) = to_decoded(&elems[k..n]);
                bad |= b;
                append(&mut d, &part);
                d.push_noted(
                    stand_in,
                    raw.clone(),
                    crate::site::OpaqueNote {
                        range: 0..0,
                        what: what.clone(),
                        reach: crate::site::Reach::Source,
                    },
                );
                k = n + 1;
            }
        }
    }
    let (part, b) = to_decoded(&elems[k..]);
    append(&mut d, &part);
    (d, bad || b)
}

/// Append a decoded part (no pieces) to `d`, its mapping and run-time parts kept.
fn append(d: &mut Decoded, part: &Decoded) {
    let mut i = 0;
    while i < part.text.len() {
        if let Some(o) = part.opaque.iter().find(|o| o.start == i) {
            if let (Some(first), Some(last)) = (part.raw(o.start), part.raw(o.end - 1)) {
                match part.note_at(o) {
                    Some(n) => d.push_noted(&part.text[o.clone()], first.start..last.end, n.clone()),
                    None => d.push_opaque(&part.text[o.clone()], first.start..last.end),
                }
            }
            i = o.end;
            continue;
        }
        let ch = part.text[i..].chars().next().unwrap_or('\u{fffd}');
        if let Some(r) = part.raw(i) {
            d.push_char(ch, r);
        }
        i += ch.len_utf8().max(1);
    }
}

pub fn to_decoded(elems: &[Elem]) -> (Decoded, bool) {
    let mut d = Decoded::default();
    let mut non_utf8 = false;
    let mut k = 0;
    while k < elems.len() {
        match &elems[k] {
            Elem::Opaque { stand_in, raw } => {
                d.push_opaque(stand_in, raw.clone());
                k += 1;
            }
            Elem::Byte { .. } => {
                let run_end = elems[k..]
                    .iter()
                    .position(|e| matches!(e, Elem::Opaque { .. }))
                    .map_or(elems.len(), |n| k + n);
                non_utf8 |= push_bytes(&mut d, &elems[k..run_end]);
                k = run_end;
            }
        }
    }
    (d, non_utf8)
}

fn push_bytes(d: &mut Decoded, run: &[Elem]) -> bool {
    let bytes: Vec<u8> = run
        .iter()
        .map(|e| match e {
            Elem::Byte { b, .. } => *b,
            Elem::Opaque { .. } => 0,
        })
        .collect();
    let mut bad = false;
    let mut i = 0;
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let n = ch.len_utf8();
            let part = &run[i..i + n];
            let plain = part
                .iter()
                .all(|e| matches!(e, Elem::Byte { plain: true, .. }));
            let raw = part[0].raw().start..part[n - 1].raw().end;
            if plain && n == 1 {
                d.push_literal(raw.start, &bytes[i..i + 1]);
            } else {
                d.push_char(ch, raw);
            }
            i += n;
        }
        let invalid = chunk.invalid().len();
        if invalid > 0 {
            bad = true;
            let part = &run[i..i + invalid];
            d.push_char('\u{FFFD}', part[0].raw().start..part[invalid - 1].raw().end);
            i += invalid;
        }
    }
    bad
}

pub fn location(path: &Path, src: &[u8], offset: usize) -> Location {
    Location::of(path, src, offset)
}

impl<'a> Finder<'a> {
    pub fn new(path: &'a Path, code: &'a Code<'a>) -> Self {
        Finder {
            path,
            code,
            funcs: hooks::functions(code),
            sites: Vec::new(),
            diagnostics: Vec::new(),
            vars: Vars::collect(code),
        }
    }

    fn at(&self, offset: usize) -> Location {
        location(self.path, self.code.src, offset)
    }

    fn context(&self, p: usize) -> String {
        hooks::enclosing(&self.funcs, p).map_or_else(|| "top level".to_string(), Function::describe)
    }

    pub fn run(&mut self) {
        for p in 0..self.code.len() {
            self.header_call(p);
            self.method_header_call(p);
        }
        let filters: Vec<Range<usize>> = self
            .funcs
            .iter()
            .filter(|f| f.hooked_to("wp_headers"))
            .map(|f| f.body.clone())
            .collect();
        for body in &filters {
            for p in body.clone() {
                self.header_array_entry(p, body.end, true);
            }
        }
        // A framework's header array (`$headers['Content-Security-Policy'] = "..."` handed to a
        // Response, a middleware's `'Content-Security-Policy' => "..."`): the literal is the
        // value sent, wherever the array goes (README, "PHP").
        let code = self.code;
        for p in 0..code.len() {
            // Only an entry's first token (`$name[`, `'...' =>`) looks for its function: that
            // search runs over every function of the file.
            let entry = code.tok(p).kind == Kind::Variable && code.is(p + 1, "[")
                || matches!(code.tok(p).kind, Kind::Str(_)) && code.is(p + 1, "=>");
            if !entry || filters.iter().any(|b| b.contains(&p)) {
                continue;
            }
            let end = hooks::enclosing(&self.funcs, p).map_or(code.len(), |f| f.body.end);
            self.header_array_entry(p, end, false);
        }
    }

    fn header_call(&mut self, p: usize) {
        let code = self.code;
        // CodeIgniter 3's `$this->output->set_header('Name: value')` takes a header() line.
        let set_header = code.is_name(p, "set_header")
            && p >= 2
            && (code.is(p - 1, "->") || code.is(p - 1, "?->"))
            && code.is_name(p - 2, "output")
            // Roundcube's `$this->header('Name: value')`: a method of this file's class that
            // hands its argument to header() unchanged.
            || self.own_header_wrapper(p);
        if !(set_header || code.is_name(p, "header") || code.is_name(p, "\\header"))
            || !code.is(p + 1, "(")
        {
            return;
        }
        if p > 0 && !set_header {
            let prev = code.tok(p - 1);
            let member = ["->", "?->", "::"].iter().any(|op| prev.is(code.src, op));
            let keyword = ["function", "new", "const"]
                .iter()
                .any(|k| prev.is_name(code.src, k));
            if member || keyword {
                return;
            }
        }
        let args = code.arguments(p + 1);
        let first = args
            .iter()
            .enumerate()
            .find(|(i, (label, _))| {
                label.as_deref() == Some("header") || *i == 0 && label.is_none()
            })
            .map(|(_, (_, r))| r.clone());
        let Some(first) = first else { return };
        let span = code.bytes(first.clone());
        let mut lints = None;
        for (value, variant) in self.values(first.clone()) {
            let Some(hv) = header_value(&value) else {
                continue;
            };
            let elems = trim_end(&value.elems[hv.start..]);
            let inlined = inlined_in(&value, hv.start, elems.len());
            let mut site =
                self.site(hv.disposition, span.clone(), elems, &inlined, &value.notes, p);
            if let Some(v) = variant {
                site.context = format!("{}, {v}", site.context);
            }
            lints.get_or_insert(hv.disposition);
            self.sites.push(site);
        }
        let Some(disposition) = lints else { return };
        let replace = args
            .iter()
            .enumerate()
            .find(|(i, (label, _))| {
                label.as_deref() == Some("replace") || *i == 1 && label.is_none()
            })
            .map(|(_, (_, r))| r.clone());
        if let Some(r) = replace {
            let t = code.tok(r.start);
            if r.len() == 1 && (t.is_name(code.src, "false") || t.text(code.src) == b"0") {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "PHP502",
                        format!(
                            "header(..., false) adds another {} header instead of replacing it",
                            disposition.header_name()
                        ),
                    )
                    .at(self.at(t.span.start))
                    .with_help(
                        "browsers enforce every CSP they receive: the vendor must be allowed \
                         by each one; drop `false` if this header should replace the earlier one",
                    ),
                );
            }
        }
        self.call_lints(p);
    }

    /// `$this->header(...)`, `self::header(...)` or `static::header(...)` at `p`, where the file
    /// defines one method `header` whose first parameter is passed unchanged as the first
    /// argument of PHP's own header() (Roundcube's `rcube_output::header($header, $replace)`):
    /// a call of it sends that header() line.
    fn own_header_wrapper(&self, p: usize) -> bool {
        let code = self.code;
        if !code.is_name(p, "header") || p < 2 {
            return false;
        }
        let on_self = (code.is(p - 1, "->") || code.is(p - 1, "?->"))
            && code.tok(p - 2).kind == Kind::Variable
            && code.tok(p - 2).text(code.src) == b"$this"
            || code.is(p - 1, "::")
                && (code.is_name(p - 2, "self") || code.is_name(p - 2, "static"));
        if !on_self {
            return false;
        }
        let mut defs = self.funcs.iter().filter(|f| {
            f.class.is_some() && f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case("header"))
        });
        let (Some(def), None) = (defs.next(), defs.next()) else {
            return false;
        };
        // `function header(` then the first parameter, after an optional type.
        let mut q = def.start + 2;
        if !code.is(q, "(") {
            return false;
        }
        q += 1;
        while q < def.body.start && code.tok(q).kind == Kind::Name {
            q += 1;
        }
        if code.tok(q).kind != Kind::Variable {
            return false;
        }
        let param = code.tok(q).text(code.src);
        def.body.clone().any(|b| {
            (code.is_name(b, "header") || code.is_name(b, "\\header"))
                && code.is(b + 1, "(")
                && !(b > 0 && ["->", "?->", "::"].iter().any(|op| code.is(b - 1, op)))
                && code.tok(b + 2).kind == Kind::Variable
                && code.tok(b + 2).text(code.src) == param
                && (code.is(b + 3, ",") || code.is(b + 3, ")"))
        })
    }

    /// The value of the expression at `range` on each kind of request the file tells apart:
    /// one value, or, when it depends on writes that run on some requests only (wholly literal
    /// `.=` / `[] =` in an `if` or `else`, at most `vars::MAX_CONDITIONAL`), one per
    /// combination of those writes, each with what it assumes (`on requests where line 12
    /// runs`). Each is a site of its own: the vendor must be allowed in every one.
    fn values(&self, range: Range<usize>) -> Vec<(Value, Option<String>)> {
        self.vars.begin_variants();
        let first = expr::evaluate_with(self.code, range.clone(), Some(&self.vars));
        let lines = self.vars.conditional_lines();
        if lines.is_empty() || lines.len() > super::vars::MAX_CONDITIONAL {
            self.vars.begin_variants();
            return vec![(first, None)];
        }
        let out = (0..1u32 << lines.len())
            .map(|mask| {
                self.vars.set_variant(mask);
                let v = expr::evaluate_with(self.code, range.clone(), Some(&self.vars));
                (v, Some(variant_name(mask, &lines)))
            })
            .collect();
        self.vars.begin_variants();
        out
    }

    /// A response object's header: Symfony/Laravel `$response->headers->set('Content-Security-Policy',
    /// VALUE)`, Laravel `$response->header(NAME, VALUE)` / `->withHeaders([NAME => VALUE])`
    /// is not one), PSR-7 `->withHeader(NAME, VALUE)` / `->withAddedHeader(NAME, VALUE)`:
    /// the name a literal, the value read as a header() value is. A one-argument
    /// `->header(NAME)` reads the header (a test's assertion) and is no site.
    fn method_header_call(&mut self, p: usize) {
        let code = self.code;
        if p == 0 || !(code.is(p - 1, "->") || code.is(p - 1, "?->")) || !code.is(p + 1, "(") {
            return;
        }
        // `$response->headers->set(...)`, or the bag in a variable of that name
        // (`$headers = $response->headers; $headers->set(...)`).
        let on_headers = code.is_name(p, "set")
            && p >= 2
            && (code.is_name(p - 2, "headers")
                && p >= 3
                && (code.is(p - 3, "->") || code.is(p - 3, "?->"))
                || code.tok(p - 2).kind == Kind::Variable
                    && code.tok(p - 2).text(code.src) == b"$headers");
        let method = on_headers
            || ["header", "withHeader", "withAddedHeader"]
                .iter()
                .any(|m| code.is_name(p, m));
        if !method {
            return;
        }
        let args = code.arguments(p + 1);
        let (Some((None, name)), Some((None, value))) = (args.first(), args.get(1)) else {
            return;
        };
        let Some(disposition) = hooks::literal_text(code, name.clone())
            .and_then(|n| Disposition::from_header_name(n.trim().as_bytes()))
        else {
            return;
        };
        for (v, variant) in self.values(value.clone()) {
            let start = leading_blanks(&v.elems);
            let elems = trim_end(&v.elems[start..]);
            let literal_text = elems
                .iter()
                .any(|e| matches!(e, Elem::Byte { b, .. } if !b.is_ascii_whitespace()));
            if !literal_text && v.notes.is_empty() {
                // Wholly run-time (`$this->cspService->getCspHeader()`): no site, so the line
                // is reported as a CSP csppatch cannot read (E041), and --check does not pass.
                continue;
            }
            let inlined = inlined_in(&v, start, elems.len());
            let mut site =
                self.site(disposition, code.bytes(value.clone()), elems, &inlined, &v.notes, p);
            if let Some(v) = variant {
                site.context = format!("{}, {v}", site.context);
            }
            self.sites.push(site);
        }
    }

    /// Lints that depend on where a `header()` call runs.
    fn call_lints(&mut self, p: usize) {
        let code = self.code;
        let offset = code.tok(p).span.start;
        let func = hooks::enclosing(&self.funcs, p);
        let is_functions_php = self
            .path
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("functions.php"));
        if func.is_none() && is_functions_php {
            self.diagnostics.push(
                Diagnostic::note(
                    "PHP503",
                    "header() runs at the top level of functions.php, on every request that \
                     loads the theme",
                )
                .at(self.at(offset))
                .with_help(
                    "wrap it in add_action('send_headers', function () { ... }) so that it runs \
                     once, when WordPress sends the front-end headers",
                ),
            );
        }
        if let Some(hook) = func.and_then(|f| {
            f.hooks
                .iter()
                .find(|h| OUTPUT_HOOKS.contains(&h.name.as_str()))
        }) {
            self.diagnostics.push(
                Diagnostic::warning(
                    "PHP504",
                    format!(
                        "header() runs in the '{}' hook, after the page has started to be sent",
                        hook.name
                    ),
                )
                .at(self.at(offset))
                .with_help(
                    "PHP then sends no header (\"Cannot modify header information - headers \
                     already sent\") unless output buffering hides it; use the 'send_headers' \
                     action or the 'wp_headers' filter",
                ),
            );
        }
        let html_before = code
            .toks
            .iter()
            .filter(|t| t.kind == Kind::InlineHtml)
            .filter(|t| !self.funcs.iter().any(|f| f.bytes.contains(&t.span.start)))
            .find(|t| func.is_some() || t.span.start < offset);
        if let Some(t) = html_before {
            let bom = code.src[t.span.clone()].starts_with(b"\xEF\xBB\xBF");
            let what = if bom {
                "a UTF-8 byte order mark".to_string()
            } else {
                format!("{} bytes of text outside <?php ?>", t.span.len())
            };
            let d = Diagnostic::warning(
                "PHP505",
                format!("{what} is sent as output before this header() call"),
            )
            .at(self.at(t.span.start))
            .with_help(
                "once output has started PHP cannot send headers (unless output buffering \
                 holds it); remove the text before `<?php` / after the final `?>`",
            );
            if !self.diagnostics.contains(&d) {
                self.diagnostics.push(d);
            }
        }
    }

    /// `$h['Content-Security-Policy'] = expr;` or `'Content-Security-Policy' => expr`.
    /// `$headers['Content-Security-Policy'] = ...` or `'Content-Security-Policy' => ...` up to
    /// `body_end`. `hooked`: in a `wp_headers` filter, where the array is the response's
    /// headers whatever its value; elsewhere a wholly run-time value (Tiki's
    /// `$prefs['http_header_content_security_policy_value']`) is no site, and the line is left to
    /// E041 ("cannot read the policy here").
    fn header_array_entry(&mut self, p: usize, body_end: usize, hooked: bool) {
        let code = self.code;
        let is_csp_key = |r: Range<usize>| {
            hooks::literal_text(code, r).and_then(|k| Disposition::from_header_name(k.as_bytes()))
        };
        let (disposition, value_start, appends) =
            if code.tok(p).kind == Kind::Variable && code.is(p + 1, "[") {
                let Some(close) = code.close_of(p + 1) else {
                    return;
                };
                let Some(d) = is_csp_key(p + 2..close) else {
                    return;
                };
                if code.is(close + 1, "=") {
                    (d, close + 2, false)
                } else if code.is(close + 1, ".=") {
                    (d, close + 2, true)
                } else {
                    return;
                }
            } else if matches!(code.tok(p).kind, Kind::Str(_)) && code.is(p + 1, "=>") {
                let Some(d) = is_csp_key(p..p + 1) else {
                    return;
                };
                (d, p + 2, false)
            } else {
                return;
            };
        let end = code.expression_end(value_start, body_end);
        if end == value_start {
            return;
        }
        for (value, variant) in self.values(value_start..end) {
            let start = leading_blanks(&value.elems);
            let elems = trim_end(&value.elems[start..]);
            let literal_text = elems
                .iter()
                .any(|e| matches!(e, Elem::Byte { b, .. } if !b.is_ascii_whitespace()));
            if !hooked && !literal_text && value.notes.is_empty() {
                continue;
            }
            let inlined = inlined_in(&value, start, elems.len());
            let mut site = self.site(
                disposition,
                code.bytes(value_start..end),
                elems,
                &inlined,
                &value.notes,
                p,
            );
            if let Some(v) = variant {
                site.context = format!("{}, {v}", site.context);
            }
            if appends {
                site.refusal = Some(
                    "`.=` appends to a value set elsewhere: patch the place that sets it"
                        .to_string(),
                );
            }
            self.sites.push(site);
        }
    }

    fn site(
        &mut self,
        disposition: Disposition,
        span: Range<usize>,
        elems: &[Elem],
        inlined: &[Inlined],
        notes: &[(Range<usize>, String)],
        p: usize,
    ) -> Site {
        let (value, non_utf8) = to_decoded_with(elems, inlined, notes);
        let literal_text = elems
            .iter()
            .any(|e| matches!(e, Elem::Byte { b, .. } if !b.is_ascii_whitespace()));
        let mut refusal = None;
        if !literal_text {
            let why: Vec<&str> = value.notes.iter().map(|n| n.what.as_str()).collect();
            refusal = Some(format!(
                "the value is computed at run time ({}{}): csppatch edits only literal text; \
                 add the sources where that value is built",
                value.text,
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {}", why.join("; "))
                }
            ));
        } else if non_utf8 {
            refusal = Some("the value is not valid UTF-8".to_string());
        }
        let mut repaired = None;
        let newline = elems.iter().find(|e| {
            matches!(
                e,
                Elem::Byte {
                    b: b'\n' | b'\r' | 0,
                    ..
                }
            )
        });
        if let Some(nl) = newline {
            let static_value = elems.iter().all(|e| matches!(e, Elem::Byte { .. }));
            let d = 
                Diagnostic::warning(
                    "PHP501",
                    format!(
                        "the {} value contains a line break: PHP refuses to send the header",
                        disposition.header_name()
                    ),
                )
                .at(self.at(nl.raw().start))
                .with_help(
                    "PHP warns \"Header may not contain more than a single header, new line \
                     detected\" and sends nothing; put the whole value on one line",
                );
            if !self.diagnostics.contains(&d) {
                // Once for the variants of one value.
                self.diagnostics.push(d);
            }
            if static_value && refusal.is_none() {
                repaired = Some(Repair {
                    text: fold_newlines(&value.text),
                    code: "PHP501",
                });
            } else if refusal.is_none() {
                refusal = Some(
                    "the value has a line break (PHP sends no header) and run-time parts: fix it \
                     by hand"
                        .to_string(),
                );
            }
        }
        Site {
            disposition,
            delivery: Delivery::Header,
            span,
            value,
            repaired,
            context: self.context(p),
            refusal,
            binding: None,
        }
    }
}

/// `on requests where line 12 runs`, `... where lines 12, 15 do not run`, `... where line
/// 12 runs and line 15 does not`: which writes a variant takes to run (bit `i`: `lines[i]`).
fn variant_name(mask: u32, lines: &[usize]) -> String {
    let list = |want: bool| -> Vec<String> {
        lines
            .iter()
            .enumerate()
            .filter(|(i, _)| (mask & (1 << i) != 0) == want)
            .map(|(_, l)| l.to_string())
            .collect()
    };
    let (run, not) = (list(true), list(false));
    let lines_of = |l: &[String]| {
        format!("line{} {}", if l.len() > 1 { "s" } else { "" }, l.join(", "))
    };
    let verb = |l: &[String], yes: &str, no: &str| if l.len() > 1 { no.to_string() } else { yes.to_string() };
    match (run.is_empty(), not.is_empty()) {
        (false, true) => format!("on requests where {} {}", lines_of(&run), verb(&run, "runs", "run")),
        (true, _) => format!(
            "on requests where {} {}",
            lines_of(&not),
            verb(&not, "does not run", "do not run")
        ),
        (false, false) => format!(
            "on requests where {} {} and {} {}",
            lines_of(&run),
            verb(&run, "runs", "run"),
            lines_of(&not),
            verb(&not, "does not", "do not")
        ),
    }
}

/// Each line break, with the spaces around it, becomes one space (what the author meant).
/// A break at the very start (`Content-Security-Policy:\r default-src ...`) leaves nothing:
/// the spaces after the colon are dropped, as a client drops them.
pub fn fold_newlines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending = false;
    for line in text.split(['\n', '\r', '\0']) {
        if pending {
            let kept = out.trim_end_matches([' ', '\t']).len();
            out.truncate(kept);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(line.trim_start_matches([' ', '\t']));
        } else {
            out.push_str(line);
        }
        pending = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_joins_lines_with_one_space() {
        assert_eq!(fold_newlines("a;\n    b;\r\n  c"), "a; b; c");
        assert_eq!(fold_newlines("\r default-src 'self'"), "default-src 'self'");
    }

    fn scan(src: &str) -> crate::site::FileScan {
        use crate::dialect::Dialect;
        crate::dialect::php::Php
            .find(Path::new("out.php"), src.as_bytes())
            .expect("parses")
    }

    #[test]
    fn a_method_of_the_file_that_hands_its_argument_to_header_is_a_header_call() {
        // Roundcube's rcube_output: `header($header, $replace)` wrapped by a method.
        let src = "<?php\nclass Out {\n    function download() {\n        \
                   $this->header(\"Content-Security-Policy: default-src 'none'; img-src 'self'\");\n    }\n    \
                   public function header($header, $replace = true)\n    {\n        header($header, $replace);\n    }\n}\n";
        let found = scan(src);
        assert_eq!(found.sites.len(), 1, "{:?}", found.diagnostics);
        assert_eq!(found.sites[0].value.text, "default-src 'none'; img-src 'self'");
        let stat = src.replace("$this->header(", "self::header(");
        assert_eq!(scan(&stat).sites.len(), 1);
    }

    #[test]
    fn a_method_named_header_that_does_something_else_is_no_header_call() {
        for body in [
            "$this->headers[] = $header;",
            "header('X-A: ' . $header);",
            "header($other);",
        ] {
            let src = format!(
                "<?php\nclass Out {{\n    function run() {{\n        \
                 $this->header(\"Content-Security-Policy: default-src 'none'\");\n    }}\n    \
                 function header(string $header) {{ {body} }}\n}}\n"
            );
            assert!(scan(&src).sites.is_empty(), "{body}");
        }
        // Another object's header() is not this class's.
        let src = "<?php\nclass Out {\n    function run($o) {\n        \
                   $o->header(\"Content-Security-Policy: default-src 'none'\");\n    }\n    \
                   function header($h) { header($h); }\n}\n";
        assert!(scan(src).sites.is_empty());
    }
}
