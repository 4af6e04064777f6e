//! A real Apache httpd 2.4 for tests: its own ServerRoot, pid file, logs and mutexes under a
//! TempDir, run as a [`Server`] listening on 127.0.0.1 only.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::server::Server;

use csppatch::dialect::apache::Apache;
use csppatch::dialect::Dialect;
use csppatch::site::FileScan;

pub mod e2e;

const MODULE_DIR: &str = "/usr/lib/apache2/modules";

/// Modules every test server loads (`LoadModule name file`).
const MODULES: &[(&str, &str)] = &[
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("headers_module", "mod_headers.so"),
    ("dir_module", "mod_dir.so"),
    ("mime_module", "mod_mime.so"),
    ("setenvif_module", "mod_setenvif.so"),
    ("env_module", "mod_env.so"),
];

/// `@ROOT@` in a configuration stands for the server's root directory.
pub const ROOT: &str = "@ROOT@";
/// `@PORT@` stands for the port it listens on.
pub const PORT: &str = "@PORT@";

/// The server-wide part of every test configuration.
pub fn base_config(root: &Path, port: u16) -> String {
    let r = root.display();
    let mut conf = format!(
        "ServerRoot \"{r}\"\nPidFile \"{r}/logs/httpd.pid\"\nErrorLog \"{r}/logs/error.log\"\n\
         LogLevel warn\nMutex file:{r}/logs default\nDefaultRuntimeDir \"{r}/logs\"\n"
    );
    for (name, file) in MODULES {
        conf.push_str(&format!("LoadModule {name} {MODULE_DIR}/{file}\n"));
    }
    // As root httpd drops to `User`; the tree below is world-readable for that user.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        conf.push_str("User nobody\nGroup nogroup\n");
    }
    conf.push_str(&format!(
        "TypesConfig /etc/mime.types\nListen 127.0.0.1:{port}\nServerName localhost\n\
         DocumentRoot \"{r}/www\"\nDirectoryIndex index.html\n\
         <Directory \"{r}/www\">\n    Require all granted\n    AllowOverride None\n</Directory>\n"
    ));
    conf
}

/// A server root with `www/index.html`, the files given (paths relative to the root), and
/// `httpd.conf`: the base configuration followed by `site`.
pub struct Tree {
    pub dir: TempDir,
    pub port: u16,
}

impl Tree {
    pub fn new(site: &str, files: &[(&str, &[u8])]) -> Tree {
        let dir = tempfile::Builder::new()
            .prefix("csppatch-httpd")
            .tempdir()
            .expect("temp dir");
        let root = dir.path();
        for sub in ["logs", "www"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::write(root.join("www/index.html"), "<!doctype html><p>hello</p>\n").unwrap();
        for (rel, bytes) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let port = super::free_port();
        let site = site
            .replace(ROOT, &root.display().to_string())
            .replace(PORT, &port.to_string());
        let conf = base_config(root, port) + &site;
        std::fs::write(root.join("httpd.conf"), conf).unwrap();
        open_up(root);
        Tree { dir, port }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf(&self) -> PathBuf {
        self.root().join("httpd.conf")
    }

    /// `apache2 -t`: Ok, or httpd's message.
    pub fn configtest(&self) -> Result<(), String> {
        let out = Command::new("apache2")
            .arg("-t")
            .arg("-f")
            .arg(self.conf())
            .output()
            .expect("run apache2 -t");
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            Ok(())
        } else {
            Err(text.trim().to_string())
        }
    }

    /// httpd in the foreground on this tree, which it keeps until it stops.
    pub fn start(self) -> Server {
        let mut cmd = Command::new("apache2");
        cmd.arg("-f").arg(self.conf()).arg("-X");
        let (port, log) = (self.port, self.root().join("logs/error.log"));
        Server::start("apache2", cmd, port, vec![log])
            .unwrap_or_else(|e| panic!("{e}"))
            .host("localhost")
            .keep(self)
    }
}

/// `chmod a+rX` the tree, so that httpd's `User nobody` can read it.
pub fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let mode = if entry.file_type().is_dir() {
            0o755
        } else {
            0o644
        };
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
    }
}

/// `apache2 -t` on the base configuration followed by `site`.
pub fn configtest(site: &str) -> Result<(), String> {
    Tree::new(site, &[]).configtest()
}

/// httpd serving a whole configuration tree as its own main config file lays it out
/// (Debian's `apache2.conf` with `envvars`, Red Hat's `conf/httpd.conf`):
/// `apache2 -X -d SERVER_ROOT -f CONF` listening on `port` (the tree's own `Listen`), with
/// `SERVER_ROOT/envvars` sourced first when there is one, as `apache2ctl` does. `error_log`
/// is where the tree's `ErrorLog` writes, shown if httpd fails.
pub fn start(server_root: &Path, conf: &Path, port: u16, error_log: PathBuf) -> Server {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("if [ -f ./envvars ]; then . ./envvars; fi; exec apache2 -X -d \"$0\" -f \"$1\"")
        .arg(server_root)
        .arg(conf)
        .current_dir(server_root);
    Server::start("apache2", cmd, port, vec![error_log])
        .unwrap_or_else(|e| panic!("{e}"))
        .host("localhost")
}

/// `@ROOT@` and `@PORT@` in a fixture tree stand for where it is copied and the port its
/// server listens on.
pub fn materialize(from: &Path, to: &Path, port: u16) {
    use std::os::unix::fs::PermissionsExt;
    let root = to.display().to_string();
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(from).expect("under the fixture");
        let dest = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(link, &dest).expect("symlink");
        } else {
            let bytes = std::fs::read(entry.path()).expect("read fixture");
            let bytes = replace_bytes(&bytes, ROOT.as_bytes(), root.as_bytes());
            let bytes = replace_bytes(&bytes, PORT.as_bytes(), port.to_string().as_bytes());
            std::fs::write(&dest, bytes).expect("write");
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// `find()` on `src` as if it lived at `path`.
pub fn find(path: &str, src: &[u8]) -> FileScan {
    Apache
        .find(Path::new(path), src)
        .unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

/// Does `received` match `expected`, where `expected`'s `opaque` ranges stand for any text?
pub fn matches_with_opaque(
    expected: &str,
    opaque: &[std::ops::Range<usize>],
    received: &str,
) -> bool {
    let mut pieces = Vec::new();
    let mut last = 0;
    for r in opaque {
        pieces.push(&expected[last..r.start]);
        last = r.end;
    }
    pieces.push(&expected[last..]);
    if pieces.len() == 1 {
        return expected == received;
    }
    let (first, rest) = pieces.split_first().unwrap();
    let Some(mut tail) = received.strip_prefix(first) else {
        return false;
    };
    let (last_piece, middle) = rest.split_last().unwrap();
    for piece in middle {
        match tail.find(piece) {
            Some(i) => tail = &tail[i + piece.len()..],
            None => return false,
        }
    }
    tail.ends_with(last_piece)
}

/// A human-readable rendering of a scan, for snapshots.
pub fn render(src: &[u8], scan: &FileScan) -> String {
    use csppatch::diag::line_col;
    let mut out = String::new();
    for (i, site) in scan.sites.iter().enumerate() {
        let (l1, c1) = line_col(src, site.span.start);
        let (l2, c2) = line_col(src, site.span.end);
        out.push_str(&format!(
            "site {i}: {} at {l1}:{c1}-{l2}:{c2}\n  context: {}\n  value: {:?}\n",
            site.disposition.header_name(),
            site.context,
            site.value.text
        ));
        for r in &site.value.opaque {
            out.push_str(&format!("  opaque: {:?}\n", &site.value.text[r.clone()]));
        }
        if let Some(r) = &site.refusal {
            out.push_str(&format!("  refusal: {r}\n"));
        }
        if let Some(r) = &site.repaired {
            out.push_str(&format!("  repaired ({}): {:?}\n", r.code, r.text));
        }
    }
    for inc in &scan.includes {
        let (l, c) = line_col(src, inc.offset);
        out.push_str(&format!(
            "include at {l}:{c}: {:?} optional={}\n",
            inc.pattern, inc.optional
        ));
    }
    if let Some(root) = &scan.server_root {
        out.push_str(&format!("server root: {root:?}\n"));
    }
    for d in &scan.diagnostics {
        let loc = d
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.line, l.col))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {} at {loc}: {}\n",
            d.severity, d.code, d.message
        ));
        if let Some(h) = &d.help {
            out.push_str(&format!("  help: {h}\n"));
        }
    }
    out
}

/// A configuration snippet that real httpd serves, with what `find()` must make of it.
pub struct Fixture {
    pub name: &'static str,
    pub text: &'static str,
    /// Lines httpd needs next to the snippet (variables for `%{VAR}e`).
    pub setup: &'static str,
}

impl Fixture {
    /// The bytes as a file: `\n` becomes CRLF in the `crlf` fixture.
    pub fn bytes(&self) -> Vec<u8> {
        if self.name.contains("crlf") {
            self.text.replace('\n', "\r\n").into_bytes()
        } else {
            self.text.as_bytes().to_vec()
        }
    }
}

/// Tricky values, each served by real httpd in `apache_server.rs` and snapshotted in
/// `apache_snapshots.rs`.
pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "continuations",
        // Continued lines indented with spaces, a tab, nothing, and blanks before the `\`.
        text: "<IfModule mod_headers.c>\n    Header always set Content-Security-Policy \"\\\n        default-src 'self';\\\n\tscript-src 'self' https://cdn.example.com;\\\nstyle-src 'self' 'unsafe-inline';  \\\n        img-src 'self' data:\" \"expr=%{CONTENT_TYPE} =~ m#text/html#i\"\n</IfModule>\n",
        setup: "",
    },
    Fixture {
        name: "single-quotes",
        text: "Header set Content-Security-Policy 'default-src \\'self\\'; img-src \\'self\\' data: \"https://q.example\"'\n",
        setup: "",
    },
    Fixture {
        name: "escaped-quotes",
        text: "Header onsuccess set Content-Security-Policy \"default-src 'self'; report-uri \\\"/csp\\\"; x-a \\\\\\\\ \\\\q \\q\"\n",
        setup: "",
    },
    Fixture {
        name: "percent",
        text: "Header set Content-Security-Policy \"default-src 'self'; script-src 'nonce-%{CSP_NONCE}e'; img-src %{IMG_HOST}e; report-uri /r?a=100%%\"\nHeader always set Content-Security-Policy-Report-Only \"default-src 'none'; report-uri /r?%t&%D&%\"\n",
        setup: "SetEnvIf Request_URI \".\" CSP_NONCE=abc123 IMG_HOST=https://img.example\n",
    },
    Fixture {
        name: "tables",
        text: "Header always set Content-Security-Policy \"default-src 'self'\"\nHeader set Content-Security-Policy \"default-src 'self'; img-src data:\"\nHeader set Content-Security-Policy-Report-Only: \"default-src 'none'\" env=REPORT\nRequestHeader set Content-Security-Policy \"not sent\"\n",
        setup: "SetEnvIf Request_URI \".\" REPORT=1\n",
    },
    Fixture {
        name: "crlf",
        text: "Header set Content-Security-Policy \"default-src 'self'; \\\n    connect-src 'self' wss://ws.example\"\nHeader always set Content-Security-Policy-Report-Only upgrade-insecure-requests\n",
        setup: "",
    },
    Fixture {
        name: "line-break",
        text: "Header set Content-Security-Policy \"default-src 'self';\\n script-src 'self'\"\n",
        setup: "",
    },
    Fixture {
        name: "actions",
        text: "<Location />\n    Header set Content-Security-Policy \"default-src 'self'\"\n    Header append Content-Security-Policy \"img-src data:\"\n    Header edit Content-Security-Policy \"'self'\" \"'self' https://cdn.example\"\n</Location>\n<Location /embed>\n    Header unset Content-Security-Policy\n    Header always setifempty Content-Security-Policy \"frame-ancestors *\"\n</Location>\nHeader echo ^Content-Security-Policy\n",
        setup: "",
    },
];
