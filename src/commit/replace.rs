//! Replacing one file's bytes, atomically, and only if it still holds the bytes expected.
//!
//! The new bytes go to an unnamed temporary file in the file's own directory (`O_TMPFILE`;
//! a named one where the filesystem has none), with the old file's mode, owner and extended
//! attributes, synced; only then is it given a name and exchanged with the old file in one
//! step (`renameat2(RENAME_EXCHANGE)`). The exchange leaves the old file under the temporary
//! name, so csppatch can still look at it: if it is not the file that was checked, or its
//! bytes changed after the check (an editor appending to it), the exchange is undone and the
//! other writer's file is back in place, untouched. So a temporary file exists under a name
//! only between the link and the unlink, two system calls apart, and nobody's edit is lost
//! to a rename that came a moment after it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::HardLinks;
use crate::temp_name;

/// The steps of a replace that a test can make fail (see `tests::fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Write,
    Fsync,
    Exchange,
}

/// Fail `step` when a test asked for it; nothing outside tests.
fn fault(step: Step) -> rustix::io::Result<()> {
    #[cfg(test)]
    if let Some(e) = super::tests::fault(step) {
        return Err(e);
    }
    let _ = step;
    Ok(())
}

/// Why a file was not replaced.
#[derive(Debug)]
pub enum WriteError {
    /// It no longer holds the bytes expected (another writer): nothing of it was touched.
    Changed,
    Io(std::io::Error),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<Errno> for WriteError {
    fn from(e: Errno) -> Self {
        WriteError::Io(e.into())
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Changed => f.write_str("it changed on disk since csppatch read it"),
            WriteError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn other(message: String) -> WriteError {
    WriteError::Io(std::io::Error::other(message))
}

/// Directories whose renames are made durable by one `fsync` each, after all the files in
/// them are replaced (a run over 8,571 files in one directory synced it 8,571 times).
#[derive(Debug, Default)]
pub struct DirSyncs {
    dirs: Vec<(u64, u64, OwnedFd)>,
}

impl DirSyncs {
    fn note(&mut self, dir: &OwnedFd) {
        let Ok(st) = rustix::fs::fstat(dir) else {
            sync_dir(dir);
            return;
        };
        // Not u64 on every target.
        #[allow(clippy::unnecessary_cast)]
        let key = (st.st_dev as u64, st.st_ino as u64);
        // Files come directory by directory (sorted by path): the last one is the likely match.
        if self.dirs.iter().rev().any(|(d, i, _)| (*d, *i) == key) {
            return;
        }
        match rustix::io::fcntl_dupfd_cloexec(dir, 0) {
            Ok(fd) => self.dirs.push((key.0, key.1, fd)),
            Err(_) => sync_dir(dir),
        }
    }

    /// Sync every directory noted: the renames in them are durable once this returns.
    pub fn sync(self) {
        for (_, _, dir) in &self.dirs {
            sync_dir(dir);
        }
    }
}

/// Replace the regular file `target`, which must hold exactly `expected`, with `bytes`; its
/// directory is synced before this returns.
pub fn replace(
    target: &Path,
    bytes: &[u8],
    expected: &[u8],
    links: HardLinks,
) -> Result<(), WriteError> {
    let mut dirs = DirSyncs::default();
    let result = replace_deferred(target, bytes, expected, links, &mut dirs);
    dirs.sync();
    result
}

/// [`replace`], with the directory's sync left to `dirs` (the caller syncs them all once).
pub fn replace_deferred(
    target: &Path,
    bytes: &[u8],
    expected: &[u8],
    links: HardLinks,
    dirs: &mut DirSyncs,
) -> Result<(), WriteError> {
    let (dir_path, name) = split(target)?;
    let dir = rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let old = match rustix::fs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    ) {
        Ok(fd) => fs::File::from(fd),
        // Replaced by a symlink since it was read.
        Err(Errno::LOOP) => return Err(WriteError::Changed),
        Err(e) => return Err(e.into()),
    };
    let meta = old.metadata()?;
    if !meta.is_file() {
        return Err(other("not a regular file".into()));
    }
    if !holds(&old, expected)? {
        return Err(WriteError::Changed);
    }
    if meta.nlink() > 1 {
        match links {
            HardLinks::Refuse => return Err(other(hard_link_refusal(meta.nlink()))),
            HardLinks::InPlace => return in_place(target, bytes, expected),
            HardLinks::Split => {}
        }
    }
    let temp = Temp::create(&dir, name, bytes, &old, &meta)?;
    let temp_name = temp.link(&dir, name)?;
    let swapped = fault(Step::Exchange).and_then(|()| {
        rustix::fs::renameat_with(&dir, &temp_name, &dir, name, RenameFlags::EXCHANGE)
    });
    match swapped {
        Ok(()) => {}
        // No exchange on this filesystem (or kernel): check once more, then rename over.
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            let result = match still_the_file(&dir, name, &old, &meta, expected) {
                Ok(true) => rustix::fs::renameat(&dir, &temp_name, &dir, name)
                    .map_err(|e| rename_error(e, target)),
                Ok(false) => Err(WriteError::Changed),
                Err(e) => Err(e),
            };
            if result.is_err() {
                let _ = rustix::fs::unlinkat(&dir, &temp_name, AtFlags::empty());
            }
            result?;
            dirs.note(&dir);
            return Ok(());
        }
        Err(e) => {
            let _ = rustix::fs::unlinkat(&dir, &temp_name, AtFlags::empty());
            return Err(rename_error(e, target));
        }
    }
    // The old file is now under the temporary name. Still the file that was checked, with
    // the bytes checked? Then it goes; else it is put back.
    match still_the_file(&dir, &temp_name, &old, &meta, expected) {
        Ok(true) => {
            let _ = rustix::fs::unlinkat(&dir, &temp_name, AtFlags::empty());
            dirs.note(&dir);
            Ok(())
        }
        Ok(false) | Err(_) => {
            rustix::fs::renameat_with(&dir, &temp_name, &dir, name, RenameFlags::EXCHANGE)
                .map_err(|e| {
                    other(format!(
                        "it changed while csppatch replaced it, and putting that version back failed ({e}): it is at {}",
                        crate::diag::quoted(&dir_path.join(OsStr::from_bytes(temp_name.as_bytes())))
                    ))
                })?;
            let _ = rustix::fs::unlinkat(&dir, &temp_name, AtFlags::empty());
            dirs.note(&dir);
            Err(WriteError::Changed)
        }
    }
}

/// The reason a file with several names is not written by default.
pub fn hard_link_refusal(links: u64) -> String {
    format!(
        "it has {links} hard links: replacing it by a new file would split them (the other names would keep the old bytes), and writing it in place is not crash-safe (a kill or a power cut mid-write leaves it corrupt); nothing was written to it (--hard-links split or --hard-links in-place chooses one)"
    )
}

/// The directory of `target` and its name in it.
fn split(target: &Path) -> Result<(&Path, &OsStr), WriteError> {
    let name = target
        .file_name()
        .ok_or_else(|| other(format!("{} names no file", crate::diag::quoted(target))))?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir, name))
}

/// Does `file` hold exactly `expected`? Read from its start, whatever was read before.
fn holds(mut file: &fs::File, expected: &[u8]) -> std::io::Result<bool> {
    file.seek(SeekFrom::Start(0))?;
    let mut now = Vec::with_capacity(expected.len() + 1);
    // One byte more than expected is enough to tell a longer file.
    file.take(expected.len() as u64 + 1).read_to_end(&mut now)?;
    Ok(now == expected)
}

/// Is `name` in `dir` the file `old` (same inode), still holding `expected`?
fn still_the_file(
    dir: &OwnedFd,
    name: impl rustix::path::Arg,
    old: &fs::File,
    meta: &fs::Metadata,
    expected: &[u8],
) -> Result<bool, WriteError> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if st.st_ino as u64 != meta.ino() || st.st_dev as u64 != meta.dev() {
        return Ok(false);
    }
    Ok(holds(old, expected)?)
}

fn rename_error(e: Errno, target: &Path) -> WriteError {
    if e == Errno::BUSY {
        return other(format!(
            "{} is a mount point (a single-file bind mount, a Kubernetes subPath?): it cannot be replaced atomically; patch the file it is mounted from",
            crate::diag::quoted(target)
        ));
    }
    if e == Errno::PERM {
        return other(format!(
            "{e} (an immutable or append-only file? `lsattr` shows the flags)"
        ));
    }
    e.into()
}

/// The rename is durable once the directory is.
fn sync_dir(dir: &OwnedFd) {
    let _ = rustix::fs::fsync(dir);
}

/// The new file, written and synced before it has a name.
struct Temp {
    file: fs::File,
    /// Named from the start (no `O_TMPFILE` here): the name to unlink if this is dropped.
    named: Option<(OwnedFd, OsString)>,
}

impl Temp {
    fn create(
        dir: &OwnedFd,
        name: &OsStr,
        bytes: &[u8],
        old: &fs::File,
        meta: &fs::Metadata,
    ) -> Result<Temp, WriteError> {
        let flags = OFlags::WRONLY | OFlags::CLOEXEC;
        // Readable by its owner only until it has the old file's mode: the patched bytes of a
        // 0600 file are never readable by others, not even for a moment.
        let mode = Mode::from_raw_mode(0o600);
        fault(Step::Create)?;
        let mut temp = match rustix::fs::openat(dir, ".", flags | OFlags::TMPFILE, mode) {
            Ok(fd) => Temp {
                file: fs::File::from(fd),
                named: None,
            },
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOENT) => {
                let (fd, temp_name) = create_named(dir, name, flags, mode)?;
                let dup = rustix::io::fcntl_dupfd_cloexec(dir, 0)?;
                Temp {
                    file: fs::File::from(fd),
                    named: Some((dup, temp_name)),
                }
            }
            Err(e) => return Err(e.into()),
        };
        fault(Step::Write)?;
        temp.file.write_all(bytes)?;
        keep_owner(&temp.file, meta)?;
        // After the owner: a change of owner clears the set-id bits.
        rustix::fs::fchmod(&temp.file, Mode::from_raw_mode(meta.mode() & 0o7777))?;
        copy_xattrs(old, &temp.file)?;
        fault(Step::Fsync)?;
        temp.file.sync_all()?;
        Ok(temp)
    }

    /// Give the file a name in `dir` (the name a killed run could leave behind).
    fn link(mut self, dir: &OwnedFd, name: &OsStr) -> Result<OsString, WriteError> {
        if let Some((_, temp_name)) = self.named.take() {
            return Ok(temp_name);
        }
        let proc_path = format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&self.file)
        );
        for _ in 0..16 {
            let temp_name = temp_name::for_file(name);
            match rustix::fs::linkat(
                rustix::fs::CWD,
                proc_path.as_str(),
                dir,
                &temp_name,
                AtFlags::SYMLINK_FOLLOW,
            ) {
                Ok(()) => return Ok(temp_name),
                Err(Errno::EXIST) => continue,
                // No /proc: the descriptor itself (this needs CAP_DAC_READ_SEARCH).
                Err(Errno::NOENT) => {
                    rustix::fs::linkat(&self.file, "", dir, &temp_name, AtFlags::EMPTY_PATH)?;
                    return Ok(temp_name);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(other("cannot find a free temporary name".into()))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some((dir, temp_name)) = &self.named {
            let _ = rustix::fs::unlinkat(dir, temp_name, AtFlags::empty());
        }
    }
}

fn create_named(
    dir: &OwnedFd,
    name: &OsStr,
    flags: OFlags,
    mode: Mode,
) -> Result<(OwnedFd, OsString), WriteError> {
    for _ in 0..16 {
        let temp_name = temp_name::for_file(name);
        match rustix::fs::openat(dir, &temp_name, flags | OFlags::CREATE | OFlags::EXCL, mode) {
            Ok(fd) => return Ok((fd, temp_name)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(other("cannot find a free temporary name".into()))
}

/// A file with several hard links, written in place (`--hard-links in-place`): the space is
/// reserved first, so a full disk fails before any byte changes; a failure after that writes
/// `previous` back. Not crash-safe, which is why it is not the default.
fn in_place(target: &Path, bytes: &[u8], previous: &[u8]) -> Result<(), WriteError> {
    use rustix::fs::{fallocate, FallocateFlags};
    let mut f = fs::OpenOptions::new().write(true).open(target)?;
    match fallocate(&f, FallocateFlags::empty(), 0, bytes.len() as u64) {
        // A filesystem that cannot reserve space (tmpfs on old kernels, NFS) just writes.
        Ok(()) | Err(Errno::OPNOTSUPP | Errno::INVAL) => {}
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
            Ok(()) => Err(e.into()),
            Err(again) => Err(other(format!(
                "{e}; and writing the original back failed too: {again}"
            ))),
        };
    }
    Ok(())
}

/// Copy every extended attribute of `from` to `to` (SELinux labels and POSIX ACLs live
/// there: losing them can make the file unreadable to the server). Only a filesystem without
/// extended attributes, or an attribute removed between the listing and the read, is passed
/// over; any other failure is an error, and the file is not replaced.
pub fn copy_xattrs(from: &fs::File, to: &fs::File) -> std::io::Result<()> {
    let lost = |what: &str, e: Errno| {
        std::io::Error::other(format!(
            "cannot keep its extended attributes ({what}: {e}); nothing was written to it"
        ))
    };
    let names = match read_sized(|buf| rustix::fs::flistxattr(from, buf)) {
        Ok(names) => names,
        Err(Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(lost("cannot list them", e)),
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = OsStr::from_bytes(name);
        let value = match read_sized(|buf| rustix::fs::fgetxattr(from, name, buf)) {
            Ok(v) => v,
            Err(Errno::NODATA) => continue,
            Err(e) => return Err(lost(&format!("cannot read {}", name.to_string_lossy()), e)),
        };
        rustix::fs::fsetxattr(to, name, &value, rustix::fs::XattrFlags::empty())
            .map_err(|e| lost(&format!("cannot set {}", name.to_string_lossy()), e))?;
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
            Err(Errno::RANGE) if buf.len() < 1 << 20 => {
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
