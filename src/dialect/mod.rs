//! One module per configuration format, all behind the small [`Dialect`] trait.
//!
//! A dialect finds CSP sites in a file's bytes and encodes new values in the file's own
//! escaping rules. It never prints the file back: the pipeline splices byte ranges.

use std::path::Path;

use crate::diag::Diagnostic;
use crate::site::{FileScan, Site};

pub mod apache;
pub mod caddy;
pub mod html;
pub mod nginx;
pub mod php;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DialectKind {
    Nginx,
    Apache,
    Caddy,
    Php,
    Html,
}

impl DialectKind {
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Nginx => "nginx",
            DialectKind::Apache => "apache",
            DialectKind::Caddy => "caddy",
            DialectKind::Php => "php",
            DialectKind::Html => "html",
        }
    }

    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            DialectKind::Nginx => &nginx::Nginx,
            DialectKind::Apache => &apache::Apache,
            DialectKind::Caddy => &caddy::Caddy,
            DialectKind::Php => &php::Php,
            DialectKind::Html => &html::Html,
        }
    }
}

/// What a configuration format must do for csppatch.
pub trait Dialect: Send + Sync {
    fn kind(&self) -> DialectKind;

    /// Locate every CSP site (and variable binding, variable reference, include) in `src`.
    /// A file the real server would refuse to parse is an `Err` with the file:line.
    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic>;

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

    /// The raw bytes that replace `site.span` so that the server sends `value`: the same
    /// quoting style as before, escaped for the format, on one logical line. `Err` says why
    /// the value cannot be written (nginx's 4096-byte argument limit, say).
    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String>;

    /// Checks that need the whole configuration (every file scanned, includes resolved), such
    /// as an nginx `location` whose own `add_header` drops the server's CSP.
    fn check_tree(&self, _files: &[TreeFile<'_>]) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// A scanned file as the tree-level checks see it.
pub struct TreeFile<'a> {
    pub path: &'a Path,
    pub src: &'a [u8],
    pub scan: &'a FileScan,
    /// For each of `scan.includes`, the files it resolved to (in glob order).
    pub included: &'a [Vec<std::path::PathBuf>],
    /// The configuration's main file (nginx.conf, apache2.conf, the top Caddyfile).
    pub is_root: bool,
}

/// Pick the dialect of a file by name, then by content. `None`: not a configuration csppatch
/// knows (a PEM file, an image, a README).
pub fn detect(path: &Path, head: &[u8]) -> Option<DialectKind> {
    // A template is the dialect of the file it renders to: `nginx.conf.j2` is nginx.
    if let Some(rendered) = crate::template::rendered_name(path) {
        let masked = crate::template::masked_head(path, head);
        return detect(&rendered, &masked).or_else(|| crate::template::fallback_dialect(path));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == ".htaccess" || name == "httpd.conf" || name == "apache2.conf" {
        return Some(DialectKind::Apache);
    }
    if name == "nginx.conf" {
        return Some(DialectKind::Nginx);
    }
    if name == "caddyfile" || name.starts_with("caddyfile.") || ext == "caddy" || ext == "caddyfile"
    {
        return Some(DialectKind::Caddy);
    }
    match ext.as_str() {
        "php" | "phtml" | "inc" if looks_like_php(head) => return Some(DialectKind::Php),
        "php" | "phtml" => return Some(DialectKind::Php),
        "html" | "htm" | "xhtml" | "shtml" | "twig" | "hbs" | "handlebars" | "mustache" | "erb"
        | "ejs" | "j2" | "jinja" | "njk" | "liquid" | "vue" | "svelte" | "astro" => {
            return Some(DialectKind::Html)
        }
        "pem" | "crt" | "key" | "png" | "jpg" | "jpeg" | "gif" | "ico" | "gz" | "zip" | "md"
        | "txt" | "json" | "yml" | "yaml" | "toml" | "js" | "css" | "sh" | "py" | "rs" | "pl"
        | "t" | "lua" | "orig" | "bak" | "swp" | "dpkg-dist" | "dpkg-old" => return None,
        _ => {}
    }
    sniff(head)
}

fn looks_like_php(head: &[u8]) -> bool {
    contains(head, b"<?php") || contains(head, b"<?=")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Tell nginx from Apache (and the rest) by content: Apache has `<Section>` tags and
/// `Directive value` lines without semicolons; nginx has `name args;` and `{` blocks.
fn sniff(head: &[u8]) -> Option<DialectKind> {
    if head.contains(&0) {
        return None;
    }
    if looks_like_php(head) {
        return Some(DialectKind::Php);
    }
    let text = String::from_utf8_lossy(head);
    let lower = text.to_ascii_lowercase();
    if lower.contains("<meta") || lower.contains("<!doctype html") || lower.contains("<html") {
        return Some(DialectKind::Html);
    }
    let (mut apache, mut nginx, mut caddy) = (0i32, 0i32, 0i32);
    for line in lower.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let first = t.split_whitespace().next().unwrap_or("");
        if t.starts_with("</")
            || t.starts_with("<virtualhost")
            || t.starts_with("<ifmodule")
            || t.starts_with("<directory")
            || t.starts_with("<location")
            || t.starts_with("<files")
        {
            apache += 3;
        }
        if matches!(
            first,
            "header"
                | "servername"
                | "documentroot"
                | "loadmodule"
                | "rewriteengine"
                | "rewriterule"
                | "options"
                | "allowoverride"
                | "require"
                | "serveralias"
                | "errorlog"
                | "customlog"
                | "sslengine"
                | "addtype"
                | "expiresactive"
                | "setenvif"
                | "headers"
        ) {
            apache += 1;
        }
        if t.ends_with(';') || t.ends_with('{') && !t.starts_with('<') {
            nginx += 1;
        }
        if matches!(
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
        ) && (t.ends_with(';') || t.ends_with('{'))
        {
            nginx += 2;
        }
        if matches!(
            first,
            "reverse_proxy"
                | "file_server"
                | "encode"
                | "tls"
                | "php_fastcgi"
                | "respond"
                | "handle"
                | "handle_path"
                | "route"
                | "redir"
                | "import"
        ) && !t.ends_with(';')
        {
            caddy += 2;
        }
        if t.starts_with(':') && t.ends_with('{')
            || t.ends_with('{') && first.contains('.') && !t.ends_with(';')
        {
            caddy += 1;
        }
    }
    let best = apache.max(nginx).max(caddy);
    if best == 0 {
        None
    } else if best == nginx {
        Some(DialectKind::Nginx)
    } else if best == apache {
        Some(DialectKind::Apache)
    } else {
        Some(DialectKind::Caddy)
    }
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
