//! What a test does when something it needs is missing here (a program, a kernel feature, the
//! shared corpus): outside CI it prints why it skips and returns; under `CI=true` it fails,
//! so that CI never passes on a test that did not run. One definition for the unit tests
//! (`crate::test_support`) and the integration tests (tests/common includes this file).

/// Whether this run is CI: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// `found`, after saying what is missing when it is not: under CI a panic naming it, else a
/// `SKIPPED` line on stderr and `false`, for the test to return early.
#[must_use]
pub fn available(found: bool, missing: &str) -> bool {
    if !found {
        if in_ci() {
            panic!("{missing}: required under CI=true, so this test fails instead of skipping");
        }
        // Straight to the process's stderr, past the test harness's capture of `eprintln!`,
        // so that a plain `cargo test` shows every skip; the harness names each test's
        // thread after the test.
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        let line = format!("SKIPPED {test}: {missing} (outside CI, so skipping)\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    found
}
