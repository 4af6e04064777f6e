//! The real servers' validators for the conformance set: `nginx -t`, `apache2 -t`,
//! `caddy validate`, `php -l`. A fixture's `validate` is `KIND` or `KIND:FILE` (the file the
//! server reads first, relative to the tree; `run` by default). Snippets are wrapped in the
//! context their real counterparts are included from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common;

const HEADERS_MORE: &str = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so";

pub fn validate(
    spec: &str,
    dir: &Path,
    run: &str,
    files: &BTreeMap<PathBuf, Vec<u8>>,
) -> Result<(), String> {
    let (kind, file) = spec.split_once(':').unwrap_or((spec, run));
    let path = dir.join(file);
    let text = || String::from_utf8_lossy(&files[Path::new(file)]).into_owned();
    let bin = match kind {
        "none" => return Ok(()),
        k if k.starts_with("nginx") => "nginx",
        k if k.starts_with("apache") => "apache2",
        "caddy" => "caddy",
        "php" => "php",
        _ => return Err(format!("unknown validator {spec:?}")),
    };
    if !common::have(bin) {
        return Ok(());
    }
    match kind {
        "nginx-main" => common::nginx::nginx_t(&path),
        "nginx-http" | "nginx-server" => {
            let wrap = tempfile::tempdir().unwrap();
            let module = if text().contains("more_set_headers") {
                format!("load_module {HEADERS_MORE};\n")
            } else {
                String::new()
            };
            let inner = if kind == "nginx-http" {
                format!("include {};", path.display())
            } else {
                format!(
                    "server {{\n listen 127.0.0.1:{};\n include {};\n }}",
                    common::free_port(),
                    path.display()
                )
            };
            let d = wrap.path().display();
            let conf = wrap.path().join("nginx.conf");
            std::fs::write(
                &conf,
                format!(
                    "{module}events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/b;\n \
                     proxy_temp_path {d}/p;\n fastcgi_temp_path {d}/f;\n uwsgi_temp_path {d}/u;\n \
                     scgi_temp_path {d}/s;\n {inner}\n}}\n"
                ),
            )
            .unwrap();
            common::nginx::nginx_t(&conf)
        }
        "apache-conf" => common::apache::configtest(&format!("Include \"{}\"\n", path.display())),
        "apache-htaccess" => common::apache::configtest(&format!(
            "<Directory \"{}\">\n{}\n</Directory>\n",
            dir.display(),
            text()
        )),
        "caddy" => common::caddy::validate(&path),
        "php" => common::php::lint(&path),
        _ => Err(format!("unknown validator {spec:?}")),
    }
}
