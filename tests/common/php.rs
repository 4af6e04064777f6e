//! A real PHP 8.2 for the PHP dialect's oracles: `php -S` on 127.0.0.1 as a [`Server`], a
//! router that stands in for the parts of WordPress that send headers, and `php -l`.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::fmt::Write as _;

use csppatch::diag::line_col;
use csppatch::site::{FileScan, Site};

use super::free_port;
use super::server::Server;

/// `php -S 127.0.0.1:<port> -t <docroot> [router]`; `ini`: extra `-d` settings such as
/// `output_buffering=0`. Warnings ("headers already sent", "new line detected") are in
/// [`Server::log`].
pub fn start(docroot: &Path, router: Option<&Path>, ini: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = Command::new("php");
    // A fixed php.ini baseline so that the machine's php.ini does not change the results.
    cmd.args(["-n", "-d", "output_buffering=0", "-d", "short_open_tag=0"]);
    cmd.args(["-d", "display_errors=0", "-d", "log_errors=1"]);
    for setting in ini {
        cmd.args(["-d", setting]);
    }
    cmd.arg("-S")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-t")
        .arg(docroot);
    if let Some(r) = router {
        cmd.arg(r);
    }
    Server::start("php -S", cmd, port, Vec::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// `php -l`: PHP's own parser, the validator the pipeline uses.
pub fn lint(path: &Path) -> Result<(), String> {
    let out = Command::new("php")
        .args(["-n", "-l"])
        .arg(path)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The parts of WordPress's plugin API (wp-includes/plugin.php) that themes call:
/// `add_action`, `add_filter`, and `csppatch_apply` standing in for `do_action` /
/// `apply_filters`.
macro_rules! wp_hooks {
    () => {
        r#"<?php
$GLOBALS['csppatch_hooks'] = [];
function add_action($hook, $callback, $priority = 10, $accepted_args = 1) {
    $GLOBALS['csppatch_hooks'][$hook][] = $callback;
    return true;
}
function add_filter($hook, $callback, $priority = 10, $accepted_args = 1) {
    return add_action($hook, $callback, $priority, $accepted_args);
}
function csppatch_apply($hook, $value = null) {
    foreach ($GLOBALS['csppatch_hooks'][$hook] ?? [] as $callback) {
        $result = call_user_func($callback, $value);
        if ($value !== null) {
            $value = $result;
        }
    }
    return $value;
}"#
    };
}

/// A router for `php -S` that includes the requested fixture as WordPress includes a theme's
/// functions.php, then does what `WP::send_headers()` (wp-includes/class-wp.php) does: apply
/// the `wp_headers` filter and send each entry with `header("{$name}: {$field_value}")`, fire
/// `send_headers`; then `template_redirect`, start the page, and fire `wp_head`.
pub const WP_ROUTER: &str = concat!(
    wp_hooks!(),
    r#"
function csppatch_nonce() { return 'bm9uY2U'; }
$fixture = __DIR__ . '/' . basename(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
require $fixture;
csppatch_apply('init');
$headers = csppatch_apply('wp_headers', ['X-Router' => 'wp']);
foreach ((array) $headers as $name => $field_value) {
    header("{$name}: {$field_value}");
}
csppatch_apply('send_headers');
csppatch_apply('template_redirect');
echo "<!doctype html><html><head>";
csppatch_apply('wp_head');
echo "</head><body>ok</body></html>";
"#
);

/// A docroot holding the router: copy fixtures into `dir` and request `/<name>`.
pub fn wp_docroot() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = dir.path().join("wp-router.php");
    std::fs::write(&router, WP_ROUTER).expect("router");
    (dir, router)
}

/// A router that serves one theme as WordPress would: `require` its functions.php at its real
/// path, send the headers (`wp_headers`, then `send_headers`), and print `page.html` from the
/// docroot with every `{{nonce}}` replaced by this request's nonce. `csppatch_nonce()` returns
/// a fresh random nonce per request, as a theme's nonce helper does. Other files of the
/// docroot (the probe script) are served as they are.
pub fn theme_router(functions_php: &Path) -> String {
    format!(
        "{}{}",
        wp_hooks!(),
        THEME_ROUTER_TAIL.replace("__FUNCTIONS_PHP__", &php_single_quoted(functions_php))
    )
}

const THEME_ROUTER_TAIL: &str = r#"
function csppatch_nonce() {
    static $nonce = null;
    return $nonce ??= base64_encode(random_bytes(12));
}
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && is_file(__DIR__ . $path)) {
    return false;
}
require __FUNCTIONS_PHP__;
csppatch_apply('init');
$headers = csppatch_apply('wp_headers', ['X-Router' => 'theme']);
foreach ((array) $headers as $name => $field_value) {
    header("{$name}: {$field_value}");
}
csppatch_apply('send_headers');
header('X-Nonce: ' . csppatch_nonce());
echo str_replace('{{nonce}}', csppatch_nonce(), file_get_contents(__DIR__ . '/page.html'));
"#;

/// `path` as a PHP single-quoted string literal.
fn php_single_quoted(path: &Path) -> String {
    let s = path.display().to_string();
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The widget probe page (`super::widget`) for a nonce-based policy: the probe script and an
/// inline script of the site's own carry the request's nonce (`{{nonce}}`, filled in by
/// [`theme_router`]). The inline script counts as the site's own code: if a patch broke the
/// site's nonce, Chromium reports it as `script-src-elem inline`.
pub fn probe_page(loads: &[(super::widget::Load, &str)]) -> String {
    let page = super::widget::page(loads);
    let probe = "<script src=\"/csp-probe.js\"></script>";
    assert!(page.contains(probe), "the probe page changed: {page}");
    page.replace(
        probe,
        "<script nonce=\"{{nonce}}\">document.documentElement.dataset.own = 'ran';</script>\n\
         <script nonce=\"{{nonce}}\" src=\"/csp-probe.js\"></script>",
    )
}

/// `php -S` serving `functions_php` through [`theme_router`], with the widget probe page over
/// `loads` (the docroot is the server's, removed with it).
pub fn serve_theme(functions_php: &Path, loads: &[(super::widget::Load, &str)]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = dir.path().join("router.php");
    std::fs::write(&router, theme_router(functions_php)).expect("router");
    std::fs::write(dir.path().join("page.html"), probe_page(loads)).expect("page");
    std::fs::write(dir.path().join("csp-probe.js"), super::widget::PROBE_JS).expect("probe");
    start(dir.path(), Some(&router), &[]).keep(dir)
}

/// Every PHP fixture, plus the MuseRelay snippet wrapped in `<?php` as a functions.php is.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/php");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read fixture"))
        })
        .collect();
    let mut seed = b"<?php\n".to_vec();
    seed.extend(std::fs::read(super::seed("muserelay-functions.php")).expect("seed snippet"));
    out.push(("muserelay-functions.php".into(), seed));
    out.sort();
    out
}

/// `received` equals the site's text, where each opaque part matches any run of text.
pub fn matches(site: &Site, received: &str) -> bool {
    let text = &site.value.text;
    let mut literal = Vec::new();
    let mut last = 0;
    for o in &site.value.opaque {
        literal.push(&text[last..o.start]);
        last = o.end;
    }
    literal.push(&text[last..]);
    if literal.len() == 1 {
        return received == text;
    }
    let (first, rest) = literal.split_first().unwrap();
    let Some(mut tail) = received.strip_prefix(first) else {
        return false;
    };
    for (i, piece) in rest.iter().enumerate() {
        if i == rest.len() - 1 {
            return tail.ends_with(piece);
        }
        match tail.find(piece) {
            Some(k) => tail = &tail[k + piece.len()..],
            None => return false,
        }
    }
    true
}

// Rendering of find() output for the snapshot tests of both the PHP and the HTML dialect.

/// A site's text with its opaque parts marked.
pub fn marked(site: &Site) -> String {
    let text = &site.value.text;
    let mut out = String::new();
    let mut last = 0;
    for o in &site.value.opaque {
        out.push_str(&text[last..o.start]);
        write!(out, "⟦{}⟧", &text[o.clone()]).unwrap();
        last = o.end;
    }
    out.push_str(&text[last..]);
    out
}

pub fn render(src: &[u8], scan: &FileScan) -> String {
    let mut out = String::new();
    for (i, s) in scan.sites.iter().enumerate() {
        let (l1, c1) = line_col(src, s.span.start);
        let (l2, c2) = line_col(src, s.span.end);
        writeln!(
            out,
            "site {i}: {:?} {:?} at {l1}:{c1}-{l2}:{c2}",
            s.disposition, s.delivery
        )
        .unwrap();
        writeln!(out, "  context: {}", s.context).unwrap();
        writeln!(out, "  value:   {:?}", marked(s)).unwrap();
        if let Some(r) = &s.repaired {
            writeln!(out, "  repaired ({}): {:?}", r.code, r.text).unwrap();
        }
        if let Some(r) = &s.refusal {
            writeln!(out, "  refusal: {r}").unwrap();
        }
    }
    for d in &scan.diagnostics {
        let at = d
            .location
            .as_ref()
            .map_or(String::new(), |l| format!("{}:{} ", l.line, l.col));
        writeln!(out, "{at}{} {}: {}", d.severity, d.code, d.message).unwrap();
    }
    if out.is_empty() {
        out.push_str("(nothing found)\n");
    }
    out
}
