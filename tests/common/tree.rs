//! Fixture trees for end-to-end runs of the csppatch binary: a private copy of a tree, a run
//! from the copy's parent directory (relative paths, so diffs and messages read like a user's
//! and apply with `patch -p1`), and the checks every fixture gets: a reviewed snapshot of input,
//! diagnostics and diff; no byte outside a CSP value changed; the printed diff reproduces the
//! written files byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use csppatch::template::detect_dialect as detect;

/// A copy of a fixture tree in a temp dir, named `name` inside it.
pub struct Tree {
    pub tmp: tempfile::TempDir,
    pub name: String,
    /// Every file as it was copied, by path relative to the tree root.
    original: BTreeMap<PathBuf, (Vec<u8>, SystemTime)>,
}

pub use super::Run;

impl Run {
    /// stderr with the temp dir replaced by `<tmp>` (validators print absolute paths).
    pub fn stderr_stable(&self, tree: &Tree) -> String {
        tree.stable(&self.stderr)
    }
}

/// What a fixture run did, after the checks every fixture gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub patched: usize,
    pub unchanged: usize,
    pub refused: usize,
}

impl Tally {
    /// Check `run` of `tree` by its outcome and count it: a patch changed only bytes inside
    /// CSP values and its printed diff reproduces the written files; a run that changed
    /// nothing (exit 0, or refused with exit 2) left every file as it was. `true`: patched.
    pub fn check(&mut self, tree: &Tree, run: &Run) -> bool {
        match run.code {
            Some(0) if !tree.changed().is_empty() => {
                self.patched += 1;
                assert_eq!(tree.assert_only_values_changed(), tree.changed().len());
                tree.assert_diff_reproduces_written_files(run);
                true
            }
            Some(0) => {
                self.unchanged += 1;
                assert!(
                    run.stdout.is_empty(),
                    "{}: no diff when nothing changes",
                    tree.name
                );
                tree.assert_untouched();
                false
            }
            _ => {
                self.refused += 1;
                tree.assert_untouched();
                false
            }
        }
    }
}

/// `tests/fixtures/e2e/<dialect>/<name>`.
pub fn fixture_dir(dialect: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/e2e")
        .join(dialect)
        .join(name)
}

/// The names of the fixture trees of a dialect, sorted.
pub fn fixture_names(dialect: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/e2e")
        .join(dialect);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))
        .expect("read fixture dir")
        .map(|e| e.expect("entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let r = rel.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            walk(root, &r, out);
        } else {
            out.push(r);
        }
    }
}

impl Tree {
    /// A copy of the fixture tree `tests/fixtures/e2e/<dialect>/<name>`.
    pub fn fixture(dialect: &str, name: &str) -> Tree {
        let dir = fixture_dir(dialect, name);
        let mut rels = Vec::new();
        walk(&dir, Path::new(""), &mut rels);
        let files: Vec<(PathBuf, Vec<u8>)> = rels
            .into_iter()
            .map(|r| {
                let bytes = std::fs::read(dir.join(&r)).expect("read fixture");
                (r, bytes)
            })
            .collect();
        Tree::from_files(name, &files)
    }

    /// A tree named `name` holding `files` (paths relative to the tree root).
    pub fn from_files(name: &str, files: &[(PathBuf, Vec<u8>)]) -> Tree {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut original = BTreeMap::new();
        for (rel, bytes) in files {
            let p = tmp.path().join(name).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            original.insert(rel.clone(), (bytes.clone(), mtime));
        }
        Tree {
            tmp,
            name: name.to_string(),
            original,
        }
    }

    /// The tree root.
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join(&self.name)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    pub fn files(&self) -> Vec<PathBuf> {
        self.original.keys().cloned().collect()
    }

    pub fn original(&self, rel: &str) -> &[u8] {
        &self.original[Path::new(rel)].0
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read tree file")
    }

    pub fn text(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel)).expect("UTF-8")
    }

    /// `csppatch <args>` run from the temp dir (the tree is `self.name` there).
    pub fn run(&self, args: &[&str]) -> Run {
        super::run_in(self.tmp.path(), args, &[])
    }

    /// Files whose bytes differ from the copy.
    pub fn changed(&self) -> Vec<PathBuf> {
        self.original
            .iter()
            .filter(|(rel, (bytes, _))| {
                std::fs::read(self.root().join(rel)).expect("read") != *bytes
            })
            .map(|(rel, _)| rel.clone())
            .collect()
    }

    /// Every file byte-identical to the copy, and not rewritten (same mtime).
    pub fn assert_untouched(&self) {
        for (rel, (bytes, mtime)) in &self.original {
            let p = self.root().join(rel);
            assert_eq!(
                &std::fs::read(&p).unwrap(),
                bytes,
                "{} changed",
                rel.display()
            );
            assert_eq!(
                &std::fs::metadata(&p).unwrap().modified().unwrap(),
                mtime,
                "{} was rewritten",
                rel.display()
            );
        }
    }

    /// `text` with the temp dir (as given and canonical) replaced by `<tmp>`.
    pub fn stable(&self, text: &str) -> String {
        let mut out = text.to_string();
        let canon = std::fs::canonicalize(self.tmp.path()).unwrap();
        for p in [canon.as_path(), self.tmp.path()] {
            out = out.replace(&p.display().to_string(), "<tmp>");
        }
        out
    }

    /// The snapshot of one fixture: the command, the input files, the exit code, stderr and
    /// the diff, with line breaks and bytes that are not UTF-8 made visible.
    pub fn snapshot(&self, run: &Run) -> String {
        let args: Vec<String> = run
            .args
            .iter()
            .map(|a| {
                if a.contains([' ', '\'', '"', '$']) {
                    format!("'{}'", a.replace('\'', "'\\''"))
                } else {
                    a.clone()
                }
            })
            .collect();
        let mut s = format!("$ csppatch {}\n", args.join(" "));
        for (rel, (bytes, _)) in &self.original {
            s.push_str(&format!(
                "\n===== input: {}/{} =====\n",
                self.name,
                rel.display()
            ));
            s.push_str(&visible(bytes));
        }
        s.push_str(&format!("\n===== exit code: {:?} =====\n", run.code));
        s.push_str("\n===== stderr =====\n");
        s.push_str(&run.stderr_stable(self));
        s.push_str("\n===== diff (stdout) =====\n");
        s.push_str(&self.stable(&visible(&run.stdout)));
        s
    }

    /// The diff csppatch printed, applied with `patch -p1` to a pristine copy of the tree,
    /// gives exactly the files csppatch wrote.
    pub fn assert_diff_reproduces_written_files(&self, run: &Run) {
        let pristine = tempfile::tempdir().expect("temp dir");
        for (rel, (bytes, _)) in &self.original {
            let p = pristine.path().join(&self.name).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        let diff = pristine.path().join("csppatch.diff");
        std::fs::write(&diff, &run.stdout).unwrap();
        let out = Command::new("patch")
            .args([
                "-p1",
                "--forward",
                "--batch",
                "--no-backup-if-mismatch",
                "-i",
            ])
            .arg(&diff)
            .current_dir(pristine.path())
            .output()
            .expect("run patch");
        assert!(
            out.status.success(),
            "{}: patch -p1 failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for rel in self.original.keys() {
            let patched = std::fs::read(pristine.path().join(&self.name).join(rel)).unwrap();
            assert!(
                patched == std::fs::read(self.root().join(rel)).unwrap(),
                "{}/{}: patch -p1 of the printed diff differs from the written file",
                self.name,
                rel.display()
            );
        }
    }

    /// For each changed file: the dialect finds the same number of CSP sites before and after,
    /// and the bytes between (and around) their value spans are identical.
    pub fn assert_only_values_changed(&self) -> usize {
        let mut checked = 0;
        for rel in self.changed() {
            let before = self.original(rel.to_str().unwrap()).to_vec();
            let after = std::fs::read(self.root().join(&rel)).unwrap();
            let kind = detect(&rel, &before).expect("a dialect");
            let gaps = |src: &[u8]| -> Vec<Vec<u8>> {
                let scan = kind.dialect().find(&rel, src).expect("parses");
                let mut spans: Vec<_> = scan
                    .sites
                    .iter()
                    .chain(&scan.bindings)
                    .map(|s| s.span.clone())
                    .collect();
                spans.sort_by_key(|s| s.start);
                let mut out = Vec::new();
                let mut last = 0;
                for s in spans {
                    out.push(src[last..s.start].to_vec());
                    last = s.end;
                }
                out.push(src[last..].to_vec());
                out
            };
            let (b, a) = (gaps(&before), gaps(&after));
            assert_eq!(b.len(), a.len(), "{}: site count", rel.display());
            for (i, (x, y)) in b.iter().zip(&a).enumerate() {
                assert!(
                    x == y,
                    "{}/{}: bytes outside the CSP values changed (gap {i}):\nbefore {:?}\nafter  {:?}",
                    self.name,
                    rel.display(),
                    String::from_utf8_lossy(x),
                    String::from_utf8_lossy(y)
                );
            }
            checked += 1;
        }
        checked
    }
}

/// Bytes as text for a snapshot: CR shown as `␍`, bytes that are not UTF-8 as `\xNN`.
pub fn visible(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\r', "␍"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}
