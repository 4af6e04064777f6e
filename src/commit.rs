//! Writing files, and nothing else: every file through a temporary file in its own directory
//! and a rename, mode, owner and extended attributes kept, symlinks written through, nothing
//! written over a file that changed since it was read, and the files already written
//! restored if a later one fails. What to write and when is the pipeline's (its write stage).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::temp_name;

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

/// Put back the bytes `files` were read with, once they hold their new bytes (a validator
/// rejected the patched configuration): [`write_all`] the other way round, with the same
/// checks, so a file changed meanwhile keeps that change.
pub fn restore(files: &[Staged<'_>]) -> Result<(), CommitError> {
    let back: Vec<Staged> = files
        .iter()
        .map(|s| Staged {
            original: s.new,
            new: s.original,
            ..*s
        })
        .collect();
    write_all(&back)
}

/// The write loop of [`write_all`], with the writer passed in so that tests can make a
/// write fail. The writer gets the new bytes and the bytes they replace.
fn write_each(
    files: &[Staged<'_>],
    mut write: impl FnMut(&Path, &[u8], &[u8]) -> std::io::Result<()>,
) -> Result<(), CommitError> {
    let mut written: Vec<&Staged<'_>> = Vec::new();
    for f in files {
        // Checked again right before its write: the check of every file up front leaves a
        // window as long as the earlier writes.
        let result = match check_unchanged(std::slice::from_ref(f)) {
            Ok(()) => {
                write(f.target, f.new, f.original).map_err(|e| format!("{}: {e}", f.path.display()))
            }
            Err(e) => Err(e),
        };
        if let Err(message) = result {
            let mut err = CommitError {
                message,
                restored: vec![],
                not_restored: vec![],
            };
            for w in written.iter().rev() {
                match write(w.target, w.original, w.new) {
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

/// Replace the contents of the regular file `target` (which holds `previous`) with `bytes`,
/// keeping its mode, owner and extended attributes (ACLs, SELinux label).
pub fn replace(target: &Path, bytes: &[u8], previous: &[u8]) -> std::io::Result<()> {
    let meta = fs::metadata(target)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.nlink() > 1 {
        return replace_in_place(target, bytes, previous);
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
        .prefix(&temp_name::prefix(&name))
        .suffix(temp_name::SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    let file = tmp.as_file();
    file.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    keep_owner(file, &meta)?;
    copy_xattrs(target, file)?;
    file.sync_all()?;
    tmp.persist(target).map_err(|e| {
        if e.error.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) {
            std::io::Error::other(format!(
                "{} is a mount point (a single-file bind mount, a Kubernetes subPath?): it cannot be replaced atomically; patch the file it is mounted from",
                target.display()
            ))
        } else {
            e.error
        }
    })?;
    // The rename is durable once the directory is.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A file with several hard links is written in place (a rename would split the links: the
/// other names would keep the old text). The space is reserved first, so a full disk fails
/// before any byte changes; any later failure writes `previous` back.
fn replace_in_place(target: &Path, bytes: &[u8], previous: &[u8]) -> std::io::Result<()> {
    use rustix::fs::{fallocate, FallocateFlags};
    use std::io::{Seek, SeekFrom};
    let mut f = fs::OpenOptions::new().write(true).open(target)?;
    match fallocate(&f, FallocateFlags::empty(), 0, bytes.len() as u64) {
        // A filesystem that cannot reserve space (tmpfs on old kernels, NFS) just writes.
        Ok(()) | Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::INVAL) => {}
        Err(e) => return Err(e.into()),
    }
    let mut write = |data: &[u8]| -> std::io::Result<()> {
        f.seek(SeekFrom::Start(0))?;
        f.write_all(data)?;
        f.set_len(data.len() as u64)?;
        f.sync_all()
    };
    if let Err(e) = write(bytes) {
        return match write(previous) {
            Ok(()) => Err(e),
            Err(again) => Err(std::io::Error::other(format!(
                "{e}; and writing the original back failed too: {again}"
            ))),
        };
    }
    Ok(())
}

/// Copy every extended attribute of `from` to `to` (SELinux labels and POSIX ACLs live
/// there: losing them can make the file unreadable to the server). Only a filesystem without
/// extended attributes, or one that vanished between the listing and the read, is passed
/// over; any other failure is an error, and the file is not replaced.
pub fn copy_xattrs(from: &Path, to: &fs::File) -> std::io::Result<()> {
    use rustix::io::Errno;
    let lost = |what: &str, e: Errno| {
        std::io::Error::other(format!(
            "cannot keep its extended attributes ({what}: {e}); nothing was written to it"
        ))
    };
    let names = match read_sized(|buf| rustix::fs::listxattr(from, buf)) {
        Ok(names) => names,
        Err(Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(lost("cannot list them", e)),
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let value = match read_sized(|buf| rustix::fs::getxattr(from, name, buf)) {
            Ok(v) => v,
            Err(Errno::NODATA) => continue,
            Err(e) => {
                return Err(lost(
                    &format!("cannot read {}", String::from_utf8_lossy(name)),
                    e,
                ))
            }
        };
        rustix::fs::fsetxattr(to, name, &value, rustix::fs::XattrFlags::empty())
            .map_err(|e| lost(&format!("cannot set {}", String::from_utf8_lossy(name)), e))?;
    }
    Ok(())
}

/// The bytes a size-then-fill xattr call returns, growing the buffer while the attribute
/// grows between the two calls (`ERANGE`).
fn read_sized(
    mut call: impl FnMut(&mut [u8]) -> rustix::io::Result<usize>,
) -> rustix::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) if buf.len() < 1 << 20 => {
                let len = buf.len() * 4;
                buf.resize(len, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

fn keep_owner(file: &fs::File, meta: &fs::Metadata) -> std::io::Result<()> {
    let now = file.metadata()?;
    if now.uid() == meta.uid() && now.gid() == meta.gid() {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).map_err(|e| {
        std::io::Error::other(format!(
            "cannot keep its owner {}:{} ({e}); run csppatch as that user or as root",
            meta.uid(),
            meta.gid()
        ))
    })
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
        let err = write_each(&files, |p, bytes, previous| {
            if p == c && bytes == b"new" {
                return Err(std::io::Error::other("disk full"));
            }
            replace(p, bytes, previous)
        })
        .unwrap_err();
        assert!(err.message.contains("disk full"), "{err}");
        assert_eq!(err.restored, vec![b.clone(), a.clone()]);
        for p in [&a, &b, &c] {
            assert_eq!(fs::read(p).unwrap(), b"old", "{} restored", p.display());
        }
    }

    #[test]
    fn a_file_changed_during_the_writes_stops_them_and_restores_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b] = ["a.conf", "b.conf"].map(|n| dir.path().join(n));
        fs::write(&a, b"old").unwrap();
        fs::write(&b, b"old").unwrap();
        let files: Vec<Staged> = [&a, &b]
            .iter()
            .map(|p| Staged {
                path: p,
                target: p,
                original: b"old",
                new: b"new",
            })
            .collect();
        // Someone edits b.conf while a.conf is being written.
        let err = write_each(&files, |p, bytes, previous| {
            replace(p, bytes, previous)?;
            if p == a && bytes == b"new" {
                fs::write(&b, b"their edit").unwrap();
            }
            Ok(())
        })
        .unwrap_err();
        assert!(err.message.contains("changed on disk"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"old", "a.conf restored");
        assert_eq!(fs::read(&b).unwrap(), b"their edit", "their edit kept");
    }

    #[test]
    fn extended_attributes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("site.conf");
        fs::write(&p, b"old").unwrap();
        let flags = rustix::fs::XattrFlags::empty();
        let set = rustix::fs::setxattr(&p, "user.csppatch-test", b"kept", flags).is_ok();
        if !crate::test_support::available(set, "no user xattrs on this filesystem") {
            return;
        }
        replace(&p, b"new", b"old").unwrap();
        let mut buf = [0u8; 16];
        let len = rustix::fs::getxattr(&p, "user.csppatch-test", &mut buf[..]).unwrap();
        assert_eq!(&buf[..len], b"kept");
        assert_eq!(fs::read(&p).unwrap(), b"new");
    }

    #[test]
    fn hard_links_stay_linked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.conf");
        let b = dir.path().join("b.conf");
        fs::write(&a, b"old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        replace(&a, b"new", b"old").unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"new");
    }
}
