//! WordPress / PHP end to end: the csppatch binary on copies of theme trees, then `php -S` on
//! 127.0.0.1 running the patched functions.php through a WordPress-like router, and headless
//! Chromium loading a probe page (served by the same php -S, so the theme's header applies)
//! that tries the vendor's widget: the policy the browser receives is what is checked.

mod common;

use common::tree::{Run, Tree};

const VENDOR: &[&str] = &["--vendor", "muserelay", "--color", "never"];

fn run(tree: &Tree, extra: &[&str]) -> Run {
    let mut args = vec![tree.name.as_str()];
    args.extend_from_slice(VENDOR);
    args.extend_from_slice(extra);
    tree.run(&args)
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
