//! nginx: `add_header Content-Security-Policy ...`, headers-more `more_set_headers`, and the
//! `set` / `map` values such a header takes through a variable.
//!
//! The tokenizer mirrors nginx's own (`ngx_conf_read_token`, see `grammars/nginx.ebnf`), so a
//! value decodes to exactly the bytes nginx sends, and a file nginx refuses to read is refused
//! here with nginx's message.
//!
//! Decisions the pipeline relies on:
//! - A header whose whole value is one variable (`add_header Content-Security-Policy $csp
//!   always;`) is a [`VarRef`](crate::site::VarRef), not a site.
//! - Every `set $var VALUE` and every `map` value is a binding (`Site::binding` = the name
//!   without `$`), emitted with `Disposition::Enforce`: the disposition that counts is the
//!   referring header's. A binding whose value is empty is emitted with
//!   `refusal = Some(sites::EMPTY_BINDING)` ("empty: no CSP for these responses"): the
//!   responses it selects get no CSP, on purpose, and it must not be patched.
//! - A value that runs over lines (`\` + newline, or a newline inside the quotes) is sent by
//!   nginx with the raw line break; the site carries `repaired` with the policy collapsed onto
//!   one line (code NGX201). For direct sites NGX201 is reported here; for a binding the
//!   pipeline reports it when a CSP header activates the binding.
//! - `more_set_headers` sites span the whole `'Name: value'` argument; `encode_value` keeps the
//!   `Name: ` part byte for byte.

mod expand;
mod lints;
mod lua;
mod rules;
mod sites;
mod syntax;
mod tokenizer;
mod validate;
mod value;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Location};
use crate::site::{FileScan, Site};

use super::include::{self, Dotfiles};
use super::{ConfigFile, Dialect, Head, Sniff, TreeFile};
use crate::validator::Validator;

pub use rules::RULES;
pub use sites::EMPTY_BINDING;
pub use syntax::{parse, unescape, Body, Directive, Word};
pub use tokenizer::{tokenize, Quote, SyntaxError, Token, TokenKind, CONF_BUFFER};

pub struct Nginx;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn location(path: &Path, src: &[u8], offset: usize) -> Location {
    Location::of(path, src, offset)
}

/// The statements of a file, or nginx's error about it as a diagnostic.
pub fn parse_file(path: &Path, src: &[u8]) -> Result<Vec<Directive>, Diagnostic> {
    if src.starts_with(BOM) {
        let name_len = src
            .iter()
            .position(|&b| tokenizer::is_space(b) || b == b';' || b == b'{')
            .unwrap_or(src.len());
        return Err(Diagnostic::error(
            "NGX003",
            format!(
                "unknown directive \"{}\"",
                String::from_utf8_lossy(&src[..name_len])
            ),
        )
        .at(location(path, src, 0))
        .with_help(
            "the file starts with a UTF-8 byte-order mark, which nginx reads as part of the \
             first directive's name: save the file without it",
        ));
    }
    parse(src).map_err(|e| {
        Diagnostic::error(e.code, e.message)
            .at(location(path, src, e.offset))
            .with_help("nginx refuses this file too (nginx -t)")
    })
}

impl Dialect for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn rules(&self) -> &'static [crate::rule::Rule] {
        RULES
    }

    fn claims_name(&self, name: &str, _ext: &str, _head: &[u8]) -> bool {
        name == "nginx.conf"
    }

    /// `name args;` lines and `{` blocks, and the directives every site config has.
    fn sniff(&self, head: &Head<'_>) -> Sniff {
        let mut score = 0;
        for (t, first) in head.lines() {
            let ends = t.ends_with(';') || t.ends_with('{');
            if t.ends_with(';') || t.ends_with('{') && !t.starts_with('<') {
                score += 1;
            }
            let directive = matches!(
                first,
                "server"
                    | "location"
                    | "add_header"
                    | "listen"
                    | "server_name"
                    | "root"
                    | "proxy_pass"
                    | "fastcgi_pass"
                    | "upstream"
                    | "http"
                    | "events"
                    | "map"
                    | "include"
                    | "more_set_headers"
                    | "try_files"
                    | "index"
                    | "return"
                    | "rewrite"
            );
            if directive && ends {
                score += 2;
            }
        }
        Sniff::Score(score)
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        find(path, src, true)
    }

    /// Without NGX201, NGX203 and NGX205, which only speak about the file.
    fn find_sites(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        find(path, src, false)
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        fragment_bytes(site, src, at, fragment, &[])
    }

    /// A copied source may name a variable the literal did not (`http://${main_domain}` from
    /// a `set`): nginx substitutes it in the header as it did in the `set`.
    fn encode_copied_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
        references: &[String],
    ) -> Option<Vec<u8>> {
        fragment_bytes(site, src, at, fragment, references)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        let word = word_at(site, src).ok_or("the site is not an nginx word")?;
        let variables: Vec<String> = site
            .value
            .opaque
            .iter()
            .map(|o| site.value.text[o.clone()].to_string())
            .collect();
        value::check_encodable(value, &variables)?;
        let inner = word.inner();
        // `more_set_headers 'Content-Security-Policy: ...'`: the `Name: ` part stays as written.
        let value_start = site.value.raw(0).map_or(inner.end, |r| r.start);
        let prefix = &src[inner.start..value_start];
        // headers-more skips spaces and colons before the value, and clears the header when
        // nothing is left (ngx_http_headers_more_parse_header).
        if !prefix.is_empty() && (value.is_empty() || value.starts_with([' ', '\t', ':'])) {
            return Err(
                "more_set_headers drops spaces and colons at the start of a value, and an empty \
                 value removes the header: the value must start with a directive"
                    .into(),
            );
        }
        let (quote, prefix, escaped) =
            match value::escape(value, word.quote, &variables, prefix.is_empty()) {
                Some(escaped) => (word.quote, prefix.to_vec(), escaped),
                None if word.quote == Quote::Bare => {
                    // A bare word cannot hold spaces: switch to double quotes.
                    let decoded = unescape(src, inner.start..value_start, Quote::Bare);
                    let text: Vec<u8> = decoded.into_iter().map(|(b, _)| b).collect();
                    let prefix =
                        value::escape(&String::from_utf8_lossy(&text), Quote::Double, &[], false)
                            .ok_or("the header name cannot be quoted")?;
                    let escaped = value::escape(value, Quote::Double, &variables, false)
                        .ok_or("the value cannot be written as an nginx string")?;
                    (Quote::Double, prefix, escaped)
                }
                None => return Err("the value cannot be written as an nginx string".into()),
            };
        let spaced = src
            .get(word.span.end)
            .copied()
            .is_some_and(tokenizer::is_space);
        let inner_len = prefix.len() + escaped.len();
        if !value::fits_buffer(quote, inner_len, spaced) {
            return Err(format!(
                "NGX205: the new value needs {inner_len} bytes, but nginx reads at most {} in \
                 one parameter here (\"too long parameter\"); {}",
                value::max_inner_len(quote, spaced),
                sites::SPLIT_HELP
            ));
        }
        let q: &[u8] = match quote {
            Quote::Bare => b"",
            Quote::Double => b"\"",
            Quote::Single => b"'",
        };
        Ok([q, &prefix, &escaped, q].concat())
    }

    fn check_tree(&self, files: &[TreeFile<'_>]) -> Vec<Diagnostic> {
        lints::check_tree(files)
    }

    fn main_config_names(&self) -> &'static [&'static str] {
        &["nginx.conf"]
    }

    fn system_main_config(&self) -> Option<&'static str> {
        Some("etc/nginx/nginx.conf")
    }

    /// nginx resolves a relative include against the main config's directory (its
    /// `conf_prefix`). Without one, the including file's parent directory is where the usual
    /// layout puts `snippets/` and `conf.d/`, then the file's own directory.
    fn include_bases(&self, dir: &Path, root: Option<&ConfigFile<'_>>) -> Vec<PathBuf> {
        let base = match root {
            Some(r) => r.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => dir.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
        };
        vec![base, dir.to_path_buf()]
    }

    /// `ngx_open_glob` is glob(3) without `GLOB_PERIOD`: `conf.d/*` skips an editor's
    /// `conf.d/.#site.conf`.
    fn expand_include(&self, path: &Path, known: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
        include::glob_files(path, Dotfiles::Skip, known)
    }

    fn validate_main_config(&self, root: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        validate::main_config(root).map(Some)
    }

    fn is_whole_config(&self, src: &[u8]) -> bool {
        validate::has_block(src, b"http") || validate::has_block(src, b"events")
    }

    /// Relative includes resolve from the server root, which the wrapper's directory stands in for.
    fn wrapper_mirrors_server_dir(&self) -> bool {
        true
    }

    fn wrap_lone_files(
        &self,
        dir: &Path,
        files: &[ConfigFile<'_>],
    ) -> Result<Option<Validator>, String> {
        validate::wrapper(dir, files).map(Some)
    }
}

/// [`Nginx::find`]; `lints`: with the warnings about the file's values (else only its sites,
/// bindings, references and includes).
fn find(path: &Path, src: &[u8], lints: bool) -> Result<FileScan, Diagnostic> {
    let directives = parse_file(path, src)?;
    let mut finder = sites::Finder::new(path, src, &directives);
    finder.lints = lints;
    finder.walk()?;
    Ok(finder.scan)
}

/// [`Nginx::encode_fragment`]; `references`: variables `fragment` may name besides the
/// site's own.
fn fragment_bytes(
    site: &Site,
    src: &[u8],
    at: usize,
    fragment: &str,
    references: &[String],
) -> Option<Vec<u8>> {
    let word = word_at(site, src)?;
    let inner = word.inner();
    if !(inner.start..=inner.end).contains(&at) || splits_escape(src, inner.start, at) {
        return None;
    }
    // Text glued to `$name` would become part of the variable's name.
    let after_variable = site.value.opaque.iter().any(|o| {
        let text = &site.value.text[o.clone()];
        site.value.raw(o.end - 1).is_some_and(|r| r.end == at) && !text.ends_with('}')
    });
    if after_variable
        && fragment
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    // more_set_headers: spaces or a colon in front of the value would be skipped.
    let value_start = site.value.raw(0).map(|r| r.start);
    if value_start != Some(inner.start)
        && value_start == Some(at)
        && fragment.starts_with([' ', '\t', ':'])
    {
        return None;
    }
    // A source copied from another directive may hold one of the value's own variables
    // (`worker-src $scriptSrc`, copied from `script-src $scriptSrc`): written back as the
    // same variable, it sends the same text.
    let variables: Vec<String> = site
        .value
        .opaque
        .iter()
        .map(|o| site.value.text[o.clone()].to_string())
        .chain(references.iter().cloned())
        .collect();
    value::check_encodable(fragment, &variables).ok()?;
    let escaped = value::escape(fragment, word.quote, &variables, at == inner.start)?;
    let spaced = src
        .get(word.span.end)
        .copied()
        .is_some_and(tokenizer::is_space);
    value::fits_buffer(word.quote, inner.len() + escaped.len(), spaced).then_some(escaped)
}

/// The word a site's span covers.
fn word_at(site: &Site, src: &[u8]) -> Option<Word> {
    let span = site.span.clone();
    let first = *src.get(span.start)?;
    let quote = match first {
        b'"' => Quote::Double,
        b'\'' => Quote::Single,
        _ => Quote::Bare,
    };
    if quote != Quote::Bare && (span.len() < 2 || src.get(span.end - 1) != Some(&first)) {
        return None;
    }
    Some(Word { span, quote })
}

/// Is `at` between a backslash and the byte it escapes?
fn splits_escape(src: &[u8], from: usize, at: usize) -> bool {
    let mut i = from;
    while i < at {
        if src[i] == b'\\' {
            if i + 1 == at {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_back_reads_the_sites_find_reads_without_the_lints() {
        let long = "x".repeat(3700);
        let src = format!(
            "map $host $csp {{\n    default \"img-src data:\";\n}}\n\
             server {{\n    server_name a.example;\n    set $extra \"font-src data:\";\n    \
             add_header Content-Security-Policy \"default-src 'self'; $extra\";\n    \
             add_header Content-Security-Policy-Report-Only $csp always;\n    include snippets/*.conf;\n    \
             location / {{\n        add_header Content-Security-Policy \"default-src 'self';\n            \
             script-src 'self'\" always;\n        \
             more_set_headers 'Content-Security-Policy: img-src {long}';\n    }}\n}}\n"
        );
        let path = Path::new("site.conf");
        let found = Nginx.find(path, src.as_bytes()).unwrap();
        let codes: Vec<&str> = found.diagnostics.iter().map(|d| d.code).collect();
        for code in ["NGX201", "NGX203", "NGX205"] {
            assert!(codes.contains(&code), "{code} in {codes:?}");
        }
        let read = Nginx.find_sites(path, src.as_bytes()).unwrap();
        assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
        let shown = |s: &FileScan| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                s.sites, s.bindings, s.refs, s.includes, s.replaced
            )
        };
        assert_eq!(found.sites.len(), 3);
        assert_eq!(found.bindings.len(), 2);
        assert_eq!(shown(&read), shown(&found));
    }
}
