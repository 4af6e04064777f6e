//! `csppatch audit` against the real nginx: the policy the audit reports is the header nginx
//! sends, byte for byte (a `set` variable expanded), and the trap it reports (NGX202: a
//! location with an add_header of its own inherits none of the server's) is real: nginx sends
//! no CSP there, while a location without add_header gets the server's.

use crate::common;

use serde_json::Value;

/// A server block after h5bp/server-configs-nginx (`add_header Content-Security-Policy ...
/// always;` at server level) and the static-files location of many Docker images' default.conf
/// that sets its own Cache-Control.
const BODY: &str = r#"        set $csp_base "default-src 'self'; img-src 'self' data:";
        add_header Content-Security-Policy "$csp_base; script-src 'self'" always;
        location = /page {
            return 200 "page";
        }
        location /static/ {
            add_header Cache-Control "public";
            return 200 "static";
        }
"#;

#[test]
fn the_audited_policy_is_what_nginx_sends_and_the_trap_is_real() {
    if !common::have("nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("nginx.conf");
    let server = common::nginx::start(|d, port| {
        let conf = common::nginx::wrap_server(d, port, BODY.as_bytes());
        std::fs::write(&copy, &conf).unwrap();
        conf
    })
    .expect("nginx starts");

    let out = common::csppatch()
        .args(["audit", "nginx.conf", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let doc: Value = common::json::parse_checked("audit", &out.stdout);
    assert_eq!(doc["exit_code"], 0, "{doc:#}");
    let sites = doc["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{doc:#}");
    let policy = sites[0]["policy"].as_str().unwrap();
    assert_eq!(sites[0]["context"], "server localhost", "{doc:#}");

    // What the browser receives on a page of the server: the audited policy.
    assert_eq!(server.csp("/page"), [policy.to_string()]);
    assert_eq!(
        policy,
        "default-src 'self'; img-src 'self' data:; script-src 'self'"
    );

    // The trap: reported at the location, and nginx indeed sends no CSP there.
    let traps = doc["traps"].as_array().unwrap();
    assert_eq!(traps.len(), 1, "{doc:#}");
    assert_eq!(traps[0]["code"], "NGX202");
    let line = traps[0]["location"]["line"].as_u64().unwrap() as usize;
    let conf = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(
        conf.lines().nth(line - 1).unwrap().trim(),
        "location /static/ {"
    );
    let r = server.get("/static/x");
    assert_eq!(r.values("Cache-Control"), ["public"]);
    assert_eq!(
        r.csp(),
        Vec::<String>::new(),
        "nginx sends no CSP under /static/"
    );
}
