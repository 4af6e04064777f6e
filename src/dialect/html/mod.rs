//! HTML `<meta http-equiv="Content-Security-Policy" content="...">` (and `-Report-Only`), in
//! static pages and server-side templates.
//!
//! A tokenizer that mirrors the WHATWG one (`grammars/html.ebnf`) finds the tags the browser
//! would create, not text that merely looks like one (in comments, scripts, `<template>`,
//! raw-text elements). A simplified tree-construction pass tells whether the meta ends up in
//! `<head>`, the only place a browser honours it (HTML Standard §4.2.5.3, "Content security
//! policy state": "If the meta element is not a child of a head element, return").

mod charref;
mod entities;
mod rules;
mod tokenizer;

use std::ops::Range;
use std::path::Path;

use crate::diag::{line_col, Diagnostic, Location};
use crate::csp::{Delivery, TextEdit};
use crate::site::{Disposition, FileScan, Site};

use super::{Dialect, Head, Sniff};
use tokenizer::Tag;
// Public for the fuzz targets (fuzz/), which check what the tokenizer promises.
pub use tokenizer::{tokenize, Token};

pub use rules::RULES;

pub struct Html;

/// A Laravel Blade view (`*.blade.php`): HTML with `{{ }}`, `{!! !!}` and `@directive`s,
/// compiled to PHP by the framework, never PHP code itself.
pub fn is_blade(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().to_ascii_lowercase().ends_with(".blade.php"))
}

/// Server-side templates: template tags are skipped whole and become opaque parts.
fn is_template(path: &Path, src: &[u8]) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let static_ext = matches!(ext.as_str(), "html" | "htm" | "xhtml" | "shtml" | "");
    // `{{`, `{%`, `<%`, `<?php` or `<?=` anywhere: one pass, not one per opener.
    let opens = |i: usize| {
        let rest = &src[i + 1..];
        match src[i] {
            b'{' => rest.starts_with(b"{") || rest.starts_with(b"%"),
            b'<' => rest.starts_with(b"%") || rest.starts_with(b"?php") || rest.starts_with(b"?="),
            _ => false,
        }
    };
    !static_ext || (0..src.len()).any(opens)
}

/// Where the tree builder would put what comes next (§13.2.6.4), reduced to what matters
/// for a meta: before `<body>` (the head, created implicitly if need be) or in the body.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    BeforeHead,
    InHead,
    AfterHead,
    InBody,
}

/// Elements that the "in head" rules keep in `<head>`, even after `</head>` (§13.2.6.4.6).
const HEAD_ELEMENTS: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "noframes", "script", "style", "template",
    "title", "noscript",
];

fn location(path: &Path, src: &[u8], offset: usize) -> Location {
    Location::of(path, src, offset)
}

/// Where a meta tag stands in the document, and what the caller wants of ignored ones.
struct Placement<'a> {
    in_head: bool,
    /// The first `<script>`, `<link>` or `<style>` before it, if any.
    after: Option<&'a str>,
    /// Keep metas browsers ignore as refused sites (`probe`) instead of leaving them out.
    keep_ignored: bool,
}

impl Html {
    fn meta_site(&self, path: &Path, src: &[u8], tag: &Tag, place: Placement, scan: &mut FileScan) {
        let Placement {
            in_head,
            after,
            keep_ignored,
        } = place;
        let Some(equiv) = tag.attr("http-equiv").and_then(|a| a.value.as_ref()) else {
            return;
        };
        let (equiv, _) = charref::decode(src, equiv.raw.clone(), &equiv.templates);
        let Some(disposition) = Disposition::from_header_name(equiv.text.as_bytes()) else {
            return;
        };
        let at = location(path, src, tag.span.start);
        let content = tag.attr("content").and_then(|a| a.value.as_ref());
        let Some(content) = content.filter(|c| !c.raw.is_empty()) else {
            scan.diagnostics.push(
                Diagnostic::note("HTM604", "this CSP meta has no content: browsers skip it").at(at),
            );
            return;
        };
        let (value, bad) = charref::decode(src, content.raw.clone(), &content.templates);
        let mut refusal = bad.then(|| "the content attribute is not valid UTF-8".to_string());
        // A meta browsers ignore blocks nothing: when patching it is not a site (nothing to
        // patch, and no reason to stop the patching of the page's real policy); the lint says
        // why. `probe` keeps it, refused with the reason, to list it as ignored.
        if disposition == Disposition::ReportOnly {
            scan.diagnostics.push(
                Diagnostic::warning("HTM602", "browsers ignore a Report-Only policy in a <meta>")
                    .at(at.clone())
                    .with_help("send Content-Security-Policy-Report-Only as an HTTP header"),
            );
            return;
        }
        if !in_head {
            scan.diagnostics.push(
                Diagnostic::warning(
                    "HTM601",
                    "this CSP meta ends up in <body>, where browsers ignore it",
                )
                .at(at.clone())
                .with_help("move it into <head>, before any script, style or link"),
            );
            if !keep_ignored {
                return;
            }
            refusal = Some("browsers ignore a CSP <meta> outside <head>".into());
        } else if let Some(first) = after {
            scan.diagnostics.push(
                Diagnostic::warning(
                    "HTM603",
                    format!("this CSP meta comes after a <{first}>, which it does not cover"),
                )
                .at(at.clone())
                .with_help("put the meta first in <head>"),
            );
        }
        let (line, _) = line_col(src, tag.span.start);
        scan.sites.push(Site {
            disposition,
            delivery: Delivery::Meta,
            span: content.token.clone(),
            value,
            repaired: None,
            context: format!(
                "<meta> in <{}> (line {line})",
                if in_head { "head" } else { "body" }
            ),
            refusal,
            binding: None,
        });
    }
}

impl Html {
    /// A page as its server sent it (`csppatch probe`): never a template, since the server has
    /// already rendered it, so `{{`, `{%` and `<?` are page text, as for the browser's tokenizer.
    /// `path` only names the page in diagnostics.
    /// Metas browsers ignore (Report-Only, in `<body>`) are sites here, refused with the reason.
    pub fn find_served(&self, path: &Path, src: &[u8]) -> FileScan {
        self.scan(path, src, false, true)
    }

    fn scan(&self, path: &Path, src: &[u8], template: bool, keep_ignored: bool) -> FileScan {
        let mut scan = FileScan::default();
        let mut mode = Mode::BeforeHead;
        let mut templates = 0usize;
        let mut resource: Option<String> = None;
        for token in tokenizer::tokenize_with(src, template, is_blade(path)) {
            match token {
                Token::Text(r) => {
                    let blank = src[r]
                        .iter()
                        .all(|&c| matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' '));
                    if !blank && templates == 0 {
                        mode = Mode::InBody;
                    }
                }
                Token::Start(tag) => {
                    let name = tag.name.as_str();
                    if name == "template" {
                        templates += 1;
                    }
                    if templates > 0 {
                        continue; // template contents are not in the document
                    }
                    if HEAD_ELEMENTS.contains(&name) {
                        if mode == Mode::BeforeHead {
                            mode = Mode::InHead;
                        }
                        if name == "meta" {
                            let in_head = mode != Mode::InBody;
                            let place = Placement {
                                in_head,
                                after: resource.as_deref(),
                                keep_ignored,
                            };
                            self.meta_site(path, src, &tag, place, &mut scan);
                        }
                        if matches!(name, "script" | "link" | "style") && resource.is_none() {
                            resource = Some(name.to_string());
                        }
                    } else {
                        match name {
                            "html" => {}
                            "head" if mode == Mode::BeforeHead => mode = Mode::InHead,
                            "head" => {}
                            _ => mode = Mode::InBody,
                        }
                    }
                }
                Token::End(tag) => match tag.name.as_str() {
                    "template" => templates = templates.saturating_sub(1),
                    "head" if mode == Mode::InHead => mode = Mode::AfterHead,
                    "body" | "html" | "br" if mode < Mode::InBody && templates == 0 => {
                        mode = Mode::InBody
                    }
                    _ => {}
                },
                Token::RawText(_) | Token::Other(_) => {}
            }
        }
        scan
    }
}

impl Dialect for Html {
    fn name(&self) -> &'static str {
        "html"
    }

    fn rules(&self) -> &'static [crate::rule::Rule] {
        RULES
    }

    /// Pages and the server-side templates that render them.
    fn claims_name(&self, name: &str, ext: &str, _head: &[u8]) -> bool {
        is_blade(Path::new(name))
            || matches!(
            ext,
            "html"
                | "htm"
                | "xhtml"
                | "shtml"
                | "twig"
                | "hbs"
                | "handlebars"
                | "mustache"
                | "erb"
                | "ejs"
                | "j2"
                | "jinja"
                | "njk"
                | "liquid"
                | "vue"
                | "svelte"
                | "astro"
        )
    }

    fn sniff(&self, head: &Head<'_>) -> Sniff {
        let l = head.lower;
        if l.contains("<meta") || l.contains("<!doctype html") || l.contains("<html") {
            Sniff::Certain
        } else {
            Sniff::No
        }
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        Ok(self.scan(path, src, is_template(path, src), false))
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        encode_fragment(site, src, at, fragment)
    }

    fn encode_fragments(
        &self,
        site: &Site,
        src: &[u8],
        edits: &[(Range<usize>, &TextEdit)],
    ) -> Option<Vec<Vec<u8>>> {
        encode_fragments(site, src, edits)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        encode_value(site, src, value)
    }
}

/// The quote of the site's value token and the range inside the quotes.
fn value_token(site: &Site, src: &[u8]) -> (Option<u8>, std::ops::Range<usize>) {
    let first = src.get(site.span.start).copied();
    match first {
        Some(q @ (b'"' | b'\'')) if site.span.len() >= 2 => {
            (Some(q), site.span.start + 1..site.span.end - 1)
        }
        _ => (None, site.span.clone()),
    }
}

/// Template tags inside `raw` of a patched value, found the way the tokenizer finds them.
fn templates_in(src: &[u8], quote: Option<u8>) -> Option<tokenizer::AttrValue> {
    let tag = match quote {
        Some(q) => [b"<meta content=".as_slice(), &[q], src, &[q], b">"].concat(),
        None => [b"<meta content=".as_slice(), src, b">"].concat(),
    };
    // Blade's `@directive(...)` too: in a CSP value it is never policy text.
    let toks = tokenizer::tokenize_with(&tag, true, true);
    let Some(Token::Start(t)) = toks.first() else {
        return None;
    };
    let v = t.attr("content")?.value.clone()?;
    let shift = 14 + usize::from(quote.is_some());
    (v.raw == (shift..shift + src.len())).then(|| tokenizer::AttrValue {
        raw: 0..src.len(),
        templates: v
            .templates
            .iter()
            .map(|r| r.start - shift..r.end - shift)
            .collect(),
        ..v
    })
}

/// The text position of file offset `at` in a value whose text bytes come from `raw` (in
/// order): the number of text bytes whose raw bytes end by `at`; `None` when a later one
/// starts before it (`at` inside a character reference).
fn text_split(raw: impl Iterator<Item = Range<usize>> + Clone, at: usize) -> Option<usize> {
    let split = raw.clone().take_while(|r| r.end <= at).count();
    (!raw.skip(split).any(|r| r.start < at)).then_some(split)
}

pub fn encode_fragment(site: &Site, src: &[u8], at: usize, fragment: &str) -> Option<Vec<u8>> {
    let (quote, inner) = value_token(site, src);
    if at < inner.start || at > inner.end {
        return None;
    }
    let escaped = charref::escape(fragment, quote)?;
    // Check by decoding the patched value again, as the browser will.
    let d = &site.value;
    let split = text_split(d.raw_ranges(), at)?;
    let patched = [&src[inner.start..at], &escaped[..], &src[at..inner.end]].concat();
    let v = templates_in(&patched, quote)?;
    let (new, _) = charref::decode(&patched, 0..patched.len(), &v.templates);
    let expected = format!("{}{fragment}{}", &d.text[..split], &d.text[split..]);
    (new.text == expected && new.opaque.len() == d.opaque.len()).then_some(escaped)
}

/// [`encode_fragment`] for each of a value's edits (each with the file bytes it replaces),
/// proven with one decoding of the value patched with them all instead of one per edit; when
/// that does not prove them, the edits one by one. Debug builds check that both give the
/// same bytes.
pub fn encode_fragments(
    site: &Site,
    src: &[u8],
    edits: &[(Range<usize>, &TextEdit)],
) -> Option<Vec<Vec<u8>>> {
    crate::dialect::fragments_at_once_or_one_by_one(
        edits,
        |at, text| encode_fragment(site, src, at, text),
        || fragments_at_once(site, src, edits),
    )
}

/// The edits escaped as [`encode_fragment`] escapes them, when the value patched with all of
/// them decodes to the old text with every edit inserted and the same opaque parts. `None`
/// for what only [`encode_fragment`] handles: an edit that replaces bytes, edits out of
/// order or sharing a point.
fn fragments_at_once(
    site: &Site,
    src: &[u8],
    edits: &[(Range<usize>, &TextEdit)],
) -> Option<Vec<Vec<u8>>> {
    let (quote, inner) = value_token(site, src);
    let d = &site.value;
    // `text_split` of each edit's point in one walk: the points go up, and so does the
    // prefix of bytes that end by them; the check after it is a suffix minimum.
    let raw: Vec<Range<usize>> = d.raw_ranges().collect();
    let mut min_start = vec![usize::MAX; raw.len() + 1];
    for (j, r) in raw.iter().enumerate().rev() {
        min_start[j] = min_start[j + 1].min(r.start);
    }
    let mut split = 0;
    let mut escaped = Vec::with_capacity(edits.len());
    let mut expected = String::with_capacity(d.text.len() + 64);
    let mut patched = Vec::with_capacity(inner.len() + 64);
    let (mut raw_at, mut text_at) = (inner.start, 0);
    for (i, (r, e)) in edits.iter().enumerate() {
        let at = r.start;
        let in_order = if i == 0 { at >= raw_at } else { at > raw_at };
        if !in_order || !r.is_empty() || at > inner.end {
            return None;
        }
        while split < raw.len() && raw[split].end <= at {
            split += 1;
        }
        if min_start[split] < at {
            return None;
        }
        let bytes = charref::escape(&e.text, quote)?;
        expected.push_str(d.text.get(text_at..split)?);
        expected.push_str(&e.text);
        patched.extend_from_slice(&src[raw_at..at]);
        patched.extend_from_slice(&bytes);
        escaped.push(bytes);
        (raw_at, text_at) = (at, split);
    }
    expected.push_str(d.text.get(text_at..)?);
    patched.extend_from_slice(&src[raw_at..inner.end]);
    let v = templates_in(&patched, quote)?;
    let (new, _) = charref::decode(&patched, 0..patched.len(), &v.templates);
    (new.text == expected && new.opaque.len() == d.opaque.len()).then_some(escaped)
}

pub fn encode_value(site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
    if !site.value.opaque.is_empty() {
        return Err(
            "the content has template parts; csppatch edits only the text around them".into(),
        );
    }
    if value.is_empty() {
        // `find` skips a meta whose content is empty (HTM604), as browsers do.
        return Err("an empty content attribute is no policy: browsers skip the meta".into());
    }
    let (quote, _) = value_token(site, src);
    // An unquoted value becomes double-quoted: a policy has spaces.
    let q = quote.unwrap_or(b'"');
    let escaped =
        charref::escape(value, Some(q)).ok_or("the value cannot be written in an attribute")?;
    Ok([&[q][..], &escaped, &[q]].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_quotes_do_not_end_the_attribute() {
        let src = b"<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'nonce-{{ n(\"a\") }}' 'self'\">";
        let scan = Html.find(Path::new("head.html.twig"), src).unwrap();
        let site = &scan.sites[0];
        assert_eq!(site.value.text, "script-src 'nonce-{{ n(\"a\") }}' 'self'");
        assert_eq!(site.value.opaque.len(), 1);
        assert!(
            encode_value(site, src, "x").is_err(),
            "a template part is never rewritten"
        );
        let at = site
            .value
            .raw_insertion_point(site.value.text.len())
            .unwrap();
        assert_eq!(
            encode_fragment(site, src, at, " 'b&'").as_deref(),
            Some(&b" 'b&amp;'"[..])
        );
    }

    /// A value's edits proven by one decoding of the patched value give the bytes each edit
    /// proven alone gives; what only one edit at a time can write still gets written.
    #[test]
    fn edits_proven_at_once_are_the_edits_proven_one_by_one() {
        let src = b"<meta http-equiv=Content-Security-Policy content='script-src &apos;self&apos;; img-src data:'>";
        let scan = Html.find(Path::new("a.html"), src).unwrap();
        let s = &scan.sites[0];
        assert_eq!(s.value.text, "script-src 'self'; img-src data:");
        let at = |p: usize| s.value.raw_insertion_point(p).unwrap();
        let edit = |p: usize, text: &str| TextEdit {
            range: p..p,
            text: text.into(),
        };
        let (a, b) = (edit(17, " https://a.example"), edit(s.value.text.len(), "; x 'é&"));
        let edits = [(at(17)..at(17), &a), (at(b.range.start)..at(b.range.start), &b)];
        let once = fragments_at_once(s, src, &edits).unwrap();
        assert_eq!(
            once,
            [b" https://a.example".to_vec(), "; x &#39;é&amp;".as_bytes().to_vec()]
        );
        assert_eq!(encode_fragments(s, src, &edits).unwrap(), once);
        // Out of order, two at one point, a replacement: only one at a time says.
        let swapped = [edits[1].clone(), edits[0].clone()];
        assert_eq!(fragments_at_once(s, src, &swapped), None);
        assert_eq!(encode_fragments(s, src, &swapped).unwrap(), [once[1].clone(), once[0].clone()]);
        let twice = [edits[0].clone(), edits[0].clone()];
        assert_eq!(fragments_at_once(s, src, &twice), None);
        assert!(encode_fragments(s, src, &twice).is_some());
        let replaced = [(at(11)..at(11) + 6, &a)];
        assert_eq!(fragments_at_once(s, src, &replaced), None);
        // Inside `&apos;`: no file offset between its bytes, refused both ways.
        let inside = [(at(11) + 2..at(11) + 2, &a)];
        assert_eq!(encode_fragments(s, src, &inside), None);
    }

    #[test]
    fn a_served_page_is_not_a_template() {
        // Text in <head> ends it (HTML §13.2.6.4.4 "anything else"): the meta lands in <body>
        // and is ignored. Read as a template, `{{ ... }}` would be skipped instead.
        let src = b"<head><title>t</title>{{ greeting }}<meta http-equiv=Content-Security-Policy content=\"img-src 'none'\"></head>";
        let served = Html.find_served(Path::new("http://site.example/"), src);
        assert!(served.sites[0].refusal.is_some(), "in <body>: ignored");
        let template = Html.find(Path::new("head.html"), src).unwrap();
        assert!(
            template.sites.len() == 1 && template.sites[0].refusal.is_none(),
            "a template's tag renders to something else"
        );
    }

    #[test]
    fn meta_after_head_close_still_goes_to_head() {
        let src = b"<head></head>\n<meta http-equiv=\"content-security-policy\" content=\"a\"><p>x";
        let scan = Html.find(Path::new("a.html"), src).unwrap();
        assert!(scan.sites[0].refusal.is_none());
        assert!(scan.diagnostics.is_empty());
    }
}
