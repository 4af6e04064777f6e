//! The end-to-end tests' view of a run: a fixture tree copied to a temporary directory,
//! the csppatch binary run in it on relative paths, and the state of every file before and
//! after (bytes, inode, mtime: a rewrite with the same bytes still shows).

use crate::common::Run;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::materialize;

/// MuseRelay's `.htaccess` snippet, as its document publishes it.
pub fn seed() -> String {
    fs::read_to_string(crate::common::seed("muserelay-apache.htaccess")).expect("seed")
}

/// The seed without the WebSocket, the source MuseRelay's widget cannot work without.
pub fn seed_without_websocket() -> String {
    let s = seed();
    let variant = s.replacen(" wss://muserelay.com", "", 1);
    assert_ne!(variant, s, "the seed has the WebSocket source");
    variant
}

/// A fixture tree copied to `<temp>/<name>`; csppatch runs in `<temp>` on relative paths.
pub struct Work {
    dir: tempfile::TempDir,
    pub name: &'static str,
}

impl Work {
    pub fn fixture(fixture: &str, port: u16) -> Work {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e/apache");
        Work::copy(&from.join(fixture), "tree", port)
    }

    pub fn h5bp() -> Work {
        Work::copy(&crate::common::corpus_dir().join("apache/h5bp"), "tree", 0)
    }

    /// A document root `www/` whose `.htaccess` is `text`.
    pub fn htaccess(text: &str) -> Work {
        let w = Work::empty("www");
        fs::create_dir_all(w.tree()).unwrap();
        fs::write(w.tree().join(".htaccess"), text).unwrap();
        w
    }

    pub fn empty(name: &'static str) -> Work {
        let dir = tempfile::Builder::new()
            .prefix("csppatch-e2e")
            .tempdir()
            .expect("temp dir");
        Work { dir, name }
    }

    pub fn copy(from: &Path, name: &'static str, port: u16) -> Work {
        let w = Work::empty(name);
        materialize(from, &w.tree(), port);
        w
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn tree(&self) -> PathBuf {
        self.dir().join(self.name)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        crate::common::run_in(self.dir(), &[args, &["--color", "never"]].concat(), &[])
    }

    /// Create the directories, under the tree, that its server writes into (logs, pid, locks).
    pub fn server_dirs(&self, sub: &[&str]) {
        for s in sub {
            fs::create_dir_all(self.tree().join(s)).unwrap();
        }
    }
}

pub fn stdout(o: &Run) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Run) -> String {
    o.stderr.clone()
}

pub fn expect_exit(o: &Run, code: i32) {
    assert_eq!(
        o.code,
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// What identifies a file's state on disk: a rewrite (even with the same bytes) changes the
/// inode or the mtime.
#[derive(Debug, PartialEq, Eq)]
pub struct Stamp {
    pub bytes: Vec<u8>,
    pub link: Option<PathBuf>,
    pub ino: u64,
    pub mtime: (i64, i64),
}

/// Every file and symlink under `root` (server-written directories left out).
pub fn state(root: &Path) -> BTreeMap<PathBuf, Stamp> {
    let mut out = BTreeMap::new();
    let skip = ["log", "logs", "run", "lock"];
    for e in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || !skip.contains(&&*e.file_name().to_string_lossy()))
    {
        let e = e.expect("walk");
        if e.file_type().is_dir() {
            continue;
        }
        let meta = fs::symlink_metadata(e.path()).expect("stat");
        let link = e
            .file_type()
            .is_symlink()
            .then(|| fs::read_link(e.path()).unwrap());
        out.insert(
            e.path().strip_prefix(root).unwrap().to_path_buf(),
            Stamp {
                bytes: if link.is_some() {
                    Vec::new()
                } else {
                    fs::read(e.path()).unwrap()
                },
                link,
                ino: meta.ino(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
            },
        );
    }
    out
}

/// Paths whose stamp differs between two states (or that exist in one only).
pub fn changed(
    before: &BTreeMap<PathBuf, Stamp>,
    after: &BTreeMap<PathBuf, Stamp>,
) -> Vec<PathBuf> {
    let keys: BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

/// A policy as a set of directives, each with its set of sources, so that hand-written
/// expectations do not depend on the order csppatch writes them in.
pub fn directives(policy: &str) -> BTreeMap<String, BTreeSet<String>> {
    policy
        .split(';')
        .map(str::split_whitespace)
        .filter_map(|mut words| {
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_string).collect()))
        })
        .collect()
}

/// `directives` of a hand-written policy.
pub fn expected(policy: &str) -> BTreeMap<String, BTreeSet<String>> {
    directives(policy)
}
