//! The Ansible module (ansible/ansible_collections/csppatch/csppatch) driven by the real
//! `ansible-playbook` (from .venv) over an inventory of hosts reached with
//! `ansible_connection=local`, each with its own nginx tree under a temp directory. The
//! playbooks are the repository's own (ansible/playbooks), the results are read from the
//! JSON stdout callback of tests/support/ansible_callback, and every tree is compared byte for byte.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::pytools;
use serde_json::{json, Value};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a playbook run gave: ansible-playbook's exit status and the json callback's document.
struct Played {
    code: Option<i32>,
    doc: Value,
    stderr: String,
}

impl Played {
    /// Each host's result of the task named `task` (in any play).
    fn task(&self, task: &str) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for play in self.doc["plays"].as_array().into_iter().flatten() {
            for t in play["tasks"].as_array().into_iter().flatten() {
                if t["task"]["name"] == task {
                    for (host, result) in t["hosts"].as_object().into_iter().flatten() {
                        out.insert(host.clone(), result.clone());
                    }
                }
            }
        }
        assert!(!out.is_empty(), "no task {task:?} ran: {}", self.doc);
        out
    }

    /// The hosts whose stats count `key` (changed, failures, ok).
    fn hosts_with(&self, key: &str) -> BTreeSet<String> {
        self.doc["stats"]
            .as_object()
            .unwrap_or_else(|| panic!("no stats: {} {}", self.doc, self.stderr))
            .iter()
            .filter(|(_, s)| s[key].as_u64().unwrap_or(0) > 0)
            .map(|(h, _)| h.clone())
            .collect()
    }
}

fn set(hosts: &[&str]) -> BTreeSet<String> {
    hosts.iter().map(|h| h.to_string()).collect()
}

/// Run `ansible-playbook PLAYBOOK -i INVENTORY ARGS...` (pytools::ansible_playbook).
fn play(tmp: &Path, playbook: &Path, inventory: &Path, args: &[&str]) -> Played {
    let out = pytools::ansible_playbook(tmp, playbook, inventory)
        .args(args)
        .env("ANSIBLE_FORKS", "4")
        .output()
        .expect("run ansible-playbook");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ansible-playbook printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Played {
        code: out.status.code(),
        doc,
        stderr,
    }
}

/// Every file under `dir`: its bytes, or where it links.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
        if e.path_is_symlink() {
            let mut v = b"-> ".to_vec();
            v.extend(
                fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .as_bytes(),
            );
            out.insert(rel, v);
        } else if e.file_type().is_file() {
            out.insert(rel, fs::read(e.path()).unwrap());
        }
    }
    out
}

fn write(root: &Path, rel: &str, body: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
}

// The host trees. nginx.conf is modelled on Debian's nginx package (/etc/nginx/nginx.conf,
// trimmed to what the test needs): conf.d/*.conf and sites-enabled/* included from http.
const NGINX_CONF: &str = "events {\n\tworker_connections 768;\n}\n\nhttp {\n\tsendfile on;\n\tdefault_type application/octet-stream;\n\tinclude conf.d/*.conf;\n\tinclude sites-enabled/*;\n}\n";
// Debian's sites-available/default shape, with a security-headers line.
const SHOP: &str = "server {\n\tlisten 127.0.0.1:8080;\n\tserver_name shop.example.com;\n\troot /var/www/shop;\n\n\tadd_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com; img-src 'self' data:\" always;\n\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n";
// A conf.d vhost (the nginx image's /etc/nginx/conf.d/default.conf shape) with a second
// policy on a location that has headers of its own.
const APP: &str = "server {\n    listen       127.0.0.1:8081;\n    server_name  app.example.com;\n\n    add_header Content-Security-Policy \"default-src 'self'; connect-src 'self' https://api.example.com\" always;\n\n    location / {\n        root   /usr/share/nginx/html;\n        index  index.html index.htm;\n    }\n\n    location /account/ {\n        add_header Cache-Control no-store;\n        add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always;\n    }\n}\n";
// Already allows everything MuseRelay needs (the README's patched example policy).
const CURRENT: &str = "server {\n    listen 127.0.0.1:8082;\n    server_name done.example.com;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://cdn.example.com https://muserelay.com; img-src 'self' data: https://muserelay.com; frame-ancestors 'none'; worker-src 'self' https://cdn.example.com; connect-src 'self' https://muserelay.com wss://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'\" always;\n}\n";
// A vhost whose include nginx -t rejects: csppatch reads it, nginx does not know the
// directive (a module the host lacks), so validation fails before anything is written.
const BLOG: &str = "server {\n\tlisten 127.0.0.1:8083;\n\tserver_name blog.example.com;\n\tadd_header Content-Security-Policy \"default-src 'self'\" always;\n\tinclude snippets/legacy.conf;\n}\n";
const LEGACY: &str = "# from the old server, which had ngx_pagespeed\npagespeed on;\n";

struct Fleet {
    tmp: tempfile::TempDir,
    inventory: PathBuf,
}

impl Fleet {
    fn root(&self, host: &str) -> PathBuf {
        self.tmp.path().join(host).join("etc/nginx")
    }

    fn snapshot(&self, host: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot(&self.root(host))
    }

    fn new() -> Fleet {
        let tmp = tempfile::tempdir().unwrap();
        let f = Fleet {
            inventory: tmp.path().join("inventory.yml"),
            tmp,
        };
        let debian = f.root("debian");
        write(&debian, "nginx.conf", NGINX_CONF);
        write(&debian, "sites-available/shop", SHOP);
        fs::create_dir_all(debian.join("sites-enabled")).unwrap();
        std::os::unix::fs::symlink("../sites-available/shop", debian.join("sites-enabled/shop"))
            .unwrap();
        let confd = f.root("confd");
        write(&confd, "nginx.conf", NGINX_CONF);
        write(&confd, "conf.d/app.conf", APP);
        let current = f.root("current");
        write(&current, "nginx.conf", NGINX_CONF);
        write(&current, "conf.d/done.conf", CURRENT);
        let broken = f.root("broken");
        write(&broken, "nginx.conf", NGINX_CONF);
        write(&broken, "sites-enabled/blog", BLOG);
        write(&broken, "snippets/legacy.conf", LEGACY);

        let hosts: serde_json::Map<String, Value> = ["debian", "confd", "current", "broken"]
            .iter()
            .map(|h| (h.to_string(), json!({ "csppatch_paths": [f.root(h)] })))
            .collect();
        // JSON is YAML: the yaml inventory plugin reads it.
        let inventory = json!({
            "all": {
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    "csppatch_binary": env!("CARGO_BIN_EXE_csppatch"),
                    "csppatch_vendors": ["muserelay"],
                    "csppatch_service": "",
                },
                "children": { "webservers": { "hosts": hosts } },
            }
        });
        fs::write(
            &f.inventory,
            serde_json::to_string_pretty(&inventory).unwrap(),
        )
        .unwrap();
        f
    }
}

/// `after` is `before` with only CSP values changed, each now allowing the vendor's script.
fn assert_only_values_patched(before: &str, after: &str) {
    let csp = "Content-Security-Policy \"";
    let (b, a): (Vec<&str>, Vec<&str>) = (before.split(csp).collect(), after.split(csp).collect());
    assert_eq!(b.len(), a.len(), "{after}");
    assert_eq!(a[0], b[0]);
    for (bp, ap) in b.iter().zip(&a).skip(1) {
        let (bv, brest) = bp.split_once('"').unwrap();
        let (av, arest) = ap.split_once('"').unwrap();
        assert_eq!(arest, brest, "bytes after the value");
        assert!(av.starts_with(bv.split(';').next().unwrap()), "{av}");
        assert!(av.contains("https://muserelay.com"), "{av}");
    }
    assert_ne!(before, after);
}

#[test]
fn check_apply_and_rerun_over_a_fleet_of_three_layouts() {
    if !pytools::have("ansible-playbook") || !common::have("nginx") {
        return;
    }
    let fleet = Fleet::new();
    let hosts = ["debian", "confd", "current", "broken"];
    let before: BTreeMap<&str, _> = hosts.iter().map(|h| (*h, fleet.snapshot(h))).collect();
    let playbook = repo().join("ansible/playbooks/patch.yml");
    let task = "Patch the CSP (only the policy values change)";

    // Check mode: exactly the hosts that would change, the failing one failed, nothing written.
    let check = play(
        fleet.tmp.path(),
        &playbook,
        &fleet.inventory,
        &["--check", "--diff"],
    );
    assert_eq!(check.code, Some(2), "a host failed: {}", check.stderr);
    assert_eq!(check.hosts_with("changed"), set(&["confd", "debian"]));
    assert_eq!(check.hosts_with("failures"), set(&["broken"]));
    for h in hosts {
        assert_eq!(
            fleet.snapshot(h),
            before[h],
            "{h}: check mode writes nothing"
        );
    }
    let results = check.task(task);
    assert_eq!(results["current"]["changed"], false);
    assert!(results["current"]["sites"][0]["after"]
        .as_str()
        .unwrap()
        .contains("https://muserelay.com"));
    // Diff mode: before and after per file, as the template module gives them.
    let diff = results["debian"]["diff"].as_array().expect("a diff list");
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(diff[0]["before_header"]
        .as_str()
        .unwrap()
        .ends_with("sites-available/shop"));
    assert_eq!(diff[0]["before"], SHOP);
    assert_only_values_patched(SHOP, diff[0]["after"].as_str().unwrap());
    assert_eq!(results["confd"]["diff"].as_array().unwrap().len(), 1);
    let msg = results["broken"]["msg"].as_str().unwrap();
    assert!(msg.contains("validation failed"), "{msg}");
    assert!(msg.contains("pagespeed"), "nginx's own message: {msg}");
    assert_eq!(results["broken"]["rc"], 3);

    // Apply: the same hosts change, only their CSP values; the failing host is untouched.
    let apply = play(fleet.tmp.path(), &playbook, &fleet.inventory, &[]);
    assert_eq!(apply.code, Some(2), "{}", apply.stderr);
    assert_eq!(apply.hosts_with("changed"), set(&["confd", "debian"]));
    assert_eq!(apply.hosts_with("failures"), set(&["broken"]));
    for h in ["current", "broken"] {
        assert_eq!(fleet.snapshot(h), before[h], "{h}: nothing written");
    }
    let read = |h: &str, rel: &str| fs::read_to_string(fleet.root(h).join(rel)).unwrap();
    assert_only_values_patched(SHOP, &read("debian", "sites-available/shop"));
    assert_only_values_patched(APP, &read("confd", "conf.d/app.conf"));
    assert_eq!(
        fs::read_link(fleet.root("debian").join("sites-enabled/shop")).unwrap(),
        Path::new("../sites-available/shop"),
        "the link stays a link"
    );
    for h in ["debian", "confd"] {
        let now = fleet.snapshot(h);
        let changed: Vec<_> = now
            .iter()
            .filter(|(p, bytes)| before[h].get(*p) != Some(*bytes))
            .map(|(p, _)| p.clone())
            .collect();
        assert_eq!(changed.len(), 1, "{h}: one file changed: {changed:?}");
        assert_eq!(now.len(), before[h].len(), "{h}: no file added");
    }
    let results = apply.task(task);
    assert_eq!(results["debian"]["written"], true);
    assert!(results["confd"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["changed"] == true));
    let validated: Vec<&str> = results["debian"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["command"].as_str().unwrap())
        .collect();
    assert!(
        validated
            .iter()
            .all(|c| c.contains("nginx -t -c") && c.contains("debian")),
        "each host's own tree is validated: {validated:?}"
    );

    // A second run: no host changes, nothing is written.
    let patched: BTreeMap<&str, _> = hosts.iter().map(|h| (*h, fleet.snapshot(h))).collect();
    let again = play(fleet.tmp.path(), &playbook, &fleet.inventory, &[]);
    assert_eq!(again.hosts_with("changed"), BTreeSet::new(), "idempotent");
    assert_eq!(again.hosts_with("failures"), set(&["broken"]));
    for h in hosts {
        assert_eq!(fleet.snapshot(h), patched[h], "{h}");
    }
}

#[test]
fn errors_fail_the_task_with_csppatchs_diagnostics() {
    if !pytools::have("ansible-playbook") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A value csppatch refuses (exit 2): a CSP whose header value is a variable no file sets.
    write(
        tmp.path(),
        "site/conf.d/app.conf",
        "server {\n    add_header Content-Security-Policy $csp always;\n}\n",
    );
    let inventory = tmp.path().join("inventory.yml");
    let doc = json!({"all": {"hosts": {"web": {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "csppatch_binary": env!("CARGO_BIN_EXE_csppatch"),
        "csppatch_paths": [tmp.path().join("site")],
        "csppatch_validate": false,
        "csppatch_service": "",
    }}, "children": {"webservers": {"hosts": {"web": {}}}}}});
    fs::write(&inventory, doc.to_string()).unwrap();
    let before = snapshot(&tmp.path().join("site"));
    let played = play(
        tmp.path(),
        &repo().join("ansible/playbooks/patch.yml"),
        &inventory,
        &[],
    );
    assert_eq!(played.hosts_with("failures"), set(&["web"]));
    let r = &played.task("Patch the CSP (only the policy values change)")["web"];
    assert_eq!(r["rc"], 2);
    let msg = r["msg"].as_str().unwrap();
    assert!(
        msg.contains("app.conf:2:") && msg.contains("error[E010]"),
        "{msg}"
    );
    assert_eq!(snapshot(&tmp.path().join("site")), before);
}

/// The module's DOCUMENTATION parses as ansible-doc reads it, and documents exactly the
/// options its argument_spec takes.
#[test]
fn ansible_doc_documents_every_option() {
    if !pytools::have("ansible-doc") {
        return;
    }
    let out = pytools::command("ansible-doc")
        .args(["--json", "csppatch.csppatch.csppatch"])
        .env("ANSIBLE_CONFIG", repo().join("ansible/ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("WARNING"), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let module = &doc["csppatch.csppatch.csppatch"];
    let options: BTreeSet<&str> = module["doc"]["options"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let source = fs::read_to_string(
        repo().join("ansible/ansible_collections/csppatch/csppatch/plugins/modules/csppatch.py"),
    )
    .unwrap();
    let spec = source
        .split("argument_spec=dict(")
        .nth(1)
        .unwrap()
        .split("\n        ),")
        .next()
        .unwrap();
    let taken: BTreeSet<&str> = spec
        .lines()
        .filter_map(|l| l.trim().split_once("=dict(").map(|(k, _)| k))
        .collect();
    assert_eq!(options, taken);
    for required in [
        "path",
        "vendor",
        "region",
        "custom_domain",
        "allow",
        "validate",
        "exclude",
        "binary",
    ] {
        assert!(options.contains(required), "{required}");
    }
    let returned: BTreeSet<&str> = module["return"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "sites",
        "files",
        "diagnostics",
        "validations",
        "exit_code",
        "cmd",
    ] {
        assert!(returned.contains(key), "RETURN documents {key}");
    }
    assert!(!module["examples"].as_str().unwrap_or_default().is_empty());
}
