//! A rendered configuration checked by its server (`nginx -t`, `apache2 -t`, `caddy
//! validate`), served on 127.0.0.1 with the widget probe page, and loaded in headless
//! Chromium: the CSP violations the page saw.

use std::path::Path;

use serde_json::Value;

use super::common::{apache, caddy, nginx, widget};

/// Which server a rendered template configures, and how it fits in a main config.
#[derive(Debug, Clone, Copy)]
pub enum Server {
    /// Whole `server { }` blocks, for an `http { }` block.
    NginxServers,
    /// Directives for inside a `server { }` (an nginx-ui block template).
    NginxServerBody,
    /// `<VirtualHost>` sections; `@PORT@` and `@ROOT@` in the rendering stand for the port
    /// and the server root (whose `www/` is the document root).
    Apache,
    /// A Caddyfile site block, without global options.
    Caddy,
}

/// What the template's variables need from the place it is served: `port`, and `root`, the
/// directory of the probe page (for Apache the placeholders `@PORT@`, `@ROOT@/www`).
pub struct Place {
    pub port: String,
    pub root: String,
}

/// Render (with `render(place)`), check with the server, serve, and return the violations
/// Chromium reports on the probe page. Panics with the server's message when the check fails.
pub fn violations(server: Server, render: &dyn Fn(&Place) -> String) -> Vec<String> {
    let loads = widget::MUSERELAY_LOADS;
    match server {
        Server::NginxServers | Server::NginxServerBody => {
            let s = nginx::start(|dir, port| {
                let root = dir.join("site");
                widget::write_site(&root, loads);
                let place = Place {
                    port: port.to_string(),
                    root: root.display().to_string(),
                };
                let rendered = render(&place);
                let servers = match server {
                    Server::NginxServerBody => format!(
                        "server {{\n    listen 127.0.0.1:{port};\n    root {};\n{rendered}\n}}\n",
                        place.root
                    ),
                    _ => rendered,
                };
                nginx_main(dir, &servers).into_bytes()
            })
            .unwrap_or_else(|e| panic!("nginx refuses the rendered template: {e}"));
            s.violations("/")
        }
        Server::Apache => {
            let place = Place {
                port: apache::PORT.into(),
                root: format!("{}/www", apache::ROOT),
            };
            let tree = apache::Tree::new(&render(&place), &[]);
            widget::write_site(&tree.root().join("www"), loads);
            apache::open_up(tree.root());
            if let Err(e) = tree.configtest() {
                panic!("apache2 -t refuses the rendered template: {e}");
            }
            tree.start().violations("/")
        }
        Server::Caddy => {
            let setup = caddy::Setup::new();
            let root = setup.path().join("site");
            widget::write_site(&root, loads);
            let place = Place {
                port: setup.port.to_string(),
                root: root.display().to_string(),
            };
            let config = setup.caddyfile(render(&place).as_bytes());
            if let Err(e) = caddy::validate(&config) {
                panic!("caddy validate refuses the rendered template: {e}");
            }
            let s = setup
                .serve_config(&config)
                .unwrap_or_else(|e| panic!("caddy does not serve the rendered template: {e}"));
            s.violations("/")
        }
    }
}

/// A main nginx.conf around `servers`, every file of nginx's own under `dir`.
fn nginx_main(dir: &Path, servers: &str) -> String {
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
         \x20   types {{ text/html html; application/javascript js; }}\n{servers}\n}}\n"
    )
}

/// The variables of a case, with the place filled in.
pub type Vars = fn(variant: &str, place: &Place) -> Value;
