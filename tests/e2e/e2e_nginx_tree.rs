//! nginx trees end to end: the main config found above the paths, includes followed as nginx
//! follows them, each file patched once, symlinks written through, unchanged files untouched,
//! validation with the real `nginx -t`, and real nginx serving the patched tree.

use crate::common;
use common::Run;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn run(args: &[&str]) -> Run {
    common::run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, &[])
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn write(root: &Path, rel: &str, body: &str) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, body).unwrap();
    p
}

/// A Debian-like /etc/nginx: nginx.conf includes conf.d/*.conf and sites-enabled/*; two
/// enabled sites (symlinks) share a snippet; a third takes its CSP from a map in conf.d; a
/// disabled site has a CSP of its own.
struct Layout {
    dir: tempfile::TempDir,
    port: u16,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let port = common::free_port();
        let d = root.display();
        write(root, "nginx.conf", &format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/tmp;\n    include conf.d/*.conf;\n    include sites-enabled/*;\n}}\n"
        ));
        write(root, "conf.d/csp-map.conf", "map $sent_http_content_type $csp {\n    default \"\";\n    ~*text/html \"default-src 'self'; img-src 'self' data:\";\n}\n");
        write(root, "snippets/csp.conf", "add_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com\" always;\n");
        let site = |name: &str, extra: &str| {
            format!("server {{\n    listen 127.0.0.1:{port};\n    server_name {name};\n    root {d}/www;\n{extra}    location / {{\n        try_files $uri $uri/ =404;\n    }}\n}}\n")
        };
        write(
            root,
            "sites-available/a.example",
            &site("a.example", "    include snippets/csp.conf;\n"),
        );
        write(
            root,
            "sites-available/b.example",
            &site(
                "b.example",
                "    add_header Content-Security-Policy $csp always;\n",
            ),
        );
        write(
            root,
            "sites-available/c.example",
            &site("c.example", "    include snippets/csp.conf;\n"),
        );
        write(
            root,
            "sites-available/disabled.example",
            &site(
                "disabled.example",
                "    add_header Content-Security-Policy \"default-src 'none'\";\n",
            ),
        );
        fs::create_dir_all(root.join("sites-enabled")).unwrap();
        for s in ["a.example", "b.example", "c.example"] {
            symlink(
                format!("../sites-available/{s}"),
                root.join("sites-enabled").join(s),
            )
            .unwrap();
        }
        write(root, "www/index.html", "<!DOCTYPE html><title>x</title>\n");
        fs::set_permissions(
            root.join("sites-available/a.example"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        Layout { dir, port }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> String {
        self.root().join(rel).display().to_string()
    }

    /// Every configuration file with its bytes and mtime (nginx's own log and pid files,
    /// which `nginx -t` creates, left out).
    fn snapshot(&self) -> Vec<(String, Vec<u8>, i64)> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(self.root()).sort_by_file_name() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_file() && !name.ends_with(".log") && !name.ends_with(".pid") {
                let m = e.metadata().unwrap();
                out.push((
                    e.path().display().to_string(),
                    fs::read(e.path()).unwrap(),
                    m.mtime_nsec() + m.mtime() * 1_000_000_000,
                ));
            }
        }
        out
    }
}

#[test]
fn sites_enabled_patch_follows_includes_writes_through_symlinks_and_serves() {
    if !common::have("nginx") {
        return;
    }
    let t = Layout::new();
    let before = t.snapshot();
    let out = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--validate",
        "--color",
        "never",
    ]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(0), "{err}");
    let diff = text(&out.stdout);

    // The snippet is included twice but patched once; the map (outside the given paths) is
    // patched because b.example's header takes its value from it; the disabled site is not.
    assert_eq!(diff.matches("+++ b/").count(), 2, "{diff}");
    assert!(diff.contains("snippets/csp.conf"), "{diff}");
    assert!(diff.contains("conf.d/csp-map.conf"), "{diff}");
    assert!(
        err.contains("E015"),
        "the map outside the paths is named: {err}"
    );
    assert!(
        err.contains("validate (before)")
            && err.contains("validate (after)")
            && err.contains("nginx -t -c"),
        "{err}"
    );

    let snippet = fs::read_to_string(t.root().join("snippets/csp.conf")).unwrap();
    assert_eq!(
        snippet,
        "add_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com https://muserelay.com; worker-src 'self' https://cdn.example.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'\" always;\n"
    );
    let map = fs::read_to_string(t.root().join("conf.d/csp-map.conf")).unwrap();
    assert!(
        map.contains("    default \"\";\n"),
        "the empty map entry stays empty: {map}"
    );

    // Only those two files changed, byte for byte everything else (and its mtime) is as it was.
    let after = t.snapshot();
    assert_eq!(before.len(), after.len());
    for ((p, b, m), (_, a, m2)) in before.iter().zip(&after) {
        if p.ends_with("snippets/csp.conf") || p.ends_with("conf.d/csp-map.conf") {
            assert_ne!(b, a, "{p} changed");
        } else {
            assert_eq!((b, m), (a, m2), "{p} untouched");
        }
    }
    for s in ["a.example", "b.example", "c.example"] {
        let link = t.root().join("sites-enabled").join(s);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{s} is still a symlink"
        );
    }
    assert_eq!(
        fs::metadata(t.root().join("sites-available/a.example"))
            .unwrap()
            .mode()
            & 0o777,
        0o640
    );

    // Real nginx serves the patched tree: every enabled site sends a policy that allows
    // MuseRelay's WebSocket, and b.example's map value does too.
    let prefix = tempfile::tempdir().unwrap();
    let server = common::nginx::start_file(prefix, &t.root().join("nginx.conf"), t.port)
        .expect("nginx serves the patched tree");
    for host in ["a.example", "b.example", "c.example"] {
        let r = server.get_host("/", host);
        let csp = r.csp();
        assert_eq!(csp.len(), 1, "{host}: {csp:?}");
        assert!(
            csp[0].contains("connect-src 'self' https://muserelay.com wss://muserelay.com"),
            "{host}: {}",
            csp[0]
        );
    }

    // A second run finds nothing to do.
    let again = run(&[&t.path("sites-enabled"), "--vendor", "muserelay", "--check"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty());
}

#[test]
fn check_mode_exits_1_and_writes_nothing() {
    let t = Layout::new();
    let before = t.snapshot();
    let out = run(&[&t.path("sites-enabled"), "--vendor", "crisp", "--check"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(text(&out.stdout).contains("+++ b/"));
    assert_eq!(before, t.snapshot(), "--check writes nothing");
}

#[test]
fn conf_root_option_resolves_includes_from_elsewhere() {
    // The sites live outside the directory of the main config: without --conf-root the
    // include `snippets/csp.conf` cannot be resolved as nginx would.
    let t = Layout::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let vhost = elsewhere.path().join("a.example");
    fs::copy(t.root().join("sites-available/a.example"), &vhost).unwrap();
    let out = run(&[
        vhost.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--dry-run",
        "--color",
        "never",
    ]);
    assert!(
        out.stderr.contains("E006"),
        "the include is reported missing: {}",
        out.stderr
    );
    let out = run(&[
        vhost.to_str().unwrap(),
        "--vendor",
        "muserelay",
        "--dry-run",
        "--conf-root",
        &t.path("nginx.conf"),
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        text(&out.stdout).contains("snippets/csp.conf"),
        "found through the conf root: {}",
        text(&out.stdout)
    );
}

#[test]
fn validation_failure_leaves_every_file_byte_identical() {
    let t = Layout::new();
    let before = t.snapshot();
    // The validator sees the patched snippet at its real path (mount namespace) and rejects it.
    let cmd = format!(
        "if grep -q muserelay {}; then echo 'rejected: vendor host present' >&2; exit 1; fi",
        t.path("snippets/csp.conf")
    );
    let out = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--validate-cmd",
        &cmd,
        "--color",
        "never",
    ]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(3), "{err}");
    assert!(
        err.contains("rejected: vendor host present"),
        "the validator's message is shown: {err}"
    );
    assert_eq!(before, t.snapshot(), "nothing written");
}

#[test]
fn validation_failure_without_namespace_restores_every_file() {
    let t = Layout::new();
    let before = t.snapshot();
    let cmd = format!(
        "if grep -q muserelay {}; then echo 'rejected after write' >&2; exit 1; fi",
        t.path("snippets/csp.conf")
    );
    let out = common::run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            &t.path("sites-enabled"),
            "--vendor",
            "muserelay",
            "--validate-cmd",
            &cmd,
        ],
        &[("CSPPATCH_NO_NAMESPACE", "1")],
    );
    let err = &out.stderr;
    assert_eq!(out.code, Some(3), "{err}");
    assert!(err.contains("restored"), "{err}");
    let after = t.snapshot();
    for ((p, b, _), (_, a, _)) in before.iter().zip(&after) {
        assert_eq!(b, a, "{p} byte-identical after the restore");
    }
}

#[test]
fn already_invalid_configuration_is_reported_not_blamed_on_the_patch() {
    if !common::have("nginx") {
        return;
    }
    let t = Layout::new();
    write(t.root(), "conf.d/broken.conf", "no_such_directive on;\n");
    let before = t.snapshot();
    let out = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--validate",
    ]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(3), "{err}");
    assert!(
        err.contains("already fails on the unpatched configuration"),
        "{err}"
    );
    assert!(
        err.contains("unknown directive \"no_such_directive\""),
        "nginx's message: {err}"
    );
    assert_eq!(before, t.snapshot());
}

#[test]
fn an_unparsable_file_stops_the_write_but_not_the_others_diffs() {
    let t = Layout::new();
    write(
        t.root(),
        "sites-available/broken",
        "server {\n    listen 80\n}\n",
    );
    symlink(
        "../sites-available/broken",
        t.root().join("sites-enabled/broken"),
    )
    .unwrap();
    let before = t.snapshot();
    let out = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--color",
        "never",
    ]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(2), "{err}");
    assert!(
        err.contains("sites-available/broken:3:1: error[NGX00"),
        "file:line of the broken file: {err}"
    );
    assert!(
        text(&out.stdout).contains("snippets/csp.conf"),
        "the other files are still diffed"
    );
    assert!(err.contains("errors: nothing written"), "{err}");
    assert_eq!(before, t.snapshot());
}

#[test]
fn no_csp_anywhere_is_reported_and_nothing_is_invented() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "site.conf",
        "server {\n    listen 80;\n    add_header X-Frame-Options DENY;\n}\n",
    );
    let out = run(&[f.to_str().unwrap(), "--vendor", "muserelay"]);
    assert_eq!(out.code, Some(0));
    assert!(
        out.stderr.contains("no Content-Security-Policy found"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "server {\n    listen 80;\n    add_header X-Frame-Options DENY;\n}\n"
    );
}

#[test]
fn lone_vhost_validates_through_a_wrapper_config() {
    if !common::have("nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "sites/shop.conf", "server {\n    listen 127.0.0.1:8081;\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n}\n");
    let out = run(&[
        f.to_str().unwrap(),
        "--vendor",
        "turnstile",
        "--validate",
        "--color",
        "never",
    ]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(0), "{err}");
    assert!(
        err.contains("csppatch-validate.conf") && err.contains("after): ") && err.contains(" ok"),
        "{err}"
    );
    assert!(fs::read_to_string(&f)
        .unwrap()
        .contains("frame-src 'self' https://challenges.cloudflare.com"));
}

#[test]
fn crlf_and_latin1_bytes_survive_and_the_diff_applies_with_patch() {
    if !common::have("patch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original: &[u8] = b"# caf\xe9 (Latin-1)\r\nserver {\r\n    listen 80;\r\n    add_header Content-Security-Policy \"default-src 'self'\" always;\r\n}\r\n";
    let f = dir.path().join("site.conf");
    fs::write(&f, original).unwrap();
    let pristine = dir.path().join("pristine");
    fs::create_dir(&pristine).unwrap();
    fs::write(pristine.join("site.conf"), original).unwrap();

    let out = common::run_in(dir.path(), &["site.conf", "--vendor", "muserelay"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let patched = fs::read(&f).unwrap();
    // Only the value changed: same prefix up to the quote, same suffix after it.
    let open = original
        .windows(13)
        .position(|w| w == b"\"default-src ")
        .unwrap()
        + 1;
    let close = original.len() - b"\" always;\r\n}\r\n".len();
    assert_eq!(&patched[..open], &original[..open]);
    assert_eq!(
        &patched[patched.len() - (original.len() - close)..],
        &original[close..]
    );
    assert!(!patched[open..patched.len() - (original.len() - close)].contains(&b'\n'));

    // `patch -p1` applies the printed diff to a pristine copy and gets the same bytes.
    let diff_file = dir.path().join("fix.patch");
    fs::write(&diff_file, &out.stdout).unwrap();
    let status = std::process::Command::new("patch")
        .current_dir(&pristine)
        .args(["-p1", "--binary", "-s", "-i"])
        .arg(&diff_file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(fs::read(pristine.join("site.conf")).unwrap(), patched);
}

#[test]
fn json_output_is_one_document() {
    let t = Layout::new();
    let out = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, Some(0));
    let doc = common::json::parse_checked("patch", &out.stdout);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["written"], false);
    assert_eq!(doc["files"].as_array().unwrap().len(), 2);
    assert!(doc["files"][0]["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- a/"));
    let sites = doc["sites"].as_array().unwrap();
    assert!(
        sites
            .iter()
            .any(|s| s["variable"] == "csp" && s["changed"] == true),
        "{sites:?}"
    );
    assert!(
        out.stderr.is_empty(),
        "nothing but the document: {}",
        out.stderr
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let t = Layout::new();
    let plain = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--dry-run",
    ]);
    assert!(!plain.stdout.contains(&0x1b), "piped output has no escapes");
    let coloured = run(&[
        &t.path("sites-enabled"),
        "--vendor",
        "muserelay",
        "--dry-run",
        "--color",
        "always",
    ]);
    assert!(
        text(&coloured.stdout).contains("\x1b[32m+"),
        "added lines in green"
    );
}

#[test]
fn a_value_over_nginx_token_limit_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let hosts: Vec<String> = (0..143)
        .map(|i| format!("https://cdn{i:03}.example.com"))
        .collect();
    let body = format!("server {{\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self' {}\" always;\n}}\n", hosts.join(" "));
    assert!(body.len() < 4090 && body.len() > 3900, "{}", body.len());
    let f = write(dir.path(), "big.conf", &body);
    let out = run(&[f.to_str().unwrap(), "--vendor", "intercom"]);
    let err = &out.stderr;
    assert_eq!(out.code, Some(2), "{err}");
    assert!(err.contains("NGX205"), "{err}");
    assert_eq!(fs::read_to_string(&f).unwrap(), body);
}
