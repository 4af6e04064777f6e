//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit framework (from
//! PyPI, in .venv) in a temporary git repository: `csppatch` refuses a commit whose CSP lacks
//! the vendor and shows the diff, `csppatch-fix` makes the change and fails so it is reviewed,
//! the next commit passes, and `.conf` files that are no web-server config never fail it.
//!
//! The hooks come from this repository's manifest: it is committed to a scratch repository
//! that the config names as `repo:` with that commit as `rev:`. The config overrides only
//! `language: system`, so pre-commit runs the csppatch built for these tests instead of
//! building one with `cargo install` (language: rust, as users get it).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::pytools;

const MANIFEST: &str = include_str!("../../.pre-commit-hooks.yaml");

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Repo {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    hooks: PathBuf,
    work: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let hooks = tmp.path().join("hooks");
        let work = tmp.path().join("work");
        for d in [&home, &hooks, &work] {
            fs::create_dir_all(d).unwrap();
        }
        let r = Repo {
            _tmp: tmp,
            home,
            hooks,
            work,
        };
        r.git_in(&r.hooks, &["init", "-q"]);
        fs::write(r.hooks.join(".pre-commit-hooks.yaml"), MANIFEST).unwrap();
        r.git_in(&r.hooks, &["add", "."]);
        r.git_in(&r.hooks, &["commit", "-q", "-m", "hooks"]);
        r.git(&["init", "-q"]);
        r
    }

    /// A git (or pre-commit) command isolated from the user's configuration: its own HOME,
    /// no system config, an identity for commits, pre-commit's cache in the temp dir.
    fn cmd(&self, program: &str, dir: &Path) -> Command {
        let mut c = if program == "git" {
            let mut c = Command::new("git");
            c.env("PATH", pytools::path());
            c
        } else {
            pytools::command(program)
        };
        c.current_dir(dir)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("PRE_COMMIT_HOME", self.home.join("pre-commit"))
            .env("NO_COLOR", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE");
        c
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.cmd("git", dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work, args)
    }

    fn write(&self, rel: &str, body: &str) -> PathBuf {
        let p = self.work.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, body).unwrap();
        p
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.work.join(rel)).unwrap()
    }

    /// The consumer's .pre-commit-config.yaml: these hook ids from the hooks repository.
    fn config(&self, ids: &[&str]) {
        let rev = self.git_in(&self.hooks, &["rev-parse", "HEAD"]);
        let mut yaml = format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n",
            self.hooks.display(),
            rev.trim()
        );
        for id in ids {
            yaml.push_str(&format!(
                "      - id: {id}\n        args: [--vendor, muserelay]\n        language: system\n"
            ));
        }
        self.write(".pre-commit-config.yaml", &yaml);
        self.git(&["add", ".pre-commit-config.yaml"]);
    }

    /// `git commit`, with the hooks pre-commit installed: the exit status and all output.
    fn commit(&self, message: &str) -> (bool, String) {
        let out = self
            .cmd("git", &self.work)
            .args(["commit", "-m", message])
            .output()
            .unwrap();
        eprintln!("=== git commit -m {message:?}\n{}", text(&out));
        (out.status.success(), text(&out))
    }

    fn commits(&self) -> usize {
        self.git(&["rev-list", "--all", "--count"])
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

// A repository of server configs, as one keeps /etc beside the playbooks. The vhost is
// modelled on Debian's nginx sites-available/default with a security-headers line; the other
// files on what their packages install (logrotate, supervisor's sample, Debian's nginx.service).
const SHOP: &str = "server {\n\tlisten 80;\n\tserver_name shop.example.com;\n\troot /var/www/shop;\n\n\t# security headers\n\tadd_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com; img-src 'self' data:\" always;\n\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n";
const LOGROTATE: &str = "weekly\nrotate 4\ncreate\ninclude /etc/logrotate.d\n\n/var/log/nginx/*.log {\n\tdaily\n\tmissingok\n\trotate 14\n\tcompress\n\tsharedscripts\n\tpostrotate\n\t\tinvoke-rc.d nginx rotate >/dev/null 2>&1\n\tendscript\n}\n";
const SUPERVISORD: &str = "[supervisord]\nlogfile=/var/log/supervisor/supervisord.log\n\n[program:nginx]\ncommand=/usr/sbin/nginx -g \"daemon off;\"\nautorestart=true\n\n[include]\nfiles = /etc/supervisor/conf.d/*.conf\n";
const SUPERVISOR_APP: &str = "[program:app]\ncommand=/srv/app/bin/run\nuser=www-data\n";
const UNIT: &str = "[Unit]\nDescription=nginx\nAfter=network-online.target\n\n[Service]\nType=forking\nExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'\n\n[Install]\nWantedBy=multi-user.target\n";

#[test]
fn commit_refused_then_fixed_then_passes_and_unrelated_confs_never_fail() {
    if !pytools::have("pre-commit") || !common::have("git") {
        return;
    }
    let repo = Repo::new();
    repo.config(&["csppatch"]);
    let install = repo
        .cmd("pre-commit", &repo.work)
        .arg("install")
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));

    // 1. Configs that are no web-server config pass the filter (.conf) and do not fail it.
    repo.write("logrotate.conf", LOGROTATE);
    repo.write("supervisor/supervisord.conf", SUPERVISORD);
    repo.write("systemd/nginx.service", UNIT);
    repo.git(&["add", "."]);
    let (ok, out) = repo.commit("logrotate, supervisor, systemd");
    assert!(ok, "unrelated files must not fail the hook:\n{out}");
    assert!(
        out.contains("csppatch (CSP allows the listed vendors)") && out.contains("Passed"),
        "the hook ran on the .conf files and passed:\n{out}"
    );
    assert_eq!(repo.commits(), 1);

    // 2. A vhost whose CSP lacks the vendor: refused, with the diff that would fix it.
    repo.write("nginx/sites-available/shop", SHOP);
    repo.git(&["add", "."]);
    let (ok, out) = repo.commit("shop vhost");
    assert!(!ok, "the commit must be refused:\n{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(out.contains("--- a/nginx/sites-available/shop"), "{out}");
    assert!(
        out.contains("+\tadd_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com https://muserelay.com;"),
        "the diff is shown:\n{out}"
    );
    assert_eq!(
        repo.read("nginx/sites-available/shop"),
        SHOP,
        "check writes nothing"
    );
    assert_eq!(repo.commits(), 1);

    // 3. csppatch-fix makes the change and fails the commit so that it is reviewed.
    repo.config(&["csppatch-fix"]);
    let (ok, out) = repo.commit("shop vhost");
    assert!(!ok, "a hook that changed files fails the commit:\n{out}");
    assert!(out.contains("files were modified by this hook"), "{out}");
    assert!(out.contains("+++ b/nginx/sites-available/shop"), "{out}");
    let fixed = repo.read("nginx/sites-available/shop");
    assert_ne!(fixed, SHOP);
    assert!(fixed.contains("script-src 'self' https://cdn.example.com https://muserelay.com;"));
    // Only the value changed: every line but the CSP line is as it was.
    let other_lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("Content-Security-Policy"))
            .map(String::from)
            .collect()
    };
    assert_eq!(other_lines(&fixed), other_lines(SHOP));
    assert_eq!(repo.commits(), 1);

    // 4. Reviewed and staged: the next commit passes both hooks.
    repo.config(&["csppatch", "csppatch-fix"]);
    repo.git(&["add", "."]);
    let (ok, out) = repo.commit("shop vhost, with the widget allowed");
    assert!(ok, "{out}");
    assert_eq!(repo.commits(), 2);
    assert_eq!(repo.read("nginx/sites-available/shop"), fixed);

    // 5. Later changes to unrelated .conf files (one in a conf.d/) never fail it.
    repo.write("logrotate.conf", &LOGROTATE.replace("rotate 4", "rotate 8"));
    repo.write("supervisor/conf.d/app.conf", SUPERVISOR_APP);
    repo.git(&["add", "."]);
    let (ok, out) = repo.commit("rotate more, supervise the app");
    assert!(ok, "{out}");
    assert_eq!(repo.commits(), 3);
    let all = repo
        .cmd("pre-commit", &repo.work)
        .args(["run", "--all-files"])
        .output()
        .unwrap();
    assert!(all.status.success(), "{}", text(&all));
    assert_eq!(repo.read("supervisor/conf.d/app.conf"), SUPERVISOR_APP);
    assert_eq!(repo.read("supervisor/supervisord.conf"), SUPERVISORD);
}

/// The hooks' `files` filter, evaluated with Python's `re` as pre-commit does, on names
/// csppatch reads as web-server configs and names it does not.
#[test]
fn the_file_filter_is_what_csppatch_reads() {
    if !pytools::have("python3") {
        return;
    }
    // Each name with the reason it should (or should not) reach csppatch.
    let cases: &[(&str, bool)] = &[
        ("nginx.conf", true),
        ("etc/nginx/nginx.conf", true),
        ("etc/nginx/sites-available/default", true), // Debian vhosts have no extension
        ("etc/nginx/sites-enabled/shop.example.com", true),
        ("etc/nginx/conf.d/default.conf", true),
        ("etc/nginx/snippets/security-headers", true),
        ("etc/apache2/apache2.conf", true),
        ("etc/apache2/conf-available/security.conf", true),
        ("etc/httpd/conf/httpd.conf", true),
        ("public/.htaccess", true),
        ("wordpress.htaccess", true),
        ("Caddyfile", true),
        ("deploy/Caddyfile.prod", true),
        ("caddy/sites/shop.caddy", true),
        ("wp-content/themes/shop/functions.php", true),
        ("public/index.html", true),
        ("templates/base.html.twig", true),
        ("templates/nginx.conf.j2", true), // Ansible/Salt templates
        ("docker/templates/default.conf.template", true), // the nginx image's envsubst templates
        ("chart/templates/nginx.conf.tmpl", true),
        ("web/example.com.vhost", true),
        ("NGINX.CONF", true), // csppatch compares names case-insensitively
        // Not web-server configs by name, and never a CSP csppatch patches.
        ("README.md", false),
        ("src/main.rs", false),
        ("package.json", false),
        ("playbooks/site.yml", false),
        ("static/app.js", false),
        ("static/logo.png", false),
        ("etc/systemd/system/nginx.service", false),
        ("etc/mysql/my.cnf", false),
        ("Dockerfile", false),
        ("etc/nginx/sites-available/old/nested", false),
    ];
    let script = r#"
import re, sys, yaml
hooks = yaml.safe_load(open(sys.argv[1]))
filters = {h["id"]: h["files"] for h in hooks}
assert set(filters) == {"csppatch", "csppatch-fix"}, filters
assert filters["csppatch"] == filters["csppatch-fix"], "both hooks read the same files"
r = re.compile(filters["csppatch"])
for name in sys.stdin.read().split("\n"):
    if name:
        print(name, bool(r.search(name)))
"#;
    let names: Vec<&str> = cases.iter().map(|(n, _)| *n).collect();
    let mut child = pytools::command("python3")
        .args(["-c", script])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(names.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let got = String::from_utf8_lossy(&out.stdout);
    let wrong: Vec<String> = cases
        .iter()
        .zip(got.lines())
        .filter(|((name, want), line)| {
            *line != format!("{name} {}", if *want { "True" } else { "False" })
        })
        .map(|((name, want), _)| format!("{name}: want {want}"))
        .collect();
    assert_eq!(got.lines().count(), cases.len(), "{got}");
    assert!(wrong.is_empty(), "filter disagrees: {wrong:?}");
    // And csppatch does read each file the filter lets through as a web-server config.
    for (name, want) in cases {
        if *want {
            let head: &[u8] = if name.ends_with(".php") {
                b"<?php header(\"Content-Security-Policy: default-src 'self'\");"
            } else {
                b"server {\n    add_header Content-Security-Policy \"default-src 'self'\";\n}\n"
            };
            assert!(
                csppatch::template::detect_dialect(Path::new(name), head).is_some(),
                "{name}: passed by the filter but csppatch cannot read it"
            );
        }
    }
}
