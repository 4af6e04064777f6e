//! What Chromium enforces, next to what `find()` says about the same page: the multi-line
//! MuseRelay meta works as is (every line, the last included); a meta after a script does not
//! cover it (HTM603); a meta in `<body>` (HTM601), a Report-Only meta (HTM602) and one whose
//! http-equiv has spaces (not a site) are ignored.
use crate::common;

use std::path::Path;

use common::browser::{dump_dom, pre_text, Files, StaticServer};
use csppatch::dialect::html::Html;
use csppatch::dialect::Dialect;
use csppatch::site::FileScan;

/// Records CSP violations into `<pre id="violations">` and marks that it ran.
const ENFORCE_JS: &str = r#"
document.documentElement.dataset.probe = 'ran';
document.addEventListener('securitypolicyviolation', function (e) {
  var pre = document.getElementById('violations');
  if (!pre) { pre = document.createElement('pre'); pre.id = 'violations'; document.documentElement.appendChild(pre); }
  pre.textContent += e.violatedDirective + ' ' + e.blockedURI + '\n';
});
"#;
const INLINE: &str = "<script>document.documentElement.dataset.inline = 'ran';</script>";

struct Seen {
    dom: String,
    violations: Vec<String>,
    scan: FileScan,
}

impl Seen {
    fn inline_ran(&self) -> bool {
        self.dom.contains("data-inline=\"ran\"")
    }
    fn codes(&self) -> Vec<&str> {
        self.scan.diagnostics.iter().map(|d| d.code).collect()
    }
}

fn load(pages: &[(&str, String)]) -> Vec<Seen> {
    let mut files = Files::new();
    files.insert(
        "/enforce.js".into(),
        ("text/javascript".into(), ENFORCE_JS.as_bytes().to_vec()),
    );
    files.insert("/allowed.png".into(), ("image/png".into(), Vec::new()));
    for (name, body) in pages {
        files.insert(
            format!("/{name}"),
            ("text/html; charset=utf-8".into(), body.clone().into_bytes()),
        );
    }
    let server = StaticServer::start(files);
    pages
        .iter()
        .map(|(name, body)| {
            let dom = dump_dom(&server.url(&format!("/{name}")));
            assert!(
                dom.contains("data-probe=\"ran\""),
                "{name}: probe did not run:\n{dom}"
            );
            let violations = pre_text(&dom, "violations")
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default();
            let scan = Html.find(Path::new(name), body.as_bytes()).unwrap();
            Seen {
                dom,
                violations,
                scan,
            }
        })
        .collect()
}

#[test]
fn chromium_enforces_what_find_reports() {
    if !common::have_seeds() || !common::have("chromium") {
        return;
    }
    // A second origin (another port) for resources the policies must block.
    let other = StaticServer::start(Files::from([
        (
            "/blocked.png".to_string(),
            ("image/png".to_string(), Vec::new()),
        ),
        (
            "/blocked.css".to_string(),
            ("text/css".to_string(), Vec::new()),
        ),
    ]));
    let seed = std::fs::read_to_string(common::seed("muserelay-meta.html")).unwrap();
    let o = other.url("");
    let muserelay = format!(
        "{seed}<script src=\"/enforce.js\"></script>{INLINE}<img src=\"{o}/blocked.png\">\
         <link rel=\"stylesheet\" href=\"{o}/blocked.css\"><img src=\"/allowed.png\">"
    );
    let meta = |equiv: &str| format!("<meta http-equiv=\"{equiv}\" content=\"script-src 'self'\">");
    let after_script = format!(
        "<!doctype html><head><script src=\"/enforce.js\"></script>{INLINE}{}\
         <script>document.documentElement.dataset.after = 'ran';</script></head>",
        meta("Content-Security-Policy")
    );
    let in_body = format!(
        "<!doctype html><head><script src=\"/enforce.js\"></script></head><body><div>x</div>{}{INLINE}",
        meta("Content-Security-Policy")
    );
    let report_only = format!(
        "<!doctype html><head>{}<script src=\"/enforce.js\"></script></head><body>{INLINE}",
        meta("Content-Security-Policy-Report-Only")
    );
    let spaced = format!(
        "<!doctype html><head>{}<script src=\"/enforce.js\"></script></head><body>{INLINE}",
        meta(" Content-Security-Policy ")
    );
    let seen = load(&[
        ("muserelay.html", muserelay),
        ("after-script.html", after_script),
        ("in-body.html", in_body),
        ("report-only.html", report_only),
        ("spaced.html", spaced),
    ]);

    // The multi-line seed: enforced through its last line, nothing to repair.
    let s = &seen[0];
    assert!(s.inline_ran(), "'unsafe-inline' is honoured");
    assert!(
        s.violations
            .iter()
            .any(|v| v.starts_with("img-src") && v.contains("blocked.png")),
        "{:?}",
        s.violations
    );
    assert!(
        s.violations
            .iter()
            .any(|v| v.starts_with("style-src-elem") && v.contains("blocked.css")),
        "{:?}",
        s.violations
    );
    assert!(
        other.requests().is_empty(),
        "blocked before any request: {:?}",
        other.requests()
    );
    assert_eq!((s.scan.sites.len(), s.codes().len()), (1, 0));
    assert!(s.scan.sites[0].refusal.is_none() && s.scan.sites[0].repaired.is_none());

    // After an inline script: that one ran, the one after the meta was blocked.
    let s = &seen[1];
    assert!(s.inline_ran() && !s.dom.contains("data-after"), "{}", s.dom);
    assert!(
        s.violations
            .iter()
            .any(|v| v.starts_with("script-src-elem inline")),
        "{:?}",
        s.violations
    );
    assert_eq!(s.codes(), ["HTM603"]);

    // Ignored policies: nothing is blocked or even reported.
    for (s, codes) in [
        (&seen[2], vec!["HTM601"]),
        (&seen[3], vec!["HTM602"]),
        (&seen[4], vec![]),
    ] {
        assert!(
            s.inline_ran() && s.violations.is_empty(),
            "{:?}",
            s.violations
        );
        assert_eq!(s.codes(), codes);
        assert!(s.scan.sites.iter().all(|site| site.refusal.is_some()));
    }
    assert!(seen[4].scan.sites.is_empty());
}
