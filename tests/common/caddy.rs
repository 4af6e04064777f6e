//! Real Caddy (2.6.2 on the project machines) for tests: a [`Server`] on 127.0.0.1, `caddy
//! validate` and `caddy adapt`, with every file Caddy writes kept in a temporary directory.
//!
//! What keeps Caddy 2.6 to itself, checked on 2.6.2:
//! - `admin off`: no admin endpoint on localhost:2019;
//! - `auto_https off`: no listener on :80/:443 and no ACME;
//! - `default_bind 127.0.0.1`: sites listen on loopback only (Caddy binds every interface
//!   otherwise, even for a site address of `http://127.0.0.1:PORT`);
//! - `storage file_system <tmp>`: certificates and locks under the temp dir;
//! - `HOME`, `XDG_DATA_HOME`, `XDG_CONFIG_HOME` set to the temp dir: 2.6 autosaves the
//!   running config to `$XDG_CONFIG_HOME/caddy/autosave.json` even with the admin endpoint off
//!   (2.6 has no `persist_config` option).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::server::Server;
use super::{free_port, Run};

pub const BIN: &str = "caddy";

/// A `caddy` command whose home and XDG directories are `dir`.
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// The global options block every served test config starts with.
pub fn global_options(dir: &Path, h2c: bool) -> String {
    let servers = if h2c {
        "\tservers {\n\t\tprotocols h1 h2 h2c\n\t}\n"
    } else {
        ""
    };
    format!(
        "{{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tstorage file_system {}\n{servers}}}\n",
        dir.join("storage").display()
    )
}

/// A configuration being prepared in its own temporary directory.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub port: u16,
    env: Vec<(String, String)>,
    h2c: bool,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            port: free_port(),
            env: Vec::new(),
            h2c: false,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The site address the test config must use.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Also speak HTTP/2 without TLS, to see what an HTTP/2 client receives.
    pub fn h2c(mut self) -> Setup {
        self.h2c = true;
        self
    }

    /// Write a file next to the Caddyfile (for `import`).
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }

    /// `<tmp>/Caddyfile`: the global options, then `body` (which holds the site).
    pub fn caddyfile(&self, body: &[u8]) -> PathBuf {
        let mut all = global_options(self.path(), self.h2c).into_bytes();
        all.extend_from_slice(body);
        self.write("Caddyfile", &all)
    }

    /// Serve `body` (written by `caddyfile`) until the returned server is dropped.
    pub fn serve(self, body: &[u8]) -> Result<Server, String> {
        let config = self.caddyfile(body);
        self.serve_config(&config)
    }

    /// Serve the Caddyfile at `config`, wherever it is (next to the files it imports), until
    /// the returned server is dropped. It should start with [`global_options`] for this
    /// setup's directory.
    pub fn serve_config(self, config: &Path) -> Result<Server, String> {
        let mut cmd = command(self.path());
        cmd.args(["run", "--adapter", "caddyfile", "--config"])
            .arg(config);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        Ok(Server::start("caddy", cmd, self.port, Vec::new())?.keep(self))
    }

    /// Serve a site block `http://127.0.0.1:<port> { <body> }`.
    pub fn serve_site(self, body: &str) -> Result<Server, String> {
        let site = format!("{} {{\n{body}\n}}\n", self.address());
        self.serve(site.as_bytes())
    }
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

/// Every value of `name` as an HTTP/2 client receives it (curl, prior knowledge h2c): Caddy
/// drops over HTTP/2 a value it sends over HTTP/1 (a line break in it), and speaking HTTP/2
/// is curl's job, not a test helper's.
pub fn get_h2(server: &Server, path: &str, name: &str) -> Vec<String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-D",
            "-",
        ])
        .arg(server.url(path))
        .output()
        .expect("run curl");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("HTTP/2"),
        "not HTTP/2: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// `caddy validate --adapter caddyfile --config <path>`.
pub fn validate(path: &Path) -> Result<(), String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = command(home.path())
        .current_dir(path.parent().unwrap_or(Path::new(".")))
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run caddy: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(errors_only(&out.stderr))
    }
}

/// `caddy adapt --adapter caddyfile --config <path>`: the JSON config, or Caddy's error.
pub fn adapt(path: &Path) -> Result<serde_json::Value, String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = command(home.path())
        .current_dir(path.parent().unwrap_or(Path::new(".")))
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run caddy: {e}"))?;
    if !out.status.success() {
        return Err(errors_only(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("caddy adapt printed no JSON: {e}"))
}

/// Caddy's stderr without its JSON log lines.
fn errors_only(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("{\"level\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tests/fixtures/e2e/caddy/<name>`: the end-to-end fixture trees.
pub fn e2e_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/e2e/caddy")
        .join(name)
}

/// Copy the directory `from` into `to` (created), byte for byte.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk fixture");
        let rel = e.path().strip_prefix(from).expect("under the fixture");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("create dir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy fixture file");
        }
    }
}

/// Every file under `dir` (relative path -> bytes), to compare a tree before and after.
pub fn read_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under dir").to_path_buf();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

// csppatch end to end (tests/e2e/e2e_caddy*.rs).

/// csppatch run in `dir` with `--color never`.
pub fn csppatch(dir: &Path, args: &[&str]) -> Run {
    csppatch_env(dir, args, &[])
}

pub fn csppatch_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    super::run_in(dir, &[args, &["--color", "never"]].concat(), env)
}

/// A temporary copy of fixture tree `name`, and its directory.
pub fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(name);
    copy_tree(&e2e_fixture(name), &dir);
    (tmp, dir)
}

/// Serve the Caddyfile `file` with real Caddy through a copy written next to it (so that its
/// relative imports resolve), which starts with the test's global options and has each
/// `(from, to)` replaced: site addresses by 127.0.0.1 ports, `/srv/...` roots by the test's.
pub fn serve_copy(setup: Setup, file: &Path, replace: &[(&str, String)]) -> Server {
    let mut text = std::fs::read_to_string(file).expect("read the patched Caddyfile");
    for (from, to) in replace {
        assert!(text.contains(from), "`{from}` in {}", file.display());
        text = text.replace(from, to);
    }
    let copy = file.with_file_name("serve.Caddyfile");
    std::fs::write(&copy, global_options(setup.path(), false) + &text).expect("write serving copy");
    setup
        .serve_config(&copy)
        .expect("caddy serves the patched file")
}

/// `n` distinct free ports.
pub fn ports(n: usize) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    while out.len() < n {
        let p = free_port();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The MuseRelay seed snippet alone in a directory (`<tmp>/muserelay/muserelay.Caddyfile`).
pub fn seed_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("muserelay");
    std::fs::create_dir(&dir).expect("create dir");
    std::fs::copy(
        super::seed("muserelay.Caddyfile"),
        dir.join("muserelay.Caddyfile"),
    )
    .expect("copy the seed");
    (tmp, dir)
}
