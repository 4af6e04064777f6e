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
    let doc = common::json::parse_checked("patch", &out.stdout);
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

// ---- Bugs found in the structural review (issue 11) ----------------------------------------

const CSP_SERVER: &str =
    "server {\n    listen 80;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n";

#[test]
fn include_globs_skip_dotfiles_as_nginx_and_httpd_do_and_caddy_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // nginx: `include conf.d/*.conf` (glob(3), no GLOB_PERIOD) never reads an editor's
    // hidden copy; a broken one must not make csppatch refuse the configuration.
    write(
        d,
        "nginx/nginx.conf",
        "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
    );
    write(d, "nginx/conf.d/site.conf", CSP_SERVER);
    write(d, "nginx/conf.d/.#site.conf", "server {\n    broken\n");
    // Apache: a wildcard (apr_fnmatch with APR_FNM_PERIOD) skips dotfiles too.
    write(
        d,
        "apache/apache2.conf",
        "ServerRoot .\nIncludeOptional conf.d/*.conf\n",
    );
    write(
        d,
        "apache/conf.d/site.conf",
        "<VirtualHost *:80>\n    Header always set Content-Security-Policy \"default-src 'self'\"\n</VirtualHost>\n",
    );
    write(d, "apache/conf.d/.site.conf", "<VirtualHost *:80>\n");
    for root in ["nginx/nginx.conf", "apache/apache2.conf"] {
        let out = run_in(d, &[root, "--vendor", "turnstile", "--dry-run"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{root}: {err}");
        assert!(
            text(&out.stdout).contains("challenges.cloudflare.com"),
            "{root}"
        );
        assert!(
            !err.contains(".site.conf") && !err.contains(".#site"),
            "{err}"
        );
    }
    // Caddy's `import` globs with Go's filepath.Glob, which matches a leading dot: the hidden
    // file is part of the configuration and is patched like the rest.
    write(
        d,
        "caddy/Caddyfile",
        "example.com {\n    import sites/*\n}\n",
    );
    write(
        d,
        "caddy/sites/.hidden",
        "header Content-Security-Policy \"default-src 'self'\"\n",
    );
    let out = run_in(
        d,
        &["caddy/Caddyfile", "--vendor", "turnstile", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("+++ b/caddy/sites/.hidden"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn csppatch_temp_files_are_never_read_through_any_include_form() {
    // A killed run leaves `.NAME.XXXXXX.csppatch-tmp` next to the file it was replacing.
    let leftover = ".site.conf.a1B2c3.csppatch-tmp";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Apache's directory form reads every entry, dotfiles included: not csppatch's own.
    write(d, "apache/apache2.conf", "ServerRoot .\nInclude conf.d/\n");
    write(
        d,
        "apache/conf.d/site.conf",
        "<VirtualHost *:80>\n    Header always set Content-Security-Policy \"default-src 'self'\"\n</VirtualHost>\n",
    );
    write(
        d,
        &format!("apache/conf.d/{leftover}"),
        "<VirtualHost *:80>\n",
    );
    // Caddy's glob matches dotfiles: not csppatch's own either.
    write(
        d,
        "caddy/Caddyfile",
        "example.com {\n    import sites/*\n}\n",
    );
    write(
        d,
        "caddy/sites/site",
        "header Content-Security-Policy \"default-src 'self'\"\n",
    );
    write(d, &format!("caddy/sites/{leftover}"), "header {\n");
    for root in ["apache/apache2.conf", "caddy/Caddyfile"] {
        let out = run_in(d, &[root, "--vendor", "turnstile", "--dry-run"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{root}: {err}");
        assert!(!err.contains("csppatch-tmp"), "{err}");
        assert!(!text(&out.stdout).contains("csppatch-tmp"), "{root}");
        assert!(
            err.contains("2 files read"),
            "{root}: the temp file is not read: {err}"
        );
    }
}

#[test]
fn nginx_variables_where_one_name_is_a_prefix_of_another_keep_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let site = "server {\n    listen 80;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'nonce-$n' 'nonce-$nonce_b'\" always;\n}\n";
    write(dir.path(), "site.conf", site);
    let out = run_in(dir.path(), &["site.conf", "--vendor", "turnstile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = fs::read_to_string(dir.path().join("site.conf")).unwrap();
    assert!(
        after.contains("script-src 'nonce-$n' 'nonce-$nonce_b' https://challenges.cloudflare.com;"),
        "{after}"
    );
    assert!(
        !after.contains("${n}"),
        "$nonce_b is not $n followed by text: {after}"
    );
}

#[test]
fn php_carriage_return_after_the_header_colon_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = "<?php\nheader(\"Content-Security-Policy:\r default-src 'self'\");\n";
    write(dir.path(), "functions.php", src);
    let out = run_in(dir.path(), &["functions.php", "--vendor", "turnstile"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("PHP501"),
        "the line break is still reported: {err}"
    );
    let after = fs::read_to_string(dir.path().join("functions.php")).unwrap();
    assert!(
        !after.contains('\r'),
        "the value is written on one line: {after:?}"
    );
    assert!(
        after.contains("Content-Security-Policy:default-src 'self';"),
        "{after:?}"
    );
    assert!(
        after.contains("https://challenges.cloudflare.com"),
        "{after:?}"
    );
    assert!(
        after.starts_with("<?php\nheader(\""),
        "bytes outside the value stay"
    );
}

#[test]
fn a_failed_scratch_directory_says_why_instead_of_validation_failed() {
    if !common::have_namespace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "site.conf", CSP_SERVER);
    let missing = dir.path().join("no-such-tmp");
    let out = common::csppatch()
        .current_dir(dir.path())
        .args([
            "site.conf",
            "--vendor",
            "turnstile",
            "--validate-cmd",
            "true",
        ])
        .env("TMPDIR", &missing)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("cannot make a scratch directory"), "{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert_eq!(
        fs::read_to_string(dir.path().join("site.conf")).unwrap(),
        CSP_SERVER
    );
}

#[test]
fn a_failed_xattr_copy_is_an_error_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let to = fs::File::create(dir.path().join("new")).unwrap();
    // The attributes of a file that cannot be listed (here: an O_PATH descriptor, which
    // flistxattr refuses) cannot be kept.
    let from = rustix::fs::open(
        dir.path().join("new"),
        rustix::fs::OFlags::PATH,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let err = csppatch::commit::copy_xattrs(&fs::File::from(from), &to).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot keep its extended attributes"),
        "{err}"
    );
}

#[test]
fn ctrl_c_waits_for_every_write_of_a_plain_run() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let n = 200;
    for i in 0..n {
        write(dir.path(), &format!("sites/{i:03}.conf"), CSP_SERVER);
    }
    let mut child = common::csppatch()
        .current_dir(dir.path())
        .args(["sites", "--vendor", "turnstile"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stop it as soon as the first file is written: the writes must all finish first.
    let first = dir.path().join("sites/000.conf");
    let mut sent = false;
    for _ in 0..3000 {
        if fs::read_to_string(&first).is_ok_and(|s| s != CSP_SERVER) {
            let pid = rustix::process::Pid::from_child(&child);
            rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
            sent = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let status = child.wait().unwrap();
    let patched = (0..n)
        .filter(|i| {
            fs::read_to_string(dir.path().join(format!("sites/{i:03}.conf"))).unwrap() != CSP_SERVER
        })
        .count();
    assert_eq!(patched, n, "every file or none, never some ({status:?})");
    if sent {
        assert!(
            status.signal() == Some(2) || status.success(),
            "stopped after the writes: {status:?}"
        );
    }
}

#[test]
fn carets_sit_under_the_column_after_multibyte_characters() {
    let dir = tempfile::tempdir().unwrap();
    let line =
        "    location /café/ü { add_header Content-Security-Policy \"default-src 'self'\"; }";
    write(
        dir.path(),
        "site.conf",
        &format!("server {{\n    listen 80;\n{line}\n}}\n"),
    );
    let out = run_in(
        dir.path(),
        &["site.conf", "--vendor", "turnstile", "--dry-run"],
    );
    let err = text(&out.stderr);
    let at = line.find("add_header").unwrap();
    assert!(
        err.contains(&format!("site.conf:3:{}: warning[NGX203]", at + 1)),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    let shown = lines
        .iter()
        .position(|l| *l == format!("    {line}"))
        .expect(&err);
    let caret = lines[shown + 1];
    assert_eq!(
        caret.chars().position(|c| c == '^'),
        Some(4 + line[..at].chars().count()),
        "the caret is under `add_header`:\n{}\n{caret}",
        lines[shown]
    );
}

/// csppatch with its stdout or its stderr on a terminal (a pseudo-terminal), the other one a
/// pipe: (what the terminal got, what the pipe got).
fn with_terminal_on(stderr_on_terminal: bool, dir: &Path) -> (String, String) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use std::io::Read as _;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut cmd = common::csppatch();
    cmd.current_dir(dir)
        .args(["site.conf", "--vendor", "turnstile", "--dry-run"])
        .env_remove("NO_COLOR");
    if stderr_on_terminal {
        cmd.stderr(slave).stdout(std::process::Stdio::piped());
    } else {
        cmd.stdout(slave).stderr(std::process::Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut terminal = fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last writer of the terminal is gone.
        while let Ok(n) = terminal.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let mut piped = Vec::new();
    let pipe: Option<Box<dyn std::io::Read>> = if stderr_on_terminal {
        child.stdout.take().map(|p| Box::new(p) as _)
    } else {
        child.stderr.take().map(|p| Box::new(p) as _)
    };
    pipe.unwrap().read_to_end(&mut piped).unwrap();
    assert!(child.wait().unwrap().success());
    (text(&reader.join().unwrap()), text(&piped))
}

#[test]
fn stderr_colour_is_decided_by_stderr_not_stdout() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site.conf",
        "server {\n    listen 80;\n    add_header Content-Security-Policy \"default-src 'self'\";\n}\n",
    );
    let (terminal, pipe) = with_terminal_on(true, dir.path());
    assert!(
        terminal.contains("\x1b["),
        "diagnostics on a terminal are coloured: {terminal:?}"
    );
    assert!(terminal.contains("warning[NGX203]"), "{terminal:?}");
    assert!(
        !pipe.contains('\x1b'),
        "the diff into a pipe is plain: {pipe:?}"
    );
    let (terminal, pipe) = with_terminal_on(false, dir.path());
    assert!(
        terminal.contains("\x1b["),
        "a diff on a terminal is coloured: {terminal:?}"
    );
    assert!(
        !pipe.contains('\x1b'),
        "diagnostics into a pipe are plain: {pipe:?}"
    );
}

#[test]
fn the_probe_refuses_an_endless_header_line_without_waiting_for_its_end() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = [0u8; 4096];
        let _ = s.read(&mut req);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Long: ");
        // A header line that does not end: 512 KiB, then nothing, the connection held open
        // until the client hangs up (at most 20 s). A reader that waits for the line's end
        // runs into --timeout instead of the size limit.
        let _ = s.write_all(&vec![b'a'; 512 * 1024]);
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(20)));
        let _ = s.read(&mut req);
    });
    let url = format!("http://127.0.0.1:{port}/");
    let out = common::csppatch()
        .args(["probe", &url, "--vendor", "turnstile", "--timeout", "5"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the response headers exceed 256 KiB"), "{err}");
    server.join().unwrap();
}

#[test]
fn more_sources_than_the_bound_are_refused_before_reading() {
    // Issue 12: 4,000 sources took 92 s and 688 MB (the merge's checks are quadratic in
    // them); past 1,000 the run is refused up front (E062).
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "site.conf", CSP_SERVER);
    let sources = |n: usize| {
        (0..n)
            .map(|i| format!("https://s{i}.example"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = run_in(
        dir.path(),
        &[
            "site.conf",
            "--allow",
            &format!("img-src {}", sources(1001)),
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E062]: 1001 sources to add: csppatch adds at most 1000"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("site.conf")).unwrap(),
        CSP_SERVER
    );
    let out = run_in(
        dir.path(),
        &[
            "site.conf",
            "--dry-run",
            "--allow",
            &format!("img-src {}", sources(30)),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_value_of_more_policies_than_the_bound_is_left_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let csp = "default-src 'self'; img-src 'self'";
    let value = |n: usize| vec![csp; n].join(", ");
    let file = |n: usize| {
        format!(
            ":8080 {{\n    header Content-Security-Policy \"{}\"\n}}\n",
            value(n)
        )
    };
    write(dir.path(), "Caddyfile", &file(65));
    let out = run_in(dir.path(), &["Caddyfile", "--vendor", "turnstile"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E063]: this value holds 65 comma-separated policies: csppatch patches at most 64"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("Caddyfile")).unwrap(),
        file(65)
    );
    write(dir.path(), "Caddyfile", &file(64));
    let out = run_in(dir.path(), &["Caddyfile", "--vendor", "turnstile"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(dir.path().join("Caddyfile"))
            .unwrap()
            .matches("challenges.cloudflare.com")
            .count(),
        64 * 2,
        "script-src and frame-src of each policy"
    );
}

#[test]
fn nesting_deeper_than_the_bound_is_refused_and_the_bound_itself_is_read() {
    // Issue 12: 10,000 nested locations took 3.5 GB (each block copied its parents' labels;
    // now one stack) and a debug build's stack overflowed at 5,000. 512 levels are read, with
    // memory well under 100 MB; 513 are refused at the block that goes past (E064).
    if !common::have("/usr/bin/time") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nest = |n: usize| {
        let mut conf = String::from(
            "server {\n    listen 80;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n",
        );
        for i in 0..n {
            conf.push_str(&format!("location /n{i} {{\n"));
        }
        conf.push_str(&"}\n".repeat(n + 1));
        conf
    };
    let run = |n: usize| {
        write(dir.path(), "nest.conf", &nest(n));
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(dir.path().join("rss"))
            .arg(env!("CARGO_BIN_EXE_csppatch"))
            .args([
                "nest.conf",
                "--dialect",
                "nginx",
                "--vendor",
                "turnstile",
                "--dry-run",
            ])
            .args(["--color", "never"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let kb: u64 = fs::read_to_string(dir.path().join("rss"))
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (out, kb)
    };
    let (out, kb) = run(511); // 511 locations in the server: 512 levels
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(kb < 100_000, "{kb} KB peak for 512 levels");
    let (out, _) = run(512);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Line 3 + 512: the location that opens level 513 (server is level 1).
    assert!(
        err.contains("nest.conf:515:16: error[E064]: blocks nested more than 512 deep"),
        "{err}"
    );
}

/// D3 (issue 7): a value built from variables is linted once per variant; with two invalid
/// sources the warnings came `a b a b a b a b` (a `map` of two values times an `if`): each
/// once now, and the two different sources stay two. Models tests/fixtures/vars/nginx/
/// variants.conf (cryptpad's `set` + `if`, h5bp's `map`).
#[test]
fn an_invalid_source_in_a_value_with_variants_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "site.conf",
        "map $arg_embed $imgSrc {\n    default \"'self' data:\";\n    1 \"'self' data: https://img.example.net\";\n}\n\
         server {\n    listen 80;\n    set $scriptSrc \"'self'\";\n    if ($arg_unsafe) {\n        set $scriptSrc \"'self' 'unsafe-eval'\";\n    }\n\
         \x20   add_header Content-Security-Policy \"default-src 'self'; script-src $scriptSrc; connect-src 'self' wss://x.example:abc; img-src $imgSrc; style-src 'self' foo:bar:baz\" always;\n}\n",
    );
    for args in [
        &["site.conf", "--vendor", "turnstile", "--dry-run"][..],
        &["audit", "site.conf", "--vendor", "turnstile"][..],
    ] {
        let out = run_in(dir.path(), args);
        // The patch run says its diagnostics on stderr, audit on stdout.
        let err = text(&out.stderr) + &text(&out.stdout);
        let csp112: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("warning[CSP112]"))
            .collect();
        assert_eq!(csp112.len(), 2, "{args:?}:\n{err}");
        assert!(csp112[0].contains("wss://x.example:abc"), "{err}");
        assert!(csp112[1].contains("foo:bar:baz"), "{err}");
        assert!(
            csp112.iter().all(|l| l.starts_with("site.conf:11:")),
            "{err}"
        );
    }
}

/// dev-sec/ansible-collection-hardening roles/nginx_hardening: the template writes
/// `add_header {{ header }};` in a loop, the CSP is an item of `nginx_add_header` in
/// defaults/main.yml. `--check` passed with E012 "nothing blocks the vendor".
#[test]
fn a_csp_in_a_template_loops_variables_does_not_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "role/templates/hardening.conf.j2",
        "{% for header in nginx_add_header %}\nadd_header {{ header }};\n{% endfor %}\n",
    );
    write(
        dir.path(),
        "role/defaults/main.yml",
        "nginx_add_header:\n  - X-Frame-Options SAMEORIGIN\n  - Content-Security-Policy \"script-src 'self'\"\n",
    );
    let out = run_in(dir.path(), &["role", "--vendor", "muserelay", "--check"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("role/defaults/main.yml:3:5: warning[E065]"),
        "{err}"
    );
    assert!(!err.contains("E012"), "{err}");
    // Without the CSP item nothing is left unchecked: the same run passes.
    write(
        dir.path(),
        "role/defaults/main.yml",
        "nginx_add_header:\n  - X-Frame-Options SAMEORIGIN\n",
    );
    let out = run_in(dir.path(), &["role", "--vendor", "muserelay", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
