//! Decode oracle: real PHP 8.2 (`php -S` behind a router that behaves like WordPress's
//! `WP::send_headers()`) sends exactly the value `find()` decoded, for every fixture.
use crate::common;

use std::path::Path;

use common::php::{fixtures, matches, wp_docroot};
use csppatch::dialect::php::Php;
use csppatch::dialect::Dialect;
use csppatch::site::{Disposition, Site};

fn received(resp: &common::http::Response) -> Vec<(Disposition, String)> {
    resp.headers
        .iter()
        .filter_map(|(n, v)| {
            Disposition::from_header_name(n.as_bytes())
                .map(|d| (d, String::from_utf8_lossy(v).into_owned()))
        })
        .collect()
}

#[test]
fn php_sends_exactly_the_decoded_value() {
    if !common::have_seeds() || !common::have("php") {
        return;
    }
    let (dir, router) = wp_docroot();
    let fixtures = fixtures();
    for (name, bytes) in &fixtures {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let server = common::php::start(dir.path(), Some(&router), &[]);
    let (mut sites_checked, mut refused_by_php) = (0, 0);
    for (name, bytes) in &fixtures {
        let scan = Php.find(Path::new(name), bytes).expect("fixture parses");
        let resp = server.get(&format!("/{name}"));
        assert_eq!(resp.status, 200, "{name}: {}", server.log());
        let mut got = received(&resp);
        // The lints that say PHP will not send the header are checked here too.
        let blocked = |s: &Site| {
            s.value.text.contains(['\n', '\r'])
                || scan
                    .diagnostics
                    .iter()
                    .any(|d| d.code == "PHP504" || d.code == "PHP505")
        };
        for site in &scan.sites {
            if blocked(site) {
                refused_by_php += 1;
                continue;
            }
            let pos = got
                .iter()
                .position(|(d, v)| *d == site.disposition && matches(site, v))
                .unwrap_or_else(|| {
                    panic!(
                        "{name}: no header sent as {:?}; PHP sent {got:?}",
                        site.value.text
                    )
                });
            got.remove(pos);
            sites_checked += 1;
        }
        assert!(
            got.is_empty(),
            "{name}: PHP sent CSP headers find() missed: {got:?}"
        );
    }
    let log = server.log();
    assert!(
        log.contains("new line detected"),
        "PHP501 is PHP's own refusal: {log}"
    );
    assert!(
        log.contains("headers already sent"),
        "PHP504/505 are PHP's refusal: {log}"
    );
    eprintln!(
        "{} fixtures: {sites_checked} sites sent exactly as decoded, {refused_by_php} refused by PHP as the lints say",
        fixtures.len()
    );
    assert_eq!((sites_checked, refused_by_php), (16, 5));
}
