//! Stop signals in the validate and write stages (issue 12), with the real binary, real
//! validator processes and real signals: Ctrl-C while `--validate` runs its validator, a
//! validator timeout before anything is written, and SIGTERM arriving between two files'
//! renames of one multi-file write (held there with `strace`'s delay injection, so that the
//! signal lands in that gap on every run instead of by chance).
//!
//! The site file models a plain nginx `server` block as nginx's own documentation writes one.

use crate::common;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SITE: &str = "server {\n    listen 80;\n    server_name example.test;\n    add_header Content-Security-Policy \"default-src 'self'; img-src 'self'\" always;\n}\n";

/// Files csppatch may leave: its temp files, lock files, staged copies.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.file_name().to_string_lossy().contains("csppatch"))
        .map(|e| e.into_path())
        .collect()
}

/// Everything under `dir`, for "the scratch directory is empty".
fn entries(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// No such process, or a zombie: it has stopped.
fn gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Wait (bounded) for `pred`; whether it came true.
fn wait_for(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pred()
}

/// Wait for `child`, killing it after `limit` (a broken signal path must not hang the suite).
fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    if wait_for(limit, || child.try_wait().unwrap().is_some()) {
        return child.wait().unwrap();
    }
    let _ = child.kill();
    panic!("still running after {limit:?}: {:?}", child.wait());
}

/// A tree with `sites/site.conf` and an empty scratch directory `tmp` (csppatch's TMPDIR).
fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sites")).unwrap();
    fs::write(dir.path().join("sites/site.conf"), SITE).unwrap();
    let tmp = dir.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    (dir, tmp)
}

fn ctrl_c_while_the_validator_runs(namespace: bool) {
    let (dir, tmp) = tree();
    let conf = dir.path().join("sites/site.conf");
    // Passes on the unpatched file; on the patched one it writes down its shell's pid and its
    // child's, then waits for the child (60 s), and would write `finished` if it ran to its end.
    let cmd = "grep -q cloudflare sites/site.conf && { echo $$ > v.pids; sleep 60 & echo $! >> v.pids; wait $!; echo finished > v.finished; }; true";
    let mut run = common::csppatch();
    run.current_dir(dir.path())
        .args(["sites", "--vendor", "turnstile", "--dialect", "nginx"])
        .args(["--validate-cmd", cmd])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !namespace {
        run.env("CSPPATCH_NO_NAMESPACE", "1");
    }
    let mut child = run.spawn().unwrap();
    let pids_file = dir.path().join("v.pids");
    let running = wait_for(Duration::from_secs(60), || {
        fs::read_to_string(&pids_file).is_ok_and(|p| p.lines().count() == 2)
    });
    assert!(
        running,
        "the validator never ran on the patched configuration"
    );
    // The moment of the Ctrl-C, as the test sees it: with a namespace the patched copy is
    // staged in TMPDIR and the real file is untouched; without one the file is written.
    if namespace {
        assert!(
            !entries(&tmp).is_empty(),
            "the staged copy is in TMPDIR while the validator runs"
        );
        assert_eq!(fs::read_to_string(&conf).unwrap(), SITE);
    } else {
        assert!(fs::read_to_string(&conf).unwrap().contains("cloudflare"));
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    // The Ctrl-C was held until the cleanup was done, then ended the run.
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: {err}");
    let pids = fs::read_to_string(&pids_file).unwrap();
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert!(
        wait_for(Duration::from_secs(10), || pids.iter().all(|p| gone(p))),
        "the validator and its child were stopped with csppatch: {pids:?}"
    );
    assert!(!dir.path().join("v.finished").exists());
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new(), "staged copies left");
    assert_eq!(leftovers(dir.path()), Vec::<PathBuf>::new());
    // Unvalidated, so not kept: unchanged (never written, or restored), never a mix.
    assert_eq!(fs::read_to_string(&conf).unwrap(), SITE, "{err}");
}

#[test]
fn ctrl_c_while_the_validator_runs_in_a_namespace_leaves_nothing() {
    if !common::have_namespace() {
        return;
    }
    ctrl_c_while_the_validator_runs(true);
}

#[test]
fn ctrl_c_while_the_validator_runs_on_written_files_restores_them() {
    ctrl_c_while_the_validator_runs(false);
}

fn a_timeout_before_the_write_stage(namespace: bool) {
    let (dir, tmp) = tree();
    // Hangs on every configuration, the unpatched one included.
    let cmd = "echo $$ > v.pids; sleep 60 & echo $! >> v.pids; wait $!; echo finished > v.finished";
    let mut run = common::csppatch();
    run.current_dir(dir.path())
        .args(["sites", "--vendor", "turnstile", "--dialect", "nginx"])
        .args(["--validate-cmd", cmd, "--color", "never"])
        .env("TMPDIR", &tmp)
        .env("CSPPATCH_VALIDATE_TIMEOUT", "1");
    if !namespace {
        run.env("CSPPATCH_NO_NAMESPACE", "1");
    }
    let out = run.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("error[E023]"), "{err}");
    assert!(
        err.contains("did not finish on the unpatched configuration within the deadline"),
        "{err}"
    );
    assert!(
        !err.contains("E022") && !err.contains("already fails"),
        "{err}"
    );
    let pids = fs::read_to_string(dir.path().join("v.pids")).expect("the validator ran");
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(
        wait_for(Duration::from_secs(10), || pids.iter().all(|p| gone(p))),
        "{pids:?}"
    );
    assert!(!dir.path().join("v.finished").exists());
    assert_eq!(
        fs::read_to_string(dir.path().join("sites/site.conf")).unwrap(),
        SITE
    );
    assert_eq!(entries(&tmp), Vec::<PathBuf>::new(), "staged copies left");
    assert_eq!(leftovers(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_validator_timeout_before_the_write_stage_is_no_verdict_and_writes_nothing() {
    a_timeout_before_the_write_stage(false);
    if common::have_namespace() {
        a_timeout_before_the_write_stage(true);
    }
}

/// Can `strace` trace and delay a child here (ptrace may be forbidden in a container)?
fn strace_works() -> bool {
    std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=none", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The pid of the one child of `parent`.
fn child_of(parent: u32) -> Option<String> {
    let tasks = fs::read_dir(format!("/proc/{parent}/task")).ok()?;
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .next()
}

#[test]
fn sigterm_between_two_renames_of_a_multi_file_write_finishes_the_write() {
    const N: usize = 8;
    if !common::available(
        common::have("strace") && strace_works(),
        "strace (with ptrace allowed)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sites")).unwrap();
    let name = |i: usize| dir.path().join(format!("sites/s{i}.conf"));
    for i in 0..N {
        fs::write(name(i), SITE.replace("example.test", &format!("s{i}.test"))).unwrap();
    }
    let patched = |i: usize| fs::read_to_string(name(i)).unwrap().contains("cloudflare");
    // Each file is put in place by one renameat2(RENAME_EXCHANGE); the first one returns to
    // csppatch only after 3 s, so the tree is held with one file new and the others old.
    let mut child = std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=renameat2"])
        .args(["-e", "inject=renameat2:delay_exit=3000000:when=1"])
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_csppatch"))
        .args(["sites", "--vendor", "turnstile", "--dialect", "nginx"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let held = wait_for(Duration::from_secs(60), || (0..N).any(patched));
    assert!(held, "no file was ever renamed");
    let new_at_signal = (0..N).filter(|&i| patched(i)).count();
    assert!(
        (1..N).contains(&new_at_signal),
        "the signal must land between two renames: {new_at_signal} of {N} new"
    );
    let csppatch = child_of(child.id()).expect("csppatch runs under strace");
    let pid = rustix::process::Pid::from_raw(csppatch.parse().unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    // strace ends as its tracee did: by the SIGTERM, delivered once the writes were done.
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}: {err}");
    let new_after = (0..N).filter(|&i| patched(i)).count();
    assert_eq!(
        new_after, N,
        "held across the write: all {N} files new ({new_at_signal} were at the signal)"
    );
    assert_eq!(
        leftovers(dir.path()),
        Vec::<PathBuf>::new(),
        "temp files left"
    );
    eprintln!(
        "SIGTERM with {new_at_signal} of {N} files renamed: the write finished ({new_after} of {N} new), 0 temp files, then the signal ended the run"
    );
}
