//! `nginx -t` for a main config, and the wrapper main config that lets `nginx -t` check vhost
//! files no main config includes.

use std::io::Write;

use crate::dialect::ConfigFile;
use crate::validator::{self, find_binary, quoted, Validator};

pub fn main_config(root: &ConfigFile<'_>) -> Result<Validator, String> {
    Ok(Validator::new(vec![
        find_binary(&["nginx"])?,
        "-t".into(),
        "-c".into(),
        root.target.display().to_string(),
    ]))
}

/// A minimal main config that includes `files` inside `http` (those that hold server-only
/// directives inside a `server` of their own), in a scratch directory that mirrors the files'
/// server directory with symlinks so that their relative includes still resolve.
pub fn wrapper(files: &[ConfigFile<'_>]) -> Result<Validator, String> {
    let scratch = validator::mirrored_scratch(files.first().map(|f| f.target))?;
    let dir = scratch.path();
    let main = dir.join("csppatch-validate.conf");
    let mut conf = Vec::new();
    let _ = writeln!(
        conf,
        "pid {};\nerror_log {};\nevents {{}}\nhttp {{",
        quoted(&dir.join("nginx.pid")),
        quoted(&dir.join("error.log"))
    );
    for f in files {
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
    conf.extend_from_slice(b"}\n");
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
    Ok(Validator::new(argv).keeping(scratch))
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
