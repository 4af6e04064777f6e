//! Templates (issue 8): nginx, Apache and Caddy files written for Jinja2, envsubst, Go's
//! text/template and ERB, patched in place.
//!
//! Every patched fixture is checked with the real engine, not csppatch's lexers: the engine
//! reads the same tags before and after; the template and each rendering change only inside
//! CSP values; the rendering passes the server's own check, and, served on 127.0.0.1, lets
//! MuseRelay's widget through in headless Chromium while every other verdict stays as it was.
//! Each fixture also has a reviewed snapshot (input, diagnostics, diff) under
//! snapshots/templates/.

use crate::common;
mod engines;
mod serve;
mod validate;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::tree::{Run, Tree};
use common::widget;
use engines::Engine;
use serve::{Place, Server};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates")
}

/// A copy of `tests/fixtures/templates/<name>`.
fn fixture(name: &str) -> Tree {
    let dir = fixture_root().join(name);
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let e = e.expect("walk fixture");
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&dir).unwrap().to_path_buf();
            files.push((rel, std::fs::read(e.path()).unwrap()));
        }
    }
    Tree::from_files(name, &files)
}

/// Lines that differ between `before` and `after` (the same number of lines) must be CSP
/// header lines that differ only inside the value: the same bytes up to the header name and
/// the value's opening quote, the same from its closing quote on. Returns how many differ.
fn assert_only_csp_values_changed(what: &str, before: &str, after: &str) -> usize {
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len(), "{what}: line count changed");
    let mut changed = 0;
    for (n, (x, y)) in b.iter().zip(&a).enumerate() {
        if x == y {
            continue;
        }
        changed += 1;
        let name = x
            .to_ascii_lowercase()
            .find("content-security-policy")
            .unwrap_or_else(|| panic!("{what}:{}: a line without a CSP changed:\n{x}\n{y}", n + 1));
        // The value starts after the name and what separates them: quotes, spaces, and
        // headers-more's `Name : value` colon.
        let name_end = name + "content-security-policy".len();
        let open = name_end
            + x[name_end..]
                .bytes()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b':'))
                .count();
        let close_x = x.rfind('"').unwrap();
        let close_y = y.rfind('"').unwrap();
        assert_eq!(
            x[..open],
            y[..open.min(y.len())],
            "{what}:{}: before the value",
            n + 1
        );
        assert_eq!(
            x[close_x..],
            y[close_y..],
            "{what}:{}: after the value",
            n + 1
        );
    }
    changed
}

/// A template patched for MuseRelay and checked with its engine and its server.
struct Case {
    name: &'static str,
    file: &'static str,
    engine: Engine,
    server: Server,
    /// Variable sets to render with, each with whether its rendering sends a policy that
    /// blocks MuseRelay before the patch.
    variants: &'static [(&'static str, bool)],
    vars: serve::Vars,
}

fn binaries(server: Server) -> bool {
    let bin = match server {
        Server::NginxServers | Server::NginxServerBody => "nginx",
        Server::Apache => "apache2",
        Server::Caddy => "caddy",
    };
    common::have(bin) && common::have("chromium") && common::have("patch")
}

fn run_case(case: &Case) {
    if !engines::available(case.engine) || !binaries(case.server) {
        return;
    }
    let tree = fixture(case.name);
    let path = format!("{}/{}", case.name, case.file);
    let run = tree.run(&[&path, "--vendor", "muserelay", "--color", "never"]);
    assert_eq!(run.code, Some(0), "{}: {}", case.name, run.stderr);
    assert_eq!(
        tree.changed(),
        vec![PathBuf::from(case.file)],
        "{}",
        case.name
    );
    tree.assert_diff_reproduces_written_files(&run);

    let before_text = String::from_utf8(tree.original(case.file).to_vec()).unwrap();
    let after_text = tree.text(case.file);
    assert!(assert_only_csp_values_changed(&path, &before_text, &after_text) > 0);
    let pristine = tempfile::tempdir().unwrap();
    let before = pristine.path().join(case.file);
    std::fs::write(&before, &before_text).unwrap();
    let after = tree.path(case.file);
    assert_eq!(
        engines::tags(case.engine, &before),
        engines::tags(case.engine, &after),
        "{}: the engine reads other tags after the patch",
        case.name
    );

    for &(variant, blocked_before) in case.variants {
        let what = format!("{} [{variant}]", case.name);
        let render = |file: &Path, place: &Place| {
            engines::render(case.engine, file, &(case.vars)(variant, place))
        };
        // The renderings compared line by line, with the values of one place.
        let place = Place {
            port: "8080".into(),
            root: "/srv/site".into(),
        };
        let changed = assert_only_csp_values_changed(
            &what,
            &render(&before, &place),
            &render(&after, &place),
        );
        assert_eq!(
            changed > 0,
            blocked_before,
            "{what}: rendered CSP lines changed"
        );
        let v_before = serve::violations(case.server, &|p| render(&before, p));
        let v_after = serve::violations(case.server, &|p| render(&after, p));
        assert_eq!(
            !widget::blocked(&v_before, "muserelay.com").is_empty(),
            blocked_before,
            "{what}: before the patch: {v_before:?}"
        );
        assert!(
            widget::blocked(&v_after, "muserelay.com").is_empty(),
            "{what}: after the patch MuseRelay is allowed: {v_after:?}"
        );
        widget::assert_only_vendor_unblocked(&v_before, &v_after, "muserelay.com");
    }

    let again = tree.run(&[&path, "--vendor", "muserelay"]);
    assert_eq!(
        again.code,
        Some(0),
        "{}: second run: {}",
        case.name,
        again.stderr
    );
    assert!(
        again.stdout.is_empty(),
        "{}: a second run changes nothing",
        case.name
    );
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

#[test]
fn jinja2_nginx_yunohost_both_branches() {
    run_case(&Case {
        name: "yunohost-jinja2-nginx",
        file: "server.conf.j2",
        engine: Engine::Jinja2,
        server: Server::NginxServers,
        variants: &[("experimental", true), ("default", true)],
        vars: |variant, p| {
            json!({
                "port": s(&p.port), "root": s(&p.root), "domain": "localhost",
                "mail_enabled": "False", "redirect_to_https": "True",
                "experimental": if variant == "experimental" { "True" } else { "False" },
                "script_cdn": "https://cdn.example",
            })
        },
    });
}

#[test]
fn envsubst_nginx_docker_template() {
    run_case(&Case {
        name: "docker-envsubst-nginx",
        file: "default.conf.template",
        engine: Engine::Envsubst,
        server: Server::NginxServers,
        variants: &[("default", true)],
        vars: |_, p| {
            json!({
                "NGINX_PORT": s(&p.port), "NGINX_HOST": "localhost", "NGINX_ROOT": s(&p.root),
                "CSP_REPORT_URI": "/csp-report",
            })
        },
    });
}

#[test]
fn go_nginx_nginx_ui_block() {
    run_case(&Case {
        name: "nginxui-go-nginx",
        file: "security-headers.conf",
        engine: Engine::Go,
        server: Server::NginxServerBody,
        variants: &[("csp", true), ("no-csp", false)],
        vars: |variant, _| json!({ "enableCSP": variant == "csp", "frameAncestors": "'self'" }),
    });
}

#[test]
fn go_caddy_consul_template() {
    run_case(&Case {
        name: "consul-go-caddy",
        file: "Caddyfile.ctmpl",
        engine: Engine::Go,
        server: Server::Caddy,
        variants: &[("default", true)],
        vars: |_, p| {
            json!({ "Site": {
                "Address": format!("http://127.0.0.1:{}", p.port), "Root": s(&p.root),
                "ReportURI": "/csp-report",
            }})
        },
    });
}

#[test]
fn jinja2_apache_ansible_vhosts_loop() {
    run_case(&Case {
        name: "ansible-jinja2-apache",
        file: "vhosts.conf.j2",
        engine: Engine::Jinja2,
        server: Server::Apache,
        variants: &[("two-vhosts", true)],
        vars: |_, p| {
            json!({
                "apache_listen_ip": "127.0.0.1", "apache_listen_port": s(&p.port),
                "apache_vhosts": [
                    { "servername": "localhost", "documentroot": s(&p.root) },
                    { "servername": "other.example", "documentroot": s(&p.root),
                      "extra_parameters": "ServerAdmin admin@other.example" },
                ],
            })
        },
    });
}

#[test]
fn erb_apache_chef_web_app() {
    run_case(&Case {
        name: "chef-erb-apache",
        file: "web_app.conf.erb",
        engine: Engine::Erb,
        server: Server::Apache,
        variants: &[("default", true)],
        vars: |_, p| {
            json!({
                "port": s(&p.port), "server_name": "localhost", "docroot": s(&p.root),
                "csp_enabled": true, "report_uri": "/csp-report",
            })
        },
    });
}

#[test]
fn erb_nginx_chef_site_with_directives_from_an_attribute() {
    run_case(&Case {
        name: "chef-erb-nginx",
        file: "site.erb",
        engine: Engine::Erb,
        server: Server::NginxServers,
        variants: &[("default", true)],
        vars: |_, p| {
            json!({
                "port": s(&p.port), "server_name": "localhost", "docroot": s(&p.root),
                "csp": true, "csp_extra": "frame-ancestors 'none'",
            })
        },
    });
}

/// Every fixture: the reviewed snapshot of a run, and its outcome checked: patched files
/// keep every tag (read by csppatch and, where it runs, by the engine) and the printed diff
/// reproduces them; refused or unchanged files are untouched.
#[test]
fn snapshots() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let settings = common::snapshots("templates");
    for name in names {
        let tree = fixture(&name);
        let run: Run = tree.run(&[&name, "--vendor", "muserelay", "--color", "never"]);
        settings.bind(|| insta::assert_snapshot!(name.clone(), tree.snapshot(&run)));
        match run.code {
            Some(0) => tree.assert_diff_reproduces_written_files(&run),
            _ => tree.assert_untouched(),
        }
        for rel in tree.changed() {
            let rel = rel.to_str().unwrap().to_string();
            let before = String::from_utf8(tree.original(&rel).to_vec()).unwrap();
            assert_only_csp_values_changed(&rel, &before, &tree.text(&rel));
        }
    }
}

#[test]
fn the_more_set_headers_template_renders_the_same_but_for_the_values() {
    if !engines::available(Engine::Jinja2) {
        return;
    }
    let tree = fixture("yunohost-more-set-headers");
    let run = tree.run(&["yunohost-more-set-headers", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rel = "security.conf.inc.j2";
    let pristine = tempfile::tempdir().unwrap();
    let before = pristine.path().join(rel);
    std::fs::write(&before, tree.original(rel)).unwrap();
    let after = tree.path(rel);
    assert_eq!(
        engines::tags(Engine::Jinja2, &before),
        engines::tags(Engine::Jinja2, &after)
    );
    for experimental in ["True", "False"] {
        let vars = json!({ "compatibility": "intermediate", "experimental": experimental });
        let (b, a) = (
            engines::render(Engine::Jinja2, &before, &vars),
            engines::render(Engine::Jinja2, &after, &vars),
        );
        let changed: Vec<(&str, &str)> = b.lines().zip(a.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(changed.len(), 1, "{experimental}: one header changes");
        let (x, y) = changed[0];
        let prefix = "more_set_headers -a \"Content-Security-Policy : ";
        assert!(x.starts_with(prefix) && y.starts_with(prefix), "{x}\n{y}");
        assert!(y.contains("muserelay.com"), "{y}");
    }
}
