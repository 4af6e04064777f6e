//! Shared test support: snapshot settings, real binaries, the shared corpus and seed snippets.
#![allow(dead_code)]

pub mod apache;
pub mod browser;
pub mod caddy;
pub mod nginx;
pub mod php;
pub mod probe;
pub mod pytools;
pub mod tree;
pub mod widget;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Insta settings that keep snapshots under `snapshots/<area>/` at the crate root.
pub fn snapshots(area: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("snapshots")
            .join(area),
    );
    s.set_prepend_module_to_snapshot(false);
    s
}

/// `../shared` next to the project: the corpus and the vendors' seed snippets.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus")
}

pub fn seed(name: &str) -> PathBuf {
    shared_dir().join("seed-snippets").join(name)
}

pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// Whether `bin` can run. In CI a missing binary fails the test loudly; elsewhere the test
/// prints why it skips and returns early.
#[must_use]
pub fn have(bin: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(bin).exists();
    if !found {
        if in_ci() {
            panic!("`{bin}` is required in CI (CI=true) and is missing: .ci/run must install it");
        }
        eprintln!("SKIPPED: `{bin}` is not installed (outside CI, so skipping)");
    }
    found
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

/// The csppatch binary built for these tests.
pub fn csppatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_csppatch"))
}

/// Wait until something accepts connections on 127.0.0.1:`port` (up to ~10 s).
pub fn wait_for_port(port: u16) -> bool {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// A response as received: status line and headers in order, names as sent, values as raw bytes.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of header `name` (case-insensitive), in the order received.
    pub fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    pub fn csp(&self) -> Vec<String> {
        self.header_values("content-security-policy")
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
}

/// GET http://127.0.0.1:`port``path` with HTTP/1.0 (no chunking, the server closes), parsing
/// the header block byte for byte so that a raw newline inside a value is seen as sent.
pub fn http_get(port: u16, path: &str, host: &str) -> std::io::Result<Response> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    // One write: php -S rejects a request line that arrives in pieces ("Malformed HTTP
    // request"), and `write!` on a TcpStream writes each formatted piece separately.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no end of headers"))?;
    let head = &raw[..end];
    let body = raw[end + 4..].to_vec();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        if (line.starts_with(b" ") || line.starts_with(b"\t")) && !headers.is_empty() {
            // obs-fold: a continuation of the previous value, kept with its newline so the
            // test sees exactly what the server sent.
            let last = headers.last_mut().unwrap();
            last.1.push(b'\n');
            last.1.extend_from_slice(line);
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
            let mut value = &line[colon + 1..];
            while value.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                value = &value[1..];
            }
            headers.push((name, value.to_vec()));
        } else if !headers.is_empty() {
            let last = headers.last_mut().unwrap();
            last.1.push(b'\n');
            last.1.extend_from_slice(line);
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}
