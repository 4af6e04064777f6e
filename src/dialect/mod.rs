//! One folder per configuration format, all behind the [`Dialect`] trait, and the registry
//! that lists them: adding a server is a new folder here plus one line in [`registry!`]'s
//! invocation below (README, "Development", says what a dialect provides).
//!
//! A dialect finds CSP sites in a file's bytes and encodes new values in the file's own
//! escaping rules; it says which files are its own, where the server's main config lives,
//! how the server resolves includes, and how the server's own validator checks a file. It
//! never prints the file back: the pipeline splices byte ranges.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::csp::TextEdit;
use crate::diag::Diagnostic;
use crate::rule::Rule;
use crate::site::{FileScan, Site};
use crate::validator::Validator;

pub mod include;

/// Declares each dialect's module, its [`DialectKind`] constant and its registry entry, from
/// one line per dialect: `Kind => module::UnitStruct`. The order is the registry's: it decides
/// which dialect wins a tie when sniffing content, and the order of per-server steps.
macro_rules! registry {
    ($($kind:ident => $module:ident :: $dialect:ident,)*) => {
        $(pub mod $module;)*

        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u8)]
        enum Slot { $($kind,)* }

        #[allow(non_upper_case_globals)]
        impl DialectKind {
            $(pub const $kind: DialectKind = DialectKind(Slot::$kind as u8);)*
        }

        static REGISTRY: &[&dyn Dialect] = &[$(&$module::$dialect,)*];
    };
}

registry! {
    Nginx => nginx::Nginx,
    Apache => apache::Apache,
    Caddy => caddy::Caddy,
    Php => php::Php,
    Html => html::Html,
}

/// Which dialect a file is in: a position in the registry (so ordered as it is).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialectKind(u8);

impl DialectKind {
    /// Every dialect, in registry order.
    pub fn all() -> impl Iterator<Item = DialectKind> {
        (0..REGISTRY.len()).map(|i| DialectKind(i as u8))
    }

    /// The dialect called `name` (`--dialect nginx`).
    pub fn from_name(name: &str) -> Option<DialectKind> {
        DialectKind::all().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        self.dialect().name()
    }

    pub fn dialect(self) -> &'static dyn Dialect {
        REGISTRY[usize::from(self.0)]
    }
}

impl std::fmt::Debug for DialectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for DialectKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What a configuration format must do for csppatch. Only `name`, `rules`, `claims_name`,
/// `find` and the two encoders are required; a format without includes, main configs or a
/// validator (HTML) keeps the defaults.
pub trait Dialect: Send + Sync {
    /// The name on the command line (`--dialect nginx`) and in messages.
    fn name(&self) -> &'static str;

    /// The documentation of every code this dialect emits (`csppatch rules`).
    fn rules(&self) -> &'static [Rule];

    // ---- which files are this dialect's (see [`detect`])

    /// Does the file's name say it is this dialect's? `name` and `ext` are lowercased; `head`
    /// is the file's first 16 KiB, for an extension that needs a look inside (`.inc`).
    fn claims_name(&self, name: &str, ext: &str, head: &[u8]) -> bool;

    /// How much the content of a file whose name says nothing looks like this dialect.
    fn sniff(&self, _head: &Head<'_>) -> Sniff {
        Sniff::No
    }

    // ---- sites

    /// Locate every CSP site (and variable binding, variable reference, include) in `src`.
    /// A file the real server would refuse to parse is an `Err` with the file:line.
    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic>;

    /// [`Dialect::find`] for the read-back of a patched file (`splice.rs`): every site,
    /// binding and reference read exactly as `find` reads them, but the lints about the file
    /// (`FileScan::diagnostics`) may be left out, since the read-back never reports them.
    fn find_sites(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        self.find(path, src)
    }

    /// `fragment` escaped so that it can be spliced into the raw value of `site` at file offset
    /// `at` (inside `site.span`) and decode back to `fragment`; `None` when that cannot be done
    /// in place (a bare word that would need quotes), and the whole value is then re-encoded.
    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>>;

    /// [`Dialect::encode_fragment`] for each of a value's edits, in order: each edit with the
    /// file bytes it replaces (empty for an insertion). `None` as soon as one cannot be written
    /// in place. A dialect may prove them all with one read of the patched value instead of
    /// one read per edit (Apache does), as long as the bytes are those one by one would give.
    fn encode_fragments(
        &self,
        site: &Site,
        src: &[u8],
        edits: &[(Range<usize>, &TextEdit)],
    ) -> Option<Vec<Vec<u8>>> {
        fragments_one_by_one(self, site, src, edits)
    }

    /// [`Dialect::encode_fragment`] for a source list copied from another directive of a value
    /// built from variables, written as the literal it came from wrote it: `references` are
    /// the stand-ins in `fragment` (`${main_domain}`) that name variables of the value, to be
    /// written as those variables again, so that the server sends what they hold. `None`: the
    /// dialect cannot (the default), and the copy is written as the text it sends.
    fn encode_copied_fragment(
        &self,
        _site: &Site,
        _src: &[u8],
        _at: usize,
        _fragment: &str,
        _references: &[String],
    ) -> Option<Vec<u8>> {
        None
    }

    /// The raw bytes that replace `site.span` so that the server sends `value`: the same
    /// quoting style as before, escaped for the format, on one logical line. `Err` says why
    /// the value cannot be written (nginx's 4096-byte argument limit, say).
    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String>;

    /// Checks that need the whole configuration (every file scanned, includes resolved), such
    /// as an nginx `location` whose own `add_header` drops the server's CSP.
    fn check_tree(&self, _files: &[TreeFile<'_>]) -> Vec<Diagnostic> {
        Vec::new()
    }

    // ---- the configuration around a file

    /// File names of the server's main config, looked for in each directory above a given
    /// path (`nginx.conf`); none: the format has no main config.
    fn main_config_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The main config of a system install, relative to `/` (`etc/nginx/nginx.conf`), used
    /// when none is found above the given paths.
    fn system_main_config(&self) -> Option<&'static str> {
        None
    }

    /// The directories a relative include in a file of directory `dir` is looked up in, the
    /// server's own base first (nginx: the main config's directory). `root` is the main config
    /// found for the run, if any; without one the base is a guess, and the dialect may add
    /// the including file's own directory after it.
    fn include_bases(&self, dir: &Path, _root: Option<&ConfigFile<'_>>) -> Vec<PathBuf> {
        vec![dir.to_path_buf()]
    }

    /// The files an include of `path` (joined to a base; maybe a glob) reads, in the server's
    /// order and by the server's glob rules. csppatch's own temporary files are dropped after
    /// this, whatever it returns. `known` says that a path is a regular file the run has
    /// already read: it is not looked at again (`include sites/*.conf` over 100,000 walked
    /// vhosts would `stat` each).
    fn expand_include(&self, path: &Path, known: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
        include::glob_files(path, include::Dotfiles::Skip, known)
    }

    // ---- the server's own validator (`--validate`)

    /// The validator run for main config `root` and everything it includes; `Ok(None)`: the
    /// format has no such validator.
    fn validate_main_config(&self, _root: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        Ok(None)
    }

    /// Is this file, which no main config includes, a whole main config by itself (an nginx
    /// file with a top-level `http` block)? It is then validated like one.
    fn is_whole_config(&self, _src: &[u8]) -> bool {
        false
    }

    /// One validator run for the files of the run that no main config includes (a
    /// repository of vhosts): the wrapper of [`Dialect::wrap_lone_files`] in a scratch
    /// directory of its own (nginx and Apache mirror the files' server directory there, so
    /// that relative includes resolve).
    fn validate_lone_files(&self, files: &[ConfigFile<'_>]) -> Result<Option<Validator>, String> {
        let scratch = if self.wrapper_mirrors_server_dir() {
            crate::validator::mirrored_scratch(files.first().map(|f| f.target))?
        } else {
            crate::validator::scratch_dir()?
        };
        Ok(self
            .wrap_lone_files(scratch.path(), files)?
            .map(|v| v.keeping(scratch)))
    }

    /// Does [`Dialect::validate_lone_files`] link the entries of the files' server directory
    /// (the parent of the first file's directory) into the wrapper's, so that relative
    /// includes resolve as from there?
    fn wrapper_mirrors_server_dir(&self) -> bool {
        false
    }

    /// The validator of a wrapper main config, written into `dir`, that includes `files` the
    /// way the server would take them (an nginx snippet inside `http`, server directives
    /// inside a `server`, a `.htaccess` inside its `<Directory>`, a Caddy fragment inside a
    /// site). `Ok(None)`: the format has no such validator. Also what a template's rendering
    /// is checked with (`template/render.rs`).
    fn wrap_lone_files(
        &self,
        _dir: &Path,
        _files: &[ConfigFile<'_>],
    ) -> Result<Option<Validator>, String> {
        Ok(None)
    }

    /// A validator for one changed file on its own (`php -l`).
    fn validate_changed_file(&self, _file: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        Ok(None)
    }
}

/// A scanned file as the tree-level checks see it.
pub struct TreeFile<'a> {
    pub path: &'a Path,
    pub src: &'a [u8],
    pub scan: &'a FileScan,
    /// For each of `scan.includes`, the files it resolved to (in glob order), as indices into
    /// the slice of `TreeFile`s this one is in.
    pub included: &'a [Vec<usize>],
    /// The configuration's main file (nginx.conf, apache2.conf, the top Caddyfile).
    pub is_root: bool,
}

/// A file of the configuration as include resolution and validation see it.
pub struct ConfigFile<'a> {
    /// The path as shown to the user (relative include bases are derived from it).
    pub path: &'a Path,
    /// The absolute path of the regular file behind it: what a validator is given.
    pub target: &'a Path,
    pub src: &'a [u8],
    /// `None` when the file does not parse.
    pub scan: Option<&'a FileScan>,
}

/// The start of a file, for [`Dialect::sniff`]: the bytes, and the text lowercased.
pub struct Head<'a> {
    pub bytes: &'a [u8],
    /// `bytes` as text (what is not UTF-8 replaced), in its own case.
    pub text: &'a str,
    pub lower: &'a str,
    /// [`Head::lines`], split once for every dialect's sniff.
    lines: Vec<(&'a str, &'a str)>,
}

impl<'a> Head<'a> {
    pub fn new(bytes: &'a [u8], text: &'a str, lower: &'a str) -> Head<'a> {
        let lines = lower
            .lines()
            .filter_map(|line| {
                let t = line.trim();
                if t.is_empty() || t.starts_with('#') {
                    return None;
                }
                Some((t, t.split_whitespace().next().unwrap_or("")))
            })
            .collect();
        Head {
            bytes,
            text,
            lower,
            lines,
        }
    }

    /// Each line that is not blank or a `#` comment, trimmed, with its first word.
    pub fn lines(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.lines.iter().copied()
    }
}

/// What a dialect makes of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    No,
    /// Markers only this format has (`<?php`): the first dialect to say so wins.
    Certain,
    /// Lines that look like this format's, weighed; the highest score wins, ties in registry
    /// order.
    Score(i32),
}

/// Extensions that are never configuration, whatever the content: a name that no dialect
/// claims and that ends so is skipped without a look inside.
const NOT_CONFIG: &[&str] = &[
    "pem",
    "crt",
    "key",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "ico",
    "gz",
    "zip",
    "md",
    "txt",
    "json",
    "yml",
    "yaml",
    "toml",
    "js",
    "css",
    "sh",
    "py",
    "rs",
    "pl",
    "t",
    "lua",
    "orig",
    "bak",
    "swp",
    "dpkg-dist",
    "dpkg-old",
    // Source code, styles, data and media a repository holds beside its configs: read as a
    // server config by content, TypeScript took NGX001 errors that stopped a whole run.
    "ts",
    "tsx",
    "jsx",
    "mjs",
    "cjs",
    "vue",
    "svelte",
    "scss",
    "sass",
    "less",
    "svg",
    "xml",
    "xlf",
    "lang",
    "po",
    "pot",
    "properties",
    "xliff",
    "webmanifest",
    "plist",
    "go",
    "java",
    "kt",
    "rb",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "cs",
    "swift",
    "dart",
    "scala",
    "ex",
    "exs",
    "lock",
    "map",
    "csv",
    "tsv",
    "sql",
    "ipynb",
    "rst",
    "adoc",
    "patch",
    "diff",
    "pdf",
    "webp",
    "avif",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "mp3",
    "mp4",
    "webm",
    "wasm",
    "jar",
    "tar",
    "tgz",
    "bz2",
    "xz",
];

/// [`Dialect::encode_fragments`] as a call to [`Dialect::encode_fragment`] per edit, in order,
/// stopping at the first that cannot be written.
pub fn fragments_one_by_one<D: Dialect + ?Sized>(
    dialect: &D,
    site: &Site,
    src: &[u8],
    edits: &[(Range<usize>, &TextEdit)],
) -> Option<Vec<Vec<u8>>> {
    edits
        .iter()
        .map(|(raw, e)| dialect.encode_fragment(site, src, raw.start, &e.text))
        .collect()
}

/// [`Dialect::encode_fragments`] proven with one read of the value patched with every edit
/// (`at_once`), else with `fragment` per edit, in order. Debug builds check that both give
/// the same bytes when `at_once` proves them.
pub fn fragments_at_once_or_one_by_one(
    edits: &[(Range<usize>, &TextEdit)],
    fragment: impl Fn(usize, &str) -> Option<Vec<u8>>,
    at_once: impl FnOnce() -> Option<Vec<Vec<u8>>>,
) -> Option<Vec<Vec<u8>>> {
    if edits.is_empty() {
        return Some(Vec::new());
    }
    let one_by_one = || {
        edits
            .iter()
            .map(|(raw, e)| fragment(raw.start, &e.text))
            .collect::<Option<Vec<_>>>()
    };
    let at_once = at_once();
    debug_assert!(
        at_once.is_none() || at_once == one_by_one(),
        "one read and one read per edit disagree"
    );
    at_once.or_else(one_by_one)
}

/// Pick the dialect of a file by name, then by content. `None`: not a configuration csppatch
/// knows (a PEM file, an image, a README). A template's name is
/// `template::detect_dialect`'s to read first (`nginx.conf.j2` is nginx).
pub fn detect(path: &Path, head: &[u8]) -> Option<DialectKind> {
    detect_guess(path, head).map(|(k, _)| k)
}

/// [`detect`], and when the choice was a guess from content that another dialect came close
/// to (`caddy.conf`: Caddy, with nginx close), that other dialect.
pub fn detect_guess(path: &Path, head: &[u8]) -> Option<(DialectKind, Option<DialectKind>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(k) = DialectKind::all().find(|k| k.dialect().claims_name(&name, &ext, head)) {
        return Some((k, None));
    }
    if NOT_CONFIG.contains(&ext.as_str()) || head.contains(&0) {
        return None;
    }
    let text = lossy(head);
    let lower = text.to_ascii_lowercase();
    let head = Head::new(head, &text, &lower);
    let mut scores: Vec<(i32, DialectKind)> = Vec::new();
    for k in DialectKind::all() {
        match k.dialect().sniff(&head) {
            Sniff::Certain => return Some((k, None)),
            Sniff::Score(s) if s > 0 => scores.push((s, k)),
            _ => {}
        }
    }
    // Highest score first; ties in registry order (the sort is stable).
    scores.sort_by_key(|&(s, _)| std::cmp::Reverse(s));
    let (best, k) = *scores.first()?;
    // Close: the runner-up scored at least half as much.
    let close = scores
        .get(1)
        .filter(|&&(s, _)| 2 * s >= best)
        .map(|&(_, r)| r);
    Some((k, close))
}

/// [`String::from_utf8_lossy`], with valid UTF-8 (nearly every file) checked by
/// `str::from_utf8`, a word at a time where the lossy conversion's own check goes a byte at
/// a time: that check was 3% of the instructions of a 10,000-vhost run. The same text.
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Does `hay` contain `needle`? (For content markers in a file's head.)
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_name() {
        assert_eq!(
            detect(Path::new("x/.htaccess"), b""),
            Some(DialectKind::Apache)
        );
        assert_eq!(
            detect(Path::new("x/Caddyfile"), b""),
            Some(DialectKind::Caddy)
        );
        assert_eq!(
            detect(Path::new("functions.php"), b""),
            Some(DialectKind::Php)
        );
        assert_eq!(
            detect(Path::new("index.html"), b""),
            Some(DialectKind::Html)
        );
        assert_eq!(detect(Path::new("cert.pem"), b"server {"), None);
    }

    #[test]
    fn tells_a_caddyfile_under_another_name_by_content() {
        // searxng-docker's Caddyfile shape, saved as caddy.conf: matchers, `header` blocks.
        let caddy = b":8090 {\n\t@imageproxy path /image_proxy\n\theader @imageproxy {\n\t\tContent-Security-Policy \"default-src 'none'\"\n\t}\n\treverse_proxy localhost:8080\n}\n";
        assert_eq!(
            detect(Path::new("caddy.conf"), caddy),
            Some(DialectKind::Caddy)
        );
        let plain = b"example.com {\n\troot * /srv\n\theader Content-Security-Policy \"default-src 'self'\"\n\tfile_server\n}\n";
        assert_eq!(
            detect(Path::new("site.conf"), plain),
            Some(DialectKind::Caddy)
        );
        let nginx = b"server {\n    listen 80;\n    root /srv;\n    add_header Content-Security-Policy \"default-src 'self'\";\n}\n";
        assert_eq!(
            detect(Path::new("site.conf"), nginx),
            Some(DialectKind::Nginx)
        );
    }

    #[test]
    fn tells_nginx_from_apache_by_content() {
        let nginx = b"server {\n    listen 80;\n    add_header X-Frame-Options DENY;\n}\n";
        let apache = b"<VirtualHost *:80>\n    ServerName example.com\n    Header set X-Frame-Options DENY\n</VirtualHost>\n";
        assert_eq!(
            detect(Path::new("sites-enabled/default.conf"), nginx),
            Some(DialectKind::Nginx)
        );
        assert_eq!(
            detect(Path::new("sites-enabled/default"), apache),
            Some(DialectKind::Apache)
        );
    }
}
