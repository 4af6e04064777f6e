//! `--exclude GLOB` (one refused file must not block a tree) and `--skip-unknown` (a hook that
//! passes every staged file must not fail on supervisord.conf or logrotate.conf).

use crate::common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

fn write(root: &Path, rel: &str, body: &str) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, body).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    common::csppatch()
        .args(args)
        .args(["--color", "never"])
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// A Debian nginx tree (the nginx package's nginx.conf: `include sites-enabled/*;`, sites
// linked from sites-available) with one vhost csppatch refuses: its CSP comes from a
// variable no file defines (E010), as when the `map` lives in a file outside the tree.
const NGINX_CONF: &str =
    "events { worker_connections 64; }\nhttp {\n    include sites-enabled/*;\n}\n";
const SHOP: &str = "server {\n    listen 127.0.0.1:8080;\n    server_name shop.example.com;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self'\" always;\n    include snippets/common.conf;\n}\n";
const LEGACY: &str = "server {\n    listen 127.0.0.1:8080;\n    server_name legacy.example.com;\n    add_header Content-Security-Policy $legacy_csp always;\n    include snippets/legacy-extra.conf;\n    include snippets/common.conf;\n}\n";
// Included by both vhosts: still read and patched when only legacy is excluded.
const COMMON: &str = "location /static/ {\n    add_header Cache-Control public;\n    add_header Content-Security-Policy \"default-src 'self'; img-src 'self' data:\" always;\n}\n";
// Included by the legacy vhost only: left out with it.
const LEGACY_EXTRA: &str =
    "location /old/ {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n";

struct Debian {
    tmp: tempfile::TempDir,
}

impl Debian {
    fn new() -> Debian {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("etc/nginx");
        write(&root, "nginx.conf", NGINX_CONF);
        write(&root, "sites-available/shop.conf", SHOP);
        write(&root, "sites-available/legacy.conf", LEGACY);
        write(&root, "snippets/common.conf", COMMON);
        write(&root, "snippets/legacy-extra.conf", LEGACY_EXTRA);
        fs::create_dir_all(root.join("sites-enabled")).unwrap();
        for site in ["shop.conf", "legacy.conf"] {
            symlink(
                format!("../sites-available/{site}"),
                root.join("sites-enabled").join(site),
            )
            .unwrap();
        }
        Debian { tmp }
    }

    fn path(&self, rel: &str) -> String {
        self.tmp
            .path()
            .join("etc/nginx")
            .join(rel)
            .display()
            .to_string()
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }
}

/// `after` is `before` with only the CSP value changed, and the value now lets the vendor's
/// script through.
fn assert_only_value_patched(before: &str, after: &str) {
    let open = "Content-Security-Policy \"";
    let split = |s: &str| -> (String, String, String) {
        let start = s.find(open).expect("a CSP") + open.len();
        let len = s[start..].find('"').unwrap();
        (
            s[..start].to_string(),
            s[start..start + len].to_string(),
            s[start + len..].to_string(),
        )
    };
    let (b_head, b_value, b_tail) = split(before);
    let (a_head, a_value, a_tail) = split(after);
    assert_eq!(
        (a_head, a_tail),
        (b_head, b_tail),
        "bytes outside the value"
    );
    assert_ne!(a_value, b_value);
    assert!(
        a_value.contains("script-src 'self' https://muserelay.com"),
        "{a_value}"
    );
}

#[test]
fn one_refused_vhost_blocks_the_tree_without_exclude() {
    let t = Debian::new();
    let out = run(&[&t.path("sites-enabled"), "--vendor", "muserelay"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("E010"), "{}", stderr(&out));
    assert_eq!(t.read("sites-available/shop.conf"), SHOP, "nothing written");
    assert_eq!(t.read("snippets/common.conf"), COMMON);
}

#[test]
fn excluding_it_patches_the_rest_and_leaves_out_what_only_it_includes() {
    // By name, by the file behind the link, by a trailing part, and anchored at the root.
    for glob in [
        "legacy.conf",
        "sites-available/legacy*",
        "sites-enabled/legacy.conf",
        "<root>/sites-available/legacy.conf",
    ] {
        let t = Debian::new();
        let glob = glob.replace("<root>", &t.path(""));
        let glob = glob.as_str();
        let out = run(&[
            &t.path("sites-enabled"),
            "--vendor",
            "muserelay",
            "--exclude",
            glob,
            "--format",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--exclude {glob}: {}",
            stderr(&out)
        );
        let doc = common::json::parse_checked("patch", &out.stdout);
        assert_eq!(doc["written"], true);
        let excluded: Vec<&str> = doc["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(excluded.len(), 1, "--exclude {glob}: {excluded:?}");
        assert!(excluded[0].ends_with("legacy.conf"), "{excluded:?}");
        let site_files: Vec<&str> = doc["sites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["path"].as_str().unwrap())
            .collect();
        assert!(
            site_files.iter().all(|p| !p.contains("legacy")),
            "--exclude {glob}: nothing of the legacy vhost is read: {site_files:?}"
        );
        assert_eq!(t.read("sites-available/legacy.conf"), LEGACY);
        assert_eq!(t.read("snippets/legacy-extra.conf"), LEGACY_EXTRA);
        assert_only_value_patched(SHOP, &t.read("sites-available/shop.conf"));
        // A snippet the excluded vhost shares with a kept one is still patched.
        assert_only_value_patched(COMMON, &t.read("snippets/common.conf"));
    }
}

#[test]
fn excluding_a_directory_prunes_it_from_the_walk_and_from_includes() {
    let t = Debian::new();
    let out = run(&[
        &t.path(""),
        "--vendor",
        "muserelay",
        "--exclude",
        "snippets",
        "--exclude",
        "legacy.conf",
        "--dry-run",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let diff = stdout(&out);
    assert!(
        diff.contains("+++ b/") && diff.contains("shop.conf"),
        "{diff}"
    );
    let changed: Vec<&str> = diff.lines().filter(|l| l.starts_with("+++ ")).collect();
    assert_eq!(changed.len(), 1, "{diff}");
    assert!(changed[0].ends_with("sites-available/shop.conf"), "{diff}");
    // As the walk and the includes named them: legacy.conf twice (the file and its link),
    // the snippets directory (walked), and snippets/common.conf (shop.conf's include).
    assert!(
        err.contains(", 4 paths excluded (dry run: nothing written)"),
        "{err}"
    );
}

#[test]
fn a_bad_glob_is_a_usage_error() {
    let out = run(&[".", "--vendor", "muserelay", "--exclude", "[conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--exclude <GLOB>"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_documents_both_flags() {
    let out = run(&["--help"]);
    let help = stdout(&out);
    assert!(help.contains("--exclude <GLOB>"), "{help}");
    assert!(help.contains("what only they include"), "{help}");
    assert!(help.contains("--skip-unknown"), "{help}");
    assert!(help.contains("logrotate.conf"), "{help}");
}

// Files a repository of server configs also holds, each modelled on the file its package
// installs: Debian's logrotate (/etc/logrotate.conf) and nginx (/etc/logrotate.d/nginx)
// packages, supervisor's `echo_supervisord_conf` sample, Debian's nginx.service, MariaDB's
// my.cnf. logrotate's `path { ... }` blocks are taken for nginx by content (and fail to parse).
const LOGROTATE: &str = "# see \"man logrotate\" for details\nweekly\nrotate 4\ncreate\ninclude /etc/logrotate.d\n\n/var/log/nginx/*.log {\n\tdaily\n\tmissingok\n\trotate 14\n\tcompress\n\tdelaycompress\n\tnotifempty\n\tcreate 0640 www-data adm\n\tsharedscripts\n\tpostrotate\n\t\tinvoke-rc.d nginx rotate >/dev/null 2>&1\n\tendscript\n}\n";
const SUPERVISORD: &str = "; supervisor config file\n[unix_http_server]\nfile=/var/run/supervisor.sock   ; (the path to the socket file)\nchmod=0700\n\n[supervisord]\nlogfile=/var/log/supervisor/supervisord.log\npidfile=/var/run/supervisord.pid\n\n[program:nginx]\ncommand=/usr/sbin/nginx -g \"daemon off;\"\nautorestart=true\n\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n";
const UNIT: &str = "[Unit]\nDescription=A high performance web server and a reverse proxy server\nAfter=network-online.target\n\n[Service]\nType=forking\nPIDFile=/run/nginx.pid\nExecStartPre=/usr/sbin/nginx -t -q -g 'daemon on; master_process on;'\nExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'\n\n[Install]\nWantedBy=multi-user.target\n";
const MYCNF: &str = "[mysqld]\nbind-address = 127.0.0.1\nmax_connections = 100\n";

fn others(root: &Path) -> Vec<(PathBuf, &'static str)> {
    [
        ("logrotate.conf", LOGROTATE),
        ("logrotate.d/nginx", LOGROTATE),
        ("supervisor/supervisord.conf", SUPERVISORD),
        ("systemd/nginx.service", UNIT),
        ("mysql/my.cnf", MYCNF),
    ]
    .into_iter()
    .map(|(rel, body)| (write(root, rel, body), body))
    .collect()
}

#[test]
fn files_that_are_not_web_server_configs_are_errors_when_named_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    for (path, _) in others(tmp.path()) {
        let out = run(&[path.to_str().unwrap(), "--vendor", "muserelay", "--check"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert!(
            err.contains("error[E003]") || err.contains("error[NGX001]"),
            "{err}"
        );
    }
}

#[test]
fn skip_unknown_skips_them_and_still_checks_the_real_config() {
    let tmp = tempfile::tempdir().unwrap();
    let files = others(tmp.path());
    let shop = write(tmp.path(), "nginx/sites-available/shop", SHOP);
    let mut args: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    args.push(shop.display().to_string());
    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
    argv.extend(["--vendor", "muserelay", "--check", "--skip-unknown"]);
    let out = run(&argv);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the vhost needs the change: {err}"
    );
    assert!(!err.contains("error"), "{err}");
    let diff = stdout(&out);
    assert_eq!(diff.matches("+++ ").count(), 1, "{diff}");
    assert!(diff.contains("sites-available/shop"), "{diff}");

    // Alone, they are nothing to change.
    let alone: Vec<&str> = argv
        .iter()
        .copied()
        .filter(|a| !a.ends_with("/shop"))
        .collect();
    let out = run(&alone);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
    for (path, body) in &files {
        assert_eq!(&fs::read_to_string(path).unwrap(), body);
    }
}

#[test]
fn skip_unknown_still_refuses_what_could_hold_a_csp() {
    let tmp = tempfile::tempdir().unwrap();
    // Taken for nginx by content, does not parse, and names the header: an error still.
    let broken = write(
        tmp.path(),
        "conf.d/broken.conf",
        "server {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n",
    );
    // Named nginx.conf: nginx by name, so its parse error is never skipped.
    let by_name = write(tmp.path(), "other/nginx.conf", "events {\n");
    for path in [&broken, &by_name] {
        let out = run(&[
            path.to_str().unwrap(),
            "--vendor",
            "muserelay",
            "--check",
            "--skip-unknown",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("error[NGX001]"), "{}", stderr(&out));
    }
    // A file of no known server that mentions the header is skipped, and said so.
    let unknown = write(
        tmp.path(),
        "headers.cfg",
        "[headers]\nContent-Security-Policy = default-src 'self'\n",
    );
    let out = run(&[
        unknown.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--skip-unknown",
    ]);
    let err = stderr(&out);
    assert!(err.contains("warning[E003]"), "{err}");
    assert!(err.contains("check it by hand"), "{err}");
}
