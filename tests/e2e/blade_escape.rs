//! Blade's escapes (`@{{ }}`, `@@name`) in a view whose meta policy holds one: the escaped
//! mustache is text the browser receives, not a template tag, so the policy is read with it
//! as text (no `@`, no run-time part), patched after it, and the view rendered by Blade's
//! rules (each echo replaced by its value, each escape's `@` dropped) and served by `php -S`
//! lets headless Chromium load the vendor where the unpatched view blocked it.

use crate::common;

use std::fs;
use std::path::Path;

use common::widget::{self, MUSERELAY_LOADS};

/// The view as Blade prints it: the echoes the test knows, then the escapes
/// (`BladeCompiler::compileEchos` prints `@{{ x }}` as `{{ x }}`; `compileStatements` prints
/// `@@name` as `@name`).
fn render(view: &str, head: &str) -> String {
    let html = view
        .replace("{{ $cspNonce }}", "bm9uY2U")
        .replace("@stack('head')", head)
        .replace(
            "@yield('content')",
            "<script src=\"/csp-probe.js\"></script>",
        )
        .replace("@{{", "{{")
        .replace("@@", "@");
    html[html.find("<!doctype").unwrap()..].to_string()
}

#[test]
fn an_escaped_mustache_in_a_blade_meta_is_text_and_the_view_is_patched_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let view = tmp.path().join("welcome.blade.php");
    let src = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vars/blade/vue-escape.blade.php"),
    )
    .unwrap();
    fs::write(&view, &src).unwrap();
    let out = common::csppatch()
        .arg(&view)
        .args(["--vendor", "muserelay", "--format", "json"])
        .output()
        .expect("run csppatch");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let site = &report["sites"][0];
    assert_eq!(
        site["before"],
        "default-src 'self'; script-src 'self' 'nonce-{{ $cspNonce }}' {{ vueCdn }}; connect-src 'self'; worker-src 'self'",
        "the escape prints `{{{{ vueCdn }}}}`: no `@`"
    );
    let new = fs::read_to_string(&view).unwrap();
    let at = src.find("content=\"default-src").unwrap();
    assert_eq!(src[..at], new[..at], "bytes before the value unchanged");
    let tail = src[at..].find("\">").unwrap() + at;
    let new_tail = new[at..].find("\">").unwrap() + at;
    assert_eq!(
        src[tail..],
        new[new_tail..],
        "bytes after the value unchanged"
    );
    assert!(
        new[at..new_tail].contains("@{{ vueCdn }} https://muserelay.com;"),
        "the source goes after the escaped text: {new}"
    );
    if !(common::have("php") && common::have("chromium")) {
        eprintln!("skipped the browser check: php or chromium is not installed");
        return;
    }
    let probe = widget::page(MUSERELAY_LOADS);
    let plan = &probe[probe.find("<script type").unwrap()..probe.find("</head>").unwrap()];
    let violations = |view: &str| {
        let site = tempfile::tempdir().unwrap();
        let html = render(view, plan);
        assert!(
            !html.contains("@{{") && html.contains("{{ vueCdn }}") && html.contains("@click"),
            "{html}"
        );
        fs::write(site.path().join("index.html"), html).unwrap();
        fs::write(site.path().join("csp-probe.js"), widget::PROBE_JS).unwrap();
        let server = common::php::start(site.path(), None, &[]);
        widget::violations(&format!("http://127.0.0.1:{}/index.html", server.port))
    };
    let before = violations(&src);
    assert!(
        !widget::blocked(&before, "muserelay.com").is_empty(),
        "{before:?}"
    );
    let after = violations(&new);
    widget::assert_muserelay_patched(&before, &after);
}
