//! Find the CSP sites, includes and lints of one Caddyfile.
//!
//! Directives are walked where Caddy runs them as HTTP handlers: site blocks, snippets (a
//! snippet's site is patched once, where it is defined, however often it is imported), files
//! that are a list of directives, and the blocks of `route`, `handle`, `handle_path`,
//! `handle_errors`, and `handle_response` inside `reverse_proxy`/`php_fastcgi`, whose
//! `header_down` lines set response headers too. A `header` elsewhere (a matcher, an
//! `encode { match { } }`) tests a header; it sets nothing.

use std::path::Path;

use super::dispenser::Dispenser;
use super::headers::{parse_header, parse_header_down, HeaderDirective, OpKind};
use super::lexer::{env_spans, lex, EnvSpan, Lexed, Quote, Token};
use super::rules as code;
use super::structure::{self, BlockKind};
use super::value::{serve, serve_with, Resolved};
use super::vars::{self, BlockVars};
use crate::diag::{line_col, Diagnostic, Location};
use crate::csp::Delivery;
use crate::site::{Disposition, FileScan, Include, OpaqueNote, PieceOf, Reach, Repair, Site};

/// A header operation found where Caddy runs it, as text: what the sites come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundOp {
    pub kind: OpKind,
    /// The field name Caddy uses (prefix removed; `>` kept, as Caddy 2.6 keeps it).
    pub name: String,
    /// Token texts (Caddyfile level: before placeholders are replaced).
    pub value: Option<String>,
    pub replacement: Option<String>,
    /// `header_down` in a reverse proxy rather than a `header` directive.
    pub proxy: bool,
    /// File offset of the directive (`header`, `header_down`) the operation belongs to.
    pub directive: usize,
    /// Inside a `header { }` block rather than on the directive line.
    pub in_block: bool,
    /// Read from a snippet's definition; Caddy runs it only where the snippet is imported
    /// (where it is found again).
    pub in_definition: bool,
    pub context: String,
}

pub fn scan(path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
    scan_with_ops(path, src).map(|(scan, _)| scan)
}

/// [`scan`], plus every header operation of the file (any field), for differential tests
/// against `caddy adapt`.
pub fn scan_with_ops(path: &Path, src: &[u8]) -> Result<(FileScan, Vec<FoundOp>), Diagnostic> {
    let lexed = lex(src);
    let env = env_spans(src);
    let parsed = structure::parse(&lexed.tokens).map_err(|e| {
        let at = e.token.map_or(src.len(), |t| lexed.tokens[t].span.start);
        let hint = if e.message.contains("EOF") || e.message.contains("expecting '}'") {
            " (a `{` is never closed; in Caddy 2.6 a quoted \"{\" opens a block too)"
        } else {
            ""
        };
        locate(
            Diagnostic::error(
                code::PARSE,
                format!("Caddy cannot parse this file: {}{hint}", e.message),
            ),
            path,
            src,
            at,
        )
    })?;
    let mut w = Walker {
        path,
        src,
        lexed: &lexed,
        env: &env,
        scan: FileScan::default(),
        ops: Vec::new(),
        in_definition: false,
        vars: BlockVars::default(),
        matchers: Default::default(),
    };
    for imp in &parsed.imports {
        let offset = lexed.tokens[imp.import].span.start;
        if imp.snippet || w.scan.includes.iter().any(|i| i.offset == offset) {
            continue; // a snippet is spliced in; its sites are found where it is defined
        }
        let pattern = lexed.tokens[imp.pattern].text_lossy();
        let span = &lexed.tokens[imp.pattern].span;
        if let Some(e) = env
            .iter()
            .find(|e| e.span.start < span.end && span.start < e.span.end)
        {
            w.lint(
                Diagnostic::warning(
                    code::IMPORT_FROM_ENV,
                    format!(
                        "csppatch cannot follow this import: its path `{pattern}` comes from the environment variable {}",
                        e.name
                    ),
                )
                .with_help("give csppatch the imported files as paths too"),
                offset,
            );
            continue;
        }
        // A bare name may be a snippet defined in a file imported earlier: Caddy looks it up
        // among the snippets first, so a missing file of that name is not an error here.
        let optional = pattern.contains(['*', '?', '[']) || !pattern.contains(['/', '.']);
        w.scan.includes.push(Include {
            pattern,
            offset,
            optional,
        });
    }
    // Snippets first, so that a site in a snippet is reported once, in the snippet's
    // context, however many times it is imported.
    let mut blocks: Vec<_> = parsed.blocks.iter().collect();
    blocks.sort_by_key(|b| !matches!(b.kind, BlockKind::Snippet(_)));
    for block in blocks {
        let context = match &block.kind {
            BlockKind::Global => continue,
            BlockKind::Snippet(name) => format!("snippet ({name})"),
            BlockKind::Fragment => "file".to_string(),
            BlockKind::Site => {
                let keys: Vec<String> = block.keys.iter().map(|&k| w.text(k)).collect();
                format!("site {}", keys.join(" "))
            }
        };
        w.in_definition = matches!(block.kind, BlockKind::Snippet(_));
        w.vars = BlockVars::collect(&lexed.tokens, &block.segments);
        w.collect_matchers(&block.segments);
        w.directives(&block.segments, &context, false)?;
        w.upstream(&block.segments);
    }
    w.comment_joins();
    w.shared_vars();
    w.scan.sites.sort_by_key(|s| s.span.start);
    w.scan
        .diagnostics
        .sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.col)));
    Ok((w.scan, w.ops))
}

fn locate(d: Diagnostic, path: &Path, src: &[u8], at: usize) -> Diagnostic {
    let (line, col) = line_col(src, at);
    d.at(Location {
        path: path.to_path_buf(),
        line,
        col,
    })
}

struct Walker<'a> {
    path: &'a Path,
    src: &'a [u8],
    lexed: &'a Lexed,
    env: &'a [EnvSpan],
    scan: FileScan,
    ops: Vec<FoundOp>,
    /// Walking a snippet's definition (not a place where Caddy runs it).
    in_definition: bool,
    /// The `vars` of the block being walked.
    vars: BlockVars,
    /// The named matchers of the block being walked, as words.
    matchers: std::collections::HashMap<String, String>,
}

impl Walker<'_> {
    fn tok(&self, i: usize) -> &Token {
        &self.lexed.tokens[i]
    }

    fn text(&self, i: usize) -> String {
        self.tok(i).text_lossy()
    }

    /// Report a lint once, however many times its snippet is imported.
    fn lint(&mut self, d: Diagnostic, at: usize) {
        let d = locate(d, self.path, self.src, at);
        if !self
            .scan
            .diagnostics
            .iter()
            .any(|o| o.code == d.code && o.location == d.location)
        {
            self.scan.diagnostics.push(d);
        }
    }

    /// Walk one scope's directives. `csp_above`: an enclosing scope sets a CSP.
    fn directives(
        &mut self,
        segments: &[Vec<usize>],
        context: &str,
        csp_above: bool,
    ) -> Result<(), Diagnostic> {
        let sets_csp = segments.iter().any(|s| {
            s.first().is_some_and(|&t| self.tok(t).is("header"))
                && parse_header(&self.lexed.tokens, s).ops.iter().any(|o| {
                    o.kind != OpKind::Delete
                        && o.kind != OpKind::Replace
                        && csp_name(&o.name).is_some()
                })
        });
        for seg in segments {
            let Some(&first) = seg.first() else { continue };
            match self.text(first).as_str() {
                "header" => {
                    let h = parse_header(&self.lexed.tokens, seg);
                    self.header(&h, first, context, csp_above, false)?;
                }
                "route" | "handle" | "handle_path" | "handle_errors" | "handle_response" => {
                    let (label, inner) = self.nested(seg);
                    self.directives(
                        &inner,
                        &format!("{context} > {label}"),
                        csp_above || sets_csp,
                    )?;
                }
                "reverse_proxy" | "php_fastcgi" => {
                    let (label, inner) = self.nested(seg);
                    let context = format!("{context} > {label}");
                    for line in &inner {
                        let Some(&head) = line.first() else { continue };
                        match self.text(head).as_str() {
                            "header_down" => {
                                let h = parse_header_down(&self.lexed.tokens, line);
                                self.header(&h, head, &context, false, true)?;
                            }
                            "handle_response" => {
                                let (label, body) = self.nested(line);
                                self.directives(&body, &format!("{context} > {label}"), false)?;
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// CDY409: a policy a `header` writes before an upstream answers, beside the upstream's.
    fn upstream(&mut self, segments: &[Vec<usize>]) {
        let (mut senders, mut proxies) = (Vec::new(), Vec::new());
        self.upstream_walk(segments, &mut Vec::new(), &mut senders, &mut proxies);
        for (place, directive) in proxies {
            let Some(&(_, field, add)) = senders.iter().find(|(p, _, _)| !exclusive(p, &place))
            else {
                continue;
            };
            let line = line_col(self.src, self.tok(field).span.start).0;
            let name = self.text(directive);
            let how = if add {
                "`+` adds it to any policy already there"
            } else {
                "without `defer`, Caddy writes it before the upstream answers, then adds the \
                 upstream's"
            };
            self.lint(
                Diagnostic::note(
                    code::UPSTREAM_CSP,
                    format!(
                        "`{name}` passes requests to an upstream: if the application sends its \
                         own Content-Security-Policy, Caddy sends it beside the one `header` \
                         sets at line {line} ({how}), browsers enforce both, and the vendor \
                         must be allowed by the application's policy too, which csppatch \
                         cannot read"
                    ),
                )
                .with_help(format!(
                    "see what a browser receives with `csppatch probe <url> --vendor NAME`; if \
                     the application's policy should not apply, `header_down \
                     -Content-Security-Policy` in this `{name}` block drops it, or set this \
                     policy (without `+`) in a `header {{ ... defer }}` block, which replaces it"
                )),
                self.tok(directive).span.start,
            );
        }
    }

    /// The enforced policies `header` writes before the response (place, field token, `+`)
    /// and the proxies whose upstream's policy reaches the browser (place, directive token),
    /// where a place is the path of (segment index, is a `handle`) down the nested blocks.
    #[allow(clippy::type_complexity)]
    fn upstream_walk(
        &self,
        segments: &[Vec<usize>],
        place: &mut Vec<(usize, bool)>,
        senders: &mut Vec<(Vec<(usize, bool)>, usize, bool)>,
        proxies: &mut Vec<(Vec<(usize, bool)>, usize)>,
    ) {
        let enforced = |name: &[u8]| csp_name(name) == Some(Disposition::Enforce);
        for (i, seg) in segments.iter().enumerate() {
            let Some(&first) = seg.first() else { continue };
            let here = |place: &Vec<(usize, bool)>, handle: bool| {
                let mut p = place.clone();
                p.push((i, handle));
                p
            };
            match self.text(first).as_str() {
                "header" => {
                    let h = parse_header(&self.lexed.tokens, seg);
                    if h.error.is_some() {
                        continue;
                    }
                    // Caddy 2.6 defers a `header` block that deletes a field.
                    let deferred = h.deferred || h.ops.iter().any(|o| o.kind == OpKind::Delete);
                    for op in &h.ops {
                        let add = op.kind == OpKind::Add;
                        if op.value.is_some()
                            && enforced(&op.name)
                            && (add || (op.kind == OpKind::Set && !deferred))
                        {
                            senders.push((here(place, false), op.field, add));
                        }
                    }
                }
                name @ ("route" | "handle" | "handle_path") => {
                    let (_, inner) = self.nested(seg);
                    place.push((i, name != "route"));
                    self.upstream_walk(&inner, place, senders, proxies);
                    place.pop();
                }
                "reverse_proxy" | "php_fastcgi" => {
                    let (_, inner) = self.nested(seg);
                    let cleared = inner.iter().any(|line| {
                        line.first()
                            .is_some_and(|&t| self.tok(t).is("header_down"))
                            && parse_header_down(&self.lexed.tokens, line)
                                .ops
                                .iter()
                                .any(|o| o.kind == OpKind::Delete && enforced(&o.name))
                    });
                    if !cleared {
                        proxies.push((here(place, false), first));
                    }
                }
                _ => {}
            }
        }
    }

    /// The label (`handle /api/*`) and the directive segments of a block directive, split
    /// the way httpcaddyfile's `parseSegmentAsConfig` does (`NextBlock` + `NextSegment`).
    fn nested(&self, seg: &[usize]) -> (String, Vec<Vec<usize>>) {
        let mut d = Dispenser::new(&self.lexed.tokens, seg.to_vec());
        d.next();
        let mut label: Vec<String> = d.current().map(|t| self.text(t)).into_iter().collect();
        while d.next_arg() {
            label.extend(d.current().map(|t| self.text(t)));
        }
        let mut inner = Vec::new();
        let nesting = d.nesting();
        while d.next_block(nesting) {
            let seg = d.next_segment();
            if !seg.is_empty() {
                inner.push(seg);
            }
        }
        (label.join(" "), inner)
    }

    fn header(
        &mut self,
        h: &HeaderDirective,
        directive: usize,
        context: &str,
        csp_above: bool,
        proxy: bool,
    ) -> Result<(), Diagnostic> {
        if let Some((tok, message)) = &h.error {
            let at = self.tok(*tok).span.start;
            // In 2.6 a quoted "{" on the directive line opens the block Caddy complains about.
            let quoted_brace = (directive.min(*tok)..=directive.max(*tok))
                .map(|i| self.tok(i))
                .find(|t| t.quote != Quote::Bare && t.is("{"));
            let hint = quoted_brace.map_or(String::new(), |t| {
                let (line, col) = line_col(self.src, t.span.start);
                format!(" (the quoted \"{{\" at {line}:{col} opens a block in Caddy 2.6)")
            });
            return Err(locate(
                Diagnostic::error(
                    code::DIRECTIVE,
                    format!("Caddy refuses this directive: {message}{hint}"),
                ),
                self.path,
                self.src,
                at,
            ));
        }
        for op in &h.ops {
            self.ops.push(FoundOp {
                kind: op.kind,
                name: String::from_utf8_lossy(&op.name).into_owned(),
                value: op.value.map(|t| self.text(t)),
                replacement: op.replacement.map(|t| self.text(t)),
                proxy,
                directive: self.tok(directive).span.start,
                in_block: op.in_block,
                in_definition: self.in_definition,
                context: context.to_string(),
            });
            let field_at = self.tok(op.field).span.start;
            let (name, deferred) = match op.name.strip_prefix(b">") {
                Some(rest) if op.kind == OpKind::Set => (rest, true),
                _ => (op.name.as_slice(), false),
            };
            if op.kind == OpKind::Set && !op.in_block {
                if let Some(d) = name.strip_suffix(b":").and_then(csp_name) {
                    self.lint(
                        Diagnostic::warning(
                            code::COLON_NAME,
                            format!(
                                "Caddy sets a header named `{}:` here, which is never sent: this {} is lost",
                                d.header_name(),
                                d.header_name()
                            ),
                        )
                        .with_help("remove the colon after the header name"),
                        field_at,
                    );
                    continue;
                }
            }
            let Some(disposition) = csp_name(name) else {
                continue;
            };
            match op.kind {
                OpKind::Delete => {
                    if csp_above {
                        self.lint(
                            Diagnostic::note(
                                code::NESTED_DELETE,
                                format!(
                                    "{context}: this block deletes the {} that the enclosing scope sets; its responses carry no policy",
                                    disposition.header_name()
                                ),
                            ),
                            field_at,
                        );
                    }
                    continue;
                }
                OpKind::Replace => {
                    self.replacement(op.value, op.replacement, disposition, field_at);
                    continue;
                }
                OpKind::Set | OpKind::Add | OpKind::Default => {}
            }
            let Some(value) = op.value else { continue };
            if deferred {
                self.lint(
                    Diagnostic::warning(
                        code::DEFER_PREFIX,
                        format!(
                            "`>{}` needs Caddy 2.7 or newer: Caddy 2.6 sends no such header",
                            disposition.header_name()
                        ),
                    )
                    .with_help("on Caddy 2.6 use a `header { ... defer }` block"),
                    field_at,
                );
            }
            if op.kind == OpKind::Default {
                let name = disposition.header_name();
                self.lint(
                    Diagnostic::note(
                        code::DEFAULT_ONLY,
                        format!(
                            "`?{name}` sends this policy only when the response has no {name} yet: \
                             when the upstream, the application or another `header` sends its own, \
                             that one goes out unpatched"
                        ),
                    )
                    .with_help(
                        "to send this policy in every case, set it without `?` in a `header` block with `defer`; \
                         or patch the policy the upstream sends too",
                    ),
                    field_at,
                );
            }
            let mut refusal = None;
            if let Some(extra) = op.replacement.filter(|_| op.kind != OpKind::Set) {
                let sent = self.text(value);
                self.lint(
                    Diagnostic::warning(
                        code::UNQUOTED_WORDS,
                        format!(
                            "Caddy sends only `{sent}` as the {}: the words from `{}` on are ignored",
                            disposition.header_name(),
                            self.text(extra)
                        ),
                    )
                    .with_help("put the whole policy in double quotes"),
                    self.tok(value).span.start,
                );
                refusal = Some(format!(
                    "the policy is written as bare words and Caddy sends only `{sent}`: quote the whole value first"
                ));
            }
            let scoped = self.matcher_scope(h.matcher);
            let context = match &scoped {
                Some(m) => format!("{context} > {m}"),
                None => context.to_string(),
            };
            self.site(value, disposition, &context, refusal);
        }
        Ok(())
    }

    /// A replacement on a CSP field whose search word is a bare directive name: a policy
    /// that was meant to be set. An error, not a warning: the replacement rewrites the CSP a
    /// `header` before it sets (`default-src` becomes `'self'`: the policy loses its
    /// default-src), so csppatch could not say what is sent after a patch.
    fn replacement(
        &mut self,
        search: Option<usize>,
        replace: Option<usize>,
        disposition: Disposition,
        field_at: usize,
    ) {
        let (Some(search), Some(replace)) = (search, replace) else {
            return;
        };
        let word = self.text(search).to_ascii_lowercase();
        let word = word.trim_end_matches(';');
        if self.tok(search).quote != Quote::Bare || crate::csp::directives::info(word).is_none() {
            return;
        }
        let name = disposition.header_name();
        self.lint(
            Diagnostic::error(
                code::UNQUOTED_WORDS,
                format!(
                    "this sets no {name}: with the policy in bare words Caddy replaces the regular expression `{}` with `{}` in an existing {name} header (and reads any further words as more header operations)",
                    self.text(search),
                    self.text(replace)
                ),
            )
            .with_help(format!("put the whole policy in double quotes: header {name} \"{} ...\", then run csppatch again", self.text(search))),
            field_at,
        );
    }

    fn site(
        &mut self,
        value: usize,
        disposition: Disposition,
        context: &str,
        mut refusal: Option<String>,
    ) {
        let tok = self.tok(value).clone();
        if self.scan.sites.iter().any(|s| s.span == tok.span) {
            return; // a snippet's site, imported again
        }
        let served = self.served(&tok);
        let env_message = |name: &str| {
            format!(
                "the {} comes from the environment variable {name} (`{{${name}}}`), which Caddy substitutes when it starts: patch the policy where {name} is set, or write it in the Caddyfile",
                disposition.header_name()
            )
        };
        // An environment placeholder is text substituted into the file before Caddy reads
        // it: inside one token, and where no directive name is, it refuses only the directive
        // that holds it (splice/place.rs); anywhere else, the whole value.
        let env_inside = self.env.iter().all(|e| {
            !(e.span.start < tok.span.end && tok.span.start < e.span.end)
                || (tok.span.start < e.span.start
                    && e.span.end <= tok.span.end
                    && self.src[e.span.start - 1] != b'\\')
        });
        let at_name = crate::site::unknown_noted_directives(&served.decoded);
        if let (Some(name), false) = (served.env.first(), env_inside) {
            refusal = Some(env_message(name));
        } else if let Some(why) = at_name.filter(|_| refusal.is_none()) {
            refusal = Some(match served.env.first() {
                Some(name) if why.contains("environment variable") => env_message(name),
                _ => why,
            });
        } else if served.non_utf8 {
            refusal.get_or_insert_with(|| "the value is not valid UTF-8".into());
        } else if tok.unterminated {
            refusal.get_or_insert_with(|| "the value's quote is never closed".into());
        } else if tok.carried_escape {
            refusal.get_or_insert_with(|| {
                "a stray backslash before the value changes how Caddy reads it".into()
            });
        }
        let mut repaired = None;
        if let (Some(at), Some(text)) = (served.line_break, served.repaired.clone()) {
            let how = if served.backslash_break {
                "Caddy keeps each `\\` and line break: browsers receive a stray `\\` that swallows the directive after it"
            } else {
                "browsers receive the line breaks as spaces over HTTP/1.1"
            };
            self.lint(
                Diagnostic::warning(
                    code::LINE_BREAK,
                    format!(
                        "the {} value spans several lines: {how}, and over HTTP/2 the header is not sent at all",
                        disposition.header_name()
                    ),
                )
                .with_help("csppatch rewrites the value on one line"),
                at,
            );
            repaired = Some(Repair {
                text,
                code: code::LINE_BREAK,
            });
        }
        self.scan.sites.push(Site {
            disposition,
            delivery: Delivery::Header,
            span: tok.span.clone(),
            value: served.decoded,
            repaired,
            context: context.to_string(),
            refusal,
            binding: None,
        });
    }

    /// `header @svg (path *.svg)` or `header /uploads/*` for a header under a matcher, so
    /// that the context says which responses the policy is for (a locked policy's scope,
    /// pipeline/locked.rs); `None` without a matcher or for `*`.
    fn matcher_scope(&self, matcher: Option<usize>) -> Option<String> {
        let m = self.text(matcher?);
        if m == "*" {
            return None;
        }
        match self.matchers.get(&m) {
            Some(def) => Some(format!("header {m} ({def})")),
            None => Some(format!("header {m}")),
        }
    }

    /// The named matchers a block defines, each as its words (`path /image_proxy`).
    fn collect_matchers(&mut self, segments: &[Vec<usize>]) {
        self.matchers.clear();
        for seg in segments {
            let Some(&first) = seg.first() else { continue };
            let name = self.text(first);
            if !name.starts_with('@') || self.tok(first).quote != Quote::Bare {
                continue;
            }
            let words: Vec<String> = seg[1..]
                .iter()
                .filter(|&&t| !(self.tok(t).quote == Quote::Bare && (self.tok(t).is("{") || self.tok(t).is("}"))))
                .map(|&t| self.text(t))
                .collect();
            self.matchers.insert(name, words.join(" "));
        }
    }

    /// What Caddy sends for a value token, its `{vars.x}` expanded where the block sets
    /// them and its `{$ENV}` placeholders noted.
    fn served(&self, tok: &Token) -> super::value::Served {
        let (toks, src, env, block) = (&self.lexed.tokens, self.src, self.env, &self.vars);
        let line = |at: usize| line_col(src, at).0;
        let noted = |what: String, reach: Reach| {
            Resolved::Noted(OpaqueNote {
                range: 0..0,
                what,
                reach,
            })
        };
        serve_with(tok, src, env, &mut |ph: &str| {
            if let Some(name) = ph.strip_prefix("{$") {
                let name = name.trim_end_matches('}');
                let name = name.split(':').next().unwrap_or(name);
                return noted(
                    format!("`{ph}`, the environment variable {name}, which Caddy substitutes into the file when it starts"),
                    Reach::Any,
                );
            }
            let Some(name) = vars::reference(ph) else {
                return Resolved::Unknown;
            };
            match block.known(toks, name) {
                Ok(v) => {
                    let t = &toks[v];
                    let value = serve(t, src, env);
                    if !value.env.is_empty() || value.line_break.is_some() || value.non_utf8 {
                        return noted(
                            format!("`{ph}`, whose `vars` value (line {}) Caddy does not send as written", line(t.span.start)),
                            Reach::Source,
                        );
                    }
                    Resolved::Value(
                        value.decoded,
                        PieceOf {
                            span: t.span.clone(),
                            name: ph.to_string(),
                            origin: format!("line {}", line(t.span.start)),
                            editable: true,
                        },
                    )
                }
                Err(vars::Unknown::NotSet) => noted(
                    format!("`{ph}`, which no `vars` of this site block sets (a snippet, another file or a handler gives it its value at request time)"),
                    Reach::Source,
                ),
                Err(vars::Unknown::Several(at)) => {
                    let lines: Vec<String> =
                        at.iter().map(|&v| line(toks[v].span.start).to_string()).collect();
                    noted(
                        format!(
                            "`{ph}`, which has more than one possible value here (`vars` on line{} {}, under a matcher or inside a block)",
                            if lines.len() == 1 { "" } else { "s" },
                            lines.join(", ")
                        ),
                        Reach::Source,
                    )
                }
                Err(vars::Unknown::NotLiteral(v)) => noted(
                    format!("`{ph}`, whose `vars` value (line {}) holds placeholders of its own", line(toks[v].span.start)),
                    Reach::Source,
                ),
            }
        })
    }

    /// A `vars` literal may be changed for a CSP only when every read of the variable in
    /// the file is in a CSP value (a `respond {vars.x}` or a matcher would change too).
    fn shared_vars(&mut self) {
        let all = vars::reads(&self.lexed.tokens);
        let mut in_csp: std::collections::HashMap<String, usize> = Default::default();
        for site in &self.scan.sites {
            for p in &site.value.pieces {
                if let Some(n) = vars::reference(&p.name) {
                    *in_csp.entry(n.to_string()).or_default() += 1;
                }
            }
        }
        for site in &mut self.scan.sites {
            for p in &mut site.value.pieces {
                if let Some(n) = vars::reference(&p.name) {
                    p.editable = all.get(n) == in_csp.get(n);
                }
            }
        }
    }

    /// CDY405: a backslash in a comment joined a CSP header line to its neighbour.
    fn comment_joins(&mut self) {
        let joined: Vec<_> = self
            .lexed
            .joined
            .iter()
            .filter(|j| j.in_comment)
            .copied()
            .collect();
        for j in joined {
            let line_start = self.src[..j.newline]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let next_end = self.src[j.newline + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.src.len(), |p| j.newline + 1 + p);
            let mentions_csp = self.lexed.tokens.iter().any(|t| {
                (line_start..next_end).contains(&t.span.start)
                    && t.text_lossy()
                        .to_ascii_lowercase()
                        .contains("content-security-policy")
            });
            if mentions_csp {
                self.lint(
                    Diagnostic::warning(
                        code::COMMENT_JOINS_LINE,
                        "the backslash in this comment escapes its line break: Caddy reads the next line as part of the line before the comment, so the Content-Security-Policy header there is not set as written",
                    )
                    .with_help("remove the backslash from the comment (or use `/`)"),
                    j.backslash,
                );
            }
        }
    }
}

/// Do two places serve different requests? Only sibling `handle` blocks do: Caddy runs the
/// first that matches. A `route` or a `handle` that does not answer falls through to the
/// directives after it (measured: `handle /x/* { header ... }` beside `reverse_proxy`).
fn exclusive(a: &[(usize, bool)], b: &[(usize, bool)]) -> bool {
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .is_some_and(|(x, y)| x.1 && y.1)
}

/// The disposition of a header name, case-insensitively.
fn csp_name(name: &[u8]) -> Option<Disposition> {
    Disposition::from_header_name(name)
}
