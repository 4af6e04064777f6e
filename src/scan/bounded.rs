//! Reading one configuration file in bounded memory and time: only a regular file is read
//! (a FIFO would block forever, `/dev/zero` never ends; httpd itself refuses both as "not a
//! regular file"), and never more than [`MAX_FILE`] bytes of it, counted as they are read
//! rather than taken from its size (which a device reports as 0 and a growing file outgrows).

use std::fs;
use std::io::Read;
use std::path::Path;

/// Files bigger than this are not read whole: configuration is small, and a 16 MiB file is
/// a log, a dump or a generated block list.
pub const MAX_FILE: u64 = 16 << 20;

/// What reading one file gave.
#[derive(Debug)]
pub enum Contents {
    Bytes(Vec<u8>),
    /// Larger than [`MAX_FILE`]; `csp`: a Content-Security-Policy (the header name or a
    /// fetch directive) appears somewhere in it, so skipping it could leave a policy unpatched.
    TooLarge {
        csp: bool,
    },
    /// Not a regular file: what it is ("a FIFO", "a character device"...). Never opened.
    NotRegular(&'static str),
}

/// What a file type is, in words, when it is not a regular file.
pub fn non_regular(t: fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// Read `path` (symlinks followed) if it is a regular file of at most [`MAX_FILE`] bytes.
/// The type is checked on the open file, not on the path before opening: a caller that walks
/// a tree has just `stat`ed the path (one `stat` per file fewer), and the path may have been
/// replaced by a FIFO since.
pub fn read(path: &Path) -> std::io::Result<Contents> {
    let (file, meta) = open(path)?;
    read_open(&file, &meta)
}

/// `path` opened for [`read_open`], and its metadata from the open file (`fstat`).
pub fn open(path: &Path) -> std::io::Result<(fs::File, fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    // A non-blocking open returns at once even for a FIFO without a writer; for a regular file
    // the flag changes nothing.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// [`read`] of a file [`open`] gave, with the metadata it gave.
pub fn read_open(file: &fs::File, meta: &fs::Metadata) -> std::io::Result<Contents> {
    if let Some(what) = non_regular(meta.file_type()) {
        return Ok(Contents::NotRegular(what));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE) as usize);
    file.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 <= MAX_FILE {
        return Ok(Contents::Bytes(bytes));
    }
    let csp = mentions_csp_streamed(bytes, file)?;
    Ok(Contents::TooLarge { csp })
}

/// The first `n` bytes of `path` if it is a regular file (for telling its dialect).
pub fn head(path: &Path, n: u64) -> Vec<u8> {
    let Ok(meta) = fs::metadata(path) else {
        return Vec::new();
    };
    if !meta.is_file() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Ok(f) = fs::File::open(path) {
        let _ = f.take(n).read_to_end(&mut out);
    }
    out
}

/// The words that mark a CSP in any dialect: the header (nginx, Apache, Caddy, PHP, a
/// `<meta http-equiv>`), or the directives of a policy kept in a variable (`map`, `set`).
const MARKS: [&[u8]; 3] = [b"content-security-policy", b"default-src", b"script-src"];

/// Does `src` mention a CSP?
pub fn mentions_csp(src: &[u8]) -> bool {
    MARKS
        .iter()
        .any(|m| src.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)))
}

/// [`mentions_csp`] over `start` and the rest of `file`, in chunks: bounded memory however
/// large the file. Each chunk keeps the end of the previous one, so a mark cut across two
/// reads is still found.
fn mentions_csp_streamed(start: Vec<u8>, mut file: &fs::File) -> std::io::Result<bool> {
    const CHUNK: usize = 1 << 20;
    let keep = MARKS.iter().map(|m| m.len()).max().unwrap_or(1) - 1;
    let mut buf = start;
    loop {
        if mentions_csp(&buf) {
            return Ok(true);
        }
        let tail = buf.len().saturating_sub(keep);
        buf.drain(..tail);
        let before = buf.len();
        buf.resize(before + CHUNK, 0);
        let n = loop {
            match file.read(&mut buf[before..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        buf.truncate(before + n);
        if n == 0 {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_across_two_chunks_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.conf");
        // The mark starts 5 bytes before the end of the first 1 MiB chunk read after the start.
        let mut bytes = vec![b'x'; (MAX_FILE as usize) + 1 + (1 << 20) - 5];
        bytes.extend_from_slice(b"Content-Security-Policy");
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            read(&p).unwrap(),
            Contents::TooLarge { csp: true }
        ));
        bytes.truncate(bytes.len() - 23);
        bytes.extend_from_slice(b"X-Frame-Options-and-more");
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            read(&p).unwrap(),
            Contents::TooLarge { csp: false }
        ));
    }

    #[test]
    fn devices_and_fifos_are_never_opened() {
        assert!(matches!(
            read(Path::new("/dev/zero")).unwrap(),
            Contents::NotRegular("a character device")
        ));
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.conf");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(matches!(read(&fifo).unwrap(), Contents::NotRegular(w) if w.contains("FIFO")));
        assert!(head(&fifo, 16).is_empty());
    }
}
