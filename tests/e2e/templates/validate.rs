//! `--validate` on templates: rendered with the real engine and the variables of
//! `--template-vars`, checked by the server before and after the patch; missing variables
//! named. And `--template`: forced, or `none`.

use serde_json::Value;

use super::common;
use super::engines::{self, Engine};
use super::fixture;

fn json_report(run: &common::tree::Run) -> Value {
    if let Err(e) = serde_json::from_slice::<Value>(&run.stdout) {
        panic!("{e}: {}", run.stderr);
    }
    common::json::parse_checked("patch", &run.stdout)
}

/// A validated write of `file` in fixture `name` with the variables `vars` (YAML): the
/// renderings before and after both pass the server's check and the file is written.
fn validated_write(name: &str, file: &str, engine: Engine, server: &str, vars: &str) {
    if !engines::available(engine) || !common::have(server) {
        return;
    }
    let tree = fixture(name);
    std::fs::write(tree.tmp.path().join("vars.yml"), vars).unwrap();
    let path = format!("{name}/{file}");
    let run = tree.run(&[
        &path,
        "--vendor",
        "muserelay",
        "--validate",
        "--template-vars",
        "vars.yml",
        "--format",
        "json",
    ]);
    let report = json_report(&run);
    assert_eq!(run.code, Some(0), "{name}: {report:#}");
    let validations = report["validations"].as_array().expect("validations");
    let stages: Vec<(&str, bool)> = validations
        .iter()
        .map(|v| (v["stage"].as_str().unwrap(), v["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [("before", true), ("after", true)],
        "{name}: {report:#}"
    );
    let command = validations[0]["command"].as_str().unwrap();
    assert!(
        command.contains(server),
        "{name}: the server checks the rendering: {command}"
    );
    assert_eq!(tree.changed().len(), 1, "{name}: written after validation");
}

#[test]
fn validate_renders_jinja2_for_nginx() {
    validated_write(
        "yunohost-jinja2-nginx",
        "server.conf.j2",
        Engine::Jinja2,
        "nginx",
        "port: 8080\nroot: /tmp\ndomain: example.org\nmail_enabled: 'True'\n\
         experimental: 'False'\nredirect_to_https: 'True'\nscript_cdn: https://cdn.example\n",
    );
}

#[test]
fn validate_renders_erb_for_apache_and_go_for_caddy_and_envsubst_from_json() {
    validated_write(
        "chef-erb-apache",
        "web_app.conf.erb",
        Engine::Erb,
        "apache2",
        "port: 8081\nserver_name: example.org\ndocroot: /srv/www\ncsp_enabled: true\nreport_uri: /csp\n",
    );
    validated_write(
        "consul-go-caddy",
        "Caddyfile.ctmpl",
        Engine::Go,
        "caddy",
        "Site:\n  Address: http://127.0.0.1:8082\n  Root: /srv/www\n  ReportURI: /csp\n",
    );
    // JSON is YAML too.
    validated_write(
        "docker-envsubst-nginx",
        "default.conf.template",
        Engine::Envsubst,
        "nginx",
        r#"{"NGINX_PORT": "8083", "NGINX_HOST": "example.org", "NGINX_ROOT": "/srv/www", "CSP_REPORT_URI": "/csp"}"#,
    );
}

#[test]
fn validate_names_the_variables_that_are_missing() {
    if !engines::available(Engine::Jinja2) || !common::have("nginx") {
        return;
    }
    let tree = fixture("yunohost-jinja2-nginx");
    std::fs::write(
        tree.tmp.path().join("vars.json"),
        r#"{"port": 8080, "root": "/srv"}"#,
    )
    .unwrap();
    let path = "yunohost-jinja2-nginx/server.conf.j2";
    let run = tree.run(&[
        path,
        "--vendor",
        "muserelay",
        "--validate",
        "--template-vars",
        "vars.json",
    ]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the Jinja2 template needs variables that vars.json does not set: domain, mail_enabled, experimental, script_cdn, redirect_to_https"
        ),
        "{}",
        run.stderr
    );
    tree.assert_untouched();
    let run = tree.run(&[path, "--vendor", "muserelay", "--validate"]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no --template-vars FILE gives: port, domain"),
        "{}",
        run.stderr
    );
    tree.assert_untouched();
}

#[test]
fn a_bad_vars_file_is_a_usage_error_with_its_line() {
    let tree = fixture("yunohost-jinja2-nginx");
    std::fs::write(tree.tmp.path().join("vars.yml"), "port: [80\n").unwrap();
    let run = tree.run(&[
        "yunohost-jinja2-nginx",
        "--vendor",
        "muserelay",
        "--template-vars",
        "vars.yml",
    ]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("--template-vars vars.yml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn template_none_reads_the_file_as_it_is_and_a_forced_engine_applies() {
    let tree = fixture("yunohost-jinja2-nginx");
    let path = "yunohost-jinja2-nginx/server.conf.j2";
    let plain = tree.run(&[
        path,
        "--vendor",
        "muserelay",
        "--dry-run",
        "--template",
        "none",
    ]);
    assert_eq!(plain.code, Some(2), "{}", plain.stderr);
    assert!(
        plain.stderr.contains("NGX001"),
        "nginx itself refuses the raw template: {}",
        plain.stderr
    );
    // A template without a template extension: told by content, or forced.
    let tree = fixture("chef-erb-nginx");
    std::fs::rename(tree.path("site.erb"), tree.path("site.conf")).unwrap();
    for extra in [&[][..], &["--template", "erb"][..]] {
        let mut args = vec![
            "chef-erb-nginx/site.conf",
            "--vendor",
            "muserelay",
            "--dry-run",
        ];
        args.extend_from_slice(extra);
        let run = tree.run(&args);
        assert_eq!(run.code, Some(0), "{extra:?}: {}", run.stderr);
        assert!(String::from_utf8_lossy(&run.stdout).contains("<%= @csp_extra %>\" always;"));
    }
    let wrong = tree.run(&[
        "chef-erb-nginx/site.conf",
        "--vendor",
        "muserelay",
        "--dry-run",
        "--template",
        "jinja2",
    ]);
    assert_eq!(
        wrong.code,
        Some(2),
        "ERB read as Jinja2 does not parse: {}",
        wrong.stderr
    );
}

/// As Jinja2's lexer: the `}` of the block is read inside the unclosed `{{`.
#[test]
fn an_unclosed_tag_is_refused_with_its_place() {
    let tree = common::tree::Tree::from_files(
        "broken",
        &[(
            "nginx.conf.j2".into(),
            b"server {\n    server_name {{ domain;\n}\n".to_vec(),
        )],
    );
    let run = tree.run(&["broken", "--vendor", "muserelay", "--dry-run"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains(
            "broken/nginx.conf.j2:3:1: error[TPL001]: Jinja2: unexpected `}` in `{{` tag"
        ),
        "{}",
        run.stderr
    );
}

/// A template's includes name files on the hosts it is rendered onto: csppatch neither reads
/// nor patches this machine's file of that name, and says so (TPL004).
#[test]
fn a_templates_includes_are_not_followed() {
    let snippet = b"add_header Content-Security-Policy \"default-src 'self'\" always;\n".to_vec();
    let tree =
        common::tree::Tree::from_files("inc", &[("snippets/csp.conf".into(), snippet.clone())]);
    let include = tree.path("snippets/csp.conf");
    let template = format!(
        "server {{\n    server_name {{{{ domain }}}};\n    include {};\n}}\n",
        include.display()
    );
    std::fs::write(tree.tmp.path().join("server.conf.j2"), &template).unwrap();
    let run = tree.run(&["server.conf.j2", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("server.conf.j2:3:5: note[TPL004]: this template's include is not followed"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&include).unwrap(),
        snippet,
        "the included file is not patched"
    );
    assert!(run.stdout.is_empty());
}

/// A template is the dialect of the file it renders to; an HTML template stays HTML.
#[test]
fn templates_are_detected_as_the_file_they_render_to() {
    use csppatch::dialect::DialectKind;
    use csppatch::template::detect_dialect as detect;
    use std::path::Path;
    let cases: &[(&str, &[u8], Option<DialectKind>)] = &[
        (
            "templates/nginx.conf.j2",
            b"{% if x %}\n",
            Some(DialectKind::Nginx),
        ),
        (
            "templates/default.conf.template",
            b"server {\n    listen ${NGINX_PORT};\n    server_name ${NGINX_HOST};\n}\n",
            Some(DialectKind::Nginx),
        ),
        (
            "templates/apache.conf.erb",
            b"<VirtualHost *:<%= @port %>>\n  ServerName <%= @name %>\n</VirtualHost>\n",
            Some(DialectKind::Apache),
        ),
        (
            "Caddyfile.tmpl",
            b"{{ .Domain }} {\n\tfile_server\n}\n",
            Some(DialectKind::Caddy),
        ),
        (
            "templates/index.html.j2",
            b"<p>{{ x }}</p>",
            Some(DialectKind::Html),
        ),
        (
            "templates/page.j2",
            b"{% block content %}{% endblock %}",
            Some(DialectKind::Html),
        ),
        ("templates/motd.tmpl", b"Welcome {{ .User }}\n", None),
    ];
    for (path, head, kind) in cases {
        assert_eq!(detect(Path::new(path), head), *kind, "{path}");
    }
}
