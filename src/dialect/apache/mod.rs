//! Apache httpd 2.4: `*.conf` files in httpd syntax and `.htaccess`.
//!
//! The grammar is in `grammars/apache.ebnf`. The layers mirror httpd, each in its module:
//! `lexer` reads lines like `ap_cfg_getline` (backslash-newline continuations), `words`
//! splits them like `ap_getword_conf` (quotes, escapes, `${VAR}`), `sections` nests
//! `<Section>`s like `ap_build_config`, `header` reads `Header` like mod_headers'
//! `header_cmd`, and `format` decodes its value like mod_headers' format-string parser.
//! `lints` explains the traps of mod_headers' two tables, `encode` writes values back.
//!
//! What a [`Site`] means here:
//! - `span`: the value word as written, quotes included (it may cover continuation lines);
//! - `value`: what mod_headers sends; `%{VAR}e`, `%D`, `%t`... and `${VAR}` are opaque;
//! - `context`: `<VirtualHost *:443> example.com > <Directory /var/www> > Header always set,
//!   if expr=...`, the table named even when implicit (`Header set (onsuccess table)`);
//! - `repaired`: set when the value holds `\n`/`\r` (APA301): httpd fails every response;
//! - `refusal`: an `expr=` value, a value that is not UTF-8, one using a `<Macro>` parameter.
//!
//! `.htaccess` lines are limited to 8191 bytes (APA006) and `apache2 -t` never reads them:
//! run [`Dialect::find`] again on a patched `.htaccess`, with its path, to catch it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Location};
use crate::rule::Rule;
use crate::csp::{Delivery, TextEdit};
use crate::site::{Decoded, Disposition, FileScan, Include, Repair, Site};
use crate::validator::Validator;

use super::include::{self, Dotfiles};
use super::{ConfigFile, Dialect, Head, Sniff};

mod encode;
mod format;
mod header;
mod lexer;
mod lints;
mod proxy;
mod rules;
mod sections;
mod validate;
mod words;

pub use lexer::{logical_lines, tokenize, LogicalLine, Token, TokenKind};
pub use rules::RULES;

use header::{Condition, HeaderDirective};
use sections::Document;
use words::Word;

pub struct Apache;

impl Dialect for Apache {
    fn name(&self) -> &'static str {
        "apache"
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn claims_name(&self, name: &str, _ext: &str, _head: &[u8]) -> bool {
        matches!(name, ".htaccess" | "httpd.conf" | "apache2.conf")
    }

    /// `<Section>` tags and the directives every vhost has.
    fn sniff(&self, head: &Head<'_>) -> Sniff {
        const SECTIONS: &[&str] = &[
            "</",
            "<virtualhost",
            "<ifmodule",
            "<directory",
            "<location",
            "<files",
        ];
        const DIRECTIVES: &[&str] = &[
            "header",
            "servername",
            "documentroot",
            "loadmodule",
            "rewriteengine",
            "rewriterule",
            "options",
            "allowoverride",
            "require",
            "serveralias",
            "errorlog",
            "customlog",
            "sslengine",
            "addtype",
            "expiresactive",
            "setenvif",
            "headers",
        ];
        let mut score = 0;
        for (t, first) in head.lines() {
            if SECTIONS.iter().any(|s| t.starts_with(s)) {
                score += 3;
            }
            if DIRECTIVES.contains(&first) {
                score += 1;
            }
        }
        Sniff::Score(score)
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        scan(path, src)
    }

    /// Without the APA3xx lints of [`lints::check`], which only speak about the file.
    fn find_sites(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        read(path, src, false)
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        encode::fragment(site, src, at, fragment)
    }

    fn encode_fragments(
        &self,
        site: &Site,
        src: &[u8],
        edits: &[(Range<usize>, &TextEdit)],
    ) -> Option<Vec<Vec<u8>>> {
        encode::fragments(site, src, edits)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        encode::value(site, src, value)
    }

    fn main_config_names(&self) -> &'static [&'static str] {
        &["apache2.conf", "httpd.conf", "conf/httpd.conf"]
    }

    fn system_main_config(&self) -> Option<&'static str> {
        Some("etc/apache2/apache2.conf")
    }

    /// httpd resolves a relative `Include` against `ServerRoot` (the main config's, else the
    /// main config's directory). Without a main config, the including file's parent directory,
    /// then its own.
    fn include_bases(&self, dir: &Path, root: Option<&ConfigFile<'_>>) -> Vec<PathBuf> {
        let server_root = root.and_then(|r| r.scan?.server_root.clone());
        let base = match (server_root, root) {
            (Some(sr), _) => PathBuf::from(sr),
            (None, Some(r)) => r.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            (None, None) => dir.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
        };
        vec![base, dir.to_path_buf()]
    }

    /// A wildcard matches by `apr_fnmatch` with `APR_FNM_PERIOD` (no dotfiles); a directory,
    /// named or matched, is read whole, dotfiles included (httpd's `config.c`).
    fn expand_include(&self, path: &Path, known: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for p in include::glob_matches(path, Dotfiles::Skip) {
            if !known(&p) && p.is_dir() {
                files.extend(include::directory_files(&p));
            } else {
                files.push(p);
            }
        }
        files
    }

    fn validate_main_config(&self, root: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        validate::main_config(root).map(Some)
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

/// A `Header` line about a Content-Security-Policy header.
pub(crate) struct CspHeader<'a> {
    pub header: HeaderDirective<'a>,
    pub disposition: Disposition,
    /// Enclosing sections, outermost first.
    pub chain: Vec<usize>,
    /// File offset of the directive.
    pub start: usize,
    /// Index into `FileScan::sites` when this line sends a value.
    pub site: Option<usize>,
}

/// Longest logical line httpd reads from a `.htaccess` file: `ap_build_config` lowers its
/// limit to `HUGE_STRING_LEN` (8192, line end included) there; measured on httpd 2.4.
const HTACCESS_LINE_MAX: usize = 8191;

pub(crate) fn is_htaccess(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".htaccess")
    })
}

pub(crate) fn location(path: &Path, src: &[u8], offset: usize) -> Location {
    Location::of(path, src, offset)
}

/// `find`: every CSP site, include and lint of one file.
pub(crate) fn scan(path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
    read(path, src, true)
}

/// [`scan`]; `lint`: with the lints about the file ([`lints::check`]).
fn read(path: &Path, src: &[u8], lint: bool) -> Result<FileScan, Diagnostic> {
    if src.starts_with(b"\xef\xbb\xbf") {
        return Err(Diagnostic::error(
            "APA005",
            "the file starts with a UTF-8 byte order mark: httpd reads it as part of the first \
             directive and refuses the configuration (Invalid command '\\xef\\xbb\\xbf...')",
        )
        .at(location(path, src, 0))
        .with_help("save the file as UTF-8 without a BOM"));
    }
    let lines = lexer::logical_lines(src);
    if is_htaccess(path) {
        if let Some(long) = lines.iter().find(|l| l.text.len() > HTACCESS_LINE_MAX) {
            return Err(Diagnostic::error(
                "APA006",
                format!(
                    "this line is {} bytes long (continuations joined): httpd reads .htaccess \
                     lines of at most {HTACCESS_LINE_MAX} bytes and answers every request below \
                     this directory with 500 (Line too long)",
                    long.text.len()
                ),
            )
            .at(location(path, src, long.span.start))
            .with_help("move the header to the server configuration, or shorten it"));
        }
    }
    let config = sections::build(&lines).map_err(|e| {
        Diagnostic::error(e.code, format!("httpd refuses this file: {}", e.message))
            .at(location(path, src, e.offset))
    })?;
    let mut scan = FileScan::default();
    let mut csp = Vec::new();
    for d in &config.directives {
        let start = d.name.span.start;
        if d.name.is("Include") || d.name.is("IncludeOptional") {
            if let Some(arg) = d.args.first() {
                scan.includes.push(Include {
                    pattern: arg.text(),
                    offset: start,
                    // httpd 2.4: `Include` fails on a missing file and on a wildcard that
                    // matches nothing; only `IncludeOptional` lets both pass.
                    optional: d.name.is("IncludeOptional"),
                });
            }
        } else if d.name.is("ServerRoot") {
            if let (None, Some(arg)) = (&scan.server_root, d.args.first()) {
                scan.server_root = Some(arg.text());
            }
        } else if d.name.is("Header") {
            let header = match header::parse(&d.args, start) {
                Ok(h) => h,
                Err(e) if names_csp(&d.args) => {
                    let help = if e.message.contains("Too many") || e.message.contains(": #") {
                        "httpd reads `#` as a comment only at the start of a line: move the \
                         comment to a line of its own"
                    } else {
                        "the syntax is `Header [always|onsuccess] set NAME VALUE \
                         [early|env=[!]VAR|expr=EXPR]`, with VALUE quoted if it holds spaces"
                    };
                    return Err(Diagnostic::error(
                        "APA004",
                        format!("httpd refuses this Header line: {}", e.message),
                    )
                    .at(location(path, src, e.offset))
                    .with_help(help));
                }
                Err(_) => continue,
            };
            let Some(disposition) = Disposition::from_header_name(&header.name) else {
                continue;
            };
            csp.push(CspHeader {
                header,
                disposition,
                chain: config.chain(d.section),
                start,
                site: None,
            });
        }
    }
    for h in &mut csp {
        if !h.header.action.sends_value() {
            continue;
        }
        let Some(word) = h.header.value else { continue };
        let site = site(path, src, &config, h, word, &mut scan.diagnostics)?;
        h.site = Some(scan.sites.len());
        scan.sites.push(site);
    }
    if lint {
        scan.diagnostics
            .extend(lints::check(path, src, &config, &csp, &scan.sites));
    }
    Ok(scan)
}

/// Does any argument name a CSP header (to tell a broken CSP line from another broken line)?
fn names_csp(args: &[Word]) -> bool {
    args.iter().any(|w| {
        let name = w.bytes();
        let name = name.split(|&b| b == b':').next().unwrap_or_default();
        Disposition::from_header_name(name).is_some()
    })
}

fn context(config: &Document, h: &CspHeader<'_>) -> String {
    let mut context = config.context(h.chain.last().copied());
    if !context.is_empty() {
        context.push_str(" > ");
    }
    context.push_str(&h.header.described());
    match &h.header.condition {
        Some(Condition::Early) => context.push_str(", early"),
        Some(c) => context.push_str(&format!(", if {}", c.describe())),
        None => {}
    }
    context
}

fn site(
    path: &Path,
    src: &[u8],
    config: &Document,
    h: &CspHeader<'_>,
    word: &Word,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Site, Diagnostic> {
    let mut site = Site {
        disposition: h.disposition,
        delivery: Delivery::Header,
        span: word.span.clone(),
        value: Decoded::default(),
        repaired: None,
        context: context(config, h),
        refusal: None,
        binding: None,
    };
    let formatted = match sent(word) {
        Sent::Expr => {
            site.value = verbatim(word);
            site.refusal = Some(
                "the value is an `expr=` string expression, computed per request: csppatch \
                 cannot edit it"
                    .into(),
            );
            return Ok(site);
        }
        Sent::Format(Ok(f)) => f,
        Sent::Format(Err(format::FormatError::Unrecognized { raw, message })) => {
            return Err(Diagnostic::error(
                "APA004",
                format!("httpd refuses this Header line: {message}"),
            )
            .at(location(path, src, raw.start))
            .with_help("write a literal `%` as `%%`"));
        }
        Sent::Format(Err(format::FormatError::DependsOnVariable { raw })) => {
            site.value = verbatim(word);
            site.refusal = Some(format!(
                "the `%` at {} is followed by a ${{...}} variable: what mod_headers sends \
                 depends on its value",
                location(path, src, raw.start)
            ));
            return Ok(site);
        }
    };
    site.value = formatted.value;
    if !formatted.utf8 {
        site.refusal = Some("the value is not UTF-8".into());
    } else if let Some(param) = macro_parameter(config, h, &site.value.text) {
        site.refusal = Some(format!(
            "the value uses `{param}`, a parameter of the enclosing <Macro>: it is replaced \
             where the macro is used"
        ));
    }
    if let Some(first) = formatted.line_breaks.first() {
        let repaired = site.value.text.replace(['\n', '\r'], " ");
        site.repaired = Some(Repair {
            text: repaired,
            code: "APA301",
        });
        diagnostics.push(
            Diagnostic::warning(
                "APA301",
                "`\\n` or `\\r` in the Content-Security-Policy value: mod_headers turns it into \
                 a line break, and httpd then answers every request with 500 (AH02430: \
                 Response header ... contains invalid characters)",
            )
            .at(location(path, src, first.start))
            .with_help(
                "csppatch rewrites the value on one line with the breaks as spaces; to split \
                 a long value, end the line with a backslash instead",
            ),
        );
    }
    if word.unterminated {
        diagnostics.push(
            Diagnostic::note(
                "APA308",
                "the quote that opens this value is never closed: httpd reads the value to the \
                 end of the line",
            )
            .at(location(path, src, word.span.start))
            .with_help("add the closing quote"),
        );
    }
    Ok(site)
}

/// How mod_headers reads a value word.
enum Sent {
    /// `expr=...`: an ap_expr string expression (httpd 2.4.10+), evaluated per request.
    Expr,
    /// A format string.
    Format(Result<format::Formatted, format::FormatError>),
}

fn sent(word: &Word) -> Sent {
    if word.starts_with(b"expr=") {
        Sent::Expr
    } else {
        Sent::Format(format::decode(word))
    }
}

/// What [`scan`] finds on the one logical line `line` of a file it reads without an error
/// elsewhere, when the line is a `Header` directive: the value of the site it holds (`None`:
/// no site there, or the file is refused, by this line). The patched line of an encoder's
/// check, read alone: `Err(())` when it is no longer a `Header` line, and only the whole file
/// can tell.
pub(crate) fn header_line_value(line: &LogicalLine) -> Result<Option<(usize, Decoded)>, ()> {
    let content = line.content();
    if content.is_empty() || content[0] == b'#' {
        return Err(());
    }
    let mut words = words::split(line);
    if words.is_empty() || !words[0].is("Header") {
        return Err(());
    }
    let name = words.remove(0);
    // As `scan` does: a broken line is refused (it names a CSP header) or skipped.
    let Ok(header) = header::parse(&words, name.span.start) else {
        return Ok(None);
    };
    if Disposition::from_header_name(&header.name).is_none() || !header.action.sends_value() {
        return Ok(None);
    }
    let Some(word) = header.value else {
        return Ok(None);
    };
    let value = match sent(word) {
        Sent::Expr | Sent::Format(Err(format::FormatError::DependsOnVariable { .. })) => {
            verbatim(word)
        }
        Sent::Format(Ok(f)) => f.value,
        Sent::Format(Err(format::FormatError::Unrecognized { .. })) => return Ok(None),
    };
    Ok(Some((word.span.start, value)))
}

/// A value httpd does not decode further: its word, byte for byte.
fn verbatim(word: &Word) -> Decoded {
    let mut d = Decoded::default();
    for u in &word.units {
        match u {
            words::Unit::Byte { byte, raw } => {
                let ch = if byte.is_ascii() {
                    char::from(*byte)
                } else {
                    '\u{FFFD}'
                };
                d.push_char(ch, raw.clone());
            }
            words::Unit::Env { name, raw } => d.push_opaque(&format!("${{{name}}}"), raw.clone()),
        }
    }
    d
}

/// A parameter of an enclosing `<Macro name $a $b>` used in `text`.
fn macro_parameter(config: &Document, h: &CspHeader<'_>, text: &str) -> Option<String> {
    h.chain.iter().find_map(|&i| {
        let s = &config.sections[i];
        if !s.name.eq_ignore_ascii_case("Macro") {
            return None;
        }
        s.args
            .split_whitespace()
            .skip(1)
            .find(|p| text.contains(*p))
            .map(str::to_string)
    })
}
