//! Writing: every file through a temporary file in its own directory and a rename, mode and
//! owner kept, symlinks written through, nothing written over a file that changed since it
//! was read, and the files already written restored if a later one fails.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::report::{Report, ValidationReport};
use crate::scan::Tree;
use crate::{exit, validate, Config, Mode};

/// A file as it was read, and what it should become.
#[derive(Debug, Clone, Copy)]
pub struct Staged<'a> {
    /// The path as the user named it (maybe a symlink: sites-enabled/x).
    pub path: &'a Path,
    /// The regular file behind it (sites-available/x), which is what gets replaced.
    pub target: &'a Path,
    pub original: &'a [u8],
    pub new: &'a [u8],
}

#[derive(Debug)]
pub struct CommitError {
    pub message: String,
    /// Files that were written and then restored to their original bytes.
    pub restored: Vec<PathBuf>,
    /// Files that could not be restored: the user must look at these.
    pub not_restored: Vec<(PathBuf, String)>,
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if !self.restored.is_empty() {
            write!(
                f,
                "; restored {} file(s) already written",
                self.restored.len()
            )?;
        }
        for (p, e) in &self.not_restored {
            write!(f, "; COULD NOT RESTORE {}: {e}", p.display())?;
        }
        Ok(())
    }
}

/// Refuse if any target no longer holds the bytes it was read with (another editor, a
/// deploy, a second csppatch): writing would silently drop their change.
pub fn check_unchanged(files: &[Staged<'_>]) -> Result<(), String> {
    for f in files {
        match fs::read(f.target) {
            Ok(now) if now == f.original => {}
            Ok(_) => {
                return Err(format!(
                    "{} changed on disk since csppatch read it; nothing was written (run csppatch again)",
                    f.path.display()
                ))
            }
            Err(e) => return Err(format!("{}: cannot re-read before writing: {e}", f.path.display())),
        }
    }
    Ok(())
}

/// Write every file, or none: on the first failure the files already written get their
/// original bytes back.
pub fn write_all(files: &[Staged<'_>]) -> Result<(), CommitError> {
    check_unchanged(files).map_err(|message| CommitError {
        message,
        restored: vec![],
        not_restored: vec![],
    })?;
    write_each(files, replace)
}

/// The write loop of [`write_all`], with the writer passed in so that tests can make a
/// write fail.
fn write_each(
    files: &[Staged<'_>],
    mut write: impl FnMut(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<(), CommitError> {
    let mut written: Vec<&Staged<'_>> = Vec::new();
    for f in files {
        if let Err(e) = write(f.target, f.new) {
            let mut err = CommitError {
                message: format!("{}: {e}", f.path.display()),
                restored: vec![],
                not_restored: vec![],
            };
            for w in written.iter().rev() {
                match write(w.target, w.original) {
                    Ok(()) => err.restored.push(w.path.to_path_buf()),
                    Err(e) => err.not_restored.push((w.path.to_path_buf(), e.to_string())),
                }
            }
            return Err(err);
        }
        written.push(f);
    }
    Ok(())
}

/// Replace the contents of the regular file `target` with `bytes`, keeping its mode and owner.
pub fn replace(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let meta = fs::metadata(target)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.nlink() > 1 {
        // A rename would split the hard links (the other names keep the old text): write in place.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(target)?;
        f.write_all(bytes)?;
        return f.sync_all();
    }
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.csppatch-"))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    let file = tmp.as_file();
    file.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    keep_owner(file, &meta)?;
    file.sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    // The rename is durable once the directory is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn keep_owner(file: &fs::File, meta: &fs::Metadata) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let now = file.metadata()?;
    if now.uid() == meta.uid() && now.gid() == meta.gid() {
        return Ok(());
    }
    // SAFETY: fchown on a file descriptor we own, with plain integer ids.
    let rc = unsafe { libc::fchown(file.as_raw_fd(), meta.uid(), meta.gid()) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::other(format!(
            "cannot keep its owner {}:{} ({e}); run csppatch as that user or as root",
            meta.uid(),
            meta.gid()
        )));
    }
    Ok(())
}

/// After planning: validate if asked, then write in write mode. Sets the report's exit code
/// when validation or writing fails.
pub fn finish(
    config: &Config,
    tree: &Tree,
    changed: &[usize],
    staged: &[Staged<'_>],
    report: &mut Report,
) {
    if config.validate {
        if let Err(code) = validate_and_write(config, tree, changed, staged, report) {
            report.exit_code = code;
        }
    } else if config.mode == Mode::Write && !write(staged, report) {
        report.exit_code = exit::BAD_INPUT;
    }
}

fn write(staged: &[Staged<'_>], report: &mut Report) -> bool {
    match write_all(staged) {
        Ok(()) => {
            report.written = true;
            true
        }
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::error("E021", e.to_string()));
            report.exit_code = exit::BAD_INPUT;
            false
        }
    }
}

/// Validate the unpatched configuration (a failure there is not the patch's), then the
/// patched one at the real paths, and write only if it passes. Without a mount namespace,
/// write, validate, and restore on failure.
fn validate_and_write(
    config: &Config,
    tree: &Tree,
    changed: &[usize],
    staged: &[Staged<'_>],
    report: &mut Report,
) -> Result<(), u8> {
    let validators = match validate::plan(tree, changed, config.validate_cmd.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            report.diagnostics.push(Diagnostic::error("E020", e));
            return Err(exit::INVALID);
        }
    };
    if validators.is_empty() {
        report.diagnostics.push(Diagnostic::note("E020", "no validator for these files (HTML): each patched value was read back and checked instead"));
    }
    let record = |v: &validate::Validator,
                  stage: &'static str,
                  o: validate::Outcome,
                  report: &mut Report| {
        report.validations.push(ValidationReport {
            command: v.label.clone(),
            stage,
            ok: o.ok,
            output: o.output,
        });
        o.ok
    };
    for v in &validators {
        let o = validate::run(v, &[]);
        if !record(v, "before", o, report) {
            report.diagnostics.push(Diagnostic::error("E020", format!("`{}` already fails on the unpatched configuration; fix that first (nothing was written)", v.label)));
            return Err(exit::INVALID);
        }
    }
    if validate::namespace_available() {
        let scratch = tempfile::tempdir().map_err(|_| exit::INVALID)?;
        let mut mounts = Vec::new();
        for (n, s) in staged.iter().enumerate() {
            let copy = scratch.path().join(format!("{n}"));
            if let Err(e) = std::fs::write(&copy, s.new) {
                report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!("cannot stage {}: {e}", s.path.display()),
                ));
                return Err(exit::INVALID);
            }
            mounts.push((copy, s.target.to_path_buf()));
        }
        for v in &validators {
            let o = validate::run(v, &mounts);
            if !record(v, "after", o, report) {
                report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!(
                        "`{}` rejects the patched configuration; nothing was written",
                        v.label
                    ),
                ));
                return Err(exit::INVALID);
            }
        }
        if config.mode == Mode::Write && !write(staged, report) {
            return Err(exit::BAD_INPUT);
        }
        return Ok(());
    }
    if config.mode != Mode::Write {
        report.diagnostics.push(Diagnostic::warning(
            "E020",
            "cannot validate without writing here (no private mount namespace: run as root, or allow user namespaces); validation skipped",
        ));
        return Ok(());
    }
    if !write(staged, report) {
        return Err(exit::BAD_INPUT);
    }
    for v in &validators {
        let o = validate::run(v, &[]);
        if !record(v, "after", o, report) {
            let restore: Vec<Staged> = staged
                .iter()
                .map(|s| Staged {
                    original: s.new,
                    new: s.original,
                    ..*s
                })
                .collect();
            report.written = false;
            match write_all(&restore) {
                Ok(()) => report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!(
                        "`{}` rejects the patched configuration; every file was restored",
                        v.label
                    ),
                )),
                Err(e) => report.diagnostics.push(Diagnostic::error(
                    "E021",
                    format!(
                        "`{}` rejects the patched configuration and restoring failed: {e}",
                        v.label
                    ),
                )),
            }
            return Err(exit::INVALID);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_and_writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("available.conf");
        let link = dir.path().join("enabled.conf");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let real = fs::canonicalize(&link).unwrap();
        let staged = Staged {
            path: &link,
            target: &real,
            original: b"old",
            new: b"new",
        };
        write_all(&[staged]).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link stays a link"
        );
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o640);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
    }

    #[test]
    fn refuses_a_file_changed_since_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.conf");
        fs::write(&p, b"someone else's edit").unwrap();
        let staged = Staged {
            path: &p,
            target: &p,
            original: b"old",
            new: b"new",
        };
        let err = write_all(&[staged]).unwrap_err();
        assert!(err.message.contains("changed on disk"), "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"someone else's edit");
    }

    #[test]
    fn restores_written_files_when_a_later_write_fails() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b, c] = ["a.conf", "b.conf", "c.conf"].map(|n| dir.path().join(n));
        for p in [&a, &b, &c] {
            fs::write(p, b"old").unwrap();
        }
        let files: Vec<Staged> = [&a, &b, &c]
            .iter()
            .map(|p| Staged {
                path: p,
                target: p,
                original: b"old",
                new: b"new",
            })
            .collect();
        let err = write_each(&files, |p, bytes| {
            if p == c && bytes == b"new" {
                return Err(std::io::Error::other("disk full"));
            }
            replace(p, bytes)
        })
        .unwrap_err();
        assert!(err.message.contains("disk full"), "{err}");
        assert_eq!(err.restored, vec![b.clone(), a.clone()]);
        for p in [&a, &b, &c] {
            assert_eq!(fs::read(p).unwrap(), b"old", "{} restored", p.display());
        }
    }

    #[test]
    fn hard_links_stay_linked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.conf");
        let b = dir.path().join("b.conf");
        fs::write(&a, b"old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        replace(&a, b"new").unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"new");
    }
}
