//! Decode oracle: headless Chromium reports each `<meta>` of the parsed document; the CSP
//! metas are exactly the sites `find()` returned, with the same `content` text and the same
//! placement (head or body).
use crate::common;

use std::path::Path;

use common::browser::{dom_metas, dump_dom, fixtures, with_probe, Files, StaticServer, META_PROBE};
use csppatch::dialect::html::Html;
use csppatch::dialect::Dialect;
use csppatch::site::Disposition;

#[test]
fn chromium_sees_exactly_the_decoded_content() {
    if !common::have_seeds() || !common::have("chromium") {
        return;
    }
    let mut files = Files::new();
    files.insert(
        "/probe.js".into(),
        ("text/javascript".into(), META_PROBE.as_bytes().to_vec()),
    );
    let fixtures = fixtures();
    for (name, bytes) in &fixtures {
        files.insert(
            format!("/{name}"),
            ("text/html; charset=utf-8".into(), with_probe(bytes)),
        );
    }
    let server = StaticServer::start(files);
    let mut checked = 0;
    for (name, bytes) in &fixtures {
        let scan = Html.find(Path::new(name), bytes).expect("html never fails");
        let dom = dump_dom(&server.url(&format!("/{name}")));
        let metas =
            dom_metas(&dom).unwrap_or_else(|| panic!("{name}: the probe did not run:\n{dom}"));
        // What the browser enforces from a meta: http-equiv Content-Security-Policy (a
        // Report-Only meta is ignored), content non-empty, in <head> (a template's own tags
        // are text to Chromium, so its placement is not comparable). Those are the sites.
        let template = !name.ends_with(".html");
        let csp: Vec<_> = metas
            .iter()
            .filter(|m| {
                let d = m
                    .http_equiv
                    .as_deref()
                    .and_then(|e| Disposition::from_header_name(e.as_bytes()));
                d == Some(Disposition::Enforce)
                    && m.content.as_deref().is_some_and(|c| !c.is_empty())
                    && (template || m.parent == "head")
            })
            .collect();
        assert_eq!(
            csp.len(),
            scan.sites.len(),
            "{name}: DOM {csp:?}\nsites {:?}",
            scan.sites
        );
        for (m, site) in csp.iter().zip(&scan.sites) {
            assert_eq!(
                m.content.as_deref(),
                Some(site.value.text.as_str()),
                "{name}"
            );
            let d = Disposition::from_header_name(m.http_equiv.as_deref().unwrap_or("").as_bytes());
            assert_eq!(d, Some(site.disposition), "{name}");
            if !template {
                // Placement matters for plain HTML (a template's own tags are text to Chromium).
                let in_head = !site.context.contains("<body>");
                assert_eq!(
                    m.parent == "head",
                    in_head,
                    "{name}: {m:?} vs {}",
                    site.context
                );
            }
            checked += 1;
        }
    }
    eprintln!(
        "{} pages: {checked} CSP metas decoded exactly as Chromium's DOM has them",
        fixtures.len()
    );
    // 14 CSP metas in the fixtures, of which 3 browsers ignore (2 in <body>, 1 Report-Only):
    // those are not sites, and the filter above leaves them out of the DOM side too.
    assert_eq!(checked, 11);
}
