//! The advisory lock that keeps two csppatch runs from writing one file at the same moment:
//! an exclusive `flock` on the directory of each file about to be written (a lock on the
//! file itself would be lost with the rename that replaces it). Directories are locked in one
//! order (device, inode), so two runs that share several never wait on each other in a
//! circle. A second run waits up to [`WAIT`] for the first to finish, then refuses; once it
//! holds the locks, each file is checked again against the bytes read (see `replace`), so a
//! change the first run made is never overwritten: the second says the file changed.
//! The lock binds csppatch runs only: an editor does not take it, which is why the write
//! itself still checks the file's bytes before and after the rename.

use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// How long a run waits for another to release a directory (`CSPPATCH_LOCK_WAIT` seconds).
pub const WAIT: Duration = Duration::from_secs(30);

/// The locks of one run, released when this drops (or the process ends).
#[derive(Debug)]
pub struct Locks {
    _held: Vec<OwnedFd>,
}

fn wait() -> Duration {
    std::env::var("CSPPATCH_LOCK_WAIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(WAIT, Duration::from_secs)
}

/// Lock the directory of every path in `targets`.
pub fn lock<'a>(targets: impl IntoIterator<Item = &'a Path>) -> Result<Locks, String> {
    let mut dirs: Vec<((u64, u64), PathBuf)> = Vec::new();
    for t in targets {
        let dir = t
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let meta = std::fs::metadata(dir).map_err(|e| {
            format!(
                "{}: cannot lock it for writing: {e}",
                crate::diag::quoted(dir)
            )
        })?;
        dirs.push(((meta.dev(), meta.ino()), dir.to_path_buf()));
    }
    dirs.sort();
    dirs.dedup_by(|a, b| a.0 == b.0);
    let deadline = Instant::now() + wait();
    let mut held = Vec::new();
    for (_, dir) in dirs {
        let quoted = crate::diag::quoted(&dir).into_owned();
        let fd = rustix::fs::open(
            &dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("{quoted}: cannot lock it for writing: {e}"))?;
        loop {
            match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(Errno::WOULDBLOCK) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(Errno::WOULDBLOCK) => {
                    return Err(format!(
                        "{quoted}: another csppatch run is writing files in this directory (it has held its lock for {} s); nothing was written: run csppatch again when it is done",
                        wait().as_secs()
                    ))
                }
                Err(Errno::INTR) => {}
                // A filesystem without locks (some network ones): the checks of each write
                // still stand.
                Err(Errno::NOLCK | Errno::OPNOTSUPP) => break,
                Err(e) => return Err(format!("{quoted}: cannot lock it for writing: {e}")),
            }
        }
        held.push(fd);
    }
    Ok(Locks { _held: held })
}
