//! Caddy values built from `vars` and `{$ENV}` placeholders (README, "Values built from
//! variables"): `{vars.x}` is expanded where the site block sets it, the change goes into
//! the `vars` literal that holds the directive, and real Caddy on 127.0.0.1 sends exactly the
//! policy csppatch reports; a variable that could hold any directive, or an environment
//! placeholder next to where the vendor's source would go, refuses the site by name.
//! Fixtures: tests/fixtures/vars/caddy (each names the public file it models).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::caddy::{csppatch, serve_copy, Setup};
use common::server::Server;
use common::widget::{self, MUSERELAY_LOADS};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vars/caddy")
        .join(name)
}

/// A copy of fixture `name` as `<tmp>/conf/Caddyfile`, the site's files in `<tmp>/www`.
fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conf");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(fixture(name), dir.join("Caddyfile")).unwrap();
    widget::write_site(&tmp.path().join("www"), MUSERELAY_LOADS);
    (tmp, dir)
}

/// Patch, as JSON: (exit code, the report, stderr).
fn patch(dir: &Path) -> (Option<i32>, serde_json::Value, String) {
    let run = csppatch(
        dir,
        &["Caddyfile", "--vendor", "muserelay", "--format", "json"],
    );
    let json = serde_json::from_slice(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run.code, json, run.stderr)
}

fn serve(tmp: &Path, dir: &Path, setup: Setup) -> Server {
    let address = setup.address();
    serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[
            ("http://app.example.com", address),
            ("/srv/app", tmp.join("www").display().to_string()),
        ],
    )
}

/// Every line of `before` that differs in `after` is one of `lines` (1-based), and differs
/// only by text inserted into it: the bytes outside the edited literals are the file's own.
fn only_insertions_on(before: &str, after: &str, lines: &[usize]) {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(a.len(), b.len(), "no line added or removed");
    for (i, (o, n)) in b.iter().zip(&a).enumerate() {
        if o == n {
            continue;
        }
        assert!(
            lines.contains(&(i + 1)),
            "line {} changed:\n-{o}\n+{n}",
            i + 1
        );
        let mut rest = n.chars();
        assert!(
            o.chars().all(|c| rest.any(|x| x == c)),
            "line {} only gains text:\n-{o}\n+{n}",
            i + 1
        );
    }
}

fn site(json: &serde_json::Value) -> &serde_json::Value {
    let sites = json["sites"].as_array().expect("sites");
    assert_eq!(sites.len(), 1, "{json}");
    &sites[0]
}

#[test]
fn vars_source_lists_are_patched_in_their_literals_and_caddy_sends_the_expanded_policy() {
    let (tmp, dir) = copy("vars-sources.Caddyfile");
    let before = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    let (code, json, stderr) = patch(&dir);
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    // The four `vars` lines get the vendor; the header line is as it was.
    only_insertions_on(&before, &after, &[8, 9, 10, 11]);
    let s = site(&json);
    let lines: Vec<u64> = s["literals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![8, 9, 10, 11], "{s}");
    assert_eq!(
        s["line"], 14,
        "the site is the header that sends the policy"
    );
    assert_eq!(
        s["after"],
        "default-src 'none'; script-src 'self' 'unsafe-inline' https://muserelay.com; style-src 'self' 'unsafe-inline' https://muserelay.com; img-src 'self' data: https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; worker-src 'self'"
    );
    if !common::have("caddy") {
        return;
    }
    let server = serve(tmp.path(), &dir, Setup::new());
    assert_eq!(
        server.csp("/"),
        vec![s["after"].as_str().unwrap().to_string()]
    );
    if !common::have("chromium") {
        return;
    }
    let v = server.violations("/");
    assert!(widget::blocked(&v, "muserelay.com").is_empty(), "{v:?}");
    assert_eq!(widget::blocked(&v, "evil.example").len(), 3, "{v:?}");
}

#[test]
fn a_directive_inside_a_variable_gets_the_source_and_is_never_shadowed() {
    let (tmp, dir) = copy("vars-directive.Caddyfile");
    let before = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    let (code, json, stderr) = patch(&dir);
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    only_insertions_on(&before, &after, &[7, 8]);
    assert!(after
        .contains("vars csp_script \"script-src 'self' 'unsafe-inline' https://muserelay.com\""));
    let sent = site(&json)["after"].as_str().unwrap().to_string();
    assert_eq!(
        sent.matches("script-src").count(),
        1,
        "one script-src: {sent}"
    );
    if !common::have("caddy") {
        return;
    }
    let server = serve(tmp.path(), &dir, Setup::new());
    assert_eq!(server.csp("/"), vec![sent]);
}

#[test]
fn a_directive_in_a_variable_set_for_some_requests_refuses_the_site_by_name() {
    let (_tmp, dir) = copy("vars-conditional.Caddyfile");
    let before = fs::read(dir.join("Caddyfile")).unwrap();
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("Caddyfile:8:33: error[E013]")
            && run.stderr.contains("`{vars.csp_extra}`")
            && run.stderr.contains("line 7"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(dir.join("Caddyfile")).unwrap(), before);
}

#[test]
fn an_environment_placeholder_in_report_uri_refuses_nothing_and_caddy_substitutes_it() {
    let (tmp, dir) = copy("env-report-uri.Caddyfile");
    let before = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    let (code, json, stderr) = patch(&dir);
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    only_insertions_on(&before, &after, &[6]);
    assert!(
        after.contains("report-uri {$CSP_REPORT_URI};"),
        "kept as written: {after}"
    );
    let reported = site(&json)["after"].as_str().unwrap().to_string();
    if !common::have("caddy") {
        return;
    }
    let server = serve(
        tmp.path(),
        &dir,
        Setup::new().env("CSP_REPORT_URI", "/csp-report"),
    );
    assert_eq!(
        server.csp("/"),
        vec![reported.replace("{$CSP_REPORT_URI}", "/csp-report")]
    );
    if !common::have("chromium") {
        return;
    }
    let v = server.violations("/");
    assert!(widget::blocked(&v, "muserelay.com").is_empty(), "{v:?}");
    assert_eq!(widget::blocked(&v, "evil.example").len(), 3, "{v:?}");
}

#[test]
fn an_environment_placeholder_where_the_source_would_go_refuses_the_site_by_name() {
    let (_tmp, dir) = copy("env-script-src.Caddyfile");
    let before = fs::read(dir.join("Caddyfile")).unwrap();
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("Caddyfile:6:33: error[E013]")
            && run.stderr.contains("`script-src`")
            && run.stderr.contains("SCRIPT_HOSTS"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(dir.join("Caddyfile")).unwrap(), before);
}
