//! The real validators: `nginx -t`, `apache2 -t`, `caddy validate`, `php -l`, run against the
//! patched configuration at its real paths before any real file changes.
//!
//! The patched files are bind-mounted over the real ones in a private mount namespace
//! (`unshare --mount`), so the server reads the patched tree where it expects it and every
//! message names the real paths. Where no namespace can be made, the caller writes, validates
//! and restores (see `lib.rs`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::dialect::DialectKind;
use crate::scan::{config_file, Tree};
pub use crate::validator::Validator;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: bool,
    /// What the validator printed (stdout then stderr).
    pub output: String,
}

/// The validators for the configurations the changed files belong to, as each file's dialect
/// builds them. `custom` is `--validate-cmd`, run once with `sh -c`.
pub fn plan(
    tree: &Tree,
    changed: &[usize],
    custom: Option<&str>,
) -> Result<Vec<Validator>, String> {
    if let Some(cmd) = custom {
        let mut v = Validator::new(vec!["sh".into(), "-c".into(), cmd.into()]);
        v.label = cmd.to_string();
        return Ok(vec![v]);
    }
    let mut out = Vec::new();
    let mut dialects: Vec<DialectKind> = changed.iter().map(|&i| tree.files[i].dialect).collect();
    dialects.sort();
    dialects.dedup();
    for kind in dialects {
        let dialect = kind.dialect();
        let of_kind = || {
            changed
                .iter()
                .copied()
                .filter(|&c| tree.files[c].dialect == kind)
        };
        for c in of_kind() {
            out.extend(dialect.validate_changed_file(&config_file(&tree.files[c]))?);
        }
        // Every main config the changed files belong to, then the files no main config
        // reaches: one run over every such file of the run (not only the changed ones: an
        // upstream or a snippet they use may live in another), and one for each that is a
        // whole main config of its own (nginx: a top-level `http`/`events`).
        for &(k, r) in &tree.roots {
            if k == kind && of_kind().any(|c| tree.files[c].roots.contains(&r)) {
                out.extend(dialect.validate_main_config(&config_file(&tree.files[r]))?);
            }
        }
        if !of_kind().any(|c| tree.files[c].roots.is_empty()) {
            continue;
        }
        let lone = (0..tree.files.len()).filter(|&i| {
            let f = &tree.files[i];
            f.dialect == kind && f.in_scope && f.roots.is_empty() && !included_by_another(tree, i)
        });
        let (whole, parts): (Vec<usize>, Vec<usize>) =
            lone.partition(|&i| dialect.is_whole_config(&tree.files[i].src));
        for w in whole {
            out.extend(dialect.validate_main_config(&config_file(&tree.files[w]))?);
        }
        if !parts.is_empty() {
            let files: Vec<_> = parts.iter().map(|&i| config_file(&tree.files[i])).collect();
            out.extend(dialect.validate_lone_files(&files)?);
        }
    }
    Ok(out)
}

/// Is file `i` included by another file of the run? (Then the includer's wrapper or root
/// brings it in; including it again would define its blocks twice.)
fn included_by_another(tree: &Tree, i: usize) -> bool {
    tree.files
        .iter()
        .enumerate()
        .any(|(j, f)| j != i && f.included.iter().flatten().any(|&k| k == i))
}

/// Can this process make a private mount namespace? Tried once. `CSPPATCH_NO_NAMESPACE=1`
/// forces the write-validate-restore path (what a machine without namespaces gets), so that
/// path is tested too.
pub fn namespace_available() -> bool {
    namespace_flags().is_some()
}

/// The `unshare` flags that give this process a private mount namespace: `--mount` as root,
/// else a user namespace mapping the user to root (unprivileged user namespaces), else none.
fn namespace_flags() -> Option<&'static [&'static str]> {
    const AS_ROOT: &[&str] = &["--mount", "--propagation", "private"];
    const AS_USER: &[&str] = &[
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
    ];
    static FLAGS: std::sync::OnceLock<Option<&'static [&'static str]>> = std::sync::OnceLock::new();
    *FLAGS.get_or_init(|| {
        if std::env::var_os("CSPPATCH_NO_NAMESPACE").is_some_and(|v| v == "1") {
            return None;
        }
        [AS_ROOT, AS_USER].into_iter().find(|flags| {
            Command::new("unshare")
                .args(flags.iter())
                .arg("true")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// Run `v`, with each `(patched copy, real path)` of `mounts` bind-mounted over the real path
/// in a private mount namespace (none: run it as is).
pub fn run(v: &Validator, mounts: &[(PathBuf, PathBuf)]) -> Outcome {
    let mut cmd = if mounts.is_empty() {
        let mut c = Command::new(&v.argv[0]);
        c.args(&v.argv[1..]);
        c
    } else {
        let mut c = Command::new("unshare");
        c.args(namespace_flags().unwrap_or(&["--mount", "--propagation", "private"]));
        c.args(["--", "sh", "-c", MOUNT_SCRIPT, "sh"]);
        c.arg(mounts.len().to_string());
        for (from, to) in mounts {
            c.arg(from).arg(to);
        }
        c.args(&v.argv);
        c
    };
    cmd.envs(v.env.iter().map(|(k, val)| (k, val)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = &v.cwd {
        cmd.current_dir(d);
    }
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so a validator that hangs is killed with its children.
        cmd.process_group(0);
        // SAFETY: only async-signal-safe calls between fork and exec: the validator must not
        // inherit the signals csppatch defers while files are written (see `defer_signals`).
        unsafe {
            cmd.pre_exec(|| {
                let set = signal_set();
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                ok: false,
                output: format!("cannot run {}: {e}", v.argv[0]),
            }
        }
    };
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let limit = timeout();
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() >= deadline => {
                // SAFETY: signalling the process group we created for the validator.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let mut output = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
    output.push_str(&String::from_utf8_lossy(&stderr.join().unwrap_or_default()));
    match status {
        Some(s) => Outcome {
            ok: s.success(),
            output,
        },
        None => Outcome {
            ok: false,
            output: format!(
                "{output}\n`{}` did not finish within {} s and was stopped",
                v.label,
                limit.as_secs()
            ),
        },
    }
}

/// How long a validator may run: 120 s (nginx -t on a large tree takes a second or two), or
/// `CSPPATCH_VALIDATE_TIMEOUT` seconds.
fn timeout() -> std::time::Duration {
    let secs = std::env::var("CSPPATCH_VALIDATE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    std::time::Duration::from_secs(secs)
}

/// SIGINT, SIGTERM, SIGHUP: what a user or a supervisor sends to stop csppatch.
fn signal_set() -> libc::sigset_t {
    // SAFETY: a zeroed sigset_t is valid storage for sigemptyset to initialise.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

/// Hold Ctrl-C and SIGTERM until the returned guard drops: between writing files for a
/// validation and restoring them, being stopped would leave unvalidated files behind.
pub fn defer_signals() -> impl Drop {
    struct Deferred;
    impl Drop for Deferred {
        fn drop(&mut self) {
            let set = signal_set();
            // SAFETY: unblocking signals this thread blocked; pending ones arrive now.
            unsafe {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
        }
    }
    let set = signal_set();
    // SAFETY: blocking signals for this (the only) thread.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    Deferred
}

/// `sh -c` script: `N from1 to1 ... fromN toN cmd args...`.
const MOUNT_SCRIPT: &str = r#"set -e
n=$1; shift
while [ "$n" -gt 0 ]; do mount --bind "$1" "$2"; shift 2; n=$((n-1)); done
exec "$@""#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mounts_show_the_patched_file_at_the_real_path() {
        if !namespace_available() {
            eprintln!("SKIPPED: no private mount namespace here");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        let patched = dir.path().join("patched.conf");
        std::fs::write(&real, b"old").unwrap();
        std::fs::write(&patched, b"new").unwrap();
        let v = Validator::new(vec!["cat".into(), real.display().to_string()]);
        let out = run(&v, &[(patched, real.clone())]);
        assert!(out.ok, "{}", out.output);
        assert_eq!(out.output, "new");
        assert_eq!(
            std::fs::read(&real).unwrap(),
            b"old",
            "the real file is untouched"
        );
    }
}
