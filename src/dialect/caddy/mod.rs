//! The Caddy dialect: `Caddyfile` and `*.caddy` files, read exactly as Caddy 2.6 reads them.
//!
//! - [`lexer`]: the Caddyfile lexer, lossless, with the file bytes behind every text byte;
//! - [`dispenser`]: Caddy's token cursor and its idea of "the same line" (dispenser.go);
//! - [`structure`]: site blocks, snippets, directive segments and imports (parse.go);
//! - [`headers`]: what the `header` directive does with its words (headers/caddyfile.go);
//! - [`value`]: what is sent for a value token (Replacer, Go's net/http) and how to write one;
//! - [`find`]: the walk that turns all that into sites, includes and lints.
//!
//! The grammar is in `grammars/caddy.ebnf`.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::rule::Rule;
use crate::site::{FileScan, Site};
use crate::validator::Validator;

use super::include::{self, Dotfiles};
use super::{ConfigFile, Dialect, Head, Sniff};

pub mod dispenser;
pub mod find;
pub mod headers;
pub mod lexer;
pub mod rules;
pub mod structure;
mod validate;
pub mod value;
mod vars;

pub use rules::RULES;

pub struct Caddy;

impl Caddy {
    /// The quoting style of the value token at `site.span`.
    fn style(site: &Site, src: &[u8]) -> lexer::Quote {
        match src.get(site.span.start) {
            Some(b'"') => lexer::Quote::Double,
            Some(b'`') => lexer::Quote::Backtick,
            _ => lexer::Quote::Bare,
        }
    }

    /// The placeholders of the site's value as they appear in its text (`{http.request.uuid}`):
    /// a new value keeps them as placeholders.
    fn placeholders(site: &Site) -> Vec<String> {
        let mut out: Vec<String> = site
            .value
            .opaque
            .iter()
            .filter_map(|r| site.value.text.get(r.clone()))
            .map(str::to_string)
            .collect();
        out.sort_by_key(|p| std::cmp::Reverse(p.len()));
        out.dedup();
        out
    }
}

impl Dialect for Caddy {
    fn name(&self) -> &'static str {
        "caddy"
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn claims_name(&self, name: &str, ext: &str, _head: &[u8]) -> bool {
        // `Caddyfile.prod`, `Caddyfile-dev`, `Caddyfile_local`: a Caddyfile by any suffix.
        name == "caddyfile"
            || ["caddyfile.", "caddyfile-", "caddyfile_"]
                .iter()
                .any(|p| name.starts_with(p))
            || ext == "caddy"
            || ext == "caddyfile"
    }

    /// Directives without semicolons, and site addresses that open a block.
    fn sniff(&self, head: &Head<'_>) -> Sniff {
        const DIRECTIVES: &[&str] = &[
            "reverse_proxy",
            "file_server",
            "encode",
            "tls",
            "php_fastcgi",
            "respond",
            "handle",
            "handle_path",
            "route",
            "redir",
            "import",
        ];
        // Lowercase as Caddy spells them: Apache's `Header`, `RewriteRule` and `Options` are
        // capitalised (the head's `lower` text would mistake them).
        const EXACT: &[&str] = &["header", "vars", "basicauth", "log", "try_files", "rewrite", "root"];
        let exact = head
            .text
            .lines()
            .map(str::trim)
            .filter(|t| !t.starts_with('#') && !t.ends_with(';'))
            // With an argument: a word alone on a line is prose (a README's list).
            .filter(|t| {
                let mut words = t.split_whitespace();
                EXACT.contains(&words.next().unwrap_or("")) && words.next().is_some()
            })
            .count();
        let mut score = 2 * exact as i32;
        for (t, first) in head.lines() {
            if DIRECTIVES.contains(&first) && !t.ends_with(';') {
                score += 2;
            }
            // A named matcher (`@static path /static/*`): nginx's `@name` only follows
            // `location` or `try_files`.
            if first.len() > 1 && first.starts_with('@') && !t.ends_with(';') {
                score += 2;
            }
            if t.starts_with(':') && t.ends_with('{')
                || t.ends_with('{') && first.contains('.') && !t.ends_with(';')
            {
                score += 1;
            }
        }
        Sniff::Score(score)
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        find::scan(path, src)
    }

    /// Escape `fragment` for the token it goes into, then check the spliced token: it must
    /// still be one token that Caddy serves as the old text with `fragment` inserted.
    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        if site.refusal.is_some() || fragment.contains(['\r', '\n']) {
            return None;
        }
        let token = src.get(site.span.clone())?;
        let style = Self::style(site, src);
        let quoted = style != lexer::Quote::Bare;
        let inside = if quoted {
            site.span.start < at && at < site.span.end
        } else {
            site.span.start <= at && at <= site.span.end
        };
        if !inside {
            return None;
        }
        let pos = (0..=site.value.text.len()).find(|&p| {
            site.value.raw_insertion_point(p) == Some(at) && !site.value.touches_opaque(p..p)
        })?;
        // A placeholder the value already uses, copied into a new directive (`worker-src`
        // pinned to a script-src with `'nonce-{http.request.uuid}'` or `https://{args.0}`),
        // stays a placeholder: escaped, Caddy would send its name as literal text.
        let keep = Self::placeholders(site);
        let mut kept = 0;
        let mut escaped = String::with_capacity(fragment.len() + 4);
        let mut rest = fragment;
        while let Some(c) = rest.chars().next() {
            if let Some(p) = keep.iter().find(|p| rest.starts_with(p.as_str())) {
                escaped.push_str(p);
                rest = &rest[p.len()..];
                kept += 1;
                continue;
            }
            match c {
                '{' | '}' => {
                    escaped.push('\\');
                    escaped.push(c);
                }
                '"' if style == lexer::Quote::Double => escaped.push_str("\\\""),
                '`' if style == lexer::Quote::Backtick => return None,
                c if c.is_whitespace() && !quoted => return None,
                c => escaped.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        let rel = at - site.span.start;
        let mut spliced = token[..rel].to_vec();
        spliced.extend_from_slice(escaped.as_bytes());
        spliced.extend_from_slice(&token[rel..]);
        let text = &site.value.text;
        let want = format!("{}{fragment}{}", text.get(..pos)?, text.get(pos..)?);
        // Caddy substitutes `{$...}` in the raw file before lexing, up to the next `}`
        // anywhere in the file: the splice must not create one, even with an escaped brace.
        let env_starts = |b: &[u8]| b.windows(2).filter(|w| w == b"{$").count();
        if env_starts(&spliced) > env_starts(token) {
            return None;
        }
        // Text alone cannot tell a placeholder from its escaped name: count them too.
        let served = value::served_value(&spliced)?;
        (served.text == want && served.opaque.len() == site.value.opaque.len() + kept)
            .then(|| escaped.into_bytes())
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        if let Some(why) = &site.refusal {
            return Err(why.clone());
        }
        value::encode(value, Self::style(site, src), &Self::placeholders(site))
    }

    fn main_config_names(&self) -> &'static [&'static str] {
        &["Caddyfile"]
    }

    fn system_main_config(&self) -> Option<&'static str> {
        Some("etc/caddy/Caddyfile")
    }

    // `include_bases`: the default, the importing file's directory (parse.go's `doImport`).

    /// Caddy's `import` globs with Go's `filepath.Glob`, which lets `*` match a leading dot.
    fn expand_include(&self, path: &Path, known: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
        include::glob_files(path, Dotfiles::Match, known)
    }

    fn validate_main_config(&self, root: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        validate::caddy_validate(root.target.display().to_string()).map(Some)
    }

    fn wrap_lone_files(
        &self,
        dir: &Path,
        files: &[ConfigFile<'_>],
    ) -> Result<Option<Validator>, String> {
        validate::wrapper(dir, files).map(Some)
    }
}
