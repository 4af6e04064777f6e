//! nginx values built from variables with several possible values (README, "Values built from
//! variables"): a `set` and another inside `if`, a `map`. Each combination is a policy nginx
//! sends for some requests; after the patch the vendor must be allowed under every one, each
//! change written into the literal that holds the directive in that variant, and no byte
//! outside those literals changed. Served by real nginx, checked in headless Chromium.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::nginx;
use common::widget::{self, MUSERELAY_LOADS};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vars/nginx/variants.conf")
}

/// The requests that select each variant: `?unsafe=1` the `if`, `?embed=1` the map key.
const VARIANTS: [&str; 4] = ["/", "/?unsafe=1", "/?embed=1", "/?unsafe=1&embed=1"];

/// A main config that includes the site file at http level (its `map` belongs there).
fn main_conf(dir: &Path, site: &Path) -> Vec<u8> {
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n    include {};\n}}\n",
        site.display()
    )
    .into_bytes()
}

fn serve(site: &Path, port: u16) -> common::server::Server {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, main_conf(dir.path(), site)).unwrap();
    nginx::start_file(dir, &conf, port).expect("nginx starts")
}

/// The lines that differ, each only by text inserted inside its quoted literal.
fn inserted_inside_literals(before: &str, after: &str) -> Vec<usize> {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    assert_eq!(a.len(), b.len(), "no line added or removed");
    let mut changed = Vec::new();
    for (i, (old, new)) in b.iter().zip(&a).enumerate() {
        if old == new {
            continue;
        }
        changed.push(i + 1);
        let open = old.find('"').expect("a quoted literal") + 1;
        let close = old.rfind('"').unwrap();
        assert!(
            new.starts_with(&old[..open]) && new.ends_with(&old[close..]),
            "line {}: outside the literal unchanged\n-{old}\n+{new}",
            i + 1
        );
        let inner_new = &new[open..new.len() - (old.len() - close)];
        let mut rest = inner_new.chars();
        assert!(
            old[open..close].chars().all(|c| rest.any(|n| n == c)),
            "line {}: only insertions inside the literal\n-{old}\n+{new}",
            i + 1
        );
    }
    changed
}

#[test]
fn every_variant_of_an_if_set_and_a_map_lets_the_vendor_through_in_chromium() {
    if !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("www");
    widget::write_site(&root, MUSERELAY_LOADS);
    let port = common::free_port();
    let site = tmp.path().join("variants.conf");
    let text = fs::read_to_string(fixture())
        .unwrap()
        .replace("PORT", &port.to_string())
        .replace("ROOT", &root.display().to_string());
    fs::write(&site, &text).unwrap();

    let before: Vec<Vec<String>> = {
        let server = serve(&site, port);
        VARIANTS
            .iter()
            .map(|path| {
                let v = server.violations(path);
                assert!(
                    !widget::blocked(&v, "muserelay.com").is_empty(),
                    "{path}: the widget is blocked before: {v:?}"
                );
                v
            })
            .collect()
    };

    let out = common::csppatch()
        .arg(&site)
        .args(["--vendor", "muserelay", "--color", "never"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // One site per variant, each named by the values it was expanded with.
    for with in [
        "[with `$scriptSrc` from line 16, `$imgSrc` from line 6, map key `default`]",
        "[with `$scriptSrc` from line 18, in `if ($arg_unsafe)`, `$imgSrc` from line 7, map key `1`]",
    ] {
        assert!(stderr.contains(with), "{with}: {stderr}");
    }

    let after_text = fs::read_to_string(&site).unwrap();
    // script-src: both `set`s (16, 18); img-src: both map values (6, 7); connect-src, style-src
    // and the new worker-src: the header's own literal (21). Nothing else.
    assert_eq!(
        inserted_inside_literals(&text, &after_text),
        [6, 7, 16, 18, 21]
    );
    assert!(after_text.contains("set $scriptSrc \"'self' https://muserelay.com\";"));
    assert!(after_text.contains("set $scriptSrc \"'self' 'unsafe-eval' https://muserelay.com\";"));
    assert!(
        after_text.contains("1 \"'self' data: https://img.example.net https://muserelay.com\";")
    );

    let server = serve(&site, port);
    for (path, before) in VARIANTS.iter().zip(&before) {
        let csp = server.csp(path);
        assert_eq!(csp.len(), 1, "{path}: one policy: {csp:?}");
        let unsafe_eval = path.contains("unsafe");
        assert_eq!(
            csp[0].contains("'unsafe-eval'"),
            unsafe_eval,
            "{path}: {}",
            csp[0]
        );
        assert_eq!(
            csp[0].contains("https://img.example.net"),
            path.contains("embed"),
            "{path}: {}",
            csp[0]
        );
        let after = server.violations(path);
        widget::assert_muserelay_patched(before, &after);
    }

    let again = common::csppatch()
        .arg(&site)
        .args(["--vendor", "muserelay", "--check"])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "nothing left to do: {}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// csppatch on `conf` (written to a fresh directory) with `--allow script-src VENDOR`.
fn run_on(conf: &str) -> (String, i32, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("site.conf");
    fs::write(&path, conf).unwrap();
    let out = common::csppatch()
        .arg(&path)
        .args([
            "--allow",
            "script-src https://widget.example.com",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
        conf.to_string(),
        fs::read_to_string(&path).unwrap(),
    )
}

#[test]
fn variants_whose_changes_differ_in_the_shared_text_refuse_naming_the_variable_and_lines() {
    // The /app variant has 'strict-dynamic' (CSP101: the host only helps older browsers) and
    // needs no worker-src; the default one needs worker-src pinned to 'self', which the /app
    // one would then send too: no write makes both read back as their merges.
    let (stderr, code, before, after) = run_on(
        "map $uri $s {\n    default \"'self'\";\n    ~^/app \"'nonce-abc' 'strict-dynamic'\";\n}\n\
         server {\n    listen 127.0.0.1:8087;\n    add_header Content-Security-Policy \"default-src 'self'; script-src $s\" always;\n}\n",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("site.conf:7:"), "{stderr}");
    assert!(
        stderr.contains("warning[CSP101]"),
        "the strict-dynamic variant's lint: {stderr}"
    );
    assert!(
        stderr.contains("error[E013]")
            && stderr.contains("`$s` (line 2, map key `default`; line 3, map key `~^/app`)"),
        "{stderr}"
    );
    assert_eq!(after, before, "nothing written");
}

#[test]
fn an_empty_map_default_puts_the_source_after_the_reference_for_every_variant() {
    let (stderr, code, before, after) = run_on(
        "map $uri $h {\n    default \"\";\n    /a \"'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='\";\n}\n\
         server {\n    listen 127.0.0.1:8087;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self' $h; object-src 'none'\" always;\n}\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        after,
        before.replace(
            "script-src 'self' $h; object-src 'none'",
            "script-src 'self' $h https://widget.example.com; object-src 'none'; worker-src 'self'"
        ),
        "{stderr}"
    );
}
