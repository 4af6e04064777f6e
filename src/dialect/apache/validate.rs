//! `apache2 -t` for a main config (Debian's `envvars` sourced first), and the wrapper main
//! config that lets it check vhosts and `.htaccess` files no main config includes.

use std::io::Write;
use std::path::Path;

use crate::dialect::ConfigFile;
use crate::validator::{find_binary, quoted, Validator};

const BINARIES: &[&str] = &["apache2", "httpd"];

pub fn main_config(root: &ConfigFile<'_>) -> Result<Validator, String> {
    let conf = root.target.display().to_string();
    let dir = root
        .target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let server_root = root
        .scan
        .and_then(|s| s.server_root.clone())
        .unwrap_or_else(|| dir.display().to_string());
    let bin = find_binary(BINARIES)?;
    let mut v = Validator::new(vec![
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
    Ok(v)
}

/// A minimal main config that loads the common modules and includes `files` (a `.htaccess`
/// inside its `<Directory>`), written into `dir`.
pub fn wrapper(dir: &Path, files: &[ConfigFile<'_>]) -> Result<Validator, String> {
    let main = dir.join("csppatch-validate.conf");
    let mut conf = Vec::new();
    let _ = writeln!(
        conf,
        "ServerRoot {}\nPidFile {}\nErrorLog {}\nMutex file:{}\nListen 127.0.0.1:8\nServerName localhost",
        quoted(dir),
        quoted(&dir.join("httpd.pid")),
        quoted(&dir.join("error.log")),
        dir.display()
    );
    for m in MODULES {
        let so = Path::new("/usr/lib/apache2/modules").join(format!("mod_{m}.so"));
        if so.is_file() {
            let _ = writeln!(
                conf,
                "<IfModule !{m}_module>\n    LoadModule {m}_module {}\n</IfModule>",
                quoted(&so)
            );
        }
    }
    for f in files {
        if f.target.file_name().is_some_and(|n| n == ".htaccess") {
            let d = f.target.parent().unwrap_or(Path::new("/"));
            let _ = writeln!(
                conf,
                "<Directory {}>\n    Include {}\n</Directory>",
                quoted(d),
                quoted(f.target)
            );
        } else {
            let _ = writeln!(conf, "Include {}", quoted(f.target));
        }
    }
    std::fs::write(&main, &conf).map_err(|e| {
        format!(
            "cannot validate: cannot write the wrapper config {}: {e}",
            main.display()
        )
    })?;
    let argv = vec![
        find_binary(BINARIES)?,
        "-t".into(),
        "-f".into(),
        main.display().to_string(),
    ];
    Ok(Validator::new(argv))
}

/// Modules a lone Apache vhost or .htaccess commonly needs (an unknown directive would
/// otherwise fail the check for reasons that have nothing to do with the patch).
const MODULES: &[&str] = &[
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
