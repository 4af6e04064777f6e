//! nginx end to end: the csppatch binary on real files, then real nginx on 127.0.0.1 serving
//! the patched configuration, and headless Chromium loading a page that tries the vendor's
//! widget: the header the browser receives is what is checked.

use crate::common;

use std::fs;
use std::path::Path;

use common::nginx::wrap_server;
use common::server::Server;
use common::widget::{self, Load, MUSERELAY_LOADS};
use common::Run;

fn run(args: &[&str]) -> Run {
    common::run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, &[])
}

/// nginx serving `site` as root with `include <csp_file>;` in its server block.
fn serve(site: &Path, csp_file: &Path) -> Server {
    let body = format!(
        "        root {};\n        index index.html;\n        include {};\n",
        site.display(),
        csp_file.display()
    );
    common::nginx::start(|dir, port| wrap_server(dir, port, body.as_bytes())).expect("nginx starts")
}

fn csp_headers(server: &Server) -> Vec<Vec<u8>> {
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    r.header_values("content-security-policy")
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn muserelay_seed_is_sent_on_one_line_and_lets_the_widget_through() {
    if !common::have_seeds() || !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let conf = tmp.path().join("muserelay.conf");
    fs::copy(common::seed("muserelay-nginx.conf"), &conf).unwrap();

    // Before: nginx sends the backslash and the line breaks, and Chromium blocks the widget.
    {
        let server = serve(&site, &conf);
        let sent = csp_headers(&server);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].windows(2).any(|w| w == b"\\\n"),
            "raw continuation sent: {:?}",
            String::from_utf8_lossy(&sent[0])
        );
        let v = server.violations("/");
        for needle in [
            "script-src-elem https://muserelay.com",
            "connect-src https://muserelay.com",
            "connect-src wss://muserelay.com",
        ] {
            assert!(
                v.iter().any(|x| x.starts_with(needle)),
                "before: expected `{needle}` blocked, saw {v:?}"
            );
        }
    }

    let out = run(&[
        conf.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("NGX201"), "{}", out.stderr);
    // Every MuseRelay source was already in the snippet: the fix is the one-line rewrite.
    let expected = "add_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://muserelay.com 'unsafe-inline'; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline';\" always;\n";
    assert_eq!(fs::read_to_string(&conf).unwrap(), expected);

    let server = serve(&site, &conf);
    let sent = csp_headers(&server);
    assert_eq!(
        sent,
        vec![expected.split('"').nth(1).unwrap().as_bytes().to_vec()]
    );
    let v = server.violations("/");
    assert!(
        widget::blocked(&v, "muserelay.com").is_empty(),
        "after: the widget is allowed, saw {v:?}"
    );
    assert_eq!(
        widget::blocked(&v, "evil.example").len(),
        3,
        "after: everything else still blocked: {v:?}"
    );

    // Idempotent: nothing more to do.
    let again = run(&[conf.to_str().unwrap(), "--vendor", "muserelay", "--check"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "no diff on a second run");
}

#[test]
fn default_src_only_policy_gets_the_vendor_without_breaking_same_origin() {
    if !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("www");
    let mut loads = MUSERELAY_LOADS.to_vec();
    // The site's own requests: connect-src must keep allowing them once it exists.
    loads.push((Load::Connect, "/api/own"));
    loads.push((Load::Img, "/logo.png"));
    widget::write_site(&site, &loads);
    let conf = tmp.path().join("csp.conf");
    fs::write(&conf, "# our policy\nadd_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always;\n").unwrap();

    let out = run(&[
        conf.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--dry-run",
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let diff = String::from_utf8_lossy(&out.stdout).into_owned();
    // An absolute path loses its leading `/` after `a/`, as git writes it (patch -p1 from /).
    let label = conf.display().to_string();
    let label = label.trim_start_matches('/');
    assert!(
        diff.starts_with(&format!("--- a/{label}\n+++ b/{label}\n")),
        "{diff}"
    );
    assert!(
        fs::read_to_string(&conf)
            .unwrap()
            .contains("\"default-src 'self'; frame-ancestors 'none'\""),
        "--dry-run writes nothing"
    );

    let out = run(&[conf.to_str().unwrap(), "--vendor", "muserelay"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let patched = fs::read_to_string(&conf).unwrap();
    assert!(patched.starts_with("# our policy\nadd_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'"), "untouched directives stay first and byte-identical:\n{patched}");
    assert!(patched.ends_with("\" always;\n"), "{patched}");

    let server = serve(&site, &conf);
    let sent = csp_headers(&server);
    assert_eq!(sent.len(), 1);
    let policy = String::from_utf8(sent[0].clone()).unwrap();
    // Each created directive starts from default-src's sources, so 'self' keeps working.
    for d in [
        "script-src 'self' https://muserelay.com",
        "connect-src 'self' https://muserelay.com wss://muserelay.com",
        "img-src 'self' https://muserelay.com data:",
    ] {
        assert!(policy.contains(d), "`{d}` in {policy}");
    }
    let v = server.violations("/");
    assert!(
        widget::blocked(&v, "muserelay.com").is_empty(),
        "the widget is allowed, saw {v:?}"
    );
    assert!(
        widget::blocked(&v, &format!("127.0.0.1:{}", server.port)).is_empty(),
        "same-origin still allowed, saw {v:?}"
    );
    assert_eq!(
        widget::blocked(&v, "evil.example").len(),
        3,
        "everything else still blocked: {v:?}"
    );
}
