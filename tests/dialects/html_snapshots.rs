//! Reviewed snapshots of what the HTML dialect finds in each fixture.
use crate::common;

use std::path::Path;

use csppatch::dialect::html::Html;
use csppatch::dialect::Dialect;

#[test]
fn find_output_per_fixture() {
    if !common::have_seeds() {
        return;
    }
    for (name, src) in common::browser::fixtures() {
        let scan = Html.find(Path::new(&name), &src).unwrap();
        common::snapshots("html")
            .bind(|| insta::assert_snapshot!(name.clone(), common::php::render(&src, &scan)));
    }
}
