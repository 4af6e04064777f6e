//! The run's threads change nothing it says: the same tree read on one thread
//! (`CSPPATCH_JOBS=1`) and on several gives the same stdout, stderr and exit code, byte for
//! byte. The tree is big enough that the scan, the nginx tree check and the plan all split
//! their work (README, "Speed"), and it has something for each stage to say.

use crate::common;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Output;

/// Files in the tree: many more than a thread's share of the scan (64 files) and, with
/// 6 CSP sites in 7, of the plan (256 sites).
const SITES: usize = 900;

/// A tree shaped like `scripts/bench.sh`'s nginx one (a main config, a map, a snippet and
/// one vhost per file), with findings spread through it so that parts done on different
/// threads each have some: a policy through a map, one in a shared snippet, one already
/// naming `*.muserelay.com` (which is not the vendor's apex), a `root` missing its semicolon
/// so that it swallows the header on the next line (E041, found beside the plan; one file in
/// 113), a `location` with its own `add_header` (NGX202, from the tree check, also found beside
/// the plan; one file in 89), and a file that is not configuration.
fn tree(root: &Path) {
    for d in ["sites", "conf.d", "snippets"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(
        root.join("nginx.conf"),
        "events {}\nhttp {\n    include conf.d/*.conf;\n    include sites/*.conf;\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("conf.d/csp-map.conf"),
        "map $sent_http_content_type $csp_policy {\n    default \"\";\n    ~*text/html \"default-src 'self'; script-src 'self'\";\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("snippets/csp.conf"),
        "add_header Content-Security-Policy \"default-src 'self'; frame-src 'none'\" always;\n",
    )
    .unwrap();
    fs::write(root.join("sites/README.txt"), "one file per vhost\n").unwrap();
    for i in 0..SITES {
        let mut csp = String::new();
        match i {
            _ if i % 7 == 0 => {}
            _ if i % 10 == 1 => {
                csp.push_str("    add_header Content-Security-Policy $csp_policy always;\n")
            }
            _ if i % 97 == 5 => csp.push_str("    include snippets/csp.conf;\n"),
            _ => {
                let mut p =
                    format!("default-src 'self'; script-src 'self' https://static{i}.example.com");
                if i % 4 == 1 {
                    p.push_str(" 'unsafe-inline'");
                }
                if i % 61 == 3 {
                    p.push_str(" https://*.muserelay.com");
                }
                write!(p, "; connect-src 'self' https://api{}.example.com", i % 13).unwrap();
                writeln!(
                    csp,
                    "    add_header Content-Security-Policy \"{p}\" always;"
                )
                .unwrap();
            }
        }
        let semicolon = if i % 113 == 7 { "" } else { ";" };
        let cache = if i % 89 == 11 {
            "        add_header Cache-Control \"max-age=60\";\n"
        } else {
            ""
        };
        let body = format!(
            "# vhost {i}\nserver {{\n    listen 127.0.0.1:8080;\n    server_name site{i}.example.com;\n    root /var/www/site{i}{semicolon}\n{csp}    location / {{\n{cache}        try_files $uri $uri/ =404;\n    }}\n}}\n"
        );
        fs::write(root.join(format!("sites/site{i:04}.conf")), body).unwrap();
    }
}

fn run(dir: &Path, jobs: &str, args: &[&str]) -> Output {
    common::csppatch()
        .current_dir(dir)
        .env("CSPPATCH_JOBS", jobs)
        .args([
            "nginx.conf",
            "sites",
            "--vendor",
            "muserelay",
            "--color",
            "never",
        ])
        .args(args)
        .output()
        .expect("run csppatch")
}

#[test]
fn several_threads_say_what_one_thread_says() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    for args in [
        &["--dry-run"][..],
        &["--dry-run", "--format", "json"],
        &["--check"],
    ] {
        let one = run(dir.path(), "1", args);
        let stdout = String::from_utf8_lossy(&one.stdout);
        let stderr = String::from_utf8_lossy(&one.stderr);
        // Not an empty run: most sites change, and each kind of finding is there.
        if args == ["--dry-run"] {
            assert_eq!(one.status.code(), Some(0), "{stderr}");
            let diffs = stdout.matches("\n+++ ").count() + usize::from(stdout.starts_with("+++ "));
            assert!(diffs > SITES / 2, "{diffs} files changed\n{stderr}");
            assert!(stdout.contains("snippets/csp.conf"), "{stdout}");
            assert!(stdout.contains("conf.d/csp-map.conf"), "{stdout}");
            assert_eq!(
                stderr.matches("warning[E041]").count(),
                (0..SITES).filter(|i| i % 113 == 7 && i % 7 != 0).count(),
                "{stderr}"
            );
            assert_eq!(
                stderr.matches("warning[NGX202]").count(),
                (0..SITES)
                    .filter(|i| i % 89 == 11 && i % 7 != 0 && i % 113 != 7)
                    .count(),
                "{stderr}"
            );
        }
        for jobs in ["2", "5"] {
            let many = run(dir.path(), jobs, args);
            assert_eq!(
                many.status.code(),
                one.status.code(),
                "{args:?}, {jobs} threads"
            );
            assert!(
                many.stdout == one.stdout,
                "{args:?}: stdout differs with {jobs} threads"
            );
            assert!(
                many.stderr == one.stderr,
                "{args:?}: stderr differs with {jobs} threads\n{stderr}"
            );
        }
    }
    // Nothing was written: every file is as generated.
    let again = tempfile::tempdir().unwrap();
    tree(again.path());
    for entry in walkdir::WalkDir::new(dir.path())
        .into_iter()
        .map(Result::unwrap)
    {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir.path()).unwrap();
            assert!(
                fs::read(entry.path()).unwrap() == fs::read(again.path().join(rel)).unwrap(),
                "{rel:?} changed"
            );
        }
    }
}
