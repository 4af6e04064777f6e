//! nginx values built from `set` variables (README, "How variables are expanded"): the policy
//! csppatch reasons about is the one nginx sends, changes go into the `set` literal that holds
//! the directive, and a variable that could hold any directive refuses the site by name.
//! Fixtures: tests/fixtures/vars/nginx (each names the public file it models).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::nginx::{self, wrap_server};
use common::server::Server;
use common::widget::{self, MUSERELAY_LOADS};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vars/nginx")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    common::csppatch()
        .args(args)
        .output()
        .expect("run csppatch")
}

/// A copy of fixture `name` in a fresh directory, and csppatch's run on it.
fn patched(name: &str) -> (tempfile::TempDir, PathBuf, Vec<u8>, Output) {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join(name);
    fs::copy(fixture(name), &conf).unwrap();
    let before = fs::read(&conf).unwrap();
    let out = run(&[
        conf.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--color",
        "never",
    ]);
    (tmp, conf, before, out)
}

/// The run as a snapshot: exit code, stderr and the file after, paths made relative.
fn render(tmp: &Path, out: &Output, after: &[u8]) -> String {
    let dir = format!("{}/", tmp.display());
    format!(
        "exit: {:?}\n----- stderr\n{}----- file after\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).replace(&dir, ""),
        String::from_utf8_lossy(after)
    )
}

/// Every changed line is one of `lines` (1-based), and changed only by insertions inside its
/// quoted literal (the bytes before the opening quote and after the closing one are the
/// same, and the old literal is the new one with text inserted): the bytes outside the edited
/// literals are the file's own.
fn only_inserted_inside_literals(before: &[u8], after: &[u8], lines: &[usize]) {
    let b: Vec<&[u8]> = before.split(|&c| c == b'\n').collect();
    let a: Vec<&[u8]> = after.split(|&c| c == b'\n').collect();
    assert_eq!(a.len(), b.len(), "no line added or removed");
    let mut changed = Vec::new();
    for (i, (old, new)) in b.iter().zip(&a).enumerate() {
        if old == new {
            continue;
        }
        changed.push(i + 1);
        let open = old
            .iter()
            .position(|&c| c == b'"')
            .expect("a quoted literal")
            + 1;
        let close = old.iter().rposition(|&c| c == b'"').unwrap();
        let shown = || {
            format!(
                "line {}\n-{}\n+{}",
                i + 1,
                String::from_utf8_lossy(old),
                String::from_utf8_lossy(new)
            )
        };
        assert!(
            new.len() > old.len() && new.starts_with(&old[..open]) && new.ends_with(&old[close..]),
            "outside the literal unchanged: {}",
            shown()
        );
        let inner_new = &new[open..new.len() - (old.len() - close)];
        let mut rest = inner_new.iter();
        assert!(
            old[open..close].iter().all(|c| rest.any(|n| n == c)),
            "only insertions inside the literal: {}",
            shown()
        );
    }
    assert_eq!(changed, lines, "the lines that changed");
}

fn serve(site: &Path, conf: &Path) -> Server {
    let body = format!(
        "        root {};\n        index index.html;\n        include {};\n",
        site.display(),
        conf.display()
    );
    nginx::start(|dir, port| wrap_server(dir, port, body.as_bytes())).expect("nginx starts")
}

#[test]
fn sets_joined_with_brace_references_are_patched_in_the_set_literals() {
    let (tmp, conf, before, out) = patched("built-from-sets.conf");
    let after = fs::read(&conf).unwrap();
    common::snapshots("vars").bind(|| {
        insta::assert_snapshot!("nginx_built_from_sets", render(tmp.path(), &out, &after))
    });
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // script-src, style-src, connect-src and img-src live in the sets on lines 4, 5, 7, 8;
    // the header (line 9) only gains the new worker-src (pinned to what script-src allowed
    // before); every other byte stays as written.
    only_inserted_inside_literals(&before, &after, &[4, 5, 7, 8, 9]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("CSP107"), "no unknown directive: {stderr}");
    let again = run(&[conf.to_str().unwrap(), "--vendor", "muserelay", "--check"]);
    assert_eq!(again.status.code(), Some(0), "nothing left to do");
}

#[test]
fn a_variable_with_two_values_is_patched_in_both_sets_and_the_others_in_theirs() {
    let (tmp, conf, before, out) = patched("chain-and-if.conf");
    let after = fs::read(&conf).unwrap();
    common::snapshots("vars")
        .bind(|| insta::assert_snapshot!("nginx_chain_and_if", render(tmp.path(), &out, &after)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `$styleSrc` already allows inline styles: only the host goes into it. `$main_domain`
    // is read by several sets and is left alone; `$scriptSrc` has two values (line 7, and
    // line 10 in `if`): each is a policy nginx may send, so the source goes into both, and
    // the header (line 12) only gains the worker-src both variants ask for (what script-src
    // allowed before, the same text in both).
    only_inserted_inside_literals(&before, &after, &[4, 5, 6, 7, 10, 12]);
    let text = String::from_utf8_lossy(&after);
    assert!(text.contains("set $main_domain \"127.0.0.1\";"));
    assert!(text.contains("set $scriptSrc \"'self' http://${main_domain} https://muserelay.com\";"));
    assert!(text.contains(
        "set $scriptSrc \"'self' 'unsafe-eval' http://${main_domain} https://muserelay.com\";"
    ));
    assert!(text.contains("script-src $scriptSrc;"));
    // The copied source keeps the reference `$scriptSrc`'s literal wrote.
    assert!(text.contains("worker-src 'self' http://${main_domain}\" always;"));
    assert!(text.contains(
        "set $styleSrc \"'unsafe-inline' 'self' http://${main_domain} https://muserelay.com\";"
    ));
}

#[test]
fn a_variable_that_could_hold_directives_refuses_the_site_by_name() {
    let (_tmp, conf, before, out) = patched("unknown-directive-variable.conf");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown-directive-variable.conf:3:")
            && stderr.contains("E013")
            && stderr.contains("`$csp_extra`")
            && stderr.contains("no `set` of this file assigns it"),
        "file, line and variable named: {stderr}"
    );
    assert_eq!(fs::read(&conf).unwrap(), before, "nothing written");
}

#[test]
fn nginx_sends_the_expanded_policy_and_chromium_lets_only_the_vendor_through() {
    if !common::have("nginx") || !common::have("chromium") {
        return;
    }
    for (name, expected) in [
        (
            "built-from-sets.conf",
            "default-src 'self'; script-src 'self' 'unsafe-eval' https://cdn.example.net https://muserelay.com; style-src 'self' https://fonts.example.net https://muserelay.com 'unsafe-inline'; object-src 'none'; connect-src 'self' https://api.example.net https://muserelay.com wss://muserelay.com; img-src 'self' https://img.example.net https://muserelay.com data:; worker-src 'self' https://cdn.example.net;",
        ),
        (
            "chain-and-if.conf",
            "default-src 'none'; style-src 'unsafe-inline' 'self' http://127.0.0.1 https://muserelay.com; script-src 'self' http://127.0.0.1 https://muserelay.com; connect-src 'self' http://127.0.0.1 https://muserelay.com wss://muserelay.com; img-src 'self' data: http://127.0.0.1 https://muserelay.com; worker-src 'self' http://127.0.0.1",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("www");
        widget::write_site(&site, MUSERELAY_LOADS);
        let conf = tmp.path().join(name);
        fs::copy(fixture(name), &conf).unwrap();
        let before = {
            let server = serve(&site, &conf);
            widget::violations(&format!("http://127.0.0.1:{}/", server.port))
        };
        assert!(
            !widget::blocked(&before, "muserelay.com").is_empty(),
            "{name}: the widget is blocked before: {before:?}"
        );
        let out = run(&[conf.to_str().unwrap(), "--vendor", "muserelay"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let server = serve(&site, &conf);
        assert_eq!(server.csp("/"), vec![expected.to_string()], "{name}");
        let after = widget::violations(&format!("http://127.0.0.1:{}/", server.port));
        widget::assert_muserelay_patched(&before, &after);
    }
}

/// issue 7: a source list built from a domain variable gets the vendor in its own `set`,
/// never in the domain's, and a new directive copied from it refers to the domain as the list
/// did; nginx then sends the old policy plus the vendor.
#[test]
fn a_nested_variable_keeps_its_value_and_copies_keep_its_reference() {
    let (_tmp, conf, before, out) = patched("nested-domain.conf");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = fs::read(&conf).unwrap();
    let text = String::from_utf8_lossy(&after);
    assert!(text.contains("set $main_domain \"127.0.0.1\";"), "{text}");
    assert!(text.contains(
        "set $scriptSrc \"'self' 'unsafe-eval' http://${main_domain} https://muserelay.com\";"
    ));
    assert!(
        text.contains("worker-src 'self' http://${main_domain};"),
        "{text}"
    );
    only_inserted_inside_literals(&before, &after, &[5, 6]);
    let again = run(&[conf.to_str().unwrap(), "--vendor", "muserelay", "--check"]);
    assert_eq!(again.status.code(), Some(0), "nothing left to do");
    if !common::have("nginx") {
        return;
    }
    let site = _tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let server = serve(&site, &conf);
    assert_eq!(
        server.csp("/"),
        vec!["default-src 'none'; script-src 'self' 'unsafe-eval' http://127.0.0.1 https://muserelay.com; img-src 'self' https://muserelay.com data:; worker-src 'self' http://127.0.0.1; connect-src https://muserelay.com wss://muserelay.com; style-src https://muserelay.com 'unsafe-inline'".to_string()]
    );
}
