//! Issue 12's write-path repros against the real binary, real files and real processes:
//! concurrent runs, a lock held by another process, SIGTERM and SIGKILL mid-write, an editor
//! appending meanwhile, a full filesystem (a small tmpfs), an immutable file, a user without
//! write permission, hard links, FIFOs, devices and oversized files. After each, every file
//! holds its old bytes, its new bytes or the other writer's bytes, never a mix, and no
//! temporary file is left.
//!
//! The site file models a plain nginx `server` block as nginx's own documentation writes one
//! (listen, server_name, root, one `add_header Content-Security-Policy ... always`).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SITE: &str = "server {\n    listen 80;\n    server_name example.test;\n    root /srv/www;\n    # keep this comment, and the spacing below\n    add_header   Content-Security-Policy   \"default-src 'self'; img-src 'self'\"   always;\n    location / { try_files $uri $uri/ =404; }\n}\n";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    common::csppatch()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run csppatch")
}

/// The bytes of `SITE` with `img-src` given `extra` sources: what a patch must produce.
/// Everything outside the CSP value is the same as in `SITE`, byte for byte.
fn outside_value_unchanged(before: &[u8], after: &[u8]) {
    let value_start = SITE.find("\"default-src").unwrap() + 1;
    let value_end = SITE.find("'\"   always").unwrap() + 1;
    assert_eq!(
        &after[..value_start],
        &before[..value_start],
        "bytes before the value"
    );
    let tail = &before[value_end..];
    assert!(
        after.ends_with(tail),
        "bytes after the value: {}",
        text(after)
    );
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".csppatch-tmp"))
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn two_concurrent_runs_never_lose_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.conf");
    let mut both_ok = 0;
    let mut refused = 0;
    for _ in 0..12 {
        fs::write(&p, SITE).unwrap();
        let spawn = |host: &str| {
            common::csppatch()
                .current_dir(dir.path())
                .args(["site.conf", "--allow", &format!("img-src https://{host}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("a.example"), spawn("b.example"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let now = fs::read_to_string(&p).unwrap();
        let has = |h: &str| now.contains(&format!("https://{h}"));
        match (a.status.code(), b.status.code()) {
            (Some(0), Some(0)) => {
                both_ok += 1;
                assert!(
                    has("a.example") && has("b.example"),
                    "both exited 0, one change lost:\n{now}"
                );
            }
            (Some(0), Some(2)) | (Some(2), Some(0)) => {
                refused += 1;
                let loser = if a.status.code() == Some(2) { &a } else { &b };
                assert!(
                    text(&loser.stderr).contains("changed on disk"),
                    "{}",
                    text(&loser.stderr)
                );
                assert!(has("a.example") != has("b.example"), "{now}");
            }
            other => panic!("{other:?}: {} {}", text(&a.stderr), text(&b.stderr)),
        }
        outside_value_unchanged(SITE.as_bytes(), now.as_bytes());
        assert!(temp_files(dir.path()).is_empty());
    }
    eprintln!("concurrent pairs: {both_ok} both applied (one after the other), {refused} refused as changed, 0 lost");
}

#[test]
fn a_run_waits_for_the_lock_then_refuses_with_a_message() {
    if !common::have("flock") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.conf");
    fs::write(&p, SITE).unwrap();
    // Another csppatch run, as far as the lock goes: flock(1) on the directory.
    let mut holder = Command::new("flock")
        .arg(dir.path())
        .args(["sleep", "4"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = common::csppatch()
        .current_dir(dir.path())
        .env("CSPPATCH_LOCK_WAIT", "1")
        .args(["site.conf", "--vendor", "turnstile"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("another csppatch run is writing"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), SITE);
    // Without a limit that short it waits, then writes.
    let out = run(dir.path(), &["site.conf", "--vendor", "turnstile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(fs::read_to_string(&p)
        .unwrap()
        .contains("challenges.cloudflare.com"));
    holder.wait().unwrap();
}

/// A tree of `n` site files.
fn tree(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sites")).unwrap();
    for i in 0..n {
        fs::write(
            dir.path().join(format!("sites/s{i:04}.conf")),
            SITE.replace("example.test", &format!("s{i}.test")),
        )
        .unwrap();
    }
    dir
}

/// Each file of the tree: old (0), new (1); anything else fails.
fn states(dir: &Path, n: usize) -> [usize; 2] {
    let mut count = [0, 0];
    for i in 0..n {
        let old = SITE.replace("example.test", &format!("s{i}.test"));
        let now = fs::read_to_string(dir.join(format!("sites/s{i:04}.conf"))).unwrap();
        if now == old {
            count[0] += 1;
        } else {
            assert!(
                now.contains("challenges.cloudflare.com"),
                "a mix in s{i:04}:\n{now}"
            );
            outside_value_unchanged(old.as_bytes(), now.as_bytes());
            count[1] += 1;
        }
    }
    count
}

fn signal_mid_run(signal: rustix::process::Signal, runs: usize) -> (usize, usize, usize) {
    const N: usize = 1000;
    let (mut all_old, mut all_new, mut leftovers) = (0, 0, 0);
    // How long a whole run takes here: the kills are spread over all of it, write phase included.
    let whole = {
        let dir = tree(N);
        let start = Instant::now();
        let out = run(
            dir.path(),
            &["sites", "--vendor", "turnstile", "--dialect", "nginx"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        start.elapsed()
    };
    for round in 0..runs {
        let dir = tree(N);
        let mut child = common::csppatch()
            .current_dir(dir.path())
            .args(["sites", "--vendor", "turnstile", "--dialect", "nginx"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread over the read, plan and write phases, the later half most (the writes).
        let at = whole.mul_f64(0.4 + 0.65 * round as f64 / runs as f64);
        std::thread::sleep(at);
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, signal);
        child.wait().unwrap();
        let [old, new] = states(dir.path(), N);
        let temps = temp_files(dir.path());
        leftovers += temps.len();
        if signal == rustix::process::Signal::TERM {
            // Held across the write phase: all or nothing, and no temp file.
            assert!(old == N || new == N, "round {round}: {old} old, {new} new");
            assert!(temps.is_empty(), "{temps:?}");
        }
        if old == N {
            all_old += 1;
        } else if new == N {
            all_new += 1;
        }
    }
    eprintln!("a whole run of {N} files: {} ms", whole.as_millis());
    (all_old, all_new, leftovers)
}

#[test]
fn sigterm_mid_run_leaves_all_old_or_all_new_and_no_temp_file() {
    let (old, new, temps) = signal_mid_run(rustix::process::Signal::TERM, 6);
    eprintln!(
        "SIGTERM x6 on 1,000 files: {old} all old, {new} all new, 0 mixed, {temps} temp files"
    );
}

#[test]
fn sigkill_mid_run_never_leaves_a_half_written_file() {
    let (old, new, temps) = signal_mid_run(rustix::process::Signal::KILL, 6);
    eprintln!("SIGKILL x6 on 1,000 files: {old} all old, {new} all new, the rest split by file (each whole), {temps} temp files");
    // A temp file can only survive a SIGKILL in the two system calls between naming it and
    // the exchange; the next run skips it (it is never read as configuration).
}

#[test]
fn an_editor_appending_meanwhile_loses_nothing() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.conf");
    fs::write(&p, SITE).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let appender = {
        let (p, stop) = (p.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
                writeln!(f, "# appended {n}").unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(250));
            }
            n
        })
    };
    let (mut ok, mut refused) = (0, 0);
    for i in 0..15 {
        let out = run(
            dir.path(),
            &[
                "site.conf",
                "--allow",
                &format!("img-src https://h{i}.example"),
            ],
        );
        match out.status.code() {
            Some(0) => ok += 1,
            Some(2) => {
                assert!(
                    text(&out.stderr).contains("changed on disk"),
                    "{}",
                    text(&out.stderr)
                );
                refused += 1
            }
            c => panic!("{c:?}: {}", text(&out.stderr)),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let appended = appender.join().unwrap();
    let now = fs::read_to_string(&p).unwrap();
    let lost: Vec<usize> = (0..appended)
        .filter(|n| !now.contains(&format!("# appended {n}\n")))
        .collect();
    eprintln!(
        "append loop: {appended} lines appended, {ok} runs wrote, {refused} refused, {} lost",
        lost.len()
    );
    assert!(lost.is_empty(), "lost appended lines {lost:?}");
    assert!(temp_files(dir.path()).is_empty());
}

/// Mount a tmpfs of `size` at `dir`, or say why not (not root, no mount here).
fn tmpfs(dir: &Path, size: &str) -> bool {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    common::available(ok, "cannot mount a tmpfs here (not root?)")
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_filesystem_writes_nothing_and_restores_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    if !tmpfs(&mnt, "256k") {
        return;
    }
    let _unmount = Unmount(&mnt);
    // a.conf is small; z.conf is big enough that its patched copy cannot fit.
    let big = format!(
        "{SITE}{}",
        "# padding line of a generated block list\n".repeat(2500)
    );
    fs::write(mnt.join("a.conf"), SITE).unwrap();
    fs::write(mnt.join("z.conf"), &big).unwrap();
    // Fill what is left, then free 8 KiB: room for a.conf's patched copy, not z.conf's.
    let mut fill = fs::File::create(mnt.join("fill")).unwrap();
    while std::io::Write::write_all(&mut fill, &[0u8; 4096]).is_ok() {}
    let len = fill.metadata().unwrap().len();
    fill.set_len(len.saturating_sub(8192)).unwrap();
    drop(fill);
    let out = run(
        &mnt,
        &[
            "a.conf",
            "z.conf",
            "--vendor",
            "turnstile",
            "--dialect",
            "nginx",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("E021"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(mnt.join("a.conf")).unwrap(), SITE);
    assert_eq!(fs::read_to_string(mnt.join("z.conf")).unwrap(), big);
    assert!(temp_files(&mnt).is_empty());
}

#[test]
fn an_immutable_file_stops_the_run_and_the_others_are_restored() {
    let dir = tempfile::tempdir().unwrap();
    let (a, z) = (dir.path().join("a.conf"), dir.path().join("z.conf"));
    fs::write(&a, SITE).unwrap();
    fs::write(&z, SITE).unwrap();
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(&z)
        .status()
        .is_ok_and(|s| s.success());
    if !common::available(immutable, "chattr +i does not work here") {
        return;
    }
    let out = run(dir.path(), &["a.conf", "z.conf", "--vendor", "turnstile"]);
    let _ = Command::new("chattr").arg("-i").arg(&z).status();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("immutable") && err.contains("restored"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), SITE, "a.conf restored");
    assert_eq!(fs::read_to_string(&z).unwrap(), SITE);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn without_write_permission_nothing_is_written() {
    let root = rustix::process::geteuid().is_root();
    if !common::available(root, "needs root to run csppatch as nobody") || !common::have("setpriv")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("csppatch");
    fs::copy(env!("CARGO_BIN_EXE_csppatch"), &bin).unwrap();
    let p = dir.path().join("site.conf");
    fs::write(&p, SITE).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&bin)
        .args(["site.conf", "--vendor", "turnstile"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert_eq!(fs::read_to_string(&p).unwrap(), SITE);
}

#[test]
fn hard_links_are_refused_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("available.conf"),
        dir.path().join("enabled.conf"),
    );
    fs::write(&a, SITE).unwrap();
    fs::hard_link(&a, &b).unwrap();
    let out = run(dir.path(), &["enabled.conf", "--vendor", "turnstile"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("E027") && err.contains("2 hard links"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), SITE);

    // A dry run warns (the count is the file's, read by the scan, also through a symlink).
    std::os::unix::fs::symlink("enabled.conf", dir.path().join("link.conf")).unwrap();
    for name in ["enabled.conf", "link.conf"] {
        let out = run(dir.path(), &[name, "--vendor", "turnstile", "--dry-run"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains("warning[E027]") && err.contains("2 hard links"),
            "{name}: {err}"
        );
    }
    fs::remove_file(dir.path().join("link.conf")).unwrap();
    assert_eq!(fs::read_to_string(&a).unwrap(), SITE);

    let out = run(
        dir.path(),
        &[
            "enabled.conf",
            "--vendor",
            "turnstile",
            "--hard-links",
            "in-place",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("in-place writes the file itself"),
        "{}",
        text(&out.stderr)
    );
    let patched = fs::read(&a).unwrap();
    assert_eq!(fs::read(&b).unwrap(), patched, "both names see the change");
    outside_value_unchanged(SITE.as_bytes(), &patched);

    fs::write(&a, SITE).unwrap();
    let out = run(
        dir.path(),
        &[
            "enabled.conf",
            "--vendor",
            "turnstile",
            "--hard-links",
            "split",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("keep the old bytes"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(&a).unwrap(),
        SITE,
        "the other name keeps the old bytes"
    );
    assert!(fs::read_to_string(&b)
        .unwrap()
        .contains("challenges.cloudflare.com"));
}

/// Run with a deadline: a hang is a failure, not a stuck suite.
fn run_bounded(dir: &Path, args: &[&str]) -> Output {
    let mut child = common::csppatch()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        // Generous for a debug build on a loaded machine: /dev/zero or a FIFO would never end.
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("csppatch {args:?} still running after 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fifos_devices_and_oversized_files_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("conf-enabled")).unwrap();
    fs::write(
        d.join("apache2.conf"),
        format!(
            "ServerRoot {}\nIncludeOptional conf-enabled/*.conf\n",
            d.display()
        ),
    )
    .unwrap();
    fs::write(
        d.join("conf-enabled/csp.conf"),
        "Header always set Content-Security-Policy \"default-src 'self'\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("conf-enabled/evil.conf")).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        d.join("conf-enabled/pipe.conf"),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let out = run_bounded(d, &["--check", "apache2.conf", "--vendor", "turnstile"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("evil.conf") && err.contains("a character device"),
        "{err}"
    );
    assert!(err.contains("pipe.conf") && err.contains("FIFO"), "{err}");

    // The same directory walked: a walked file is opened without a stat first (the walk saw
    // its type), so the FIFO and the device must still be seen as such and never read.
    let out = run_bounded(
        d,
        &[
            "--check",
            "conf-enabled",
            "--dialect",
            "apache",
            "--vendor",
            "turnstile",
        ],
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("evil.conf") && err.contains("a character device") && err.contains("E007"),
        "{err}"
    );
    assert!(err.contains("pipe.conf") && err.contains("FIFO"), "{err}");
    assert!(err.contains("csp.conf"), "{err}");

    let out = run_bounded(
        d,
        &[
            "--conf-root",
            "/dev/zero",
            "conf-enabled/csp.conf",
            "--vendor",
            "turnstile",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("/dev/zero"),
        "{}",
        text(&out.stderr)
    );

    let out = run_bounded(
        d,
        &[
            "conf-enabled/pipe.conf",
            "--dialect",
            "apache",
            "--vendor",
            "turnstile",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E007"), "{}", text(&out.stderr));

    // 17 MiB with a CSP at the end: an error, and --check does not pass.
    let mut big = "# generated\n".repeat((17 << 20) / 12).into_bytes();
    big.extend_from_slice(b"add_header Content-Security-Policy \"default-src 'self'\";\n");
    fs::write(d.join("big.conf"), &big).unwrap();
    let out = run_bounded(
        d,
        &[
            "--check",
            "big.conf",
            "--dialect",
            "nginx",
            "--vendor",
            "turnstile",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("E005") && err.contains("big.conf") && err.contains("Content-Security-Policy"),
        "{err}"
    );
}

#[test]
fn odd_file_names_are_quoted_and_the_diff_applies() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"my site\n\x1b[31m\xff.conf");
    fs::write(dir.path().join(name), SITE).unwrap();
    let out = common::csppatch()
        .current_dir(dir.path())
        .arg(name)
        .args([
            "--dialect",
            "nginx",
            "--vendor",
            "turnstile",
            "--dry-run",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = out.stdout.clone();
    assert!(
        !diff.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "no raw ESC reaches the terminal"
    );
    let header =
        "--- \"a/my site\\n\\033[31m\\377.conf\"\n+++ \"b/my site\\n\\033[31m\\377.conf\"\n";
    assert!(text(&diff).starts_with(header), "{}", text(&diff));
    // git apply reads the quoted names back to the same bytes.
    fs::write(dir.path().join("d.patch"), &diff).unwrap();
    let applied = Command::new("git")
        .args(["apply", "--unsafe-paths", "d.patch"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let patched = fs::read(dir.path().join(name)).unwrap();
    assert!(text(&patched).contains("challenges.cloudflare.com"));
    outside_value_unchanged(SITE.as_bytes(), &patched);
}
