//! What a user meets when installing: the version matches the CHANGELOG, the shell completions
//! load in a real shell and complete what they should, the man page renders without warnings.

use crate::common;

use std::process::Command;

fn csppatch(args: &[&str]) -> std::process::Output {
    common::csppatch()
        .args(args)
        .output()
        .expect("run csppatch")
}

fn stdout(args: &[&str]) -> String {
    let out = csppatch(args);
    assert!(out.status.success(), "csppatch {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The newest released version in CHANGELOG.md (`## [0.2.0] - 2026-12-01`), skipping
/// `## [Unreleased]`.
fn changelog_version() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/CHANGELOG.md"))
        .expect("CHANGELOG.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|l| l.split(']').next())
        .find(|v| !v.eq_ignore_ascii_case("unreleased"))
        .expect("a released version in CHANGELOG.md")
        .to_string()
}

#[test]
fn version_matches_the_changelog() {
    let version = changelog_version();
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "Cargo.toml and CHANGELOG.md"
    );
    assert_eq!(stdout(&["--version"]).trim(), format!("csppatch {version}"));
}

/// Run bash's completion function for `words` (the cursor at the end of the last one) and
/// return what it offers.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let prog = format!(
        "source '{}' || exit 9\n\
         COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _csppatch csppatch '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .expect("run bash");
    assert!(out.status.success(), "bash: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_loads_and_completes_vendors_subcommands_and_options() {
    if !common::have("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("csppatch.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).unwrap();
    assert_eq!(
        bash_complete(&script, &["csppatch", "--vendor", "mus"]),
        ["muserelay"],
        "a vendor name"
    );
    let all = bash_complete(&script, &["csppatch", "--vendor", ""]);
    for preset in ["intercom", "recaptcha", "turnstile"] {
        assert!(all.iter().any(|w| w == preset), "{preset} in {all:?}");
    }
    assert_eq!(
        bash_complete(&script, &["csppatch", "ven"]),
        ["vendors"],
        "a subcommand"
    );
    assert!(
        bash_complete(&script, &["csppatch", "--dry"]).contains(&"--dry-run".to_string()),
        "an option"
    );
    let dialects = bash_complete(&script, &["csppatch", "--dialect", ""]);
    assert!(dialects.contains(&"caddy".to_string()), "{dialects:?}");
}

#[test]
fn zsh_and_fish_completions_name_the_vendors() {
    for shell in ["zsh", "fish"] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains("muserelay"), "{shell}: {script}");
        assert!(
            script.contains("--dry-run") || script.contains("dry-run"),
            "{shell}"
        );
    }
    let bad = csppatch(&["completions", "tcsh"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_page_renders_without_warnings() {
    if !common::have("man") || !common::have("groff") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("csppatch.1");
    std::fs::write(&page, stdout(&["man"])).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_STDERR", "1")
        .output()
        .expect("run man");
    assert!(out.status.success(), "man -l: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "man -l warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "NAME",
        "SYNOPSIS",
        "--vendor",
        "--dry-run",
        "csppatch-vendors",
    ] {
        assert!(text.contains(part), "{part} in the rendered page:\n{text}");
    }
    // groff's own checks, all warnings on.
    let groff = Command::new("groff")
        .args(["-man", "-ww", "-z", "-Tutf8"])
        .arg(&page)
        .output()
        .expect("run groff");
    assert!(groff.status.success());
    assert!(
        groff.stderr.is_empty(),
        "groff: {}",
        String::from_utf8_lossy(&groff.stderr)
    );
}
