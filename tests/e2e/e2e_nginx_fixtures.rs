//! Every nginx fixture tree (tests/fixtures/e2e/nginx, the MuseRelay seed, the h5bp
//! boilerplate): a reviewed snapshot of input, diagnostics and diff; no byte outside a CSP
//! value changed; the printed diff reproduces the written files with `patch -p1`.

use crate::common;

use std::path::PathBuf;

use common::tree::{fixture_names, Tally, Tree};

/// The trees that come from ../shared rather than from the project's fixtures.
fn shared_trees() -> Vec<Tree> {
    let seed = std::fs::read(common::seed("muserelay-nginx.conf")).unwrap();
    let mut server = b"server {\n    listen 127.0.0.1:8080;\n".to_vec();
    server.extend_from_slice(&seed);
    server.extend_from_slice(b"}\n");
    let h5bp_dir = common::corpus_dir().join("nginx/h5bp");
    let h5bp: Vec<(PathBuf, Vec<u8>)> = common::corpus_files("nginx/h5bp")
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "LICENSE.txt"))
        .map(|p| {
            (
                p.strip_prefix(&h5bp_dir).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    vec![
        Tree::from_files("muserelay-seed", &[(PathBuf::from("site.conf"), server)]),
        Tree::from_files("h5bp", &h5bp),
    ]
}

#[test]
fn every_fixture_snapshot_bytes_outside_values_and_diff_applies() {
    if !common::have_seeds() || !common::have_corpus() || !common::have("patch") {
        return;
    }
    let mut trees: Vec<Tree> = fixture_names("nginx")
        .iter()
        .map(|n| Tree::fixture("nginx", n))
        .collect();
    trees.extend(shared_trees());
    let mut tally = Tally::default();
    for tree in &trees {
        let out = tree.run(&[&tree.name, "--vendor", "muserelay", "--color", "never"]);
        // h5bp's tree is large: its snapshot keeps only the run (stderr and diff).
        let snapshot = if tree.name == "h5bp" {
            let full = tree.snapshot(&out);
            full[full.find("\n===== exit code").unwrap()..].to_string()
        } else {
            tree.snapshot(&out)
        };
        common::snapshots("e2e-nginx")
            .bind(|| insta::assert_snapshot!(tree.name.clone(), snapshot));
        if tally.check(tree, &out) {
            // Idempotent: the written tree needs nothing more.
            let again = tree.run(&[&tree.name, "--vendor", "muserelay", "--check"]);
            assert_eq!(again.code, Some(0), "{}: {}", tree.name, again.stderr);
        }
    }
    eprintln!("{} fixtures: {tally:?}", trees.len());
    assert_eq!(
        tally,
        Tally {
            patched: 13,
            unchanged: 0,
            refused: 0
        }
    );
}
