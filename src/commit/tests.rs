use super::replace::Step;
use super::*;
use rustix::io::Errno;
use std::cell::Cell;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

thread_local! {
    /// The fault a test asked for: fail `Step` the `n`-th time it is reached (0 = next).
    static FAULT: Cell<Option<(Step, u32, Errno)>> = const { Cell::new(None) };
}

/// Called by `replace` at each step.
pub(super) fn fault(step: Step) -> Option<Errno> {
    FAULT.with(|f| match f.get() {
        Some((s, 0, e)) if s == step => {
            f.set(None);
            Some(e)
        }
        Some((s, n, e)) if s == step => {
            f.set(Some((s, n - 1, e)));
            None
        }
        _ => None,
    })
}

fn inject(step: Step, nth: u32, e: Errno) {
    FAULT.with(|f| f.set(Some((step, nth, e))));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn staged<'a>(paths: &'a [PathBuf], original: &'a [u8], new: &'a [u8]) -> Vec<Staged<'a>> {
    paths
        .iter()
        .map(|p| Staged {
            path: p,
            target: p,
            original,
            new,
        })
        .collect()
}

fn three(dir: &Path) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = ["a.conf", "b.conf", "c.conf"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    for p in &paths {
        fs::write(p, b"old").unwrap();
    }
    paths
}

#[test]
fn keeps_mode_and_writes_through_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("available.conf");
    let link = dir.path().join("enabled.conf");
    fs::write(&target, b"old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let real = fs::canonicalize(&link).unwrap();
    let s = [Staged {
        path: &link,
        target: &real,
        original: b"old",
        new: b"new",
    }];
    write_all(&s, HardLinks::Refuse).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o640);
    assert_eq!(names(dir.path()), ["available.conf", "enabled.conf"]);
}

#[test]
fn a_private_file_stays_private() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("functions.php");
    fs::write(&p, b"old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    replace(&p, b"new", b"old", HardLinks::Refuse).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o600);
}

#[test]
fn refuses_a_file_changed_since_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = vec![dir.path().join("a.conf")];
    fs::write(&p[0], b"someone else's edit").unwrap();
    let err = write_all(&staged(&p, b"old", b"new"), HardLinks::Refuse).unwrap_err();
    assert!(err.message.contains("changed on disk"), "{err}");
    assert_eq!(fs::read(&p[0]).unwrap(), b"someone else's edit");
}

/// Each injected failure of the third file's write: the first two are restored (read back),
/// the third never changed, and no temporary file is left in the directory.
#[test]
fn every_failure_of_a_later_write_restores_the_earlier_ones() {
    for (step, e) in [
        (Step::Create, Errno::ACCESS),
        (Step::Write, Errno::NOSPC),
        (Step::Fsync, Errno::IO),
        (Step::Exchange, Errno::PERM),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let paths = three(dir.path());
        let files = staged(&paths, b"old", b"new");
        inject(step, 2, e);
        let err = write_all(&files, HardLinks::Refuse).unwrap_err();
        assert!(
            err.message.contains(&e.to_string()) || err.message.contains("immutable"),
            "{step:?}: {err}"
        );
        assert_eq!(
            err.restored,
            vec![paths[1].clone(), paths[0].clone()],
            "{step:?}"
        );
        assert!(err.not_restored.is_empty(), "{step:?}: {err}");
        for p in &paths {
            assert_eq!(fs::read(p).unwrap(), b"old", "{step:?}: {}", p.display());
        }
        assert_eq!(
            names(dir.path()),
            ["a.conf", "b.conf", "c.conf"],
            "{step:?}"
        );
    }
}

/// The repro: a file written, then edited by someone else, then a later write fails.
/// The restore must not delete their edit, and must say so by name.
#[test]
fn the_restore_keeps_an_edit_made_after_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let paths = three(dir.path());
    let files = staged(&paths, b"old", b"new");
    let (a, c) = (paths[0].clone(), paths[2].clone());
    let err = write_each(&files, |target, bytes, expected| {
        if target == c && bytes == b"new" {
            // Meanwhile an editor appended to a.conf, which csppatch had already written.
            fs::write(&a, b"new\nappended by hand\n").unwrap();
            return Err(WriteError::Io(std::io::Error::other(
                "No space left on device",
            )));
        }
        replace(target, bytes, expected, HardLinks::Refuse)
    })
    .unwrap_err();
    assert_eq!(
        fs::read(&a).unwrap(),
        b"new\nappended by hand\n",
        "their edit kept"
    );
    assert_eq!(fs::read(&paths[1]).unwrap(), b"old", "b.conf restored");
    assert_eq!(err.restored, vec![paths[1].clone()]);
    assert_eq!(err.not_restored.len(), 1);
    assert_eq!(err.not_restored[0].0, a);
    let text = err.to_string();
    assert!(
        text.contains("NOT RESTORED") && text.contains("a.conf"),
        "{text}"
    );
    assert!(text.contains("another writer"), "{text}");
}

#[test]
fn a_validation_restore_checks_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let paths = three(dir.path());
    let files = staged(&paths, b"old", b"new");
    let w = Writer::lock(&files, HardLinks::Refuse).unwrap();
    w.write_all().unwrap();
    fs::write(&paths[1], b"new, then theirs").unwrap();
    let err = w.restore().unwrap_err();
    assert_eq!(err.restored, vec![paths[0].clone(), paths[2].clone()]);
    assert_eq!(err.not_restored[0].0, paths[1]);
    assert_eq!(fs::read(&paths[1]).unwrap(), b"new, then theirs");
    assert_eq!(fs::read(&paths[0]).unwrap(), b"old");
}

#[test]
fn a_failed_restore_is_named_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let paths = three(dir.path());
    let files = staged(&paths, b"old", b"new");
    let w = Writer::lock(&files, HardLinks::Refuse).unwrap();
    w.write_all().unwrap();
    // The disk fills up between the write and the restore of the second file.
    inject(Step::Write, 1, Errno::NOSPC);
    let err = w.restore().unwrap_err();
    assert_eq!(err.not_restored.len(), 1, "{err}");
    assert_eq!(err.not_restored[0].0, paths[1]);
    assert!(err.not_restored[0].1.contains("still patched"), "{err}");
    assert_eq!(fs::read(&paths[1]).unwrap(), b"new");
    assert_eq!(names(dir.path()), ["a.conf", "b.conf", "c.conf"]);
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
    replace(&p, b"new", b"old", HardLinks::Refuse).unwrap();
    let mut buf = [0u8; 16];
    let len = rustix::fs::getxattr(&p, "user.csppatch-test", &mut buf[..]).unwrap();
    assert_eq!(&buf[..len], b"kept");
    assert_eq!(fs::read(&p).unwrap(), b"new");
}

#[test]
fn hard_links_are_refused_split_or_written_in_place_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    fs::write(&a, b"old").unwrap();
    fs::hard_link(&a, &b).unwrap();
    let e = replace(&a, b"new", b"old", HardLinks::Refuse).unwrap_err();
    assert!(e.to_string().contains("2 hard links"), "{e}");
    assert_eq!(fs::read(&a).unwrap(), b"old");

    replace(&a, b"in place", b"old", HardLinks::InPlace).unwrap();
    assert_eq!(fs::read(&b).unwrap(), b"in place", "every name sees it");
    assert_eq!(
        fs::metadata(&a).unwrap().ino(),
        fs::metadata(&b).unwrap().ino()
    );

    replace(&a, b"split", b"in place", HardLinks::Split).unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"split");
    assert_eq!(
        fs::read(&b).unwrap(),
        b"in place",
        "the other name keeps the old bytes"
    );
    assert_eq!(names(dir.path()), ["a.conf", "b.conf"]);
}
