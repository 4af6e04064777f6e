//! A real browser for the HTML dialect's oracles: headless Chromium with a fresh profile, and
//! a tiny static HTTP server on 127.0.0.1 that records what was requested.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Path -> (content type, body).
pub type Files = HashMap<String, (String, Vec<u8>)>;

/// Serves `files` on 127.0.0.1:`port` (HTTP/1.1, `Connection: close`) until dropped.
pub struct StaticServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl StaticServer {
    pub fn start(files: Files) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let files = Arc::new(files);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (files, requests) = (files.clone(), requests2.clone());
                // One thread per connection: Chromium opens sockets it may never use.
                std::thread::spawn(move || serve(conn, &files, &requests));
            }
        });
        StaticServer {
            port,
            stop,
            requests,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut conn: TcpStream, files: &Files, requests: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    if let Ok(mut r) = requests.lock() {
        r.push(target);
    }
    let response = match files.get(&path) {
        Some((ctype, body)) => {
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
                 Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            head.extend_from_slice(body);
            head
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    let _ = conn.write_all(&response);
}

/// The DOM of `url` after its scripts ran, as headless Chromium serializes it.
pub fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("temp dir");
    let out = Command::new("timeout")
        .arg("90")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Text between `<pre id="NAME">` and `</pre>` in a dumped DOM (no markup inside).
pub fn pre_text(dom: &str, id: &str) -> Option<String> {
    let open = format!("<pre id=\"{id}\">");
    let start = dom.find(&open)? + open.len();
    let end = dom[start..].find("</pre>")? + start;
    Some(dom[start..end].to_string())
}

/// `encodeURIComponent` undone (the probe writes values that way so that the DOM
/// serialization cannot change them).
pub fn uri_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Appended to a page: writes every `<meta>` element of the document (http-equiv, content,
/// parent element), URI-encoded, into `<pre id="metas">`.
pub const META_PROBE: &str = r#"
(function () {
  var lines = [];
  document.querySelectorAll('meta').forEach(function (m) {
    var parts = [m.getAttribute('http-equiv'), m.getAttribute('content'),
                 m.parentElement ? m.parentElement.localName : ''];
    lines.push(parts.map(function (p) { return p === null ? '-' : 'v' + encodeURIComponent(p); }).join(' '));
  });
  var pre = document.createElement('pre');
  pre.id = 'metas';
  pre.textContent = lines.join('\n');
  document.documentElement.appendChild(pre);
})();
"#;

/// One `<meta>` as the DOM has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomMeta {
    pub http_equiv: Option<String>,
    pub content: Option<String>,
    pub parent: String,
}

/// Parse what `META_PROBE` wrote.
pub fn dom_metas(dom: &str) -> Option<Vec<DomMeta>> {
    let text = pre_text(dom, "metas")?;
    let field = |s: &str| s.strip_prefix('v').map(uri_decode);
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                DomMeta {
                    http_equiv: field(f[0]),
                    content: field(f[1]),
                    parent: field(f[2]).unwrap_or_default(),
                }
            })
            .collect(),
    )
}

/// A page as served: the fixture bytes with a probe script appended.
pub fn with_probe(page: &[u8]) -> Vec<u8> {
    let mut out = page.to_vec();
    out.extend_from_slice(b"\n<script src=\"/probe.js\"></script>\n");
    out
}

/// Every HTML fixture, plus the MuseRelay meta snippet as published.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/html");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.push((
        "muserelay-meta.html".into(),
        std::fs::read(super::seed("muserelay-meta.html")).expect("seed"),
    ));
    out.sort();
    out
}
