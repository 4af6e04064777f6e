//! The README's promises: its console example is what csppatch prints, and its two
//! commands exist as written.

use crate::common;

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn console_example_is_what_csppatch_prints() {
    let text = readme();
    let block = text
        .split("```console\n")
        .nth(1)
        .expect("a console block")
        .split("\n```")
        .next()
        .unwrap();
    let (command, expected) = block.split_once('\n').unwrap();
    let args: Vec<&str> = command
        .strip_prefix("$ csppatch ")
        .expect("a csppatch command")
        .split(' ')
        .collect();
    let out = common::csppatch()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .args(["--color", "never"])
        .output()
        .unwrap();
    let got = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        got.trim_end(),
        expected.trim_end(),
        "README's console example is out of date"
    );
}

#[test]
fn test_command_is_what_ci_runs() {
    let text = readme();
    assert!(
        text.contains("\n./scripts/test.sh\n"),
        "README shows the test command"
    );
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == "./scripts/test.sh"),
        ".ci/run runs exactly the README's test command"
    );
    assert!(text.contains("cargo build --release && ./target/release/csppatch examples/nginx --vendor muserelay --dry-run"));
}
