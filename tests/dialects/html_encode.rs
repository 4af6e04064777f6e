//! Splicing round trip checked by Chromium: a fragment from `encode_fragment` at
//! `raw_insertion_point`, or a value from `encode_value`, changes no byte outside the value,
//! and the DOM's `content` is exactly the new text.
use crate::common;

use std::path::Path;

use common::browser::{dom_metas, dump_dom, fixtures, with_probe, Files, StaticServer, META_PROBE};
use csppatch::dialect::html::Html;
use csppatch::dialect::Dialect;

/// Everything an attribute value must escape: quotes of both kinds, `&` before a name.
const FRAGMENT: &str = " https://w.example/?a=1&copy=2&amp; 'q' \"d\" <x>";
const VALUE: &str = "default-src 'self' https://w.example/?a&b \"d\"; img-src data:";

fn splice(src: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    [&src[..range.start], with, &src[range.end..]].concat()
}

#[test]
fn spliced_values_are_what_chromium_reads() {
    if !common::have_seeds() || !common::have("chromium") {
        return;
    }
    let mut pages = Vec::new(); // (name, bytes, site index, expected content)
    for (name, src) in fixtures() {
        let scan = Html.find(Path::new(&name), &src).unwrap();
        for (i, site) in scan.sites.iter().enumerate() {
            if site.refusal.is_some() {
                continue;
            }
            let text = &site.value.text;
            let mut points = vec![text.trim_end().len()];
            if let Some(semi) = text.find(';') {
                points.push(semi);
            }
            for pos in points
                .into_iter()
                .filter(|&p| !site.value.touches_opaque(p..p))
            {
                let at = site.value.raw_insertion_point(pos).unwrap();
                let Some(enc) = Html.encode_fragment(site, &src, at, FRAGMENT) else {
                    // Spaces cannot go into an unquoted value: the value is re-encoded whole.
                    assert!(
                        !matches!(src[site.span.start], b'"' | b'\''),
                        "{name}: no fragment at {pos}"
                    );
                    continue;
                };
                let patched = splice(&src, at..at, &enc);
                assert_eq!(
                    &patched[..site.span.start],
                    &src[..site.span.start],
                    "{name}"
                );
                assert_eq!(
                    &patched[site.span.end + enc.len()..],
                    &src[site.span.end..],
                    "{name}"
                );
                let expected = format!("{}{FRAGMENT}{}", &text[..pos], &text[pos..]);
                let again = &Html.find(Path::new(&name), &patched).unwrap().sites[i];
                assert_eq!(again.value.text, expected, "{name}");
                pages.push((format!("{i}-{pos}-{name}"), patched, i, expected));
            }
            match Html.encode_value(site, &src, VALUE) {
                Ok(enc) => {
                    let patched = splice(&src, site.span.clone(), &enc);
                    assert_eq!(&patched[..site.span.start], &src[..site.span.start]);
                    assert_eq!(
                        &patched[site.span.start + enc.len()..],
                        &src[site.span.end..]
                    );
                    pages.push((format!("{i}-value-{name}"), patched, i, VALUE.to_string()));
                }
                Err(_) => assert!(
                    !site.value.opaque.is_empty(),
                    "{name}: encode_value refused"
                ),
            }
        }
    }
    let mut files = Files::new();
    files.insert(
        "/probe.js".into(),
        ("text/javascript".into(), META_PROBE.as_bytes().to_vec()),
    );
    for (name, bytes, _, _) in &pages {
        files.insert(
            format!("/{name}"),
            ("text/html; charset=utf-8".into(), with_probe(bytes)),
        );
    }
    let server = StaticServer::start(files);
    for (name, bytes, i, expected) in &pages {
        let scan = Html.find(Path::new(name), bytes).unwrap();
        let site = &scan.sites[*i];
        let dom = dump_dom(&server.url(&format!("/{name}")));
        let metas = dom_metas(&dom).unwrap_or_else(|| panic!("{name}: probe did not run"));
        let contents: Vec<_> = metas.iter().filter_map(|m| m.content.clone()).collect();
        if site.value.opaque.is_empty() {
            assert!(
                contents.contains(expected),
                "{name}: DOM has {contents:?}, expected {expected:?}"
            );
        } else {
            // A template's tags reach Chromium unrendered: compare with the decoded stand-ins.
            assert!(contents.contains(&site.value.text), "{name}: {contents:?}");
        }
    }
    eprintln!(
        "{} patched pages read back exactly by Chromium",
        pages.len()
    );
    assert_eq!(pages.len(), 26);
}
