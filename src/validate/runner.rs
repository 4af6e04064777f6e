//! Run one validator command with one deadline for all of it: the command runs in a process
//! group of its own; when it exits, or when the deadline passes, the whole group is killed, so
//! that no background child it started outlives the validation or keeps its output open.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::signals;

/// What one validator run said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub ok: bool,
    /// What the validator printed (stdout then stderr).
    pub output: String,
    /// It was stopped at the deadline: no verdict on the configuration either way.
    pub timed_out: bool,
}

/// After the kill, how long the output may take to arrive: killed processes close their pipes
/// at once; only a process that left the group (`setsid`) can keep one open.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// Run `cmd` (named `label` in messages) for at most `limit`.
pub fn run(mut cmd: Command, label: &str, limit: Duration) -> Checked {
    use std::os::unix::process::CommandExt;
    let deadline = Instant::now() + limit;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    signals::unblocked_in_child(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Checked {
                ok: false,
                output: format!("cannot run {}: {e}", cmd.get_program().to_string_lossy()),
                timed_out: false,
            }
        }
    };
    let (tx, rx) = mpsc::channel();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child.stdout.take().map(|p| Box::new(p) as _),
        child.stderr.take().map(|p| Box::new(p) as _),
    ];
    for (i, pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            let _ = tx.send((i, buf));
        });
    }
    drop(tx);
    // Waited in short slices: a Ctrl-C held by the pipeline (see `signals`) stops the
    // validator and its group at once, so csppatch can remove its staged copies and exit.
    let mut status = None;
    let mut interrupted = false;
    while status.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        status = child
            .wait_timeout(left.min(Duration::from_millis(100)))
            .ok()
            .flatten();
        if status.is_none() && signals::pending() {
            interrupted = true;
            break;
        }
    }
    // The group is the validator and everything it started; its id stays reserved while any
    // member lives, so this reaches only them.
    let group = rustix::process::Pid::from_child(&child);
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    if status.is_none() {
        let _ = child.wait();
    }
    let mut parts = [Vec::new(), Vec::new()];
    let mut received = 0;
    let drain_deadline = deadline.max(Instant::now() + DRAIN_GRACE);
    while received < 2 {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, bytes)) => {
                parts[i] = bytes;
                received += 1;
            }
            Err(_) => break,
        }
    }
    let mut output = String::from_utf8_lossy(&parts[0]).into_owned();
    output.push_str(&String::from_utf8_lossy(&parts[1]));
    match status {
        Some(s) => {
            if received < 2 {
                output.push_str(&format!(
                    "\n(`{label}` left a process running that keeps its output open; its output may be cut short)"
                ));
            }
            Checked {
                ok: s.success(),
                output,
                timed_out: false,
            }
        }
        None if interrupted => Checked {
            ok: false,
            output: format!("{output}\n`{label}` was stopped: csppatch was interrupted"),
            timed_out: true,
        },
        None => Checked {
            ok: false,
            output: format!(
                "{output}\n`{label}` did not finish within {} s and was stopped",
                limit.as_secs()
            ),
            timed_out: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn captures_output_and_status() {
        let v = run(
            sh("echo out; echo err >&2; exit 3"),
            "x",
            Duration::from_secs(30),
        );
        assert_eq!(
            v,
            Checked {
                ok: false,
                output: "out\nerr\n".into(),
                timed_out: false,
            }
        );
        assert!(run(sh("true"), "x", Duration::from_secs(30)).ok);
    }

    #[test]
    fn a_command_that_runs_too_long_is_stopped_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let script = format!("sleep 600 & echo $! > {}; wait", pid_file.display());
        let v = run(sh(&script), "slow", Duration::from_secs(1));
        assert!(!v.ok && v.timed_out);
        assert!(
            v.output.contains("`slow` did not finish within 1 s"),
            "{}",
            v.output
        );
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the background sleep was killed with its group");
    }

    #[test]
    fn background_children_do_not_outlive_a_command_that_exited() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        // The child keeps stdout open: without the group kill, reading it would wait 600 s.
        let script = format!("sleep 600 & echo $! > {}; echo done", pid_file.display());
        let v = run(sh(&script), "bg", Duration::from_secs(60));
        assert_eq!(
            v,
            Checked {
                ok: true,
                output: "done\n".into(),
                timed_out: false,
            }
        );
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the background sleep was killed with its group");
    }

    /// No such process, or a zombie waiting for init to reap it.
    fn gone(pid: i32) -> bool {
        for _ in 0..50 {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat)
                    if stat
                        .rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z')) =>
                {
                    return true
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        false
    }
}
