//! Caddy end to end: the csppatch binary on copies of the fixture trees in
//! tests/fixtures/e2e/caddy, `caddy validate` through csppatch's own `--validate`, then real
//! Caddy 2.6 on 127.0.0.1 serving the patched files and headless Chromium loading a page that
//! tries the vendor's widget: the headers the server sends are what is checked.

mod common;

use std::fs;
use std::path::Path;

use common::caddy::{copy_tree, e2e_fixture, global_options, read_tree, Server, Setup};

/// What one csppatch run printed.
struct Run {
    code: Option<i32>,
    /// The diff, as bytes (CRLF and all).
    stdout: Vec<u8>,
    stderr: String,
}

/// csppatch run in `dir`, with paths relative to it as a user in that directory types them.
fn csppatch(dir: &Path, args: &[&str]) -> Run {
    csppatch_env(dir, args, &[])
}

fn csppatch_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = common::csppatch()
        .current_dir(dir)
        .args(args)
        .args(["--color", "never"])
        .envs(env.iter().copied())
        .output()
        .expect("run csppatch");
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary copy of fixture tree `name`, and its directory.
fn fixture_copy(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(name);
    copy_tree(&e2e_fixture(name), &dir);
    (tmp, dir)
}

/// Serve the Caddyfile `file` with real Caddy through a copy written next to it (so that its
/// relative imports resolve), which starts with the test's global options and has each
/// `(from, to)` replaced: site addresses by 127.0.0.1 ports, `/srv/...` roots by the test's.
fn serve_copy(setup: Setup, file: &Path, replace: &[(&str, String)]) -> Server {
    let mut text = fs::read_to_string(file).expect("read the patched Caddyfile");
    for (from, to) in replace {
        assert!(text.contains(from), "`{from}` in {}", file.display());
        text = text.replace(from, to);
    }
    let copy = file.with_file_name("serve.Caddyfile");
    fs::write(&copy, global_options(setup.path(), false) + &text).expect("write serving copy");
    setup
        .serve_config(&copy)
        .expect("caddy serves the patched file")
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
    // headers.caddy opens with `header {`; api.caddy with a matcher. Both change.
    let (_tmp, dir) = fixture_copy("fragments");
    let run = csppatch(&dir, &[".", "--vendor", "muserelay", "--validate"]);
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
