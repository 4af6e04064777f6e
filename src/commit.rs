//! Writing files, and nothing else: every file through a temporary file in its own directory
//! and an atomic exchange (see `replace`), mode, owner and extended attributes kept, symlinks
//! written through, hard links never split silently, nothing written over a file that changed
//! since it was read, the directories locked against a second csppatch run (see `lock`), and
//! the files already written restored, with a check, if a later one fails. What to write and
//! when is the pipeline's (its write stage).

mod lock;
mod replace;

use std::path::{Path, PathBuf};

pub use lock::Locks;
pub use replace::{
    copy_xattrs, hard_link_refusal, replace, replace_deferred, DirSyncs, WriteError,
};

use crate::diag::quoted;

/// What to do with a file that has several hard links (`--hard-links`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HardLinks {
    /// Write nothing to it and say why: the default, since both other ways lose something.
    #[default]
    Refuse,
    /// Replace the name csppatch was given by a new file (crash-safe); the other names keep
    /// the old bytes, and the report says so.
    Split,
    /// Write the one file in place, so every name sees the change; a kill or a power cut
    /// mid-write can leave it corrupt.
    InPlace,
}

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
    /// Files that were written and then restored to their original bytes (read back).
    pub restored: Vec<PathBuf>,
    /// Files that were written and could not be restored, each with the reason: still
    /// patched, or changed by someone else since csppatch wrote them (their change is kept).
    pub not_restored: Vec<(PathBuf, String)>,
}

impl CommitError {
    fn new(message: String) -> CommitError {
        CommitError {
            message,
            restored: vec![],
            not_restored: vec![],
        }
    }
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if !self.restored.is_empty() {
            let names: Vec<_> = self.restored.iter().map(|p| quoted(p)).collect();
            write!(
                f,
                "; restored the {} file(s) already written: {}",
                self.restored.len(),
                names.join(", ")
            )?;
        }
        for (p, e) in &self.not_restored {
            write!(f, "; NOT RESTORED {}: {e}", quoted(p))?;
        }
        Ok(())
    }
}

/// Refuse if any target no longer holds the bytes it was read with (another editor, a
/// deploy, a second csppatch): writing would silently drop their change. Each write checks
/// again; this one refuses before the first write rather than after some.
pub fn check_unchanged(files: &[Staged<'_>]) -> Result<(), String> {
    for f in files {
        match std::fs::read(f.target) {
            Ok(now) if now == f.original => {}
            Ok(_) => return Err(changed(f.path)),
            Err(e) => {
                return Err(format!(
                    "{}: cannot re-read before writing: {e}",
                    quoted(f.path)
                ))
            }
        }
    }
    Ok(())
}

fn changed(path: &Path) -> String {
    format!(
        "{} changed on disk since csppatch read it; nothing was written to it (run csppatch again)",
        quoted(path)
    )
}

/// The files of one run with their directories locked: write them, and maybe restore them,
/// without another csppatch run in between.
#[derive(Debug)]
pub struct Writer<'a> {
    files: &'a [Staged<'a>],
    links: HardLinks,
    _locks: Locks,
}

impl<'a> Writer<'a> {
    /// Lock the directories of `files` (waiting for another run to finish, up to a limit).
    pub fn lock(files: &'a [Staged<'a>], links: HardLinks) -> Result<Writer<'a>, CommitError> {
        let locks = lock::lock(files.iter().map(|f| f.target)).map_err(CommitError::new)?;
        Ok(Writer {
            files,
            links,
            _locks: locks,
        })
    }

    /// Write every file, or none: on the first failure the files already written get their
    /// original bytes back (those that still hold csppatch's bytes).
    pub fn write_all(&self) -> Result<(), CommitError> {
        check_unchanged(self.files).map_err(CommitError::new)?;
        // Each temporary file is synced before its exchange; each directory once, after all
        // its files (also when a failure restored some: their renames are made durable too).
        let mut dirs = DirSyncs::default();
        let written = write_each(self.files, |target, bytes, expected| {
            replace_deferred(target, bytes, expected, self.links, &mut dirs)
        });
        dirs.sync();
        written
    }

    /// Put back the bytes the files were read with, once they hold their new bytes (a
    /// validator rejected them). A file that no longer holds exactly csppatch's bytes is left
    /// as it is and named.
    pub fn restore(&self) -> Result<(), CommitError> {
        let mut err = CommitError::new(String::new());
        let mut dirs = DirSyncs::default();
        restore_each(self.files.iter(), &mut err, |target, bytes, expected| {
            replace_deferred(target, bytes, expected, self.links, &mut dirs)
        });
        dirs.sync();
        if err.not_restored.is_empty() {
            Ok(())
        } else {
            err.message = format!("{} file(s) could not be restored", err.not_restored.len());
            Err(err)
        }
    }
}

/// Lock, then write every file or none.
pub fn write_all(files: &[Staged<'_>], links: HardLinks) -> Result<(), CommitError> {
    let files: &[Staged<'_>] = files;
    Writer::lock(files, links)?.write_all()
}

type WriteFn<'w> = dyn FnMut(&Path, &[u8], &[u8]) -> Result<(), WriteError> + 'w;

/// The write loop of [`Writer::write_all`], with the writer passed in so that tests can make
/// a write fail. The writer gets the new bytes and the bytes they replace.
fn write_each<'f>(
    files: &'f [Staged<'f>],
    mut write: impl FnMut(&Path, &[u8], &[u8]) -> Result<(), WriteError>,
) -> Result<(), CommitError> {
    for (n, f) in files.iter().enumerate() {
        let message = match write(f.target, f.new, f.original) {
            Ok(()) => continue,
            Err(WriteError::Changed) => changed(f.path),
            Err(WriteError::Io(e)) => format!("{}: {e}", quoted(f.path)),
        };
        let mut err = CommitError::new(message);
        restore_each(files[..n].iter().rev(), &mut err, &mut write);
        return Err(err);
    }
    Ok(())
}

/// Write back the original bytes of `files`, each only if it holds exactly its new bytes,
/// and read each back: only a file that then holds its original bytes counts as restored.
fn restore_each<'f>(
    files: impl Iterator<Item = &'f Staged<'f>>,
    err: &mut CommitError,
    mut write: impl FnMut(&Path, &[u8], &[u8]) -> Result<(), WriteError>,
) {
    let write: &mut WriteFn = &mut write;
    for f in files {
        let reason = match write(f.target, f.original, f.new) {
            Ok(()) => match std::fs::read(f.target) {
                Ok(now) if now == f.original => {
                    err.restored.push(f.path.to_path_buf());
                    continue;
                }
                Ok(_) => "read back after the restore, it does not hold its original bytes (changed meanwhile?): check it".to_string(),
                Err(e) => format!("cannot read it back after the restore: {e}"),
            },
            Err(WriteError::Changed) => {
                "it changed since csppatch wrote it (another writer): left as it is, with their change and csppatch's; check it".to_string()
            }
            Err(WriteError::Io(e)) => format!("still patched: {e}"),
        };
        err.not_restored.push((f.path.to_path_buf(), reason));
    }
}

#[cfg(test)]
mod tests;
