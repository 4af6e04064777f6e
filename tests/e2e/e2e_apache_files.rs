//! Apache end to end, without servers: exit codes and what is written (`--check`, an
//! unparsable file among good ones), then for every fixture a snapshot of the run (input,
//! diagnostics, diff) and proof that only the bytes of CSP values change and that GNU patch
//! applying the diff reproduces the written files.

use crate::common;
use common::Run;

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::apache::e2e::{
    changed, expect_exit, seed, seed_without_websocket, state, stderr, stdout, Work,
};

#[test]
fn unparsable_file_among_good_ones_stops_every_write_and_the_good_diffs_are_shown() {
    let work = Work::fixture("unparsable", 80);
    let before = state(&work.tree());
    let out = work.run(&["tree", "--vendor", "muserelay"]);
    expect_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("tree/c-legacy.conf:5:5: error[APA002]: httpd refuses this file: Expected </Directory> but saw </VirtualHost>"),
        "{err}"
    );
    let diff = stdout(&out);
    assert!(diff.contains("--- a/tree/a-shop.conf\n"), "{diff}");
    assert!(diff.contains("--- a/tree/b-blog.conf\n"), "{diff}");
    assert!(!diff.contains("c-legacy"), "{diff}");
    assert!(err.contains("errors: nothing written"), "{err}");
    assert!(
        changed(&before, &state(&work.tree())).is_empty(),
        "nothing written"
    );
}

#[test]
fn check_fails_with_changes_then_passes_after_writing_and_a_second_run_is_a_no_op() {
    let work = Work::fixture("debian", 8080);
    let args = ["tree/sites-enabled", "--vendor", "ocelot"];
    let pristine = state(&work.tree());
    let out = work.run(&[&args[..], &["--check"]].concat());
    expect_exit(&out, 1);
    assert!(
        stdout(&out).contains("+++ b/tree/sites-available/shop.conf"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("check: changes needed"),
        "{}",
        stderr(&out)
    );
    assert!(changed(&pristine, &state(&work.tree())).is_empty());

    expect_exit(&work.run(&args), 0);
    let written = state(&work.tree());
    let out = work.run(&[&args[..], &["--check"]].concat());
    expect_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    let out = work.run(&args);
    expect_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
    assert!(
        changed(&written, &state(&work.tree())).is_empty(),
        "nothing rewritten"
    );
}

/// Regression: a CSP outside the given paths that already lets the vendor through (Debian's
/// security.conf, `frame-ancestors 'self'`) was reported as E011 "not patched", with the
/// advice to pass it too, which would change nothing.
#[test]
fn outside_policy_that_already_allows_the_vendor_is_not_reported_as_unpatched() {
    let work = Work::fixture("debian", 8080);
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--dry-run"]);
    expect_exit(&out, 0);
    assert!(!stderr(&out).contains("E011"), "{}", stderr(&out));

    let security = work.tree().join("conf-enabled/security.conf");
    let text = fs::read_to_string(&security).unwrap();
    fs::write(
        &security,
        text.replace("\"frame-ancestors 'self';\"", "\"default-src 'self'\""),
    )
    .unwrap();
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--dry-run"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("conf-enabled/security.conf:14:36: warning[E011]"),
        "a policy that blocks the vendor is still reported: {}",
        stderr(&out)
    );
}

/// One fixture run: where the tree comes from, and the command line.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    /// Files shown in the snapshot (every file of the tree when empty).
    shown: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "muserelay-htaccess",
        args: &["www", "--vendor", "muserelay"],
        shown: &[],
    },
    Case {
        name: "muserelay-htaccess-no-websocket",
        args: &["www", "--vendor", "muserelay"],
        shown: &[],
    },
    Case {
        name: "debian",
        args: &["tree/sites-enabled", "--vendor", "ocelot"],
        shown: &[],
    },
    Case {
        name: "rhel-broken",
        args: &["tree/conf.d", "--vendor", "ocelot"],
        shown: &[],
    },
    Case {
        name: "h5bp",
        args: &["tree", "--vendor", "ocelot"],
        shown: &["h5bp/security/content-security-policy.conf"],
    },
    Case {
        name: "two-tables",
        args: &["tree/sites", "--vendor", "muserelay"],
        shown: &[],
    },
    Case {
        name: "unparsable",
        args: &["tree", "--vendor", "muserelay"],
        shown: &[],
    },
];

impl Case {
    fn work(&self) -> Work {
        match self.name {
            "muserelay-htaccess" => Work::htaccess(&seed()),
            "muserelay-htaccess-no-websocket" => Work::htaccess(&seed_without_websocket()),
            "h5bp" => Work::h5bp(),
            name => Work::fixture(name, 8080),
        }
    }
}

/// The run as a reader checks it: the command, the input files, the exit code, csppatch's
/// diagnostics (stderr) and its diff (stdout), with the temporary directory as `[TMP]`.
fn transcript(work: &Work, case: &Case, args: &[&str], out: &Run) -> String {
    let mut text = format!(
        "$ csppatch {}\nexit code: {}\n",
        args.join(" "),
        out.code.unwrap_or(-1)
    );
    let files = state(&work.tree());
    for (path, stamp) in &files {
        let shown =
            case.shown.is_empty() || case.shown.iter().any(|s| path.as_path() == Path::new(s));
        let rel = Path::new(work.name).join(path);
        match (&stamp.link, shown) {
            (Some(target), _) => text.push_str(&format!(
                "\n== input {} -> {}\n",
                rel.display(),
                target.display()
            )),
            (None, true) => text.push_str(&format!(
                "\n== input {}\n{}",
                rel.display(),
                String::from_utf8_lossy(&stamp.bytes)
            )),
            (None, false) => {}
        }
    }
    if !case.shown.is_empty() {
        text.push_str(&format!(
            "\n== ({} other files not shown)\n",
            files.len() - case.shown.len()
        ));
    }
    text.push_str(&format!(
        "\n== stderr\n{}\n== stdout\n{}",
        stderr(out),
        stdout(out)
    ));
    let dir = work.dir().display().to_string();
    let canonical = fs::canonicalize(work.dir()).unwrap().display().to_string();
    text.replace(&canonical, "[TMP]").replace(&dir, "[TMP]")
}

#[test]
fn snapshots_of_every_fixture() {
    if !common::have_seeds() || !common::have_corpus() {
        return;
    }
    for case in CASES {
        let work = case.work();
        let before = state(&work.tree());
        let args = [case.args, &["--dry-run"][..]].concat();
        let out = work.run(&args);
        assert!(
            changed(&before, &state(&work.tree())).is_empty(),
            "{}",
            case.name
        );
        let text = transcript(&work, case, &args, &out);
        common::snapshots("e2e-apache").bind(|| insta::assert_snapshot!(case.name, text));
    }
}

/// Every CSP value of an Apache file, found by hand rather than by the dialect: on a line
/// whose first word is `Header` and that names a Content-Security-Policy header, from the
/// `"` after the name to the next `"` no backslash escapes (continuations included).
fn csp_values(src: &[u8]) -> Vec<Range<usize>> {
    let name = b"Content-Security-Policy";
    let mut out = Vec::new();
    let mut start = 0;
    for line in src.split_inclusive(|&b| b == b'\n') {
        let at = start;
        start += line.len();
        if !line.trim_ascii_start().starts_with(b"Header") {
            continue;
        }
        let Some(n) = line.windows(name.len()).position(|w| w == name) else {
            continue;
        };
        let mut i = at + n + name.len();
        while src[i] != b'"' {
            assert_ne!(src[i], b'\n', "an unquoted value: extend the test");
            i += 1;
        }
        let open = i;
        i += 1;
        while src[i] != b'"' || src[i - 1] == b'\\' {
            i += 1;
        }
        out.push(open..i + 1);
    }
    out
}

/// The bytes between the values.
fn outside<'a>(src: &'a [u8], values: &[Range<usize>]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut last = 0;
    for v in values {
        pieces.push(&src[last..v.start]);
        last = v.end;
    }
    pieces.push(&src[last..]);
    pieces
}

/// Every regular file under `root` (symlinks left out: their targets are listed).
fn regular_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    state(root)
        .into_iter()
        .filter(|(_, s)| s.link.is_none())
        .map(|(p, s)| (p, s.bytes))
        .collect()
}

/// The files a unified diff names (`+++ b/<tree>/PATH`), relative to the tree.
fn diffed(diff: &[u8], tree: &str) -> Vec<PathBuf> {
    let prefix = format!("+++ b/{tree}/");
    String::from_utf8_lossy(diff)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(PathBuf::from))
        .collect()
}

#[test]
fn only_csp_values_change_and_the_diff_applies_with_patch() {
    if !common::have_seeds() || !common::have_corpus() || !common::have("patch") {
        return;
    }
    for case in CASES {
        let work = case.work();
        let pristine = Work::copy(&work.tree(), work.name, 0);
        let original = regular_files(&work.tree());
        let out = work.run(&[case.args, &["--dry-run"][..]].concat());
        let diff = out.stdout.clone();

        // The diff, applied by GNU patch to a pristine copy. The diff names the regular file
        // behind a symlink (sites-available/x for sites-enabled/x), so patch applies it as is.
        if !diff.is_empty() {
            let mut apply = Command::new("patch")
                .args(["-p1", "-s", "--no-backup-if-mismatch", "-d"])
                .arg(pristine.dir())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("patch");
            std::io::Write::write_all(&mut apply.stdin.take().unwrap(), &diff).unwrap();
            let o = apply.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "{}: {}{}",
                case.name,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let mut expected = original.clone();
        let real = fs::canonicalize(work.tree()).unwrap();
        for name in diffed(&diff, work.name) {
            let target = fs::canonicalize(work.tree().join(&name)).unwrap();
            let target = target.strip_prefix(&real).unwrap().to_path_buf();
            let bytes = fs::read(pristine.tree().join(&name)).unwrap();
            assert!(expected.insert(target, bytes).is_some(), "{}", case.name);
        }

        for (path, before) in &original {
            let after = &expected[path];
            if before == after {
                continue;
            }
            let (vb, va) = (csp_values(before), csp_values(after));
            assert!(!vb.is_empty(), "{}: {}", case.name, path.display());
            assert_eq!(vb.len(), va.len(), "{}: {}", case.name, path.display());
            assert_eq!(
                outside(before, &vb),
                outside(after, &va),
                "{}: {} changed outside its CSP values",
                case.name,
                path.display()
            );
        }

        // What csppatch writes is what the diff says, byte for byte.
        let out = work.run(case.args);
        if out.code == Some(0) {
            assert_eq!(
                stdout(&out),
                String::from_utf8_lossy(&diff),
                "{}",
                case.name
            );
            assert!(
                regular_files(&work.tree()) == expected,
                "{}: the written files are not the diff applied",
                case.name
            );
        } else {
            expect_exit(&out, 2);
            assert!(
                regular_files(&work.tree()) == original,
                "{}: written despite the error",
                case.name
            );
        }
    }
}
