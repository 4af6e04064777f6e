//! WordPress / PHP: `header('Content-Security-Policy: ...')` calls (usually in a
//! `send_headers` action) and `$headers['Content-Security-Policy']` in a `wp_headers` filter.
//!
//! The file is read with a lossless tokenizer that mirrors PHP's own scanner
//! (`grammars/php.ebnf`); a site's value is computed from its string literals the way PHP
//! computes it, byte by byte, so that an insertion lands inside the right literal and a
//! multi-line concatenation keeps its layout. `php -l` stays the validator of the result.

mod encode;
mod expr;
mod hooks;
pub mod lexer;
mod rules;
mod sites;
mod strings;
mod syntax;
mod vars;

use std::ops::Range;
use std::path::Path;

use crate::csp::{Delivery, TextEdit};
use crate::diag::Diagnostic;
use crate::site::{FileScan, Site};

use super::{contains, ConfigFile, Dialect, Head, Sniff};
use crate::validator::{find_binary, Validator};

pub use rules::RULES;

pub struct Php;

/// `<?php` or `<?=` in the file's head.
fn looks_like_php(head: &[u8]) -> bool {
    contains(head, b"<?php") || contains(head, b"<?=")
}

impl Dialect for Php {
    fn name(&self) -> &'static str {
        "php"
    }

    fn rules(&self) -> &'static [crate::rule::Rule] {
        RULES
    }

    /// `.php` and `.phtml`; an `.inc` only when it is PHP code (it is also a common suffix for
    /// nginx and Apache snippets).
    fn claims_name(&self, name: &str, ext: &str, head: &[u8]) -> bool {
        // A Blade view is HTML with template tags, never PHP code. (A page template's
        // <meta> policies are read by `page_metas`.)
        if crate::dialect::html::is_blade(Path::new(name)) {
            return false;
        }
        matches!(ext, "php" | "phtml") || ext == "inc" && looks_like_php(head)
    }

    fn sniff(&self, head: &Head<'_>) -> Sniff {
        if looks_like_php(head.bytes) {
            Sniff::Certain
        } else {
            Sniff::No
        }
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        let toks = lexer::tokenize(src).map_err(|e| {
            Diagnostic::error(
                "PHP001",
                format!("{} (PHP cannot parse this file)", e.message),
            )
            .at(sites::location(path, src, e.offset))
        })?;
        let short_tags = short_open_tags(path, src, &toks);
        let code = syntax::Code::new(src, toks);
        let mut finder = sites::Finder::new(path, &code);
        finder.run();
        let mut sites = finder.sites;
        refuse_overlapping(&mut sites);
        let mut diagnostics = finder.diagnostics;
        diagnostics.extend(short_tags);
        let (metas, meta_diagnostics) = page_metas(path, src, &code);
        sites.extend(metas);
        diagnostics.extend(meta_diagnostics);
        Ok(FileScan {
            sites,
            diagnostics,
            ..FileScan::default()
        })
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        if site.delivery == Delivery::Meta {
            return super::html::encode_fragment(site, src, at, fragment);
        }
        encode::fragment(site, src, at, fragment)
    }

    fn encode_fragments(
        &self,
        site: &Site,
        src: &[u8],
        edits: &[(Range<usize>, &TextEdit)],
    ) -> Option<Vec<Vec<u8>>> {
        if site.delivery == Delivery::Meta {
            return super::html::encode_fragments(site, src, edits);
        }
        super::fragments_one_by_one(self, site, src, edits)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        if site.delivery == Delivery::Meta {
            return super::html::encode_value(site, src, value);
        }
        encode::value(site, src, value)
    }

    fn validate_changed_file(&self, file: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        Ok(Some(Validator::new(vec![
            find_binary(&["php"])?,
            "-l".into(),
            file.target.display().to_string(),
        ])))
    }
}

/// The `<meta http-equiv>` policies in the page text of a PHP file (pi-hole's `header.php`,
/// PrivateBin's `tpl/bootstrap5.php`, a page that also sends one with header()): browsers
/// enforce each policy they get, so each meta is a site too, read as the HTML dialect reads a
/// template (the `<?php ?>` blocks opaque) and written by its encoder. The HTML reading places
/// a meta in `<head>` or `<body>` by what comes before it in the file; when the page text of a
/// meta is inside a function (Cacti's `html_common_header()`, printed into `<head>` by a call
/// from elsewhere), what comes before it in the file is not what comes before it in the page:
/// a meta read as "in <body>" (HTM601) there is not called ignored, and nothing is taken from
/// the HTML reading, which leaves the line to E041 ("cannot read the policy here"), never to
/// "nothing blocks the vendor".
fn page_metas(path: &Path, src: &[u8], code: &syntax::Code) -> (Vec<Site>, Vec<Diagnostic>) {
    let names = |text: &[u8], word: &[u8]| {
        text.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    let page_text: Vec<&lexer::Token> = code
        .toks
        .iter()
        .filter(|t| t.kind == lexer::Kind::InlineHtml)
        .collect();
    let with_meta: Vec<&&lexer::Token> = page_text
        .iter()
        .filter(|t| names(t.text(src), b"http-equiv") && names(t.text(src), b"content-security-policy"))
        .collect();
    if with_meta.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let scan = super::html::Html.find(path, src).unwrap_or_default();
    let funcs = hooks::functions(code);
    let in_function = with_meta
        .iter()
        .any(|t| funcs.iter().any(|f| f.bytes.contains(&t.span.start)));
    let outside_page_text = scan
        .sites
        .iter()
        .any(|s| !page_text.iter().any(|t| t.span.contains(&s.span.start)));
    if outside_page_text || in_function && scan.diagnostics.iter().any(|d| d.code == "HTM601") {
        return (Vec::new(), Vec::new());
    }
    (scan.sites, scan.diagnostics)
}

/// PHP506: code after a short open tag (`<?` and white space) that sends a CSP. With
/// `short_open_tag = Off`, the value of php.ini-production and php.ini-development that the
/// lexer follows, PHP prints that code as text and its header() calls never run; with it On
/// they do. csppatch reads the file as the default does, so the CSP there is not read (E041
/// says so at its line) and this says why, at the tag.
fn short_open_tags(path: &Path, src: &[u8], toks: &[lexer::Token]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for t in toks.iter().filter(|t| t.kind == lexer::Kind::InlineHtml) {
        let text = t.text(src);
        let Some(at) = text
            .windows(3)
            .position(|w| w[0] == b'<' && w[1] == b'?' && w[2].is_ascii_whitespace())
        else {
            continue;
        };
        let rest = &text[at..];
        let needle = b"content-security-policy";
        if !rest.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle)) {
            continue;
        }
        out.push(
            Diagnostic::warning(
                "PHP506",
                "`<?` is a short open tag: with short_open_tag = Off (php.ini's production and \
                 development default) PHP sends the code after it as text, so its \
                 Content-Security-Policy header() is never sent; csppatch reads the file as \
                 that default does",
            )
            .at(sites::location(path, src, t.span.start + at))
            .with_help("write `<?php` (it works whatever short_open_tag says), then run csppatch again"),
        );
    }
    out
}

/// `"a" . $h['Content-Security-Policy'] = 'b'` is valid PHP (an assignment inside a
/// concatenation), and then one site's expression holds another site: an edit of either
/// would rewrite the other. Every site that overlaps an earlier one is refused, and so is the
/// one it overlaps, so the sites left are disjoint. Sorted once: linear after the sort.
///
/// Sites with the same span are one header's variants (its value on requests where some
/// writes run and others do not, `sites.rs`): they do not overlap each other, and are refused
/// together.
fn refuse_overlapping(sites: &mut [Site]) {
    let mut order: Vec<usize> = (0..sites.len()).collect();
    order.sort_by_key(|&i| sites[i].span.start);
    // The span reaching furthest so far: any earlier span `i` overlaps ends within it.
    let mut reach: Option<(usize, usize)> = None;
    let mut overlapping = Vec::new();
    for i in order {
        let span = sites[i].span.clone();
        if let Some((_, j)) = reach.filter(|(end, _)| span.start < *end) {
            if sites[j].span != span {
                overlapping.push(span.clone());
                overlapping.push(sites[j].span.clone());
            }
        }
        if reach.is_none_or(|(end, _)| span.end > end) {
            reach = Some((span.end, i));
        }
    }
    for site in sites.iter_mut().filter(|s| overlapping.contains(&s.span)) {
        site.refusal.get_or_insert_with(|| {
            "this value and another CSP header value overlap (an assignment inside a \
             concatenation): edit them by hand"
                .to_string()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_sends_a_header_and_has_a_meta_has_both_sites() {
        // Browsers enforce both: the meta must get the vendor too, not an E041.
        let src = b"<?php\nheader(\"Content-Security-Policy: default-src 'self'\");\n?>\n<!DOCTYPE html>\n<html><head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\">\n</head><body></body></html>\n";
        let scan = Php.find(Path::new("page.php"), src).unwrap();
        let found: Vec<_> = scan.sites.iter().map(|s| (s.delivery, s.value.text.as_str())).collect();
        assert_eq!(
            found,
            [
                (Delivery::Header, "default-src 'self'"),
                (Delivery::Meta, "script-src 'self'")
            ]
        );
        let meta = &scan.sites[1];
        let out = Php.encode_value(meta, src, "script-src 'self' https://a.example").unwrap();
        assert_eq!(out, b"\"script-src 'self' https://a.example\"");
    }

    #[test]
    fn a_meta_printed_by_a_function_is_never_called_ignored() {
        // Cacti's lib/html.php: the table markup of one function comes first in the file, but
        // the meta's function prints into <head>. No site, no HTM601 (the pipeline's E041 says
        // the policy was not read); in a plain page template the meta in <body> is HTM601.
        let lib = b"<?php\nfunction box() {\n?>\n<table><tr><td>x</td></tr></table>\n<?php\n}\nfunction head() {\n?>\n<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\">\n<?php\n}\n";
        let scan = Php.find(Path::new("html.php"), lib).unwrap();
        assert!(scan.sites.is_empty());
        assert!(scan.diagnostics.iter().all(|d| d.code != "HTM601"));
        let page = b"<html><body><p>x</p>\n<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\">\n<?php echo 1; ?></body></html>\n";
        let scan = Php.find(Path::new("page.php"), page).unwrap();
        assert!(scan.sites.is_empty());
        assert!(scan.diagnostics.iter().any(|d| d.code == "HTM601"));
    }

    #[test]
    fn unterminated_string_is_php001_with_its_line() {
        let src = b"<?php\n// ok\nheader('Content-Security-Policy: default-src \\'self\\');\n";
        let err = Php.find(Path::new("functions.php"), src).unwrap_err();
        assert_eq!(err.code, "PHP001");
        let at = err.location.expect("located");
        assert_eq!((at.line, at.col), (3, 8));
    }

    #[test]
    fn a_csp_after_a_short_open_tag_is_php506_at_the_tag_and_no_site() {
        let src = b"<?\nadd_action('send_headers', function () {\n    header(\"Content-Security-Policy: default-src 'self'\");\n});\n";
        let scan = Php.find(Path::new("functions.php"), src).unwrap();
        assert!(scan.sites.is_empty(), "PHP prints it as text by default");
        let d: Vec<_> = scan.diagnostics.iter().filter(|d| d.code == "PHP506").collect();
        assert_eq!(d.len(), 1);
        let at = d[0].location.as_ref().unwrap();
        assert_eq!((at.line, at.col), (1, 1));
        // `<?php`, `<?=` and an XML prolog are not short tags; a short tag with no CSP after
        // it is not this warning's business.
        for ok in [
            &b"<?php\nheader(\"Content-Security-Policy: default-src 'self'\");\n"[..],
            b"<?xml version=\"1.0\"?>\n<svg/>\n",
            b"<? echo 1; ?>\n<p>hello</p>\n",
        ] {
            let scan = Php.find(Path::new("x.php"), ok).unwrap();
            assert!(!scan.diagnostics.iter().any(|d| d.code == "PHP506"));
        }
    }
}
