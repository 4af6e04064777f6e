//! Reviewed snapshots of what the PHP dialect finds in each fixture: sites, decoded values
//! (opaque parts in ⟦ ⟧), contexts, refusals, repairs and lints.
use crate::common;

use std::path::Path;

use csppatch::dialect::php::Php;
use csppatch::dialect::Dialect;

#[test]
fn find_output_per_fixture() {
    if !common::have_seeds() {
        return;
    }
    for (name, src) in common::php::fixtures() {
        let scan = Php.find(Path::new(&name), &src).expect("fixture parses");
        let snap = name.trim_end_matches(".php").to_string();
        common::snapshots("php")
            .bind(|| insta::assert_snapshot!(snap, common::php::render(&src, &scan)));
    }
}

#[test]
fn seed_rewritten_whole_keeps_its_concatenation_layout() {
    if !common::have_seeds() {
        return;
    }
    let (name, src) = common::php::fixtures()
        .into_iter()
        .find(|(n, _)| n == "muserelay-functions.php")
        .unwrap();
    let scan = Php.find(Path::new(&name), &src).unwrap();
    let site = &scan.sites[0];
    let new = format!("{} frame-src https://embed.example;", site.value.text);
    let enc = Php.encode_value(site, &src, &new).expect("static value");
    let mut patched = src[..site.span.start].to_vec();
    patched.extend_from_slice(&enc);
    patched.extend_from_slice(&src[site.span.end..]);
    common::snapshots("php").bind(|| {
        insta::assert_snapshot!(
            "muserelay-encode-value",
            String::from_utf8(patched).unwrap()
        )
    });
}
