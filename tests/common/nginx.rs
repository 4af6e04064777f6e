//! A real nginx for tests: `nginx -t` on a file, and a server on 127.0.0.1:`free_port()` whose
//! every file (pid, logs, temp dirs) lives in a `TempDir`, stopped when dropped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let mut conf = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n{pre}    server {{\n        listen 127.0.0.1:{port};\n        server_name localhost;\n",
        d = dir.display(),
        pre = http_preamble(dir),
    )
    .into_bytes();
    conf.extend_from_slice(server_body);
    conf.extend_from_slice(b"\n    }\n}\n");
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

/// A running nginx; killed on drop.
pub struct Server {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Server {
    /// Start nginx with the server block body `server_body`.
    pub fn serve(server_body: &[u8]) -> Result<Server, String> {
        Self::start(|dir, port| wrap_server(dir, port, server_body))
    }

    /// Start nginx with the configuration `conf(dir, port)` written to `dir/nginx.conf`.
    pub fn start(conf: impl FnOnce(&Path, u16) -> Vec<u8>) -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = super::free_port();
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf(dir.path(), port)).map_err(|e| e.to_string())?;
        Self::start_file(dir, &conf_path, port)
    }

    /// Start nginx on an existing main config (a whole tree under test) that listens on
    /// 127.0.0.1:`port`; `dir` holds nginx's prefix (temp files) and is removed with the server.
    pub fn start_file(
        dir: tempfile::TempDir,
        conf_path: &Path,
        port: u16,
    ) -> Result<Server, String> {
        nginx_t(conf_path)?;
        let child = Command::new(nginx_bin())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(conf_path)
            .arg("-g")
            .arg("daemon off; master_process off;")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn nginx: {e}"))?;
        let mut server = Server { port, dir, child };
        if !server.wait_ready() {
            let mut err = String::new();
            if let Some(mut e) = server.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(format!("nginx did not start on port {port}: {err}"));
        }
        Ok(server)
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// GET `path` and return the raw response head (status line and headers, CRLFs included).
    pub fn head(&self, path: &str) -> Vec<u8> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read response");
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of headers");
        raw.truncate(end + 2);
        raw
    }

    /// The raw values of every `name:` header line, exactly as sent. A value ends at the CRLF
    /// that is followed by the next header name nginx wrote (or the end of the head), so raw
    /// line breaks inside a value are kept.
    pub fn header_values(&self, path: &str, name: &str) -> Vec<Vec<u8>> {
        split_headers(&self.head(path))
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect()
    }
}

/// Split a raw head into (name, value). nginx writes `Name: value\r\n` for each header, so a
/// line that does not start with a token followed by `: ` continues the previous value.
pub fn split_headers(head: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut lines = Vec::new();
    let mut start = 0;
    for i in 0..head.len().saturating_sub(1) {
        if &head[i..i + 2] == b"\r\n" {
            lines.push(start..i);
            start = i + 2;
        }
    }
    for (n, range) in lines.iter().enumerate() {
        let line = &head[range.clone()];
        let header = line
            .iter()
            .position(|&b| b == b':')
            .filter(|&c| {
                c > 0
                    && line[..c]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            })
            .filter(|&c| line.get(c + 1) == Some(&b' '));
        match header {
            Some(c) if n > 0 => out.push((
                String::from_utf8_lossy(&line[..c]).into_owned(),
                line[c + 2..].to_vec(),
            )),
            _ if n == 0 => {}
            _ => {
                if let Some(last) = out.last_mut() {
                    last.1.extend_from_slice(b"\r\n");
                    last.1.extend_from_slice(line);
                }
            }
        }
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
