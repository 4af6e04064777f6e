//! APA312 and CDY409 against real httpd and Caddy: an application behind the proxy (`php -S`
//! standing in for Nextcloud or Grafana) sends its own Content-Security-Policy, and the note
//! must be on exactly the proxying directives whose responses carry two policies, as
//! measured here from what the server sends after csppatch patched it.

use crate::common;

/// The application: every response carries its own policy.
fn app() -> (tempfile::TempDir, common::server::Server) {
    let dir = tempfile::tempdir().unwrap();
    let router = dir.path().join("router.php");
    std::fs::write(
        &router,
        "<?php header(\"Content-Security-Policy: script-src 'none'\"); echo \"app\\n\";\n",
    )
    .unwrap();
    let server = common::php::start(dir.path(), Some(&router), &[]);
    (dir, server)
}

/// csppatch (MuseRelay) on `site` as `sites/site.conf` of a fresh directory: its run (exit 0
/// asserted) and the patched file.
fn patch_apache_site(site: &str) -> (common::Run, String) {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("sites");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("site.conf"), site).unwrap();
    let run = common::run_in(tmp.path(), &["sites", "--vendor", "muserelay"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let patched = std::fs::read_to_string(conf.join("site.conf")).unwrap();
    (run, patched)
}

/// The lines of `src` the run's `note[CODE]`s are at (all in one file).
fn noted(stderr: &str, code: &str) -> Vec<usize> {
    stderr
        .lines()
        .filter(|l| l.contains(&format!("note[{code}]")))
        .map(|l| l.split(':').nth(1).unwrap().parse().unwrap())
        .collect()
}

/// The 1-based line of the first line containing `what` after the one containing `after`.
fn line_after(src: &str, after: &str, what: &str) -> usize {
    let start = src.lines().position(|l| l.contains(after)).unwrap();
    src.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(what))
        .unwrap()
        .0
        + 1
}

/// Each location's outcome is in the test below; `{app}` is the application's port.
const APACHE_SITE: &str = r#"LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
<Location /always/>
    Header always set Content-Security-Policy "script-src 'self'"
    ProxyPass http://127.0.0.1:{app}/
</Location>
<Location /onsuccess/>
    Header set Content-Security-Policy "script-src 'self'"
    ProxyPass http://127.0.0.1:{app}/
</Location>
<Location /unset/>
    Header unset Content-Security-Policy
    Header always set Content-Security-Policy "script-src 'self'"
    ProxyPass http://127.0.0.1:{app}/
</Location>
<Location /alwaysunset/>
    Header always unset Content-Security-Policy
    Header always set Content-Security-Policy "script-src 'self'"
    ProxyPass http://127.0.0.1:{app}/
</Location>
<Location /handler/>
    Header always set Content-Security-Policy "script-src 'self'"
    SetHandler "proxy:http://127.0.0.1:{app}"
</Location>
RewriteEngine on
RewriteRule ^/rw/ http://127.0.0.1:{app}/ [P]
<Location /rw/>
    Header always set Content-Security-Policy "script-src 'self'"
</Location>
<Location /static/>
    Header always set Content-Security-Policy "script-src 'self'"
</Location>
"#;

#[test]
fn apache_backend_note_is_where_the_browser_receives_two_policies() {
    if !common::have("apache2") || !common::have("php") {
        return;
    }
    let (_app_dir, backend) = app();
    let site = APACHE_SITE.replace("{app}", &backend.port.to_string());
    let (run, patched) = patch_apache_site(&site);
    assert_eq!(
        noted(&run.stderr, "APA312"),
        vec![
            line_after(&site, "Location /always/", "ProxyPass"),
            line_after(&site, "Location /alwaysunset/", "ProxyPass"),
            line_after(&site, "Location /handler/", "SetHandler"),
            line_after(&site, "RewriteEngine", "RewriteRule"),
        ],
        "{}",
        run.stderr
    );
    let server =
        common::apache::Tree::new(&patched, &[("www/static/index.html", b"static\n")]).start();
    server.assert_front_and_app_policies(&[
        ("/always/", 2),
        ("/onsuccess/", 1),
        ("/unset/", 1),
        ("/alwaysunset/", 2),
        ("/handler/", 2),
        ("/rw/", 2),
        ("/static/", 1),
    ]);
}

/// `{app}`: the application's port; `{front}`: Caddy's.
const CADDY_SITE: &str = r#"http://127.0.0.1:{front} {
	handle /plain/* {
		header Content-Security-Policy "script-src 'self'"
		reverse_proxy 127.0.0.1:{app}
	}
	handle /defer/* {
		header {
			Content-Security-Policy "script-src 'self'"
			defer
		}
		reverse_proxy 127.0.0.1:{app}
	}
	handle /delete/* {
		header {
			Content-Security-Policy "script-src 'self'"
			-Server
		}
		reverse_proxy 127.0.0.1:{app}
	}
	handle /down/* {
		header Content-Security-Policy "script-src 'self'"
		reverse_proxy 127.0.0.1:{app} {
			header_down -Content-Security-Policy
		}
	}
	handle /add/* {
		header +Content-Security-Policy "script-src 'self'" {
			defer
		}
		reverse_proxy 127.0.0.1:{app}
	}
	handle /fall/* {
		route {
			header Content-Security-Policy "script-src 'self'"
		}
		reverse_proxy 127.0.0.1:{app}
	}
	handle {
		header Content-Security-Policy "script-src 'self'"
		respond "static"
	}
}
"#;

#[test]
fn caddy_upstream_note_is_where_the_browser_receives_two_policies() {
    if !common::have("caddy") || !common::have("php") {
        return;
    }
    let (_app_dir, backend) = app();
    let setup = common::caddy::Setup::new();
    let site = CADDY_SITE
        .replace("{app}", &backend.port.to_string())
        .replace("{front}", &setup.port.to_string());
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Caddyfile"), &site).unwrap();
    let run = common::run_in(tmp.path(), &["Caddyfile", "--vendor", "muserelay"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let proxy = |after: &str| line_after(&site, after, "reverse_proxy");
    assert_eq!(
        noted(&run.stderr, "CDY409"),
        vec![proxy("/plain/*"), proxy("/add/*"), proxy("/fall/*")],
        "{}",
        run.stderr
    );
    let patched = std::fs::read(tmp.path().join("Caddyfile")).unwrap();
    let server = setup.serve(&patched).expect("caddy starts");
    server.assert_front_and_app_policies(&[
        ("/plain/x", 2),
        ("/defer/x", 1),
        ("/delete/x", 1),
        ("/down/x", 1),
        ("/add/x", 2),
        ("/fall/x", 2),
        ("/", 1),
    ]);
}

/// Behind `proxy:fcgi://` (PHP-FPM), the backend's headers land in the `always` table: there
/// `Header set` is the one sent beside them, and `Header always set` replaces them.
const APACHE_FCGI_SITE: &str = r#"LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
<Location /onsuccess/>
    Header set Content-Security-Policy "script-src 'self'"
    SetHandler "proxy:fcgi://127.0.0.1:{app}"
</Location>
<Location /always/>
    Header always set Content-Security-Policy "script-src 'self'"
    SetHandler "proxy:fcgi://127.0.0.1:{app}"
</Location>
<Location /alwaysunset/>
    Header always unset Content-Security-Policy
    Header set Content-Security-Policy "script-src 'self'"
    ProxyPass fcgi://127.0.0.1:{app}/
</Location>
"#;

#[test]
fn apache_fcgi_backend_note_is_where_the_browser_receives_two_policies() {
    if !common::have("apache2") || !common::have("python3") {
        return;
    }
    let backend = common::fcgi::start("Content-Security-Policy: script-src 'none'");
    let site = APACHE_FCGI_SITE.replace("{app}", &backend.port.to_string());
    let (run, patched) = patch_apache_site(&site);
    assert_eq!(
        noted(&run.stderr, "APA312"),
        vec![line_after(&site, "Location /onsuccess/", "SetHandler")],
        "{}",
        run.stderr
    );
    let server = common::apache::Tree::new(&patched, &[]).start();
    server.assert_front_and_app_policies(&[
        ("/onsuccess/", 2),
        ("/always/", 1),
        ("/alwaysunset/", 1),
    ]);
}
