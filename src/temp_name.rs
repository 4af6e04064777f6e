//! How csppatch names its temporary files, so that the writer that makes them and the scanner
//! that must never read them (a killed run may leave one behind) agree.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// The suffix of every temporary file csppatch writes next to a configuration file.
pub const SUFFIX: &str = ".csppatch-tmp";

/// The prefix of the temporary file that replaces `name`: hidden, and named after it.
pub fn prefix(name: &str) -> String {
    format!(".{name}.")
}

/// A fresh temporary name for the file `name`: `.NAME.UNIQUE.csppatch-tmp`, hidden (nginx's
/// and httpd's wildcards skip dotfiles) and named after the file it replaces, the name cut so
/// that the whole stays within the 255 bytes a file name may have.
pub fn for_file(name: &OsStr) -> OsString {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let bytes = name.as_bytes();
    let room = 255 - (2 + unique.len() + 1 + SUFFIX.len());
    let mut out = vec![b'.'];
    out.extend_from_slice(&bytes[..bytes.len().min(room)]);
    out.push(b'.');
    out.extend_from_slice(unique.as_bytes());
    out.extend_from_slice(SUFFIX.as_bytes());
    OsString::from_vec(out)
}

/// Is `path` a temporary file of csppatch's own?
pub fn is_temp(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_bytes().ends_with(SUFFIX.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_unique_and_short_enough() {
        let a = for_file(OsStr::new("site.conf"));
        let b = for_file(OsStr::new("site.conf"));
        assert_ne!(a, b);
        assert!(a.as_bytes().starts_with(b".site.conf."));
        assert!(is_temp(Path::new(&a)));
        let long = "x".repeat(255);
        assert!(for_file(OsStr::new(&long)).len() <= 255);
        let odd = OsStr::from_bytes(b"caf\xff.conf");
        assert!(is_temp(Path::new(&for_file(odd))));
    }
}
