//! End to end: the csppatch binary on copies of fixture trees, then the real server (nginx,
//! Apache, Caddy, `php -S`) on 127.0.0.1 serving the result and headless Chromium loading a
//! page that tries the vendor's widget; the same for templates (rendered by their real
//! engines) and for the Ansible module and playbooks; a sample of the presets' requests in
//! Chromium.

#[path = "../common/mod.rs"]
mod common;

// One module per test file of this folder.
mod ansible;
mod ansible_template;
mod audit_nginx;
mod blade_escape;
mod conformance;
mod e2e_apache;
mod e2e_apache_files;
mod e2e_caddy;
mod e2e_caddy_fixtures;
mod e2e_html;
mod e2e_nginx;
mod e2e_nginx_fixtures;
mod e2e_nginx_tree;
mod e2e_php;
mod e2e_remove;
mod honest;
mod probe_browsers;
mod templates;
mod upstream_csp;
mod upstream_csp_servers;
mod vars_caddy;
mod vars_nginx;
mod vars_nginx_variants;
mod vars_php;
mod vendors_browser;
mod write_safety;
mod write_signals;
