//! `nginx -t` for a main config, and the wrapper main config that lets `nginx -t` check vhost
//! files no main config includes.

use std::io::Write;
use std::path::Path;

use crate::dialect::ConfigFile;
use crate::validator::{find_binary, quoted, Validator};

pub fn main_config(root: &ConfigFile<'_>) -> Result<Validator, String> {
    Ok(Validator::new(vec![
        find_binary(&["nginx"])?,
        "-t".into(),
        "-c".into(),
        root.target.display().to_string(),
    ]))
}

/// The headers-more module, loaded into a wrapper for files that use `more_set_headers`.
const HEADERS_MORE: &str = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so";

/// A minimal main config in `dir` that includes `files` inside `http` (those that hold
/// server-only directives inside a `server` of their own; a whole main config, with its own
/// `http` or `events`, at the top level).
pub fn wrapper(dir: &Path, files: &[ConfigFile<'_>]) -> Result<Validator, String> {
    let main = dir.join("csppatch-validate.conf");
    let mut conf = Vec::new();
    let more = Path::new(HEADERS_MORE);
    if more.is_file() && files.iter().any(|f| memmem(f.src, b"more_set_headers")) {
        let _ = writeln!(conf, "load_module {};", quoted(more));
    }
    let _ = writeln!(
        conf,
        "pid {};\nerror_log {};",
        quoted(&dir.join("nginx.pid")),
        quoted(&dir.join("error.log"))
    );
    let (whole, parts): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|f| has_block(f.src, b"http") || has_block(f.src, b"events"));
    for f in &whole {
        let _ = writeln!(conf, "include {};", quoted(f.target));
    }
    if whole.is_empty() {
        conf.extend_from_slice(b"events {}\n");
    }
    if !parts.is_empty() || whole.is_empty() {
        conf.extend_from_slice(b"http {\n");
    }
    for f in &parts {
        if !needs_server_block(f.src) {
            let _ = writeln!(conf, "    include {};", quoted(f.target));
        } else {
            let _ = writeln!(
                conf,
                "    server {{\n        listen 127.0.0.1:8;\n        include {};\n    }}",
                quoted(f.target)
            );
        }
    }
    if !parts.is_empty() || whole.is_empty() {
        conf.extend_from_slice(b"}\n");
    }
    std::fs::write(&main, &conf).map_err(|e| {
        format!(
            "cannot validate: cannot write the wrapper config {}: {e}",
            main.display()
        )
    })?;
    let argv = vec![
        find_binary(&["nginx"])?,
        "-t".into(),
        "-e".into(),
        dir.join("error.log").display().to_string(),
        "-c".into(),
        main.display().to_string(),
    ];
    Ok(Validator::new(argv))
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Must this nginx file be included inside a `server { }` to be valid? Only when its top
/// level holds what only a server (or location) takes: `location`, `listen`, `server_name`,
/// `if`, `return`, `rewrite`, `try_files`. Everything else (server and upstream blocks, maps,
/// `add_header` snippets) is valid at the http level.
fn needs_server_block(src: &[u8]) -> bool {
    const SERVER_ONLY: &[&str] = &[
        "location",
        "listen",
        "server_name",
        "if",
        "return",
        "rewrite",
        "try_files",
    ];
    match super::parse(src) {
        Ok(directives) => directives
            .iter()
            .any(|d| SERVER_ONLY.contains(&d.name.text(src).as_str())),
        Err(_) => !has_block(src, b"server"),
    }
}

/// Does the file have a top-level `NAME {` block (an nginx file of server blocks rather than a
/// snippet of directives for inside one)?
pub fn has_block(src: &[u8], name: &[u8]) -> bool {
    src.split(|&b| b == b'\n').any(|l| {
        let t = l.trim_ascii_start();
        t.starts_with(name) && t[name.len()..].trim_ascii_start().starts_with(b"{")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_server_files_from_snippets() {
        assert!(has_block(b"# x\nserver {\n listen 80;\n}\n", b"server"));
        assert!(!has_block(b"add_header X y;\nlocation / {}\n", b"server"));
        assert!(needs_server_block(b"location / {}\n"));
        assert!(!needs_server_block(b"add_header X y;\n"));
    }
}
