//! Caddy fixtures end to end, without a server: for every tree in tests/fixtures/e2e/caddy
//! (and the MuseRelay seed), a snapshot of the input files, the diff csppatch prints and its
//! diagnostics; and proof that only the bytes of CSP values change, and that the printed diff,
//! applied by GNU patch to a pristine copy, gives the written files byte for byte.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::caddy::{csppatch, e2e_fixture, fixture_copy, read_tree, seed_copy};
use csppatch::dialect::DialectKind;

/// Every fixture tree, with the paths csppatch is given (run inside the tree).
const FIXTURES: &[(&str, &[&str])] = &[
    (
        "conf-root",
        &["conf.d/security.caddy", "--conf-root", "caddy/Caddyfile"],
    ),
    ("crlf", &["Caddyfile"]),
    ("env-placeholder", &["Caddyfile"]),
    ("fragments", &["."]),
    ("guessed", &["site.conf"]),
    (
        "invalid-root",
        &["conf.d/security.caddy", "--conf-root", "caddy/Caddyfile"],
    ),
    ("matcher-locked", &["Caddyfile"]),
    ("nonce", &["Caddyfile"]),
    ("snippet-args", &["Caddyfile"]),
    ("tabs", &["Caddyfile"]),
    ("tree", &["Caddyfile"]),
    ("unquoted-add", &["Caddyfile"]),
    ("unquoted-replace", &["Caddyfile"]),
];

/// Text for a snapshot: a carriage return shown as `\r` (insta would fold CRLF).
fn visible(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\r', "\\r")
}

/// One snapshot per fixture: the input files, the diff csppatch prints and its diagnostics.
#[test]
fn fixtures_snapshot() {
    if !common::have_seeds() {
        return;
    }
    let mut listed: Vec<&str> = FIXTURES.iter().map(|(n, _)| *n).collect();
    let on_disk: Vec<String> = fs::read_dir(e2e_fixture(""))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut sorted = on_disk.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "every fixture tree has a snapshot");

    let mut cases: Vec<(String, tempfile::TempDir, std::path::PathBuf, Vec<&str>)> = FIXTURES
        .iter()
        .map(|(name, paths)| {
            let (tmp, dir) = fixture_copy(name);
            (name.to_string(), tmp, dir, paths.to_vec())
        })
        .collect();
    let (tmp, dir) = seed_copy();
    cases.push(("muserelay".into(), tmp, dir, vec!["muserelay.Caddyfile"]));
    for (name, tmp, dir, paths) in cases {
        let mut args = paths.clone();
        args.extend(["--vendor", "muserelay", "--dry-run"]);
        let run = csppatch(&dir, &args);
        let mut text = format!("$ csppatch {}\nexit: {:?}\n", args.join(" "), run.code);
        for (path, bytes) in read_tree(&dir) {
            text.push_str(&format!(
                "\n--- input {}\n{}",
                path.display(),
                visible(&bytes)
            ));
        }
        text.push_str(&format!("\n--- diff (stdout)\n{}", visible(&run.stdout)));
        text.push_str(&format!("\n--- diagnostics (stderr)\n{}", run.stderr));
        for root in [tmp.path().to_path_buf(), tmp.path().canonicalize().unwrap()] {
            text = text.replace(&root.display().to_string(), "[TMP]");
        }
        common::snapshots("e2e-caddy").bind(|| insta::assert_snapshot!(name, text));
    }
}

/// The file with every CSP value token cut out: what must not change. Each value here is
/// quoted, so each span starts and ends with its quote (a check on the spans themselves).
fn outside_values(path: &Path, bytes: &[u8]) -> Vec<Vec<u8>> {
    let scan = DialectKind::Caddy
        .dialect()
        .find(path, bytes)
        .expect("parses");
    let mut spans: Vec<std::ops::Range<usize>> =
        scan.sites.iter().map(|s| s.span.clone()).collect();
    spans.sort_by_key(|s| s.start);
    let mut out = Vec::new();
    let mut at = 0;
    for s in spans {
        assert!(
            matches!(bytes[s.start], b'"' | b'`') && bytes[s.end - 1] == bytes[s.start],
            "{}: {:?} is a quoted token",
            path.display(),
            String::from_utf8_lossy(&bytes[s.clone()])
        );
        out.push(bytes[at..s.start].to_vec());
        at = s.end;
    }
    out.push(bytes[at..].to_vec());
    out
}

/// A fixture copy to patch, a pristine copy to apply the printed diff to, and the paths.
struct Case {
    _tmp: [tempfile::TempDir; 2],
    dir: PathBuf,
    pristine: PathBuf,
    paths: Vec<&'static str>,
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = FIXTURES
        .iter()
        .map(|(name, paths)| {
            let (tmp, dir) = fixture_copy(name);
            let (pristine_tmp, pristine) = fixture_copy(name);
            Case {
                _tmp: [tmp, pristine_tmp],
                dir,
                pristine,
                paths: paths.to_vec(),
            }
        })
        .collect();
    let (tmp, dir) = seed_copy();
    let (pristine_tmp, pristine) = seed_copy();
    out.push(Case {
        _tmp: [tmp, pristine_tmp],
        dir,
        pristine,
        paths: vec!["muserelay.Caddyfile"],
    });
    out
}

/// GNU patch applies `diff` in `dir` (`patch -p1`, as a user would from the directory where
/// csppatch ran).
fn apply_with_patch(dir: &Path, diff: &[u8]) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("patch")
        .args(["-p1", "--batch", "--silent"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run patch");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(diff)
        .expect("write the diff");
    assert!(
        child.wait().expect("patch exits").success(),
        "patch applies in {}",
        dir.display()
    );
}

#[test]
fn bytes_outside_the_values_never_change_and_the_diff_applies_with_patch() {
    if !common::have_seeds() || !common::have("patch") {
        return;
    }
    let mut changed_files = 0;
    for case in cases() {
        let mut args = case.paths.clone();
        args.extend(["--vendor", "muserelay"]);
        let dry = csppatch(&case.dir, &[args.as_slice(), &["--dry-run"]].concat());
        let before = read_tree(&case.dir);
        let run = csppatch(&case.dir, &args);
        if run.code != Some(0) {
            assert_eq!(
                read_tree(&case.dir),
                before,
                "{}: refused, nothing written",
                case.dir.display()
            );
            continue;
        }
        assert_eq!(run.stdout, dry.stdout, "the dry run shows what is written");
        let after = read_tree(&case.dir);
        for (path, old) in &before {
            let new = &after[path];
            if new != old {
                changed_files += 1;
                assert_eq!(
                    outside_values(path, old),
                    outside_values(path, new),
                    "{}: only value bytes change",
                    path.display()
                );
            }
        }
        apply_with_patch(&case.pristine, &run.stdout);
        assert_eq!(read_tree(&case.pristine), after, "{}", case.dir.display());
    }
    // conf-root, crlf, fragments (1: api.caddy's `default-src 'none'` for /api/* forbids
    // scripts, a locked policy left as it is, E040), invalid-root (no --validate), nonce,
    // snippet-args, tabs, tree (2), the seed, guessed (site.conf, read as Caddy by its
    // content), matcher-locked (its page policy; the `@svg` one is locked).
    assert_eq!(changed_files, 12, "files patched over all fixtures");
}
