//! NGX206 against real nginx: an application behind `proxy_pass` that sends its own
//! Content-Security-Policy (here a second nginx server standing in for Nextcloud or Grafana)
//! reaches the browser beside the one `add_header` adds, so csppatch's note must be on exactly
//! the locations where a browser receives two policies, and not where `proxy_hide_header`
//! (inherited like `add_header`: only by a level with none of its own) drops the upstream's.

use crate::common;

/// The site: `{app}` is the upstream's port. Comments give each location's outcome.
const SITE: &str = r#"    server {
        listen 127.0.0.1:{app};
        add_header Content-Security-Policy "script-src 'none'" always;
        return 200 "app\n";
    }
    server {
        listen 127.0.0.1:{front};
        add_header Content-Security-Policy "script-src 'self'" always;
        location / {
            proxy_pass http://127.0.0.1:{app};
        }
        location /hidden/ {
            proxy_hide_header Content-Security-Policy;
            proxy_pass http://127.0.0.1:{app};
        }
        location /other/ {
            proxy_hide_header X-Frame-Options;
            proxy_pass http://127.0.0.1:{app};
        }
        location /nested/ {
            proxy_hide_header Content-Security-Policy;
            location /nested/inner/ {
                proxy_pass http://127.0.0.1:{app};
            }
        }
        location /static/ {
            return 200 "static\n";
        }
    }
"#;

#[test]
fn upstream_policy_note_is_where_the_browser_receives_two_policies() {
    if !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (front, app) = (common::free_port(), common::free_port());
    let site = SITE
        .replace("{app}", &app.to_string())
        .replace("{front}", &front.to_string());
    let conf = tmp.path().join("sites");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("site.conf"), &site).unwrap();
    let run = common::run_in(tmp.path(), &["sites", "--vendor", "muserelay"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let noted: Vec<usize> = run
        .stderr
        .lines()
        .filter(|l| l.contains("note[NGX206]"))
        .map(|l| l.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    let patched = std::fs::read_to_string(conf.join("site.conf")).unwrap();
    let line_of = |needle: &str| site.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // The front's `location /` and `/other/` (hides another header), not `/hidden/`, not
    // `/nested/inner/` (inherits the hide list), not `/static/` (no upstream).
    let pass = |after: &str| {
        let start = line_of(after);
        site.lines()
            .enumerate()
            .skip(start)
            .find(|(_, l)| l.contains("proxy_pass"))
            .unwrap()
            .0
            + 1
    };
    assert_eq!(noted, vec![pass("location / {"), pass("location /other/")]);

    // Served on the port nginx::start picks: only the front's `listen` line changes.
    let listen = format!("listen 127.0.0.1:{front};");
    let server = common::nginx::start(|d, port| {
        let body = patched.replace(&listen, &format!("listen 127.0.0.1:{port};"));
        common::nginx::wrap_http(d, body.as_bytes())
    })
    .unwrap();
    server.assert_front_and_app_policies(&[
        ("/", 2),
        ("/other/", 2),
        ("/hidden/", 1),
        ("/nested/inner/", 1),
        ("/static/", 1),
    ]);
}
