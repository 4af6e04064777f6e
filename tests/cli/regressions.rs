//! Bugs found in review, each with the reproduction that showed it.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Output;

fn run_in(dir: &Path, args: &[&str]) -> Output {
    common::csppatch()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run csppatch")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, rel: &str, body: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
}

const SET_SITE: &str = "server {\n    listen 80;\n    set $csp \"default-src 'self'\";\n    add_header Content-Security-Policy $csp always;\n}\n";

#[test]
fn a_set_variable_of_another_server_is_not_patched() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "sites/a.conf", SET_SITE);
    write(dir.path(), "sites/b.conf", SET_SITE);
    let out = run_in(dir.path(), &["sites/a.conf", "--vendor", "turnstile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(fs::read_to_string(dir.path().join("sites/a.conf"))
        .unwrap()
        .contains("challenges.cloudflare.com"));
    assert_eq!(
        fs::read_to_string(dir.path().join("sites/b.conf")).unwrap(),
        SET_SITE,
        "b.conf's own $csp is not a.conf's"
    );
    assert!(!text(&out.stderr).contains("E015"), "{}", text(&out.stderr));
}

#[test]
fn the_same_include_from_two_directories_is_two_files() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        write(
            dir.path(),
            &format!("{d}/site.conf"),
            "server {\n    listen 80;\n    include csp.conf;\n}\n",
        );
        write(
            dir.path(),
            &format!("{d}/csp.conf"),
            "add_header Content-Security-Policy \"default-src 'self'\" always;\n",
        );
    }
    let out = run_in(
        dir.path(),
        &["a/site.conf", "b/site.conf", "--vendor", "turnstile"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for d in ["a", "b"] {
        let csp = fs::read_to_string(dir.path().join(d).join("csp.conf")).unwrap();
        assert!(
            csp.contains("challenges.cloudflare.com"),
            "{d}/csp.conf patched: {csp}"
        );
    }
}

#[test]
fn validate_checks_changed_files_that_no_main_config_includes() {
    if !common::have("nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    write(dir.path(), "etc/nginx.conf", &format!("pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n    include sites/*.conf;\n}}\n"));
    write(dir.path(), "etc/sites/a.conf", "server {\n    listen 127.0.0.1:8081;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n");
    // Outside the main config's includes, and broken.
    write(dir.path(), "other/b.conf", "server {\n    listen 127.0.0.1:8082;\n    bogus_directive on;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n");
    let out = run_in(
        dir.path(),
        &[
            "etc/sites/a.conf",
            "other/b.conf",
            "--vendor",
            "turnstile",
            "--validate",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("unknown directive \"bogus_directive\""),
        "{err}"
    );
}

#[test]
fn a_lone_file_validates_with_the_files_beside_it() {
    if !common::have("nginx") {
        return;
    }
    // site.conf uses an upstream defined in upstreams.conf, which does not change.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "conf.d/upstreams.conf",
        "upstream backend {\n    server 127.0.0.1:9000;\n}\n",
    );
    write(dir.path(), "conf.d/site.conf", "server {\n    listen 127.0.0.1:8083;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n    location / {\n        proxy_pass http://backend;\n    }\n}\n");
    let out = run_in(
        dir.path(),
        &["conf.d", "--vendor", "turnstile", "--validate"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_hanging_validator_is_stopped_and_nothing_stays_written() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        "server {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n";
    write(dir.path(), "site.conf", original);
    // Passes on the unpatched file, hangs on the patched one; without a namespace the file is
    // written before validation, so it must come back when the validator is stopped. The
    // validator writes down its shell's pid and its child's, and would write `finished` if it
    // ran to its end: whether it was stopped is read off those, not off a clock.
    let cmd = "grep -q cloudflare site.conf && { echo $$ > validator.pids; sleep 60 & echo $! >> validator.pids; wait $!; echo finished > validator.finished; }; true";
    let out = common::csppatch()
        .current_dir(dir.path())
        .args(["site.conf", "--vendor", "turnstile", "--validate-cmd", cmd])
        .env("CSPPATCH_NO_NAMESPACE", "1")
        .env("CSPPATCH_VALIDATE_TIMEOUT", "2")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("did not finish within 2 s"), "{err}");
    let pids = fs::read_to_string(dir.path().join("validator.pids")).expect("the validator ran");
    let pids: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    // SIGKILL is delivered asynchronously: wait (a bounded while) for both to be gone.
    let gone = |pid: &&str| match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) STATE ...": a zombie has stopped, it only waits to be reaped.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    };
    let stopped = (0..100).any(|_| {
        let all = pids.iter().all(gone);
        if !all {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        all
    });
    assert!(stopped, "the validator and its child were killed: {pids:?}");
    assert!(
        !dir.path().join("validator.finished").exists(),
        "the validator did not run to its end"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("site.conf")).unwrap(),
        original
    );
}

#[test]
fn json_output_survives_a_file_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"site\xff.conf");
    fs::write(
        dir.path().join(name),
        "server {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            ".",
            "--vendor",
            "turnstile",
            "--dry-run",
            "--format",
            "json",
            "--dialect",
            "nginx",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a whole JSON document");
    assert!(doc["files"][0]["path"]
        .as_str()
        .unwrap()
        .contains("site\u{FFFD}.conf"));
}

#[test]
fn a_diff_of_a_path_with_spaces_and_dot_dot_applies_with_patch() {
    if !common::have("patch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original =
        "server {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n";
    write(dir.path(), "my sites/x.conf", original);
    fs::create_dir(dir.path().join("work")).unwrap();
    let out = run_in(
        &dir.path().join("work"),
        &["../my sites/x.conf", "--vendor", "turnstile", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.starts_with("--- a/"), "{diff}");
    assert!(!diff.contains(".."), "no `..` in diff names: {diff}");
    // Applied from / (the name is absolute, without its leading slash).
    let patched = std::process::Command::new("patch")
        .args(["-p1", "--dry-run", "-d", "/", "-i", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(diff.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(patched.status.success(), "{}", text(&patched.stdout));
}
