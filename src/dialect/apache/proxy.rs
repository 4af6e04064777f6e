//! APA312: a policy mod_headers sends beside the one a proxied backend sends.
//!
//! Which of mod_headers' two tables a backend's headers land in depends on the protocol
//! (measured with httpd 2.4 and a backend that sends its own policy, tests/e2e/upstream_csp_servers.rs):
//!
//! - `http`/`https`/`h2`/`ws` (mod_proxy_http), `uwsgi` and `ajp` read the backend's response
//!   into `headers_out`, the `onsuccess` table: `Header set` replaces the backend's policy,
//!   `Header always set` (in `err_headers_out`) is sent beside it;
//! - `fcgi` and `scgi` read it as a CGI response (`ap_scan_script_header_err_brigade_ex`),
//!   which merges the headers into `err_headers_out`, the `always` table: there `Header
//!   always set` replaces it and `Header set` is sent beside it.
//!
//! An `unset` (or a `set`) in the backend's table clears the backend's policy, in any order,
//! except with `early`, which runs before the backend answers. A `Header` line in a
//! `<Directory>` or `<Files>` section does not apply to a request `ProxyPass` maps to a URL.

use std::path::Path;

use crate::diag::{line_col, Diagnostic};
use crate::site::Disposition;

use super::header::{spelled, Action, Table};
use super::sections::Document;
use super::{location, CspHeader};

/// A directive that hands requests to a backend.
struct Pass {
    /// `ProxyPass`, `SetHandler`...
    directive: String,
    /// The backend as written (`http://app:3000/`, `proxy:fcgi://127.0.0.1:9000`).
    target: String,
    /// The table the backend's headers land in.
    table: Table,
    /// Maps a URL (`ProxyPass`, `ProxyPassMatch`, `RewriteRule [P]`) rather than a handler
    /// for files (`SetHandler "proxy:..."`).
    url_mapped: bool,
    chain: Vec<usize>,
    start: usize,
}

/// The table a backend's headers land in, from its URL's scheme (after a `unix:...|`
/// socket path). An unknown scheme (a variable, `balancer://`) is taken as HTTP.
fn backend_table(url: &str) -> Table {
    let url = url.rsplit('|').next().unwrap_or(url);
    let scheme = url.split("://").next().unwrap_or_default();
    if scheme.eq_ignore_ascii_case("fcgi") || scheme.eq_ignore_ascii_case("scgi") {
        Table::Always
    } else {
        Table::OnSuccess
    }
}

fn is_url(text: &str) -> bool {
    text.contains("://") || text.to_ascii_lowercase().starts_with("unix:")
}

/// The proxying directives of the file.
fn passes(config: &Document) -> Vec<Pass> {
    let mut out = Vec::new();
    for d in &config.directives {
        let name = d.name.text();
        let lower = name.to_ascii_lowercase();
        let (target, url_mapped) = match lower.as_str() {
            "proxypass" | "proxypassmatch" => {
                // `ProxyPass /path !` excludes a path; inside `<Location>` the path is implied.
                if d.args.iter().take(2).any(|w| w.text() == "!") {
                    continue;
                }
                let Some(w) = d.args.iter().take(2).find(|w| is_url(&w.text())) else {
                    continue;
                };
                (w, true)
            }
            "rewriterule" => {
                let Some(flags) = d.args.get(2) else { continue };
                let flags = flags.text();
                let flags = flags.trim_start_matches('[').trim_end_matches(']');
                let proxied = flags.split(',').any(|f| {
                    let f = f.trim();
                    f.eq_ignore_ascii_case("P") || f.eq_ignore_ascii_case("proxy")
                });
                let Some(w) = d.args.get(1).filter(|_| proxied) else {
                    continue;
                };
                (w, true)
            }
            "sethandler" | "addhandler" => {
                let Some(w) = d.args.first() else { continue };
                if !w.text().to_ascii_lowercase().starts_with("proxy:") {
                    continue;
                }
                (w, false)
            }
            _ => continue,
        };
        let text = target.text();
        let url = text
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("proxy:"))
            .map_or(text.as_str(), |_| &text[6..]);
        out.push(Pass {
            directive: name,
            target: text.clone(),
            table: backend_table(url),
            url_mapped,
            chain: config.chain(d.section),
            start: d.name.span.start,
        });
    }
    out
}

fn is_filesystem(config: &Document, section: usize) -> bool {
    let name = config.sections[section].name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "directory" | "directorymatch" | "files" | "filesmatch"
    )
}

fn vhost(config: &Document, chain: &[usize]) -> Option<usize> {
    chain.iter().copied().find(|&i| {
        config.sections[i]
            .name
            .eq_ignore_ascii_case("VirtualHost")
    })
}

/// A `<Location>` path (not a regular expression).
fn plain_location(config: &Document, section: usize) -> Option<String> {
    let s = &config.sections[section];
    let path = s.args.trim_matches(|c| c == '"' || c == '\'');
    (s.name.eq_ignore_ascii_case("Location") && !path.starts_with('~')).then(|| path.to_string())
}

/// Does a `Header` line in `header` apply to the requests `pass` hands on? Two different
/// `<VirtualHost>`s serve different requests, and so do two `<Location>`s of which neither
/// path starts the other; a `<Directory>`/`<Files>` section of the header's own does not apply
/// to a URL mapped to a backend; other sections may overlap. `enclosing`: only a header in
/// a section around the pass (or at its level) counts, one that surely applies.
fn reaches(config: &Document, header: &[usize], pass: &Pass, enclosing: bool) -> bool {
    if let (Some(a), Some(b)) = (vhost(config, header), vhost(config, &pass.chain)) {
        if a != b {
            return false;
        }
    }
    let common = header
        .iter()
        .zip(&pass.chain)
        .take_while(|(a, b)| a == b)
        .count();
    if enclosing && common < header.len() {
        return false;
    }
    if let (Some(&a), Some(&b)) = (header.get(common), pass.chain.get(common)) {
        if let (Some(x), Some(y)) = (plain_location(config, a), plain_location(config, b)) {
            if !(x.starts_with(&y) || y.starts_with(&x)) {
                return false;
            }
        }
    }
    !(pass.url_mapped && header[common..].iter().any(|&s| is_filesystem(config, s)))
}

pub(crate) fn notes(path: &Path, src: &[u8], config: &Document, csp: &[CspHeader<'_>]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for pass in passes(config) {
        // The backend's policy is cleared by an unset or a set in its table.
        let cleared = csp.iter().any(|h| {
            h.disposition == Disposition::Enforce
                && h.header.table == pass.table
                && matches!(h.header.action, Action::Unset | Action::Set)
                // `early` runs before the backend answers; env=/expr= only sometimes.
                && h.header.condition.is_none()
                && reaches(config, &h.chain, &pass, true)
        });
        if cleared {
            continue;
        }
        let Some(ours) = csp.iter().find(|h| {
            h.site.is_some()
                && h.disposition == Disposition::Enforce
                && h.header.table != pass.table
                && reaches(config, &h.chain, &pass, false)
        }) else {
            continue;
        };
        let (line, _) = line_col(src, ours.start);
        let (backend_table, why) = match pass.table {
            Table::OnSuccess => ("onsuccess", "headers_out"),
            Table::Always => ("always", "err_headers_out, as for a CGI script"),
        };
        out.push(
            Diagnostic::note(
                "APA312",
                format!(
                    "`{} {}` hands requests to a backend: if the application sends its own \
                     Content-Security-Policy, httpd passes it on in the `{backend_table}` table \
                     ({why}), beside the one `{}` sends at line {line} in the `{}` table; \
                     browsers enforce both, and the vendor must be allowed by the \
                     application's policy too, which csppatch cannot read",
                    pass.directive,
                    pass.target,
                    ours.header.written(),
                    ours.header.table.keyword(),
                ),
            )
            .at(location(path, src, pass.start))
            .with_help(format!(
                "see what a browser receives with `csppatch probe <url> --vendor NAME`; if the \
                 application's policy should not apply, `{} Content-Security-Policy` (without \
                 `early`) where this policy is set drops it, or send this policy with `{}`, \
                 which replaces it",
                spelled(pass.table, "unset"),
                spelled(pass.table, "set"),
            )),
        );
    }
    out
}

