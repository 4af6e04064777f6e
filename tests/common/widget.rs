//! A page that tries to load a vendor's widget the ways widgets do (script, fetch,
//! WebSocket, image, frame, stylesheet, font) and reports, through the DOM, every request the
//! browser's CSP blocked. Chromium fires `securitypolicyviolation` before any network access,
//! so no vendor host needs to be reachable: an allowed request just fails later, quietly.

use std::path::Path;

/// The loads of MuseRelay's widget, and three of a host nobody allowed (which must stay
/// blocked whatever the patch does).
pub const MUSERELAY_LOADS: &[(Load, &str)] = &[
    (Load::Script, "https://muserelay.com/widget.js"),
    (Load::Connect, "https://muserelay.com/api/session"),
    (Load::WebSocket, "wss://muserelay.com/live"),
    (Load::Img, "https://muserelay.com/avatar.png"),
    (Load::Style, "https://muserelay.com/theme.css"),
    (Load::Script, "https://evil.example/x.js"),
    (Load::Connect, "https://evil.example/collect"),
    (Load::Img, "https://evil.example/pixel.gif"),
];

/// The policy MuseRelay's published snippets mean, read off them by hand: each `\`, line
/// break and indentation (or PHP concatenation) collapsed to one space.
pub const MUSERELAY_SEED_POLICY: &str = "default-src 'self'; script-src 'self' https://muserelay.com 'unsafe-inline'; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline';";

/// After a MuseRelay patch: nothing of MuseRelay blocked, the three `evil.example` loads of
/// [`MUSERELAY_LOADS`] still blocked, and no other violation came or went.
pub fn assert_muserelay_patched(before: &[String], after: &[String]) {
    assert!(
        blocked(after, "muserelay.com").is_empty(),
        "after: no MuseRelay request blocked: {after:?}"
    );
    assert_eq!(blocked(after, "evil.example").len(), 3, "{after:?}");
    assert_only_vendor_unblocked(before, after, "muserelay.com");
}

/// After a patch the vendor (`host`) is allowed and nothing else changed: exactly the
/// violations that were not the vendor's remain.
pub fn assert_only_vendor_unblocked(before: &[String], after: &[String], host: &str) {
    let mut expected: Vec<&String> = before.iter().filter(|v| !v.contains(host)).collect();
    let mut got: Vec<&String> = after.iter().collect();
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "after the patch, exactly the violations that were not {host}'s remain\nbefore: {before:?}"
    );
}

/// One load the page attempts.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    Script,
    Connect,
    WebSocket,
    Img,
    Frame,
    Style,
    Font,
}

impl Load {
    fn js(self) -> &'static str {
        match self {
            Load::Script => "script",
            Load::Connect => "connect",
            Load::WebSocket => "websocket",
            Load::Img => "img",
            Load::Frame => "frame",
            Load::Style => "style",
            Load::Font => "font",
        }
    }
}

/// The probe script, served same-origin as `/csp-probe.js` (an inline script would itself be
/// subject to the policy under test).
pub const PROBE_JS: &str = r#"
const seen = [];
document.addEventListener('securitypolicyviolation', e => {
  seen.push(e.effectiveDirective + ' ' + e.blockedURI);
});
const plan = JSON.parse(document.getElementById('plan').textContent);
for (const [kind, url] of plan) {
  try {
    if (kind === 'script') { const s = document.createElement('script'); s.src = url; document.head.appendChild(s); }
    if (kind === 'connect') { fetch(url).catch(() => {}); }
    if (kind === 'websocket') { const w = new WebSocket(url); w.onerror = () => {}; }
    if (kind === 'img') { const i = document.createElement('img'); i.src = url; document.body.appendChild(i); }
    if (kind === 'frame') { const f = document.createElement('iframe'); f.src = url; document.body.appendChild(f); }
    if (kind === 'style') { const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = url; document.head.appendChild(l); }
    if (kind === 'font') { new FontFace('probe' + seen.length, 'url(' + url + ')').load().catch(() => {}); }
  } catch (e) {
    seen.push('threw ' + kind + ' ' + url + ' ' + e.name);
  }
}
setTimeout(() => {
  const out = document.createElement('pre');
  out.id = 'violations';
  out.textContent = encodeURIComponent(JSON.stringify(seen));
  document.body.appendChild(out);
}, 1500);
"#;

/// The page that runs the probe over `loads`.
pub fn page(loads: &[(Load, &str)]) -> String {
    let plan: Vec<String> = loads
        .iter()
        .map(|(k, u)| format!("[\"{}\",\"{}\"]", k.js(), u))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><title>probe</title>\n<script type=\"application/json\" id=\"plan\">[{}]</script>\n</head><body>\n<script src=\"/csp-probe.js\"></script>\n</body></html>\n",
        plan.join(",")
    )
}

/// Write `index.html` and `csp-probe.js` into `root` for a server to serve.
pub fn write_site(root: &Path, loads: &[(Load, &str)]) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("index.html"), page(loads)).unwrap();
    std::fs::write(root.join("csp-probe.js"), PROBE_JS).unwrap();
}

/// Load `url` in headless Chromium and return the violations the page saw, each as
/// `"<effective directive> <blocked URL>"`. Panics if the probe did not report (the probe
/// script itself blocked, say), so a test can never pass on a page that did not run.
pub fn violations(url: &str) -> Vec<String> {
    let dom = super::browser::dump_dom(url);
    let raw = super::browser::pre_text(&dom, "violations")
        .unwrap_or_else(|| panic!("the probe did not run on {url}; DOM:\n{dom}"));
    let json = super::browser::uri_decode(&raw);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe output {json}: {e}"))
}

/// The violations that name `needle` (a host).
pub fn blocked<'a>(violations: &'a [String], needle: &str) -> Vec<&'a String> {
    violations.iter().filter(|v| v.contains(needle)).collect()
}
