//! Caddy end to end: the csppatch binary on copies of the fixture trees in
//! tests/fixtures/e2e/caddy, `caddy validate` through csppatch's own `--validate`, then real
//! Caddy 2.6 on 127.0.0.1 serving the patched files and headless Chromium loading a page that
//! tries the vendor's widget: the headers the server sends are what is checked.

use crate::common;

use std::fs;
use std::path::Path;

use common::caddy::{
    csppatch, csppatch_env, e2e_fixture, fixture_copy, ports, read_tree, serve_copy, Setup,
};
use common::server::Server;
use common::widget::{self, MUSERELAY_LOADS};

/// Chromium's verdict on the probe page `server` serves: nothing of MuseRelay blocked, the
/// three loads from evil.example blocked.
fn assert_widget_allowed_and_nothing_else(server: &Server) {
    let v = server.violations("/");
    assert!(
        widget::blocked(&v, "muserelay.com").is_empty(),
        "the widget is allowed, saw {v:?}"
    );
    assert_eq!(
        widget::blocked(&v, "evil.example").len(),
        3,
        "everything else still blocked: {v:?}"
    );
}

#[test]
fn muserelay_seed_is_sent_on_one_line_and_lets_the_widget_through() {
    if !common::have_seeds() || !common::have("caddy") || !common::have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let conf = tmp.path().join("muserelay.Caddyfile");
    fs::copy(common::seed("muserelay.Caddyfile"), &conf).unwrap();
    // Served through a copy with the site address and a file server for the probe page.
    let serve = |conf: &Path| {
        let setup = Setup::new();
        let address = format!(
            "{} {{\n\troot * {}\n\tfile_server",
            setup.address(),
            site.display()
        );
        serve_copy(setup, conf, &[("yoursite.com {", address)])
    };

    // Before: Caddy sends each `\` and line break (Go turns the break into a space), so
    // `\ script-src ...` is a directive named `\` and only default-src 'self' applies.
    {
        let server = serve(&conf);
        let sent = server.get("/").csp();
        assert_eq!(
            sent,
            vec![widget::MUSERELAY_SEED_POLICY.replace("; ", "; \\         ")],
            "`; \\` then the line break and 8 spaces of indentation"
        );
        let v = server.violations("/");
        assert_eq!(
            widget::blocked(&v, "muserelay.com").len(),
            5,
            "before: every MuseRelay load blocked, saw {v:?}"
        );
    }

    let run = csppatch(
        tmp.path(),
        &["muserelay.Caddyfile", "--vendor", "muserelay"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("muserelay.Caddyfile:2:57: warning[CDY402]: the Content-Security-Policy value spans several lines"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read(&conf).unwrap(),
        fs::read(e2e_fixture("muserelay.after.Caddyfile")).unwrap(),
        "the value on one line, every other byte as it was"
    );

    let server = serve(&conf);
    assert_eq!(server.get("/").csp(), vec![widget::MUSERELAY_SEED_POLICY]);
    assert_widget_allowed_and_nothing_else(&server);

    let again = csppatch(
        tmp.path(),
        &["muserelay.Caddyfile", "--vendor", "muserelay", "--check"],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "no diff on a second run");
}

/// The tree's shared policy after the patch (derived by hand from the merge rules):
/// script-src and img-src get the vendor; worker-src, which fell back to script-src, keeps
/// 'self'; connect-src and style-src start from default-src's 'self'.
const TREE_POLICY: &str = "default-src 'self'; script-src 'self' https://muserelay.com; img-src 'self' data: https://muserelay.com; frame-ancestors 'none'; worker-src 'self'; connect-src 'self' https://muserelay.com wss://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'";
/// The reports site's Report-Only policy after the patch: script-src is new (from
/// default-src), so worker-src is pinned to what it had.
const TREE_REPORT_ONLY: &str = "default-src 'self'; report-uri /csp-reports; worker-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'";

#[test]
fn snippet_imported_by_two_sites_is_patched_once_and_served_by_both() {
    if !common::have("caddy") || !common::have("chromium") {
        return;
    }
    let (tmp, dir) = fixture_copy("tree");
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay", "--validate"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ok = format!(
        "caddy validate --adapter caddyfile --config {} ok",
        dir.canonicalize().unwrap().join("Caddyfile").display()
    );
    for stage in ["before", "after"] {
        let head = format!("validate ({stage}): ");
        assert!(
            run.stderr
                .lines()
                .any(|l| l.starts_with(&head) && l.ends_with(&ok)),
            "{head}...{ok}\n{}",
            run.stderr
        );
    }
    assert_eq!(
        run.stderr
            .matches("snippets/security.caddy:4: Content-Security-Policy (snippet (security))")
            .count(),
        1,
        "one site for the snippet, however often it is imported: {}",
        run.stderr
    );

    // One line changed in each file: the value.
    let before = read_tree(&e2e_fixture("tree"));
    let after = read_tree(&dir);
    let snippet = String::from_utf8(after[Path::new("snippets/security.caddy")].clone()).unwrap();
    let original = String::from_utf8(before[Path::new("snippets/security.caddy")].clone()).unwrap();
    assert_eq!(
        snippet,
        original.replace(
            "\"default-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'\"",
            &format!("\"{TREE_POLICY}\"")
        )
    );
    let caddyfile = String::from_utf8(after[Path::new("Caddyfile")].clone()).unwrap();
    let original = String::from_utf8(before[Path::new("Caddyfile")].clone()).unwrap();
    assert_eq!(
        caddyfile,
        original.replace(
            "\"default-src 'self'; report-uri /csp-reports\"",
            &format!("\"{TREE_REPORT_ONLY}\"")
        )
    );

    let again = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay", "--check"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "no diff on a second run");

    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let setup = Setup::new();
    let a = setup.port;
    let extra: Vec<u16> = ports(3).into_iter().filter(|&p| p != a).collect();
    let (b, reports) = (extra[0], extra[1]);
    let mut server = serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[
            ("http://a.example.com", format!("http://127.0.0.1:{a}")),
            ("http://b.example.com", format!("http://127.0.0.1:{b}")),
            (
                "http://reports.example.com",
                format!("http://127.0.0.1:{reports}"),
            ),
            ("/srv/a", site.display().to_string()),
        ],
    );
    for port in [b, reports] {
        server.wait_listening(port).unwrap();
    }
    for port in [a, b] {
        let r = common::http::get(port, "/", "127.0.0.1").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.csp(), vec![TREE_POLICY], "site on port {port}");
        assert_eq!(r.header_values("x-content-type-options"), vec![b"nosniff"]);
    }
    let r = common::http::get(reports, "/", "127.0.0.1").unwrap();
    assert!(r.csp().is_empty());
    assert_eq!(
        r.header_values("content-security-policy-report-only"),
        vec![TREE_REPORT_ONLY.as_bytes()]
    );
    assert_widget_allowed_and_nothing_else(&server);
}

#[test]
fn policy_from_an_environment_placeholder_is_refused_and_names_the_variable() {
    let (_tmp, dir) = fixture_copy("env-placeholder");
    let before = read_tree(&dir);
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    for (at, var) in [("3:33", "CSP"), ("4:45", "CSP_REPORT_ONLY")] {
        let needle = format!("comes from the environment variable {var} (`{{${var}}}`)");
        assert!(
            run.stderr.contains(&format!("Caddyfile:{at}: error[E013]"))
                && run.stderr.contains(&needle),
            "{at} {needle}\n{}",
            run.stderr
        );
    }
    assert!(run.stdout.is_empty(), "no diff");
    assert_eq!(read_tree(&dir), before, "nothing written");
}

#[test]
fn runtime_nonce_placeholder_is_patched_around_and_substituted_per_request() {
    if !common::have("caddy") || !common::have("chromium") {
        return;
    }
    let (tmp, dir) = fixture_copy("nonce");
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // The vendor goes after the nonce; the worker-src pinned to script-src keeps the same
    // placeholder (a nonce means nothing to workers, but the copy is exact).
    let merged = "default-src 'self'; script-src 'self' 'nonce-{http.request.uuid}' https://muserelay.com; object-src 'none'; worker-src 'self' 'nonce-{http.request.uuid}'; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'";
    let original = fs::read_to_string(e2e_fixture("nonce/Caddyfile")).unwrap();
    let value =
        "\"default-src 'self'; script-src 'self' 'nonce-{http.request.uuid}'; object-src 'none'\"";
    assert_eq!(
        fs::read_to_string(dir.join("Caddyfile")).unwrap(),
        original.replace(value, &format!("\"{merged}\""))
    );

    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let setup = Setup::new();
    let address = setup.address();
    let server = serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[
            ("http://app.example.com", address),
            ("/srv/app", site.display().to_string()),
        ],
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let sent = server.get("/").csp();
        assert_eq!(sent.len(), 1);
        let uuid = sent[0]
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_string();
        assert!(is_uuid(&uuid), "{uuid:?} in {}", sent[0]);
        assert_eq!(sent[0].replace(&uuid, "{http.request.uuid}"), merged);
        assert_eq!(sent[0].matches(&uuid).count(), 2, "one uuid per response");
        seen.push(uuid);
    }
    assert_ne!(seen[0], seen[1], "a fresh nonce for each response");
    assert_widget_allowed_and_nothing_else(&server);
}

/// 8-4-4-4-12 lowercase hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[test]
fn bare_words_after_a_plus_prefix_are_refused() {
    // `header +Content-Security-Policy default-src 'self' ...`: Caddy sends `default-src`
    // alone (tests/dialects/caddy_lints.rs shows it on real Caddy), a policy that blocks
    // everything.
    let (_tmp, dir) = fixture_copy("unquoted-add");
    let before = read_tree(&dir);
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Caddyfile:2:34: warning[CDY401]: Caddy sends only `default-src`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Caddyfile:2:34: error[E013]: cannot patch this Content-Security-Policy: the policy is written as bare words"),
        "{}",
        run.stderr
    );
    assert_eq!(read_tree(&dir), before, "nothing written");
}

#[test]
fn conf_root_validates_the_main_caddyfile_and_reports_it_already_invalid() {
    if !common::have("caddy") {
        return;
    }
    let args = [
        "conf.d/security.caddy",
        "--conf-root",
        "caddy/Caddyfile",
        "--vendor",
        "muserelay",
        "--validate",
    ];
    // The snippet lives outside the main config's directory: --conf-root names it, and
    // `caddy validate` runs on it, not on a wrapper.
    let (_tmp, dir) = fixture_copy("conf-root");
    let run = csppatch(&dir, &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ok = format!(
        "caddy validate --adapter caddyfile --config {} ok",
        dir.canonicalize()
            .unwrap()
            .join("caddy/Caddyfile")
            .display()
    );
    assert!(run.stderr.contains(&ok), "{ok}\n{}", run.stderr);
    assert!(fs::read_to_string(dir.join("conf.d/security.caddy"))
        .unwrap()
        .contains("https://muserelay.com"));
    // Without it, the lone snippet is validated through the wrapper.
    let (_tmp, dir) = fixture_copy("conf-root");
    let run = csppatch(
        &dir,
        &[
            "conf.d/security.caddy",
            "--vendor",
            "muserelay",
            "--validate",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("csppatch-validate.conf ok"),
        "{}",
        run.stderr
    );

    // The main config has a typo Caddy refuses: exit 3 before anything is tried, Caddy's
    // message shown with the real path, every file as it was.
    let (_tmp, dir) = fixture_copy("invalid-root");
    let before = read_tree(&dir);
    let run = csppatch(&dir, &args);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let real = dir.canonicalize().unwrap().join("caddy/Caddyfile");
    for needle in [
        format!("{}:6: unrecognized directive: file_sever", real.display()),
        "already fails on the unpatched configuration; fix that first (nothing was written)"
            .to_string(),
        "validation failed: nothing written".to_string(),
    ] {
        assert!(run.stderr.contains(&needle), "{needle}\n{}", run.stderr);
    }
    assert_eq!(read_tree(&dir), before, "every file byte-identical");
}

#[test]
fn validate_cmd_sees_the_patched_file_at_its_real_path_and_a_rejection_writes_nothing() {
    // Without a private mount namespace csppatch writes, validates and restores instead:
    // CSPPATCH_NO_NAMESPACE=1 takes that path where namespaces work too. The namespace half
    // needs one here (and fails under CI without).
    for namespace in [true, false] {
        if namespace && !common::have_namespace() {
            continue;
        }
        let (_tmp, dir) = fixture_copy("tree");
        let before = read_tree(&dir);
        let snippet = dir.canonicalize().unwrap().join("snippets/security.caddy");
        // Passes on the unpatched tree; fails once the real path shows the vendor.
        let cmd = format!(
            "if grep -q muserelay.com '{0}'; then echo \"{0} now allows muserelay.com\" >&2; exit 1; fi",
            snippet.display()
        );
        let env: &[(&str, &str)] = if namespace {
            &[]
        } else {
            &[("CSPPATCH_NO_NAMESPACE", "1")]
        };
        let run = csppatch_env(
            &dir,
            &["Caddyfile", "--vendor", "muserelay", "--validate-cmd", &cmd],
            env,
        );
        assert_eq!(run.code, Some(3), "{}", run.stderr);
        let outcome = if namespace {
            "rejects the patched configuration; nothing was written"
        } else {
            "rejects the patched configuration; every file was restored"
        };
        for needle in [
            format!("validate (before): {cmd} ok"),
            format!("validate (after): {cmd} FAILED"),
            format!("    {} now allows muserelay.com", snippet.display()),
            outcome.to_string(),
        ] {
            assert!(run.stderr.contains(&needle), "{needle}\n{}", run.stderr);
        }
        assert_eq!(read_tree(&dir), before, "every file byte-identical");
    }
}

// Regression: the validation wrapper for files with no main config took a file of
// directives that opens with a block (`header {`) for a file of sites, imported a file of
// snippet definitions inside a site (`unrecognized directive: (security)`), and put two
// lone fragments in two sites with one address (`ambiguous site definition`): each time
// `--validate` failed on a valid configuration (exit 3).

#[test]
fn lone_snippet_definition_file_validates_through_the_wrapper() {
    if !common::have("caddy") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("security.caddy");
    fs::copy(e2e_fixture("tree/snippets/security.caddy"), &file).unwrap();
    let run = csppatch(
        tmp.path(),
        &["security.caddy", "--vendor", "muserelay", "--validate"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("csppatch-validate.conf ok"),
        "validated through the wrapper: {}",
        run.stderr
    );
    assert!(fs::read_to_string(&file)
        .unwrap()
        .contains("script-src 'self' https://muserelay.com;"));

    // The wrapper imports the snippet into a site: Caddy parses a snippet's directives only
    // there, so a mistake in its body is caught (a bare top-level import says "Valid").
    let broken =
        "(security) {\n\theader Content-Security-Policy \"default-src 'self'\"\n\tfile_sever\n}\n";
    fs::write(&file, broken).unwrap();
    let run = csppatch(
        tmp.path(),
        &["security.caddy", "--vendor", "muserelay", "--validate"],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("security.caddy:3: unrecognized directive: file_sever"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), broken);
}

#[test]
fn lone_fragments_opening_with_a_block_validate_through_the_wrapper() {
    if !common::have("caddy") {
        return;
    }
    // headers.caddy opens with `header {`; api.caddy with a matcher. Both change: api.caddy's
    // `default-src 'none'` API policy is locked (E040), so it is included on purpose here.
    let (_tmp, dir) = fixture_copy("fragments");
    let run = csppatch(
        &dir,
        &[
            ".",
            "--vendor",
            "muserelay",
            "--validate",
            "--include-locked",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with(b"--- a/api.caddy\n"));
    assert!(
        run.stderr.contains("csppatch-validate.conf ok"),
        "{}",
        run.stderr
    );
    let after = read_tree(&dir);
    let before = read_tree(&e2e_fixture("fragments"));
    assert_eq!(after.len(), 2);
    for (path, bytes) in &after {
        assert_ne!(bytes, &before[path], "{} patched", path.display());
    }
}

// Regression: a new directive that copies a source with a placeholder (`worker-src` pinned
// to `script-src 'self' https://{args.0}`) had the placeholder written escaped (`\{args.0\}`),
// so Caddy sent `https://{args.0}` literally and workers from the CDN, allowed before through
// script-src, were blocked.
#[test]
fn placeholder_copied_into_a_new_directive_stays_a_placeholder() {
    if !common::have("caddy") {
        return;
    }
    let (_tmp, dir) = fixture_copy("snippet-args");
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let setup = Setup::new();
    let address = setup.address();
    let server = serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[("http://app.example.com", address)],
    );
    // `import csp cdn.example.com` puts the CDN in both lists; workers keep what they had.
    assert_eq!(
        server.get("/").csp(),
        vec!["default-src 'self'; script-src 'self' https://cdn.example.com https://muserelay.com; worker-src 'self' https://cdn.example.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'"]
    );
}

// Regression: a CSP written as bare words on a `header` line is a find/replace on the
// policy set before it, not a policy. csppatch warned and patched the quoted policy, which
// Caddy then rewrote (`default-src` -> `'self'`): the sent policy was not the merged one, and
// the directives the merge created from default-src (script-src 'self' ...) newly blocked
// what the sent policy, which had no default-src left, allowed. Now refused (exit 2).
#[test]
fn bare_word_replacement_on_csp_is_refused() {
    if !common::have("caddy") {
        return;
    }
    let (_tmp, dir) = fixture_copy("unquoted-replace");
    let before = read_tree(&dir);
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Caddyfile:4:9: error[CDY401]: this sets no Content-Security-Policy"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(errors: nothing written)"),
        "{}",
        run.stderr
    );
    assert_eq!(read_tree(&dir), before, "nothing written");

    // What Caddy sends: the quoted policy, rewritten by the line after it.
    let setup = Setup::new();
    let address = setup.address();
    let server = serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[("http://app.example.com", address)],
    );
    assert_eq!(
        server.get("/").csp(),
        vec!["'self' 'self'; img-src 'self' data:"],
        "regexp `default-src` replaced by `'self'`; the third word is dropped"
    );
}

#[test]
fn a_policy_scoped_by_a_matcher_to_file_types_stays_locked_and_caddy_still_sends_it() {
    let (tmp, dir) = fixture_copy("matcher-locked");
    let original = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    let run = csppatch(&dir, &["Caddyfile", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("Caddyfile:9:")
            && run.stderr.contains("warning[E040]")
            && run
                .stderr
                .contains("it is scoped to file types (`header @svg (path *.svg)`)"),
        "{}",
        run.stderr
    );
    let after = fs::read_to_string(dir.join("Caddyfile")).unwrap();
    let (old, new): (Vec<&str>, Vec<&str>) = (original.lines().collect(), after.lines().collect());
    assert_eq!(old.len(), new.len());
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        if i + 1 != 12 {
            assert_eq!(o, n, "line {} byte for byte", i + 1);
        }
    }
    assert!(new[11].contains("https://muserelay.com"), "{}", new[11]);
    if !common::have("caddy") {
        return;
    }
    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    fs::write(
        site.join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    let setup = Setup::new();
    let address = setup.address();
    let server = serve_copy(
        setup,
        &dir.join("Caddyfile"),
        &[
            ("http://app.example.com", address),
            ("/srv/app", site.display().to_string()),
        ],
    );
    assert_eq!(
        server.csp("/logo.svg"),
        vec!["default-src 'self'; style-src 'self' 'unsafe-inline'".to_string()],
        "the locked policy is sent as it was"
    );
    let page = server.csp("/");
    assert_eq!(page.len(), 1);
    assert!(
        page[0].contains("script-src 'self' https://muserelay.com"),
        "{page:?}"
    );
    if common::have("chromium") {
        assert_widget_allowed_and_nothing_else(&server);
    }
}

#[test]
fn a_caddyfile_under_another_name_is_read_as_caddy_and_the_guess_is_said() {
    let (tmp, dir) = fixture_copy("guessed");
    let run = csppatch(&dir, &["site.conf", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("site.conf:1:1: note[E050]: read as caddy by its content")
            && run.stderr.contains("pass --dialect nginx"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("site.conf:5: Content-Security-Policy"),
        "{}",
        run.stderr
    );
    if !common::have("caddy") {
        return;
    }
    // Real Caddy reads the file csppatch wrote, and sends the vendor's host.
    let site = tmp.path().join("www");
    widget::write_site(&site, MUSERELAY_LOADS);
    let setup = Setup::new();
    let address = setup.address();
    let server = serve_copy(
        setup,
        &dir.join("site.conf"),
        &[("http://app.example.com", address)],
    );
    let csp = server.csp("/");
    assert_eq!(csp.len(), 1);
    assert!(
        csp[0].contains("script-src 'self' https://muserelay.com"),
        "{csp:?}"
    );
}
