//! Shared test support: snapshot settings, real binaries, the shared corpus and seed snippets.
#![allow(dead_code)]

pub mod apache;
pub mod browser;
pub mod caddy;
pub mod fcgi;
pub mod http;
pub mod json;
pub mod nginx;
pub mod php;
pub mod probe;
pub mod pytools;
pub mod server;
pub mod tree;
pub mod widget;

#[path = "../../src/test_support.rs"]
mod skip;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use skip::available;

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

/// The shared test data, which is not part of the repository: `$CSPPATCH_SHARED` when set
/// (a checkout elsewhere, a git worktree), else `../shared` next to the checkout.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("CSPPATCH_SHARED") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

pub fn corpus_dir() -> PathBuf {
    shared_dir().join("corpus")
}

pub fn seed(name: &str) -> PathBuf {
    shared_dir().join("seed-snippets").join(name)
}

/// Whether `rel` of the shared data is here; see [`available`] for when it is not. A clone of
/// the repository alone has none of it: its tests skip there, and fail under CI.
#[must_use]
pub fn have_shared(rel: &str) -> bool {
    let path = shared_dir().join(rel);
    available(
        path.exists(),
        &format!(
            "{} is not here (shared test data outside the repository; set CSPPATCH_SHARED to \
             the directory that holds it)",
            path.display()
        ),
    )
}

/// The conformance corpus (`corpus/`).
#[must_use]
pub fn have_corpus() -> bool {
    have_shared("corpus")
}

/// The vendors' published snippets (`seed-snippets/`).
#[must_use]
pub fn have_seeds() -> bool {
    have_shared("seed-snippets")
}

/// Every file under `corpus/<area>` as a reader sees it: a regular file, or a symbolic link
/// to one, sorted. Links count like files, so that the list (and every count a test makes of
/// it) is the same for a copy that kept the corpus' links and for one that copied them as
/// files.
pub fn corpus_files(area: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(corpus_dir().join(area))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir() && e.path().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    files
}

/// Whether `bin` can run; see [`available`] for when it cannot.
#[must_use]
pub fn have(bin: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(bin).exists();
    available(found, &format!("`{bin}` is not installed"))
}

/// Whether csppatch can give its validator a private mount namespace here (root, or
/// unprivileged user namespaces); see [`available`] for when it cannot.
#[must_use]
pub fn have_namespace() -> bool {
    available(
        csppatch::validate::sandbox::available(),
        "no private mount namespace here (run as root or allow user namespaces)",
    )
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

/// What one csppatch run did.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    /// The diff, as bytes (the files' own line endings and encodings).
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// `csppatch ARGS` run in `dir`, with paths relative to it as a user in that directory types
/// them, `env` set and `NO_COLOR` not inherited.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = csppatch()
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .expect("run csppatch");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
