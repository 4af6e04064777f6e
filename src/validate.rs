//! The real validators: `nginx -t`, `apache2 -t`, `caddy validate`, `php -l`, run against the
//! patched configuration at its real paths before any real file changes.
//!
//! The patched files are bind-mounted over the real ones in a private mount namespace
//! (`unshare --mount`), so the server reads the patched tree where it expects it and every
//! message names the real paths. Where no namespace can be made, the caller writes, validates
//! and restores (see `lib.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::dialect::DialectKind;
use crate::scan::Tree;

/// One validator run to make.
#[derive(Debug)]
pub struct Validator {
    /// `nginx -t -c /etc/nginx/nginx.conf`, as shown to the user.
    pub label: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Wrapper configs and a scratch HOME; removed when the validator is dropped.
    _scratch: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub ok: bool,
    /// What the validator printed (stdout then stderr).
    pub output: String,
}

/// The validators for the configurations the changed files belong to. `custom` is
/// `--validate-cmd`, run once with `sh -c`.
pub fn plan(
    tree: &Tree,
    changed: &[usize],
    custom: Option<&str>,
) -> Result<Vec<Validator>, String> {
    if let Some(cmd) = custom {
        return Ok(vec![Validator {
            label: cmd.to_string(),
            argv: vec!["sh".into(), "-c".into(), cmd.into()],
            env: vec![],
            cwd: None,
            _scratch: None,
        }]);
    }
    let mut out = Vec::new();
    // A template is checked as rendered (src/template/render.rs), not at its own path.
    for &i in changed
        .iter()
        .filter(|&&i| tree.files[i].template.is_some())
    {
        let c = crate::template::render::check(&tree.files[i])?;
        out.push(Validator {
            label: c.label,
            argv: c.argv,
            env: c.env,
            cwd: None,
            _scratch: Some(c.scratch),
        });
    }
    let changed: Vec<usize> = changed
        .iter()
        .copied()
        .filter(|&i| tree.files[i].template.is_none())
        .collect();
    let changed = changed.as_slice();
    let mut dialects: Vec<DialectKind> = changed.iter().map(|&i| tree.files[i].dialect).collect();
    dialects.sort();
    dialects.dedup();
    for kind in dialects {
        let roots: Vec<usize> = tree
            .roots
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|&(_, r)| r)
            .collect();
        match kind {
            DialectKind::Php => {
                for &i in changed.iter().filter(|&&i| tree.files[i].dialect == kind) {
                    let path = tree.files[i].target.display().to_string();
                    out.push(simple(vec![binary("php")?, "-l".into(), path]));
                }
            }
            DialectKind::Html => {}
            _ => {
                // Every main config the changed files belong to, then the files no main
                // config reaches: a wrapper over every such file of the run (not only the
                // changed ones: an upstream or a snippet they use may live in another), and
                // any that is a whole main config of its own (top-level `http`/`events`).
                let reached: Vec<usize> = roots
                    .iter()
                    .copied()
                    .filter(|r| {
                        changed.iter().any(|&c| {
                            tree.files[c].dialect == kind && tree.files[c].roots.contains(r)
                        })
                    })
                    .collect();
                for r in reached {
                    out.push(for_root(kind, tree, r)?);
                }
                let unreached = changed
                    .iter()
                    .any(|&c| tree.files[c].dialect == kind && tree.files[c].roots.is_empty());
                if unreached {
                    let lone: Vec<usize> = (0..tree.files.len())
                        .filter(|&i| {
                            let f = &tree.files[i];
                            f.dialect == kind
                                && f.in_scope
                                && f.roots.is_empty()
                                && !included_by_another(tree, i)
                        })
                        .collect();
                    let (whole, parts): (Vec<usize>, Vec<usize>) =
                        lone.into_iter().partition(|&i| {
                            kind == DialectKind::Nginx
                                && (has_block(&tree.files[i].src, b"http")
                                    || has_block(&tree.files[i].src, b"events"))
                        });
                    for w in whole {
                        out.push(for_root(kind, tree, w)?);
                    }
                    if !parts.is_empty() {
                        out.push(wrapper(kind, tree, &parts)?);
                    }
                }
            }
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

fn simple(argv: Vec<String>) -> Validator {
    Validator {
        label: argv.join(" "),
        argv,
        env: vec![],
        cwd: None,
        _scratch: None,
    }
}

/// A server binary, looked up in PATH and the sbin directories PATH often lacks.
fn binary(name: &str) -> Result<String, String> {
    let candidates: &[&str] = match name {
        "apache" => &["apache2", "httpd"],
        "nginx" => &["nginx"],
        "caddy" => &["caddy"],
        _ => &["php"],
    };
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/sbin",
            "/usr/local/sbin",
            "/sbin",
            "/usr/local/nginx/sbin",
        ]
        .map(PathBuf::from),
    );
    for c in candidates {
        for d in &dirs {
            let p = d.join(c);
            if p.is_file() {
                return Ok(p.display().to_string());
            }
        }
    }
    Err(format!(
        "cannot validate: `{}` is not installed (use --validate-cmd to name the validator)",
        candidates[0]
    ))
}

fn for_root(kind: DialectKind, tree: &Tree, r: usize) -> Result<Validator, String> {
    let root = &tree.files[r];
    let conf = root.target.display().to_string();
    let dir = root
        .target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(match kind {
        DialectKind::Nginx => simple(vec![binary("nginx")?, "-t".into(), "-c".into(), conf]),
        DialectKind::Apache => {
            let server_root = root
                .scan
                .as_ref()
                .ok()
                .and_then(|s| s.server_root.clone())
                .unwrap_or_else(|| dir.display().to_string());
            let bin = binary("apache")?;
            let mut v = simple(vec![
                bin.clone(),
                "-t".into(),
                "-f".into(),
                conf.clone(),
                "-d".into(),
                server_root.clone(),
            ]);
            // Debian's apache2.conf uses ${APACHE_LOCK_DIR} and friends from envvars.
            if dir.join("envvars").is_file() {
                v.argv = vec![
                    "sh".into(),
                    "-c".into(),
                    ". ./envvars && exec \"$0\" -t -f \"$1\" -d \"$2\"".into(),
                    bin,
                    conf,
                    server_root,
                ];
                v.cwd = Some(dir);
            }
            v
        }
        _ => caddy_validator(conf)?,
    })
}

fn caddy_validator(config: String) -> Result<Validator, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let home = scratch.path().display().to_string();
    let argv = vec![
        binary("caddy")?,
        "validate".into(),
        "--adapter".into(),
        "caddyfile".into(),
        "--config".into(),
        config,
    ];
    Ok(Validator {
        label: argv.join(" "),
        argv,
        // caddy validate provisions modules, which may touch its data directory.
        env: vec![
            ("HOME".into(), home.clone()),
            ("XDG_DATA_HOME".into(), home.clone()),
            ("XDG_CONFIG_HOME".into(), home),
        ],
        cwd: None,
        _scratch: Some(scratch),
    })
}

/// Lone files with no main config: a minimal main config that includes them, in a scratch
/// directory that mirrors the files' server directory with symlinks so that their relative
/// includes still resolve.
fn wrapper(kind: DialectKind, tree: &Tree, files: &[usize]) -> Result<Validator, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = scratch.path();
    let first = &tree.files[files[0]].target;
    if let Some(base) = first.parent().and_then(Path::parent) {
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                let _ = std::os::unix::fs::symlink(e.path(), dir.join(e.file_name()));
            }
        }
    }
    // Quoted for nginx, Apache and Caddy alike: a `"` or `\\` in a path is escaped.
    let q = |p: &Path| {
        format!(
            "\"{}\"",
            p.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        )
    };
    let mut conf = Vec::new();
    let main = dir.join("csppatch-validate.conf");
    let argv = match kind {
        DialectKind::Nginx => {
            let _ = writeln!(
                conf,
                "pid {};\nerror_log {};\nevents {{}}\nhttp {{",
                q(&dir.join("nginx.pid")),
                q(&dir.join("error.log"))
            );
            for &i in files {
                let f = &tree.files[i];
                if !needs_server_block(&f.src) {
                    let _ = writeln!(conf, "    include {};", q(&f.target));
                } else {
                    let _ = writeln!(
                        conf,
                        "    server {{\n        listen 127.0.0.1:8;\n        include {};\n    }}",
                        q(&f.target)
                    );
                }
            }
            conf.extend_from_slice(b"}\n");
            vec![
                binary("nginx")?,
                "-t".into(),
                "-e".into(),
                dir.join("error.log").display().to_string(),
                "-c".into(),
                main.display().to_string(),
            ]
        }
        DialectKind::Apache => {
            let _ = writeln!(conf, "ServerRoot {}\nPidFile {}\nErrorLog {}\nMutex file:{}\nListen 127.0.0.1:8\nServerName localhost", q(dir), q(&dir.join("httpd.pid")), q(&dir.join("error.log")), dir.display());
            for m in APACHE_MODULES {
                let so = Path::new("/usr/lib/apache2/modules").join(format!("mod_{m}.so"));
                if so.is_file() {
                    let _ = writeln!(
                        conf,
                        "<IfModule !{m}_module>\n    LoadModule {m}_module {}\n</IfModule>",
                        q(&so)
                    );
                }
            }
            for &i in files {
                let f = &tree.files[i];
                if f.target.file_name().is_some_and(|n| n == ".htaccess") {
                    let d = f.target.parent().unwrap_or(Path::new("/"));
                    let _ = writeln!(
                        conf,
                        "<Directory {}>\n    Include {}\n</Directory>",
                        q(d),
                        q(&f.target)
                    );
                } else {
                    let _ = writeln!(conf, "Include {}", q(&f.target));
                }
            }
            vec![
                binary("apache")?,
                "-t".into(),
                "-f".into(),
                main.display().to_string(),
            ]
        }
        DialectKind::Caddy => {
            // Top-level imports first (a global options block must come first), then one
            // site per fragment or snippet: two sites with one address are "ambiguous".
            let mut bodies = Vec::new();
            for &i in files {
                let f = &tree.files[i];
                match caddy_wrapping(&f.src) {
                    CaddyWrap::Sites => {
                        let _ = writeln!(conf, "import {}", q(&f.target));
                    }
                    CaddyWrap::Snippets(names) => {
                        let _ = writeln!(conf, "import {}", q(&f.target));
                        bodies.extend(names.into_iter().map(|n| format!("import {n}")));
                    }
                    CaddyWrap::Fragment => bodies.push(format!("import {}", q(&f.target))),
                }
            }
            for (n, body) in bodies.iter().enumerate() {
                let _ = writeln!(conf, "http://127.0.0.1:{} {{\n    {body}\n}}", 8 + n);
            }
            std::fs::write(&main, &conf).map_err(|e| e.to_string())?;
            let mut v = caddy_validator(main.display().to_string())?;
            v._scratch = Some(scratch);
            return Ok(v);
        }
        _ => return Err("no validator for this dialect".into()),
    };
    std::fs::write(&main, &conf).map_err(|e| e.to_string())?;
    Ok(Validator {
        label: argv.join(" "),
        argv,
        env: vec![],
        cwd: None,
        _scratch: Some(scratch),
    })
}

/// Modules a lone Apache vhost or .htaccess commonly needs (an unknown directive would
/// otherwise fail the check for reasons that have nothing to do with the patch).
const APACHE_MODULES: &[&str] = &[
    "mpm_event",
    "authz_core",
    "authz_host",
    "authz_user",
    "authn_core",
    "authn_file",
    "auth_basic",
    "access_compat",
    "alias",
    "dir",
    "mime",
    "env",
    "setenvif",
    "headers",
    "rewrite",
    "expires",
    "deflate",
    "filter",
    "ssl",
    "socache_shmcb",
    "proxy",
    "proxy_http",
    "proxy_fcgi",
    "negotiation",
    "autoindex",
    "status",
    "remoteip",
    "http2",
    "include",
    "cgi",
    "actions",
    "reqtimeout",
];

/// Must this nginx file be included inside a `server { }` to be valid? Only when its top
/// level holds what only a server (or location) takes: `location`, `listen`, `server_name`,
/// `if`, `return`, `rewrite`, `try_files`. Everything else (server and upstream blocks, maps,
/// `add_header` snippets) is valid at the http level.
fn needs_server_block(src: &[u8]) -> bool {
    const SERVER_ONLY: &[&str] = &[
        "location",
        "listen",
        "server_name",
        "if",
        "return",
        "rewrite",
        "try_files",
    ];
    match crate::dialect::nginx::parse(src) {
        Ok(directives) => directives
            .iter()
            .any(|d| SERVER_ONLY.contains(&d.name.text(src).as_str())),
        Err(_) => !has_block(src, b"server"),
    }
}

/// Does the file have a top-level `NAME {` block (an nginx file of server blocks rather than a
/// snippet of directives for inside one)?
fn has_block(src: &[u8], name: &[u8]) -> bool {
    src.split(|&b| b == b'\n').any(|l| {
        let t = l.trim_ascii_start();
        t.starts_with(name) && t[name.len()..].trim_ascii_start().starts_with(b"{")
    })
}

/// How a lone Caddy file goes into the validation wrapper.
#[derive(Debug, PartialEq, Eq)]
enum CaddyWrap {
    /// Site blocks (or global options): imported at the top level.
    Sites,
    /// Only `(name) { }` definitions: imported at the top level, then each snippet imported
    /// into a site, since Caddy parses a snippet's directives only where it is imported.
    Snippets(Vec<String>),
    /// A list of directives: imported inside a site block.
    Fragment,
}

/// Told apart by the dialect's own parse: a file of directives that opens with a block
/// (`header {`) looks like a site address to a line-based guess.
fn caddy_wrapping(src: &[u8]) -> CaddyWrap {
    use crate::dialect::caddy::{lexer, structure};
    let lexed = lexer::lex(src);
    let Ok(parsed) = structure::parse(&lexed.tokens) else {
        return CaddyWrap::Sites;
    };
    let mut names = Vec::new();
    for b in &parsed.blocks {
        match &b.kind {
            structure::BlockKind::Snippet(name) => names.push(name.clone()),
            structure::BlockKind::Fragment => return CaddyWrap::Fragment,
            _ => return CaddyWrap::Sites,
        }
    }
    if names.is_empty() {
        CaddyWrap::Sites
    } else {
        CaddyWrap::Snippets(names)
    }
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
    fn tells_server_files_from_snippets() {
        assert!(has_block(b"# x\nserver {\n listen 80;\n}\n", b"server"));
        assert!(!has_block(b"add_header X y;\nlocation / {}\n", b"server"));
        assert_eq!(
            caddy_wrapping(b"example.com {\n  header X y\n}\n"),
            CaddyWrap::Sites
        );
        assert_eq!(caddy_wrapping(b"header X y\n"), CaddyWrap::Fragment);
        assert_eq!(
            caddy_wrapping(b"header {\n  X y\n}\n"),
            CaddyWrap::Fragment,
            "a block directive at column 0 is no site address"
        );
        assert_eq!(
            caddy_wrapping(b"(snip) {\n header X y\n}\n(other) {\n respond ok\n}\n"),
            CaddyWrap::Snippets(vec!["snip".into(), "other".into()])
        );
        assert_eq!(
            caddy_wrapping(b"(snip) {\n header X y\n}\nexample.com {\n import snip\n}\n"),
            CaddyWrap::Sites
        );
    }

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
        let v = simple(vec!["cat".into(), real.display().to_string()]);
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
