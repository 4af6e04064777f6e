//! A real nginx for tests: `nginx -t` on a file, and nginx as a [`Server`] on
//! 127.0.0.1:`free_port()` whose every file (pid, logs, temp dirs) lives in a `TempDir`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::server::Server;

fn nginx_bin() -> PathBuf {
    let sbin = Path::new("/usr/sbin/nginx");
    if sbin.exists() {
        sbin.to_path_buf()
    } else {
        PathBuf::from("nginx")
    }
}

/// The `http { }` preamble that keeps nginx's temp files and logs inside `dir`.
fn http_preamble(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n"
    )
}

/// A complete nginx.conf serving `server_body` (raw bytes, kept exactly: CRLF, escapes) on
/// 127.0.0.1:`port`.
pub fn wrap_server(dir: &Path, port: u16, server_body: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "    server {{\n        listen 127.0.0.1:{port};\n        server_name localhost;\n"
    )
    .into_bytes();
    body.extend_from_slice(server_body);
    body.extend_from_slice(b"\n    }\n");
    wrap_http(dir, &body)
}

/// A complete nginx.conf whose `http { }` block holds `http_body` (its `server`s) as it is.
pub fn wrap_http(dir: &Path, http_body: &[u8]) -> Vec<u8> {
    let mut conf = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n{pre}",
        d = dir.display(),
        pre = http_preamble(dir),
    )
    .into_bytes();
    conf.extend_from_slice(http_body);
    conf.extend_from_slice(b"}\n");
    conf
}

/// `nginx -t` on `conf` as the main configuration: `Ok(())` or nginx's `[emerg]` message.
pub fn nginx_t(conf: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(nginx_bin())
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -t");
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let emerg = stderr
        .lines()
        .find(|l| l.contains("[emerg]"))
        .map(|l| l.split("[emerg] ").nth(1).unwrap_or(l).to_string())
        .unwrap_or(stderr);
    // "12#12: message in /path:3" -> "message in /path:3"
    let emerg = match emerg.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest.to_string(),
        _ => emerg,
    };
    Err(emerg)
}

/// nginx serving the server block body `server_body`.
pub fn serve(server_body: &[u8]) -> Result<Server, String> {
    start(|dir, port| wrap_server(dir, port, server_body))
}

/// nginx serving the configuration `conf(dir, port)`, written to `dir/nginx.conf`.
pub fn start(conf: impl FnOnce(&Path, u16) -> Vec<u8>) -> Result<Server, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = super::free_port();
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf(dir.path(), port)).map_err(|e| e.to_string())?;
    start_file(dir, &conf_path, port)
}

/// nginx on an existing main config (a whole tree under test) that listens on
/// 127.0.0.1:`port`; `dir` holds nginx's prefix (temp files) and is removed with the server.
pub fn start_file(dir: tempfile::TempDir, conf_path: &Path, port: u16) -> Result<Server, String> {
    nginx_t(conf_path)?;
    let mut cmd = Command::new(nginx_bin());
    cmd.arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(conf_path)
        .arg("-g")
        .arg("daemon off; master_process off;");
    let log = dir.path().join("error.log");
    Ok(Server::start("nginx", cmd, port, vec![log])?
        .host("localhost")
        .keep(dir))
}
