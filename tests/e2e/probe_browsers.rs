//! Where the CSP3 text and Chromium differ, `csppatch probe` must give Chromium's verdict, and
//! patch mode (`csppatch merge`) must agree with the probe. Each row of [`CASES`] is a page
//! served by a real nginx on 127.0.0.1 under its own `Content-Security-Policy` header, which
//! makes one load (an image, a blob worker, a fetch, a WebSocket, a frame, a redirected image)
//! in headless Chromium and reports whether a `securitypolicyviolation` fired. Then, per row:
//!
//! - the CSP3 column is our reading of the text (`Reading::Spec`), written by hand from
//!   §6.7.2 and checked against the code;
//! - Chromium's measured answer must be the table's;
//! - csppatch's verdict (`eval::allows`, what the probe calls) must be Chromium's;
//! - for a row with a requirement, the real `csppatch probe URL --allow ...` must give that
//!   verdict on the served page, and `csppatch merge --allow ... POLICY` must leave the policy
//!   unchanged exactly when the probe says "allowed".
//!
//! The page's origin is http://127.0.0.1:PORT; other hosts are `*.localhost`, which Chromium
//! resolves to the loopback address itself. Chromium reports a violation before any network
//! access, so a URL nobody listens on (an https:// or ws:// port) shows an allowed load as a
//! quiet network error and a blocked one as a violation. The table is README's
//! "How probe judges" section.
use crate::common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::browser::{pre_text, uri_decode};
use csppatch::csp::eval::{allows, allows_by, Browser, Destination, Origin, Reading, Request};
use csppatch::csp::parse::parse;
use csppatch::csp::probe::example_url;
use csppatch::csp::source::Source;
use serde_json::Value;

/// How a case page loads its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Img,
    /// A `blob:` image the page makes (the URL column is ignored).
    BlobImg,
    /// A `Worker` from a `blob:` URL the page makes.
    BlobWorker,
    /// A `data:` image.
    Img64,
    Fetch,
    Socket,
    Frame,
}

impl Load {
    fn js(self) -> &'static str {
        match self {
            Load::Img | Load::Img64 => "img",
            Load::BlobImg => "blob-img",
            Load::BlobWorker => "blob-worker",
            Load::Fetch => "fetch",
            Load::Socket => "socket",
            Load::Frame => "frame",
        }
    }

    fn destination(self) -> Destination {
        match self {
            Load::Img | Load::Img64 | Load::BlobImg => Destination::Image,
            Load::BlobWorker => Destination::Worker,
            Load::Fetch | Load::Socket => Destination::Connect,
            Load::Frame => Destination::Frame,
        }
    }
}

/// One row. In `policy`, `url` and `redirect`, `P` is the page's port (nginx) and `Q` a port
/// nobody listens on.
struct Case {
    name: &'static str,
    policy: &'static str,
    load: Load,
    url: &'static str,
    /// Where nginx redirects `url` (302).
    redirect: Option<&'static str>,
    /// The vendor requirement whose probe URL is `url`, for `csppatch probe` and `merge`.
    requirement: Option<&'static str>,
    /// Allowed by the CSP3 text (by hand).
    spec: bool,
    /// Allowed in Chromium (measured).
    chromium: bool,
}

const fn case(
    name: &'static str,
    policy: &'static str,
    load: Load,
    url: &'static str,
    requirement: Option<&'static str>,
    spec: bool,
    chromium: bool,
) -> Case {
    Case {
        name,
        policy,
        load,
        url,
        redirect: None,
        requirement,
        spec,
        chromium,
    }
}

const BLOB: &str = "blob:";
#[rustfmt::skip]
const CASES: &[Case] = &[
    // blob: and data: under 'self' and `*`.
    case("blob worker, 'self'", "worker-src 'self'", Load::BlobWorker, BLOB, Some("worker-src blob:"), true, false),
    case("blob worker, 'self' blob:", "worker-src 'self' blob:", Load::BlobWorker, BLOB, Some("worker-src blob:"), true, true),
    case("blob image, 'self'", "img-src 'self'", Load::BlobImg, BLOB, Some("img-src blob:"), true, false),
    case("blob image, *", "img-src *", Load::BlobImg, BLOB, Some("img-src blob:"), false, false),
    case("data image, 'self'", "img-src 'self'", Load::Img64, "data:image/gif;base64,R0lGODlhAQABAAAAACw=", Some("img-src data:"), false, false),
    case("data image, *", "img-src *", Load::Img64, "data:image/gif;base64,R0lGODlhAQABAAAAACw=", Some("img-src data:"), false, false),
    // `*` and WebSockets.
    case("ws://other host, *", "connect-src *", Load::Socket, "ws://other.localhost:Q/", Some("connect-src ws://other.localhost:Q"), false, true),
    case("wss://other host, *", "connect-src *", Load::Socket, "wss://other.localhost:Q/", Some("connect-src wss://other.localhost:Q"), false, true),
    case("ws://same host, 'self'", "connect-src 'self'", Load::Socket, "ws://127.0.0.1:P/", None, true, true),
    case("http fetch, ws:", "connect-src ws:", Load::Fetch, "http://other.localhost:Q/", Some("connect-src http://other.localhost:Q"), true, false),
    case("https fetch, wss:", "connect-src wss:", Load::Fetch, "https://other.localhost:Q/", Some("connect-src https://other.localhost:Q"), true, false),
    case("wss, ws:// same port", "connect-src ws://other.localhost:Q", Load::Socket, "wss://other.localhost:Q/", Some("connect-src wss://other.localhost:Q"), true, false),
    // Upgrades and ports.
    case("https, http:// same port", "img-src http://other.localhost:Q", Load::Img, "https://other.localhost:Q/a.png", Some("img-src https://other.localhost:Q/a.png"), true, false),
    case("https, http:// default port", "img-src http://other.localhost", Load::Img, "https://other.localhost/a.png", Some("img-src https://other.localhost/a.png"), true, true),
    case("https:443, http://:80", "img-src http://other.localhost:80", Load::Img, "https://other.localhost/a.png", Some("img-src https://other.localhost/a.png"), false, true),
    case("http, https:", "img-src https:", Load::Img, "http://other.localhost:Q/a.png", Some("img-src http://other.localhost:Q/a.png"), false, false),
    case("another port", "img-src http://other.localhost:P", Load::Img, "http://other.localhost:Q/a.png", Some("img-src http://other.localhost:Q/a.png"), false, false),
    // IP addresses.
    case("IP address, host-source", "img-src http://127.0.0.1:Q", Load::Img, "http://127.0.0.1:Q/a.png", Some("img-src http://127.0.0.1:Q/a.png"), false, true),
    case("IP address, *", "img-src *", Load::Img, "http://127.0.0.1:Q/a.png", Some("img-src http://127.0.0.1:Q/a.png"), true, true),
    // Frames are checked in Chromium's browser process.
    case("frame, https same port, 'self'", "frame-src 'self'", Load::Frame, "https://127.0.0.1:P/", None, true, false),
    case("frame, same origin, 'self'", "frame-src 'self'", Load::Frame, "http://127.0.0.1:P/framed", None, true, true),
    // Controls.
    case("'none'", "img-src 'none'", Load::Img, "http://127.0.0.1:P/a.png", None, false, false),
    case("path does not match", "img-src http://b.localhost:P/allowed/", Load::Img, "http://b.localhost:P/other/a.png", None, false, false),
    // Redirects: paths do not count after one, hosts do.
    Case {
        redirect: Some("http://b.localhost:P/other/a.png"),
        ..case("redirect, other path", "img-src 'self' http://b.localhost:P/allowed/", Load::Img, "http://127.0.0.1:P/r/1", None, true, true)
    },
    Case {
        redirect: Some("http://c.localhost:P/allowed/a.png"),
        ..case("redirect, other host", "img-src 'self' http://b.localhost:P/allowed/", Load::Img, "http://127.0.0.1:P/r/2", None, false, false)
    },
];

/// Listens first, makes the case's load, reports to the harness.
const CASE_JS: &str = r#"
const seen = [];
document.addEventListener('securitypolicyviolation', e => seen.push(e.effectiveDirective + ' ' + e.blockedURI));
const c = JSON.parse(document.getElementById('case').textContent);
let sent = false;
function finish(how) {
  if (sent) { return; }
  sent = true;
  // Violations are dispatched a task later; frames are reported by the browser process.
  setTimeout(() => parent.postMessage({ id: c.id, how, seen }, '*'), c.kind === 'frame' ? 1500 : 400);
}
setTimeout(() => finish('timeout'), 4000);
try {
  if (c.kind === 'img' || c.kind === 'blob-img') {
    const i = new Image();
    i.onload = () => finish('load');
    i.onerror = () => finish('error');
    i.src = c.kind === 'img' ? c.url
      : URL.createObjectURL(new Blob(['<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'], { type: 'image/svg+xml' }));
    document.body.appendChild(i);
  } else if (c.kind === 'blob-worker') {
    const w = new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })));
    w.onmessage = () => finish('load');
    w.onerror = () => finish('error');
  } else if (c.kind === 'fetch') {
    fetch(c.url).then(() => finish('load'), () => finish('error'));
  } else if (c.kind === 'socket') {
    const s = new WebSocket(c.url);
    s.onopen = () => finish('load');
    s.onerror = () => finish('error');
  } else if (c.kind === 'frame') {
    const f = document.createElement('iframe');
    f.onload = () => finish('load');
    f.src = c.url;
    document.body.appendChild(f);
  }
} catch (e) {
  finish('threw ' + e.name);
}
"#;

/// The page without a policy that frames every case and writes their reports.
const HARNESS_JS: &str = r#"
const ids = JSON.parse(document.getElementById('ids').textContent);
const got = {};
function done() {
  if (document.getElementById('all')) { return; }
  const out = document.createElement('pre');
  out.id = 'all';
  out.textContent = encodeURIComponent(JSON.stringify(got));
  document.body.appendChild(out);
}
window.addEventListener('message', e => {
  got[e.data.id] = e.data;
  if (Object.keys(got).length === ids.length) { done(); }
});
for (const id of ids) {
  const f = document.createElement('iframe');
  f.src = '/case/' + id;
  document.body.appendChild(f);
}
setTimeout(done, 20000);
"#;

fn ports(s: &str, p: u16, q: u16) -> String {
    s.replace(":P", &format!(":{p}"))
        .replace(":Q", &format!(":{q}"))
}

fn page(id: usize, c: &Case, p: u16, q: u16) -> String {
    let data = serde_json::json!({ "id": id, "kind": c.load.js(), "url": ports(c.url, p, q) });
    format!(
        "<!DOCTYPE html>\n<html><head><title>{}</title></head><body>\n\
         <script type=\"application/json\" id=\"case\">{data}</script>\n\
         <script src=\"/case.js\"></script>\n</body></html>\n",
        c.name
    )
}

/// nginx.conf: the harness, one location per case with its header, the redirects, a PNG.
fn nginx_conf(dir: &Path, p: u16, q: u16) -> Vec<u8> {
    let d = dir.display();
    let write = |name: &str, body: &[u8]| std::fs::write(dir.join(name), body).unwrap();
    let ids: Vec<usize> = (0..CASES.len()).collect();
    write(
        "index.html",
        format!(
            "<!DOCTYPE html>\n<html><head><title>harness</title></head><body>\n\
             <script type=\"application/json\" id=\"ids\">{}</script>\n\
             <script src=\"/harness.js\"></script>\n</body></html>\n",
            serde_json::to_string(&ids).unwrap()
        )
        .as_bytes(),
    );
    write("harness.js", HARNESS_JS.as_bytes());
    write("case.js", CASE_JS.as_bytes());
    write("framed.html", b"<!DOCTYPE html><p>framed</p>\n");
    // A 1x1 GIF (the smallest image every browser decodes).
    write("a.png", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;");
    let mut locations = String::new();
    for (id, c) in CASES.iter().enumerate() {
        write(&format!("case-{id}.html"), page(id, c, p, q).as_bytes());
        let _ = writeln!(
            locations,
            "        location = /case/{id} {{ add_header Content-Security-Policy \"{}\" always; \
             alias {d}/case-{id}.html; }}",
            ports(c.policy, p, q)
        );
        if let Some(to) = c.redirect {
            let from = ports(c.url, p, q);
            let path = &from[from.find("/r/").expect("a /r/ path")..];
            let _ = writeln!(
                locations,
                "        location = {path} {{ return 302 {}; }}",
                ports(to, p, q)
            );
        }
    }
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    \
         proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    \
         uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n    \
         types {{ text/html html; application/javascript js; image/gif png; }}\n    \
         default_type text/html;\n    server {{\n        listen 127.0.0.1:{p};\n        \
         server_name _;\n        root {d};\n        location = / {{ try_files /index.html =404; }}\n        \
         location = /framed {{ try_files /framed.html =404; }}\n        \
         location / {{ rewrite ^.*/([^/]+)$ /$1 break; }}\n{locations}    }}\n}}\n"
    )
    .into_bytes()
}

/// The harness's report, from one headless Chromium run: case id -> the report.
fn run_chromium(url: &str) -> Value {
    let profile = tempfile::tempdir().expect("temp dir");
    let out = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--virtual-time-budget=30000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let all = pre_text(&dom, "all").unwrap_or_else(|| {
        panic!(
            "no report in the DOM:\n{dom}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&uri_decode(&all)).expect("the report is JSON")
}

/// The request the row makes, as csppatch models it.
fn request(c: &Case, origin: &str, p: u16, q: u16) -> Request {
    let url = match c.load {
        Load::BlobImg | Load::BlobWorker => format!("blob:{origin}/4f0a7c2e"),
        _ => ports(c.url, p, q),
    };
    let mut r = Request::load(c.load.destination(), &url, origin).expect("a request");
    if let Some(to) = c.redirect {
        r = r.redirected_to(url::Url::parse(&ports(to, p, q)).unwrap());
    }
    r
}

fn csppatch(args: &[&str]) -> (String, String, Option<i32>) {
    let o = common::csppatch()
        .args(args)
        .output()
        .expect("csppatch runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&o.stdout), text(&o.stderr), o.status.code())
}

#[test]
fn probe_and_patch_give_chromiums_verdict() {
    if !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let q = common::free_port();
    let server = common::nginx::start(|dir, p| nginx_conf(dir, p, q)).expect("nginx starts");
    let p = server.port;
    let origin = format!("http://127.0.0.1:{p}");
    let report = run_chromium(&format!("{origin}/"));

    let mut table = String::new();
    let mut wrong = Vec::new();
    for (id, c) in CASES.iter().enumerate() {
        let got = &report[id.to_string()];
        let how = got["how"].as_str().unwrap_or("no report");
        let violations = got["seen"].as_array().map_or(0, Vec::len);
        assert!(
            how != "no report" && (violations > 0 || how != "timeout"),
            "{}: Chromium neither loaded, failed nor reported it: {got}",
            c.name
        );
        let measured = violations == 0;
        let policy = ports(c.policy, p, q);
        let r = request(c, &origin, p, q);
        let list = parse(&policy);
        let spec = allows_by(&list, &r, Browser::Csp3, Reading::Spec);
        let chromium = allows_by(&list, &r, Browser::Csp3, Reading::Chromium);
        let ours = allows(&policy, &r);
        let _ = writeln!(
            table,
            "{:<34} {:<50} spec {spec:<5} chromium {measured:<5} ({how}, {got}) csppatch {ours}",
            c.name, policy,
        );
        if measured != c.chromium {
            wrong.push(format!(
                "{}: Chromium measured {measured}, table says {}",
                c.name, c.chromium
            ));
        }
        if spec != c.spec {
            wrong.push(format!(
                "{}: Reading::Spec says {spec}, table says {}",
                c.name, c.spec
            ));
        }
        if chromium != measured || ours != measured {
            wrong.push(format!(
                "{}: Reading::Chromium {chromium}, csppatch {ours}, Chromium measured {measured}",
                c.name
            ));
        }
        if let Some(req) = c.requirement {
            let req = ports(req, p, q);
            wrong.extend(cli_agrees(
                c,
                &req,
                &policy,
                &format!("{origin}/case/{id}"),
                measured,
                p,
                q,
            ));
        }
    }
    eprintln!("{table}");
    assert!(wrong.is_empty(), "{}\n\n{table}", wrong.join("\n"));
    // Both answers occur, so a harness that saw nothing (or everything) cannot pass.
    assert!(CASES.iter().any(|c| c.chromium) && CASES.iter().any(|c| !c.chromium));
}

/// The probe on the served page and the merge of the same requirement agree with Chromium.
fn cli_agrees(
    c: &Case,
    req: &str,
    policy: &str,
    page: &str,
    measured: bool,
    p: u16,
    q: u16,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let (directive, source) = req.split_once(' ').unwrap();
    let origin = Origin::parse(page).unwrap();
    let probe_url = example_url(&Source::parse(source).unwrap(), &origin).unwrap();
    let same = match c.load {
        // Any URL of the page's blob: store, any data: URL: the same class of URL.
        Load::BlobImg | Load::BlobWorker => {
            probe_url.starts_with(&format!("blob:{}/", origin.serialize()))
        }
        Load::Img64 => probe_url.starts_with("data:"),
        _ => probe_url == ports(c.url, p, q),
    };
    if !same {
        wrong.push(format!(
            "{}: the probe checks {probe_url}, Chromium loaded {}",
            c.name, c.url
        ));
    }
    let (out, err, code) = csppatch(&[
        "probe",
        page,
        "--allow",
        req,
        "--allow-insecure",
        "--format",
        "json",
    ]);
    if let Err(e) = serde_json::from_str::<Value>(&out) {
        panic!("{e}: {out}\n{err}");
    }
    let doc = common::json::parse_checked("probe", out.as_bytes());
    let outcome = doc["outcome"].as_str().unwrap_or_default();
    let expected = if measured { "allowed" } else { "blocked" };
    if outcome != expected || code != Some(if measured { 0 } else { 1 }) {
        wrong.push(format!(
            "{}: `csppatch probe` says {outcome} (exit {code:?}), Chromium {expected}",
            c.name
        ));
    }
    // The note on where the CSP3 text differs, exactly on the rows where it does.
    let noted = doc["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w["code"] == "PRB810"));
    if noted != (c.spec != measured) {
        wrong.push(format!(
            "{}: PRB810 {noted}, the CSP3 text says {}, Chromium {measured}",
            c.name, c.spec
        ));
    }
    let (merged, err, _) = csppatch(&["merge", "--allow", req, "--allow-insecure", policy]);
    let unchanged = merged.trim_end() == policy;
    if unchanged != measured {
        wrong.push(format!(
            "{}: `csppatch merge` gives {:?} for `{directive} {source}` ({err}), Chromium {expected}",
            c.name,
            merged.trim_end()
        ));
    }
    wrong
}
