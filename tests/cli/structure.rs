//! The code's layout as the README's development section describes it: no cycle among the
//! top-level modules of src/ (`scripts/module-deps.py --depth 1`), so that each layer (csp,
//! dialect, template, scan, pipeline, render, commands) can be read and changed without the
//! ones above it.

use crate::common;
use std::process::Command;

#[test]
fn top_level_modules_have_no_cycle() {
    if !common::have("python3") {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{root}/scripts/module-deps.py"))
        .args(["--depth", "1"])
        .output()
        .expect("run scripts/module-deps.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(" 0 cycle(s)"),
        "a cycle among src/'s top-level modules:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The script sees the modules: a run that found none would pass without checking.
    let modules: usize = stdout
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        modules >= 20,
        "module-deps.py saw {modules} modules:\n{stdout}"
    );
}
