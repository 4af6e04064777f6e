//! `csppatch remove` end to end, one fixture tree per server: patch the tree with a vendor,
//! remove the vendor (`--check` and `--dry-run` first, then `--validate` with the server's own
//! validator), and every file is byte-identical to the original; the real server on 127.0.0.1
//! then sends exactly the policy it sent before the patch.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::tree::{Run, Tree};

fn files(root: &Path) -> BTreeMap<std::path::PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Patch `tree` with muserelay, then remove it; `validate`: the removal runs `--validate`.
/// Returns the removal's run.
fn patch_then_remove(tree: &Tree, validate: bool) -> Run {
    patch_then_remove_in(
        &tree.root().parent().unwrap().to_path_buf(),
        &tree.name,
        validate,
    )
}

fn run_in(parent: &Path, args: &[&str]) -> Run {
    let o = common::csppatch()
        .current_dir(parent)
        .args(args)
        .output()
        .expect("run csppatch");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: o.status.code(),
        stdout: o.stdout,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn patch_then_remove_in(parent: &Path, name: &str, validate: bool) -> Run {
    let root = parent.join(name);
    let original = files(&root);
    let patched = run_in(parent, &[name, "--vendor", "muserelay", "--color", "never"]);
    assert_eq!(patched.code, Some(0), "{}", patched.stderr);
    let after_patch = files(&root);
    assert_ne!(after_patch, original, "the patch changes the tree");

    let check = run_in(
        parent,
        &["remove", "--vendor", "muserelay", name, "--check"],
    );
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(!check.stdout.is_empty(), "--check shows the diff");
    let dry = run_in(
        parent,
        &["remove", "--vendor", "muserelay", name, "--dry-run"],
    );
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    assert!(dry.stderr.contains("sources removed"), "{}", dry.stderr);
    assert_eq!(
        files(&root),
        after_patch,
        "--check and --dry-run write nothing"
    );

    let mut args = vec!["remove", "--vendor", "muserelay", name, "--color", "never"];
    if validate {
        args.push("--validate");
    }
    let removed = run_in(parent, &args);
    assert_eq!(removed.code, Some(0), "{}", removed.stderr);
    assert!(removed.stderr.contains("(written)"), "{}", removed.stderr);
    let now = files(&root);
    for (path, bytes) in &original {
        assert_eq!(
            String::from_utf8_lossy(&now[path]),
            String::from_utf8_lossy(bytes),
            "{} is byte-identical to the original",
            path.display()
        );
    }
    assert_eq!(
        now, original,
        "byte-identical to the original, no file more"
    );
    removed
}

fn validated(run: &Run, validator: &str) {
    for stage in ["before", "after"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.starts_with(&format!("validate ({stage}): "))
                    && l.contains(validator)
                    && l.ends_with(" ok")),
            "{stage}: {validator}\n{}",
            run.stderr
        );
    }
}

#[test]
fn nginx_tree_round_trips_and_nginx_sends_the_original_policy() {
    if !common::have("nginx") {
        return;
    }
    let tree = Tree::fixture("nginx", "none-directive");
    let serve = |conf: &[u8]| {
        // The fixture's server block, on a free port.
        let text = String::from_utf8_lossy(conf).into_owned();
        let body = text
            .lines()
            .filter(|l| l.contains("add_header"))
            .collect::<Vec<_>>()
            .join("\n");
        common::nginx::serve(body.as_bytes()).expect("nginx starts")
    };
    let before = serve(tree.original("site.conf")).header_values("/", "content-security-policy");
    assert_eq!(before.len(), 1);
    let run = patch_then_remove(&tree, true);
    validated(&run, "nginx");
    let after = serve(&tree.read("site.conf")).header_values("/", "content-security-policy");
    assert_eq!(after, before);
}

#[test]
fn apache_tree_round_trips_validated_by_apache2_t() {
    if !common::have("apache2") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e/apache/debian");
    let root = tmp.path().join("debian");
    common::apache::materialize(&from, &root, common::free_port());
    // envvars puts the run, lock and log directories inside the tree.
    for dir in ["run", "lock", "log", "www"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let run = patch_then_remove_in(tmp.path(), "debian", true);
    validated(&run, "apache2");
}

#[test]
fn caddy_tree_round_trips_and_caddy_sends_the_original_policy() {
    if !common::have("caddy") {
        return;
    }
    let tree = Tree::fixture("caddy", "tree");
    let serve = |snippet: &Path| {
        let setup = common::caddy::Setup::new();
        let site = format!(
            "import {}\n{} {{\n\timport security\n\trespond \"ok\"\n}}\n",
            snippet.display(),
            setup.address()
        );
        setup.serve(site.as_bytes()).expect("caddy starts")
    };
    let snippet = tree.path("snippets/security.caddy");
    let before = serve(&snippet).get("/").csp();
    assert!(!before.is_empty());
    let run = patch_then_remove(&tree, true);
    validated(&run, "caddy validate");
    assert_eq!(serve(&snippet).get("/").csp(), before);
}

#[test]
fn php_theme_round_trips_and_php_sends_the_original_policy() {
    if !common::have("php") {
        return;
    }
    let tree = Tree::fixture("php", "nonce-header");
    let sent = |functions: &Path| {
        let server = common::php::serve_theme(functions, &[]);
        // The nonce is new on every request.
        let nonce = regex_free_nonce;
        server
            .get("/")
            .csp()
            .iter()
            .map(|p| nonce(p))
            .collect::<Vec<_>>()
    };
    let before = sent(&tree.path("functions.php"));
    assert!(!before.is_empty());
    let run = patch_then_remove(&tree, true);
    validated(&run, "php -l");
    assert_eq!(sent(&tree.path("functions.php")), before);
}

#[test]
fn html_pages_round_trip_and_nginx_serves_the_original_pages() {
    if !common::have("nginx") {
        return;
    }
    let tree = Tree::fixture("html", "site-tree");
    let body = format!(
        "        root {};\n        index index.html;\n",
        tree.root().display()
    );
    let get = || {
        let server = common::nginx::serve(body.as_bytes()).expect("nginx starts");
        server.get_host("/", "localhost").body
    };
    let before = get();
    // HTML has no validator: the read-back is the check.
    patch_then_remove(&tree, false);
    assert_eq!(get(), before);
    assert_eq!(before, tree.original("index.html"));
}

/// `policy` with each `'nonce-...'` value replaced by `N`.
fn regex_free_nonce(policy: &String) -> String {
    policy
        .split(' ')
        .map(|t| {
            if t.starts_with("'nonce-") {
                "'nonce-N'"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
