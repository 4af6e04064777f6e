//! WordPress / PHP end to end: the csppatch binary on copies of theme trees, then `php -S` on
//! 127.0.0.1 running the patched functions.php through a WordPress-like router, and headless
//! Chromium loading a probe page (served by the same php -S, so the theme's header applies)
//! that tries the vendor's widget: the policy the browser receives is what is checked.

use crate::common;

use std::path::Path;

use common::php::{lint, serve_theme};
use common::server::Server;
use common::tree::{fixture_names, Run, Tally, Tree};
use common::widget::{self, MUSERELAY_LOADS};

const VENDOR: &[&str] = &["--vendor", "muserelay", "--color", "never"];

fn run(tree: &Tree, extra: &[&str]) -> Run {
    let mut args = vec![tree.name.as_str()];
    args.extend_from_slice(VENDOR);
    args.extend_from_slice(extra);
    tree.run(&args)
}

/// The MuseRelay document's WordPress snippet, as a theme's functions.php.
fn seed_theme() -> Tree {
    let mut src = b"<?php\n".to_vec();
    src.extend(std::fs::read(common::seed("muserelay-functions.php")).expect("seed"));
    Tree::from_files("muserelay-seed", &[("functions.php".into(), src)])
}

/// The CSP headers php -S sent for the probe page, and the request's nonce.
fn received(server: &Server) -> (Vec<String>, String) {
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    let nonce = r
        .header_values("x-nonce")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("the router sends X-Nonce");
    (r.csp(), nonce)
}

/// The theme served by php -S, its CSP as received, and what Chromium blocked on the probe page.
fn served(functions_php: &Path) -> (Vec<String>, Vec<String>) {
    let server = serve_theme(functions_php, MUSERELAY_LOADS);
    let (csp, _) = received(&server);
    let v = server.violations("/");
    (csp, v)
}

#[test]
fn muserelay_seed_already_allows_the_widget_and_is_left_alone() {
    if !common::have_seeds() || !common::have("php") || !common::have("chromium") {
        return;
    }
    let tree = seed_theme();
    let (csp, v) = served(&tree.path("functions.php"));
    assert_eq!(csp, vec![widget::MUSERELAY_SEED_POLICY.to_string()]);
    assert!(
        widget::blocked(&v, "muserelay.com").is_empty(),
        "the seed lets the widget through: {v:?}"
    );
    assert_eq!(
        widget::blocked(&v, "evil.example").len(),
        3,
        "and nothing else: {v:?}"
    );

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "no diff: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr
            .contains("1 file read, 1 CSP site, 0 sources added in 0 files (nothing to change)"),
        "{}",
        out.stderr
    );
    tree.assert_untouched();
}

#[test]
fn muserelay_seed_missing_pieces_keeps_its_concatenation_layout() {
    if !common::have("php") || !common::have("chromium") {
        return;
    }
    let tree = Tree::fixture("php", "seed-missing");
    let file = tree.path("functions.php");
    let (csp, before) = served(&file);
    assert_eq!(
        csp,
        vec!["default-src 'self'; script-src 'self' https://muserelay.com 'unsafe-inline'; connect-src 'self' https://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline';".to_string()]
    );
    for needle in [
        "connect-src wss://muserelay.com",
        "img-src https://muserelay.com",
    ] {
        assert!(
            before.iter().any(|x| x.starts_with(needle)),
            "before: `{needle}` blocked, saw {before:?}"
        );
    }

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // One directive per literal, each new one on its own line with the seed's ` .` + newline +
    // 11-space indentation.
    let expected = "<?php
add_action('send_headers', function() {
    header(\"Content-Security-Policy: default-src 'self'; \" .
           \"script-src 'self' https://muserelay.com 'unsafe-inline'; \" .
           \"connect-src 'self' https://muserelay.com wss://muserelay.com; \" .
           \"style-src 'self' https://muserelay.com 'unsafe-inline'; \" .
           \"img-src 'self' https://muserelay.com data:;\");
});
";
    assert_eq!(tree.text("functions.php"), expected);
    lint(&file).expect("php -l accepts the patched file");
    assert_eq!(tree.assert_only_values_changed(), 1);
    tree.assert_diff_reproduces_written_files(&out);

    let (csp, after) = served(&file);
    assert_eq!(
        csp,
        vec!["default-src 'self'; script-src 'self' https://muserelay.com 'unsafe-inline'; connect-src 'self' https://muserelay.com wss://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'; img-src 'self' https://muserelay.com data:;".to_string()]
    );
    widget::assert_muserelay_patched(&before, &after);

    let again = run(&tree, &["--check"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "idempotent");
}

#[test]
fn wp_headers_filter_gets_the_vendor_and_wordpress_sends_it() {
    if !common::have("php") || !common::have("chromium") {
        return;
    }
    let tree = Tree::fixture("php", "wp-headers");
    let file = tree.path("functions.php");
    let (csp, before) = served(&file);
    assert_eq!(
        csp,
        vec!["default-src 'self'; script-src 'self' 'unsafe-inline'; img-src 'self' data:"]
    );
    assert!(!widget::blocked(&before, "muserelay.com").is_empty());

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The filter's leading-dot layout is kept: each new directive is a literal of its own.
    let expected = "<?php
/**
 * Security headers, sent by WordPress itself through the wp_headers filter.
 */
function theme_security_headers($headers) {
    $headers['X-Content-Type-Options'] = 'nosniff';
    $headers['Content-Security-Policy'] = \"default-src 'self'; \"
        . \"script-src 'self' 'unsafe-inline' https://muserelay.com; \"
        . \"img-src 'self' data: https://muserelay.com; \"
        . \"worker-src 'self'; \"
        . \"connect-src 'self' https://muserelay.com wss://muserelay.com; \"
        . \"style-src 'self' https://muserelay.com 'unsafe-inline'\";
    return $headers;
}
add_filter('wp_headers', 'theme_security_headers');
";
    assert_eq!(tree.text("functions.php"), expected);
    lint(&file).expect("php -l");

    let server = serve_theme(&file, MUSERELAY_LOADS);
    let r = server.get("/");
    assert_eq!(r.csp(), vec!["default-src 'self'; script-src 'self' 'unsafe-inline' https://muserelay.com; img-src 'self' data: https://muserelay.com; worker-src 'self'; connect-src 'self' https://muserelay.com wss://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'"]);
    assert_eq!(
        r.header_values("x-content-type-options"),
        vec![&b"nosniff"[..]],
        "the filter's other headers are still sent"
    );
    let after = server.violations("/");
    assert!(
        widget::blocked(&after, "muserelay.com").is_empty(),
        "{after:?}"
    );
    widget::assert_only_vendor_unblocked(&before, &after, "muserelay.com");
}

#[test]
fn nonce_built_from_a_variable_is_patched_only_in_literal_parts() {
    if !common::have("php") || !common::have("chromium") {
        return;
    }
    let tree = Tree::fixture("php", "nonce-header");
    let file = tree.path("functions.php");
    let policy = |nonce: &str, after: bool| {
        if after {
            format!("script-src 'nonce-{nonce}' 'strict-dynamic' https://muserelay.com; object-src 'none'; base-uri 'self'; connect-src 'self' https://muserelay.com wss://muserelay.com")
        } else {
            format!("script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'self'; connect-src 'self'")
        }
    };
    let before = {
        let server = serve_theme(&file, MUSERELAY_LOADS);
        let (csp1, n1) = received(&server);
        let (csp2, n2) = received(&server);
        assert_ne!(n1, n2, "a fresh nonce per request");
        assert_eq!(csp1, vec![policy(&n1, false)]);
        assert_eq!(csp2, vec![policy(&n2, false)]);
        server.violations("/")
    };
    assert!(
        !before.iter().any(|v| v.ends_with(" inline")),
        "the theme's own nonce'd script runs: {before:?}"
    );
    assert!(
        before
            .iter()
            .any(|v| v.starts_with("connect-src wss://muserelay.com")),
        "{before:?}"
    );

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("nonce-header/functions.php:4:12: warning[CSP101]: the policy has 'strict-dynamic' in `script-src`: CSP3 browsers ignore hosts there, so `https://muserelay.com` (for muserelay) only helps browsers without 'strict-dynamic'"), "{}", out.stderr);
    assert!(!out.stderr.contains("CSP112"), "{}", out.stderr);
    // The sources go into the literals around `$nonce`, which is left as it was.
    let line = "    header(\"Content-Security-Policy: script-src 'nonce-\" . $nonce . \"' 'strict-dynamic' https://muserelay.com; object-src 'none'; base-uri 'self'; connect-src 'self' https://muserelay.com wss://muserelay.com\");";
    let text = tree.text("functions.php");
    assert_eq!(text.lines().nth(3), Some(line), "{text}");
    assert_eq!(tree.assert_only_values_changed(), 1);
    lint(&file).expect("php -l");

    let server = serve_theme(&file, MUSERELAY_LOADS);
    let (csp1, n1) = received(&server);
    let (csp2, n2) = received(&server);
    assert_ne!(n1, n2);
    assert_eq!(csp1, vec![policy(&n1, true)]);
    assert_eq!(csp2, vec![policy(&n2, true)]);
    let after = server.violations("/");
    assert!(!after.iter().any(|v| v.ends_with(" inline")), "{after:?}");
    assert!(
        widget::blocked(&after, "muserelay.com").is_empty(),
        "{after:?}"
    );
    assert_eq!(
        widget::blocked(&after, "evil.example/collect").len(),
        1,
        "connect-src still blocks other hosts: {after:?}"
    );
    widget::assert_only_vendor_unblocked(&before, &after, "muserelay.com");
}

#[test]
fn run_time_values_are_refused_with_file_and_line() {
    for (name, line) in [
        ("dynamic", "dynamic/functions.php:4:12: error[E013]: cannot patch this Content-Security-Policy: the value is computed at run time ($policy): csppatch edits only literal text; add the sources where that value is built"),
        // A sprintf() argument the file does not say (a sprintf() of known arguments is patched:
        // tests/e2e/vars_php.rs).
        ("sprintf-policy", "sprintf-policy/functions.php:3:12: error[E013]: cannot patch this Content-Security-Policy: the value is computed at run time (get_option('theme_csp_policy')): csppatch edits only literal text; add the sources where that value is built"),
    ] {
        let tree = Tree::fixture("php", name);
        let out = run(&tree, &[]);
        assert_eq!(out.code, Some(2), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(line), "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}: no diff");
        assert!(
            out.stderr.contains("(errors: nothing written)"),
            "{}",
            out.stderr
        );
        tree.assert_untouched();
    }
}

#[test]
fn validate_runs_php_l_on_the_patched_file_at_its_real_path() {
    if !common::have("php") {
        return;
    }
    if !common::have_namespace() {
        return;
    }
    let tree = Tree::fixture("php", "seed-missing");
    let real = std::fs::canonicalize(tree.path("functions.php")).unwrap();

    // The default validator: php -l, before and after, on the real path; dry run writes nothing.
    let out = run(&tree, &["--validate", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stderr = out.stderr_stable(&tree);
    for stage in ["before", "after"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("validate ({stage}): "))
                    && l.ends_with(" -l <tmp>/seed-missing/functions.php ok")),
            "{stderr}"
        );
    }
    tree.assert_untouched();

    // A validator that rejects what it reads at the real path once the patch is there: it
    // passes on the original, so the "after" run saw the patched bytes at the real path.
    let cmd = format!(
        "php -n -l {p} >/dev/null && ! grep -q 'wss://muserelay.com' {p} || {{ echo \"site-policy: {p}: WebSockets are not allowed\" >&2; exit 1; }}",
        p = real.display()
    );
    let out = run(&tree, &["--validate-cmd", &cmd]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let stderr = out.stderr_stable(&tree);
    assert!(
        stderr.contains(&format!("validate (before): {} ok", tree.stable(&cmd))),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("validate (after): {} FAILED", tree.stable(&cmd))),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "    site-policy: <tmp>/seed-missing/functions.php: WebSockets are not allowed"
        ),
        "the validator's message is shown: {stderr}"
    );
    assert!(
        stderr.contains("rejects the patched configuration; nothing was written"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(validation failed: nothing written)"),
        "{stderr}"
    );
    tree.assert_untouched();

    // Validated and written.
    let out = run(&tree, &["--validate"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(tree.text("functions.php").contains("wss://muserelay.com"));
    lint(&real).expect("php -l");
}

#[test]
fn every_fixture_snapshot_bytes_outside_values_and_diff_applies() {
    if !common::have_seeds() {
        return;
    }
    let mut trees: Vec<Tree> = fixture_names("php")
        .iter()
        .map(|n| Tree::fixture("php", n))
        .collect();
    trees.push(seed_theme());
    let mut tally = Tally::default();
    for tree in &trees {
        let out = run(tree, &[]);
        common::snapshots("e2e-php")
            .bind(|| insta::assert_snapshot!(tree.name.clone(), tree.snapshot(&out)));
        if tally.check(tree, &out) && common::have("php") {
            for rel in tree.changed() {
                lint(&tree.root().join(rel)).expect("php -l accepts the patched file");
            }
        }
    }
    eprintln!("{} fixtures: {tally:?}", trees.len());
    assert_eq!(
        tally,
        Tally {
            patched: 5,
            unchanged: 1,
            refused: 3
        }
    );
}

#[test]
fn fix_copied_run_time_nonce_is_refused_not_written_as_literal_text() {
    // default-src 'self' 'nonce-" . $nonce . "': every new directive (script-src for the
    // vendor, worker-src pinned) starts as a copy of default-src. csppatch used to write the
    // copied nonce as the literal text `'nonce-\$nonce'`, so the new script-src no longer
    // matched the page's nonce and the theme's own nonce'd scripts were blocked.
    let tree = Tree::fixture("php", "nonce-default");
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "nonce-default/functions.php:4:12: error[E013]: cannot patch this \
             Content-Security-Policy: the new `worker-src` would copy `'nonce-$nonce'` from \
             `default-src 'self' 'nonce-$nonce'`"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no diff for a refused site");
    tree.assert_untouched();
}

#[test]
fn fix_run_time_nonce_is_not_reported_as_an_invalid_source() {
    // The lints read the stand-in of `'nonce-" . $nonce . "'`, `'nonce-$nonce'`, and CSP112
    // said "not a valid source ... browsers ignore it" of the nonce the page works with.
    let tree = Tree::fixture("php", "nonce-header");
    let out = run(&tree, &["--dry-run"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("warning[CSP101]"), "{}", out.stderr);
    assert!(!out.stderr.contains("CSP112"), "{}", out.stderr);
    // A source that is literally invalid is still reported.
    let tree = Tree::from_files(
        "bad-nonce",
        &[(
            "functions.php".into(),
            b"<?php\nadd_action('send_headers', function () {\n    header(\"Content-Security-Policy: script-src 'nonce-{random}' 'self'\");\n});\n".to_vec(),
        )],
    );
    let out = run(&tree, &["--dry-run"]);
    assert!(
        out.stderr.contains(
            "warning[CSP112]: `'nonce-{random}'` in `script-src` is a placeholder from a vendor snippet"
        ),
        "{}",
        out.stderr
    );
}
