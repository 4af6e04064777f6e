//! A sample of the preset request checks (tests/csp/vendors_requests.rs) in headless Chromium: each
//! probe page, served on 127.0.0.1, carries the merged policy in a `<meta>` and makes each
//! known request the way the widget does (the script tags and inline snippets the site writes,
//! scripts the widget adds, fetches, WebSockets, images, frames, stylesheets, fonts, media,
//! blob workers, inline styles, eval), then reports every `securitypolicyviolation`. Chromium
//! fires the event before any network access, so no vendor host needs to be reachable (every
//! host but 127.0.0.1 resolves to nothing); an allowed request just fails later, quietly. Four
//! loads of a host nobody allowed must be reported, so a probe that reports nothing cannot
//! pass. Several probe pages run as frames of one harness page, each under its own policy, to
//! start the browser fewer times.
use crate::common;

use common::browser::{pre_text, uri_decode, Files, StaticServer};
use csppatch::csp::Delivery;
use csppatch::csp::{merge, MergeOptions};
use csppatch::diag::Severity;
use csppatch::vendors::requests::{Case, InlineNeed, LoadedBy, Need, SAMPLE_CUSTOM_DOMAIN};
use csppatch::vendors::{Catalog, Vendor};

const NONCE: &str = "c3BwYXRjaHRlc3Rub25jZQ";
/// Probe pages per Chromium start (each in a frame of one harness page).
const FRAMES_PER_BROWSER: usize = 6;

/// Loads of a host nobody allowed: each must be reported. The script is a tag in the page's
/// HTML without the nonce (a script the probe created would be allowed by 'strict-dynamic').
const SCRIPT_CONTROL: &str = "https://evil.example/x.js";
const CONTROLS: &[(&str, &str)] = &[
    ("script", SCRIPT_CONTROL),
    ("img", "https://evil.example/pixel.gif"),
    ("connect", "https://evil.example/collect"),
    ("frame", "https://evil.example/frame"),
];

/// Registered first, so that violations of the tags that follow are seen.
const LISTEN_JS: &str = r#"
window.seen = [];
document.addEventListener('securitypolicyviolation', e => {
  window.seen.push(e.effectiveDirective + ' ' + e.blockedURI);
});
"#;

/// Makes the planned loads, then writes what was reported into `<pre id="violations">`.
const PROBE_JS: &str = r#"
const plan = JSON.parse(document.getElementById('plan').textContent);
const blob = (body, type) => URL.createObjectURL(new Blob([body], { type }));
for (const [kind, raw] of plan) {
  let url = raw;
  try {
    if (url.startsWith('blob:')) {
      url = kind === 'script' || kind === 'worker' ? blob('1', 'text/javascript')
          : kind === 'style' ? blob('p{}', 'text/css')
          : blob('<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml');
    }
    if (kind === 'script') { const s = document.createElement('script'); s.src = url; document.head.appendChild(s); }
    if (kind === 'connect') { fetch(url).catch(() => {}); }
    if (kind === 'websocket') { const w = new WebSocket(url); w.onerror = () => {}; }
    if (kind === 'img') { const i = document.createElement('img'); i.src = url; document.body.appendChild(i); }
    if (kind === 'frame') { const f = document.createElement('iframe'); f.src = url; document.body.appendChild(f); }
    if (kind === 'style') { const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = url; document.head.appendChild(l); }
    if (kind === 'font') { new FontFace('probe' + Math.random(), 'url(' + url + ')').load().catch(() => {}); }
    if (kind === 'media') { const a = document.createElement('audio'); a.src = url; document.body.appendChild(a); }
    if (kind === 'worker') { new Worker(url); }
    if (kind === 'inline-style') { const s = document.createElement('style'); s.textContent = 'b{}'; document.head.appendChild(s); }
    if (kind === 'style-attribute') { document.body.setAttribute('style', 'color: black'); }
    if (kind === 'eval') { eval('1'); }
  } catch (e) {
    window.seen.push('threw ' + kind + ' ' + raw + ' ' + e.name);
  }
}
// Chromium reports a blocked frame from the browser process, later than the rest: report
// once every control was seen (the controls come last), plus a grace period, or at a cap.
const controls = JSON.parse(document.getElementById('controls').textContent);
const reported = () => controls.every(c => window.seen.some(v => {
  const blocked = v.slice(v.indexOf(' ') + 1);
  return blocked !== '' && c.startsWith(blocked);
}));
let waited = 0;
const poll = () => {
  waited += 100;
  if (reported() || waited >= 15000) { setTimeout(report, 500); } else { setTimeout(poll, 100); }
};
setTimeout(poll, 100);
function report() {
  const out = document.createElement('pre');
  out.id = 'violations';
  out.textContent = encodeURIComponent(JSON.stringify(window.seen));
  document.body.appendChild(out);
  if (window.parent !== window) { window.parent.postMessage([location.pathname, window.seen], '*'); }
}
"#;

/// The page without a policy that holds every probe page in a frame of its own (each with its
/// own `<meta>` policy) and collects their reports: one browser start for the whole sample.
const HARNESS_JS: &str = r#"
const pages = JSON.parse(document.getElementById('pages').textContent);
const got = {};
window.addEventListener('message', e => {
  got[e.data[0]] = e.data[1];
  if (Object.keys(got).length === pages.length) { done(); }
});
let written = false;
function done() {
  if (written) { return; }
  written = true;
  const out = document.createElement('pre');
  out.id = 'all';
  out.textContent = encodeURIComponent(JSON.stringify(got));
  document.body.appendChild(out);
}
for (const p of pages) {
  const f = document.createElement('iframe');
  f.src = p;
  document.body.appendChild(f);
}
setTimeout(done, 25000);
"#;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The probe's kind of load for a request URL under `directive`, or `None` where Chromium
/// cannot be asked (form-action needs a navigation; a cross-origin Worker throws before any
/// CSP check; mediastream: URLs are not fetched).
fn kind(directive: &str, url: &str) -> Option<&'static str> {
    Some(match directive {
        "script-src" => "script",
        "connect-src" if url.starts_with("wss:") => "websocket",
        "connect-src" => "connect",
        "img-src" => "img",
        "frame-src" => "frame",
        "style-src" => "style",
        "font-src" => "font",
        "media-src" if !url.starts_with("mediastream:") => "media",
        "worker-src" if url.starts_with("blob:") => "worker",
        _ => return None,
    })
}

/// A probe page: the policy, the tags the site itself writes, and the plan for the rest.
#[derive(Clone)]
struct Page {
    policy: String,
    nonce: bool,
    /// `<script src>` tags in the page's HTML (loaded_by = "page").
    tags: Vec<String>,
    /// Inline `<script>` elements in the page's HTML.
    inline_scripts: usize,
    plan: Vec<(&'static str, String)>,
}

impl Page {
    fn html(&self) -> String {
        let nonce = if self.nonce {
            format!(" nonce=\"{NONCE}\"")
        } else {
            String::new()
        };
        let plan: Vec<String> = self
            .plan
            .iter()
            .chain(
                CONTROLS
                    .iter()
                    .filter(|(_, u)| *u != SCRIPT_CONTROL)
                    .map(|(k, u)| (*k, u.to_string()))
                    .collect::<Vec<_>>()
                    .iter(),
            )
            .map(|(k, u)| serde_json::json!([k, u]).to_string())
            .collect();
        let mut head = format!(
            "<!DOCTYPE html>\n<html><head><title>probe</title>\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
             <script src=\"/listen.js\"{nonce}></script>\n\
             <script type=\"application/json\" id=\"plan\">[{}]</script>\n\
             <script type=\"application/json\" id=\"controls\">{}</script>\n",
            html_escape(&self.policy),
            plan.join(","),
            serde_json::to_string(&CONTROLS.iter().map(|(_, u)| *u).collect::<Vec<_>>()).unwrap()
        );
        for url in &self.tags {
            head.push_str(&format!(
                "<script async src=\"{}\"{nonce}></script>\n",
                html_escape(url)
            ));
        }
        head.push_str(&format!(
            "<script async src=\"{SCRIPT_CONTROL}\"></script>\n"
        ));
        for _ in 0..self.inline_scripts {
            head.push_str(&format!(
                "<script{nonce}>window.inlineRan = true;</script>\n"
            ));
        }
        format!("{head}</head><body>\n<script src=\"/probe.js\"{nonce}></script>\n</body></html>\n")
    }
}

/// The probe page for one case of `v`, for a page served at `site`.
fn page_for(catalog: &Catalog, v: &Vendor, case: &Case, site: &str) -> Page {
    let resolved = catalog.requirements(&case.selection(&v.name)).unwrap();
    let base = if case.nonce {
        format!("default-src 'self'; script-src 'nonce-{NONCE}' 'strict-dynamic'; object-src 'none'; base-uri 'none'")
    } else {
        "default-src 'self'".to_string()
    };
    let out = merge(
        &base,
        &resolved.requirements,
        &MergeOptions {
            delivery: Delivery::Meta,
        },
    );
    assert!(
        out.diagnostics
            .iter()
            .all(|d| d.severity != Severity::Error),
        "{} [{}]: {:?}",
        v.name,
        case.label(),
        out.diagnostics
    );
    let mut page = Page {
        policy: out.text,
        nonce: case.nonce,
        tags: Vec::new(),
        inline_scripts: 0,
        plan: Vec::new(),
    };
    let domain = case
        .custom_domain
        .as_deref()
        .unwrap_or(SAMPLE_CUSTOM_DOMAIN);
    for r in v.requests.iter().filter(|r| r.applies(&case.variant())) {
        match &r.need {
            Need::Url(_) => {
                let url = r.url(site, domain).unwrap();
                match kind(&r.directive, &url) {
                    Some("script") if r.loaded_by == LoadedBy::Page => page.tags.push(url),
                    Some(k) => page.plan.push((k, url)),
                    None => {}
                }
            }
            Need::Inline(InlineNeed::Script) => page.inline_scripts += 1,
            Need::Inline(InlineNeed::Style) => page.plan.push(("inline-style", String::new())),
            Need::Inline(InlineNeed::StyleAttribute) => {
                page.plan.push(("style-attribute", String::new()))
            }
            Need::Inline(InlineNeed::Eval) => page.plan.push(("eval", String::new())),
            Need::Inline(InlineNeed::ScriptAttribute) => {}
        }
    }
    page
}

/// The DOM of `url` after its scripts ran, as tests/common/browser.rs's `dump_dom` gets it,
/// with every host but 127.0.0.1 resolving to nothing: the vendors' hosts are never looked up
/// (a lookup that waits for a resolver costs seconds per request), and nothing leaves the
/// machine.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new("timeout")
        .arg("90")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=30000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Serve `page` on 127.0.0.1 and return the violations Chromium reported.
fn violations(page: &Page) -> Vec<String> {
    violations_all(std::slice::from_ref(page)).remove(0)
}

/// Serve every page, each in a frame of one harness page, and return the violations each
/// reported, in order. A page whose probe did not report fails the test.
fn violations_all(pages: &[Page]) -> Vec<Vec<String>> {
    let mut files = Files::new();
    let paths: Vec<String> = (0..pages.len()).map(|i| format!("/p{i}.html")).collect();
    for (path, page) in paths.iter().zip(pages) {
        files.insert(
            path.clone(),
            ("text/html; charset=utf-8".into(), page.html().into_bytes()),
        );
    }
    let harness = format!(
        "<!DOCTYPE html>\n<html><head><title>harness</title>\n\
         <script type=\"application/json\" id=\"pages\">{}</script></head>\n\
         <body><script src=\"/harness.js\"></script></body></html>\n",
        serde_json::to_string(&paths).unwrap()
    );
    files.insert(
        "/index.html".into(),
        ("text/html; charset=utf-8".into(), harness.into_bytes()),
    );
    for (path, body) in [
        ("/listen.js", LISTEN_JS),
        ("/probe.js", PROBE_JS),
        ("/harness.js", HARNESS_JS),
    ] {
        files.insert(
            path.into(),
            ("text/javascript".into(), body.as_bytes().to_vec()),
        );
    }
    let server = StaticServer::start(files);
    let url = server.url("/index.html");
    let dom = dump_dom(&url);
    let raw = pre_text(&dom, "all")
        .unwrap_or_else(|| panic!("the harness did not report on {url}; DOM:\n{dom}"));
    let json = uri_decode(&raw);
    let mut got: std::collections::HashMap<String, Vec<String>> =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("harness output {json}: {e}"));
    paths
        .iter()
        .map(|p| {
            got.remove(p)
                .unwrap_or_else(|| panic!("the probe of {p} did not report: {json}"))
        })
        .collect()
}

/// Is `violation` (`"<directive> <blocked URL>"`) about `url`? Chromium reports a blocked
/// cross-origin frame by its origin only, so a prefix of the URL counts.
fn about(violation: &str, url: &str) -> bool {
    violation
        .split_once(' ')
        .is_some_and(|(_, blocked)| !blocked.is_empty() && url.starts_with(blocked))
}

/// The violations that are not the controls'.
fn unexpected(seen: &[String]) -> Vec<&String> {
    seen.iter()
        .filter(|v| !CONTROLS.iter().any(|(_, u)| about(v, u)))
        .collect()
}

fn assert_controls_reported(what: &str, seen: &[String]) {
    for (_, url) in CONTROLS {
        assert!(
            seen.iter().any(|v| about(v, url)),
            "{what}: the control {url} was not reported, so the probe proves nothing: {seen:?}"
        );
    }
}

/// The sample: each case a fix of issue 13 touched, and one case of each kind of load the
/// other presets make (one Chromium start costs seconds, so not every case of every preset:
/// tests/vendors_requests.rs checks those with two evaluators).
const SAMPLE: &[(&str, Option<&str>, bool, bool)] = &[
    // (vendor, region, custom domain, nonce)
    ("recaptcha", Some("google-com"), false, false),
    ("recaptcha", Some("recaptcha-net"), false, false),
    ("recaptcha", Some("google-com"), false, true),
    ("gtm", None, false, true),
    ("front", None, false, false),
    ("intercom", Some("eu"), false, false),
    ("zendesk", None, false, true),
    ("turnstile", None, false, true),
    ("ortto", Some("eu"), true, false),
    ("crisp", None, false, false),
    ("customerio", Some("eu"), false, false),
    ("muserelay", None, false, false),
];

fn sample(catalog: &Catalog) -> Vec<(&Vendor, Case)> {
    SAMPLE
        .iter()
        .map(|(name, region, domain, nonce)| {
            let v = catalog.get(name).unwrap();
            let case = v
                .cases()
                .into_iter()
                .find(|c| {
                    c.region.as_deref() == *region
                        && c.custom_domain.is_some() == *domain
                        && c.nonce == *nonce
                })
                .unwrap_or_else(|| panic!("{name} has no such case"));
            (v, case)
        })
        .collect()
}

#[test]
fn a_sample_of_presets_lets_its_requests_through_in_chromium() {
    if !common::have("chromium") {
        return;
    }
    let catalog = Catalog::builtin();
    let pages: Vec<(String, Page)> = sample(&catalog)
        .into_iter()
        .map(|(v, case)| {
            (
                format!("{} [{}]", v.name, case.label()),
                page_for(&catalog, v, &case, ""),
            )
        })
        .collect();
    assert_eq!(pages.len(), SAMPLE.len());
    // A few frames per browser: with many, a frame's reports can come after the harness's cap.
    let all: Vec<Page> = pages.iter().map(|(_, p)| p.clone()).collect();
    let results: Vec<(String, Vec<String>)> = pages
        .iter()
        .map(|(name, _)| name.clone())
        .zip(all.chunks(FRAMES_PER_BROWSER).flat_map(violations_all))
        .collect();
    let mut failures = Vec::new();
    for ((name, page), (_, seen)) in pages.iter().zip(&results) {
        assert_controls_reported(name, seen);
        let bad = unexpected(seen);
        if !bad.is_empty() {
            failures.push(format!("{name}: {bad:?}\n    under {}", page.policy));
        }
    }
    assert!(
        failures.is_empty(),
        "Chromium blocked known requests:\n  {}",
        failures.join("\n  ")
    );
}

/// The defect of issue 13 in the browser: the old reCAPTCHA sources let api.js through and
/// block the script it loads, which shows the probe catches exactly that.
#[test]
fn chromium_blocks_recaptcha_releases_under_the_old_release_path() {
    if !common::have("chromium") {
        return;
    }
    let catalog = Catalog::builtin();
    let v = catalog.get("recaptcha").unwrap();
    let case = v.cases()[0].clone();
    let mut page = page_for(&catalog, v, &case, "");
    page.policy = "default-src 'self'; script-src 'self' https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/release/; frame-src 'self' https://www.google.com/recaptcha/ https://recaptcha.google.com/recaptcha/".into();
    let seen = violations(&page);
    assert_controls_reported("old recaptcha", &seen);
    let bad = unexpected(&seen);
    assert_eq!(
        bad.len(),
        1,
        "only the releases/ script is blocked: {seen:?}"
    );
    assert!(
        bad[0].starts_with("script-src-elem https://www.gstatic.com/recaptcha/releases/"),
        "{seen:?}"
    );
}
