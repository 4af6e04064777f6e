//! Shared test support: snapshot settings, real binaries, the shared corpus and seed snippets.
#![allow(dead_code)]

pub mod apache;
pub mod browser;
pub mod caddy;
pub mod http;
pub mod nginx;
pub mod php;
pub mod probe;
pub mod server;
pub mod tree;
pub mod widget;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Insta settings that keep snapshots under `snapshots/<area>/` at the crate root.
pub fn snapshots(area: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("snapshots")
            .join(area),
    );
    s.set_prepend_module_to_snapshot(false);
    s
}

/// `../shared` next to the project: the corpus and the vendors' seed snippets.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus")
}

pub fn seed(name: &str) -> PathBuf {
    shared_dir().join("seed-snippets").join(name)
}

pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// Whether `bin` can run. In CI a missing binary fails the test loudly; elsewhere the test
/// prints why it skips and returns early.
#[must_use]
pub fn have(bin: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(bin).exists();
    if !found {
        if in_ci() {
            panic!("`{bin}` is required in CI (CI=true) and is missing: .ci/run must install it");
        }
        eprintln!("SKIPPED: `{bin}` is not installed (outside CI, so skipping)");
    }
    found
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

/// The csppatch binary built for these tests.
pub fn csppatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_csppatch"))
}
