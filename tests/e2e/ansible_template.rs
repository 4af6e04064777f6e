//! The template workflow (ansible/playbooks/template.yml) with the real `ansible-playbook`:
//! csppatch patches templates/nginx.conf.j2 once on the control node, the template module
//! deploys it to three local hosts, and each host's nginx, started on 127.0.0.1 from the
//! deployed file, sends the new policy. A second run changes nothing.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::pytools;
use serde_json::{json, Value};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn play(tmp: &Path, playbook: &Path, inventory: &Path) -> Value {
    let out = pytools::ansible_playbook(tmp, playbook, inventory)
        .arg("--diff")
        .output()
        .expect("run ansible-playbook");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{doc}\n{stderr}");
    doc
}

/// Per task name, the hosts it changed.
fn changed(doc: &Value, task: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen = false;
    for play in doc["plays"].as_array().into_iter().flatten() {
        for t in play["tasks"].as_array().into_iter().flatten() {
            if t["task"]["name"] == task {
                seen = true;
                for (host, r) in t["hosts"].as_object().into_iter().flatten() {
                    if r["changed"] == true {
                        out.insert(host.clone());
                    }
                }
            }
        }
    }
    assert!(seen, "task {task:?} did not run: {doc}");
    out
}

/// The value of the template's CSP `add_header` line.
fn csp_value(template: &str) -> &str {
    let open = "add_header Content-Security-Policy \"";
    let start = template.find(open).expect("a CSP line") + open.len();
    let len = template[start..].find('"').unwrap();
    &template[start..start + len]
}

#[test]
fn csppatch_patches_the_template_and_every_host_serves_the_new_policy() {
    if !pytools::have("ansible-playbook") || !common::have("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The playbook and its template, copied: the run patches the template in "the repository".
    let book = tmp.path().join("ansible");
    fs::create_dir_all(book.join("templates")).unwrap();
    let src = repo().join("ansible/playbooks");
    fs::copy(src.join("template.yml"), book.join("template.yml")).unwrap();
    let original = fs::read_to_string(src.join("templates/nginx.conf.j2")).unwrap();
    fs::write(book.join("templates/nginx.conf.j2"), &original).unwrap();

    let names = ["web1", "web2", "web3"];
    let mut hosts = serde_json::Map::new();
    let mut ports = Vec::new();
    for h in names {
        let dir = tmp.path().join(h);
        fs::create_dir_all(dir.join("www")).unwrap();
        fs::write(dir.join("www/index.html"), format!("<p>{h}</p>\n")).unwrap();
        let port = common::free_port();
        ports.push(port);
        hosts.insert(
            h.to_string(),
            json!({
                "nginx_conf": dir.join("nginx.conf"),
                "nginx_listen": format!("127.0.0.1:{port}"),
                "nginx_root": dir.join("www"),
                "nginx_pid": dir.join("nginx.pid"),
                "nginx_error_log": dir.join("error.log"),
                "nginx_worker_processes": 1,
            }),
        );
    }
    let inventory = tmp.path().join("inventory.yml");
    let doc = json!({"all": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "csppatch_binary": env!("CARGO_BIN_EXE_csppatch"),
            "csppatch_vendors": ["muserelay"],
            "csppatch_service": "",
            "nginx_bin": if Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" },
        },
        "children": {"webservers": {"hosts": hosts}},
    }});
    fs::write(&inventory, doc.to_string()).unwrap();

    let first = play(tmp.path(), &book.join("template.yml"), &inventory);
    let patch_task = "Patch the template's CSP (in the repository, on the control node)";
    let deploy_task = "Deploy nginx.conf from the template (checked by nginx -t first)";
    // run_once: one host reports the template patch.
    assert_eq!(changed(&first, patch_task).len(), 1, "{first}");
    assert_eq!(
        changed(&first, deploy_task),
        names.iter().map(|h| h.to_string()).collect()
    );

    // The template changed in its CSP value only, and now lets the widget through.
    let patched = fs::read_to_string(book.join("templates/nginx.conf.j2")).unwrap();
    let (old_value, new_value) = (csp_value(&original), csp_value(&patched));
    assert_eq!(
        patched.replacen(new_value, old_value, 1),
        original,
        "bytes outside the value"
    );
    assert!(new_value.starts_with(
        "default-src 'self'; script-src 'self' https://cdn.example.com https://muserelay.com;"
    ));

    // Each host serves it: nginx from the deployed file, on 127.0.0.1.
    for (h, port) in names.iter().zip(&ports) {
        let conf = tmp.path().join(h).join("nginx.conf");
        let deployed = fs::read_to_string(&conf).unwrap();
        assert!(!deployed.contains("{{"), "rendered: {deployed}");
        let server = common::nginx::start_file(tempfile::tempdir().unwrap(), &conf, *port)
            .unwrap_or_else(|e| panic!("{h}: {e}"));
        let r = server.get_host("/", h);
        assert_eq!(r.status, 200, "{h}");
        assert_eq!(r.csp(), vec![new_value.to_string()], "{h}");
        assert_eq!(r.body, format!("<p>{h}</p>\n").into_bytes());
        assert_eq!(r.header_values("x-content-type-options"), vec![b"nosniff"]);
    }

    // Again: the template allows the vendor already, the hosts have it.
    let second = play(tmp.path(), &book.join("template.yml"), &inventory);
    assert!(changed(&second, patch_task).is_empty(), "{second}");
    assert!(changed(&second, deploy_task).is_empty(), "{second}");
    assert_eq!(
        fs::read_to_string(book.join("templates/nginx.conf.j2")).unwrap(),
        patched
    );
}
