//! Encode round trip against real PHP: a fragment spliced at `raw_insertion_point`, or a
//! whole value from `encode_value`, passes `php -l`, changes no byte outside the site, and
//! makes PHP send exactly the new text.
use crate::common;

use std::path::Path;

use common::php::{fixtures, lint, matches, wp_docroot};
use csppatch::dialect::php::Php;
use csppatch::dialect::Dialect;
use csppatch::site::{Disposition, Site};

/// Quotes, backslashes, `$`, `{$`, `%`: everything a literal style must escape.
const FRAGMENT: &str = " https://w.example/p?a=1&b 'nonce-{$a}' \"q\" \\ 100% `x`";
const VALUE: &str =
    "default-src 'self'; script-src 'self' https://w.example 'nonce-{$a}' \"q\" \\ 100%";

struct Case {
    file: String,
    /// Index of the site in the patched file's scan, and the text PHP must send.
    site: usize,
    disposition: Disposition,
    expected: String,
}

fn splice(src: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = src[..range.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&src[range.end..]);
    out
}

/// Where the merge would insert: after the first directive's sources, and at the very end.
fn insertion_points(site: &Site) -> Vec<usize> {
    let text = &site.value.text;
    let mut points = vec![text.len()];
    if let Some(semi) = text.find(';') {
        points.push(semi);
    }
    points.retain(|&p| !site.value.touches_opaque(p..p));
    points
}

#[test]
fn encoded_values_are_sent_exactly_by_php() {
    if !common::have_seeds() || !common::have("php") {
        return;
    }
    let (dir, router) = wp_docroot();
    let mut cases = Vec::new();
    let (mut fragments, mut values, mut refused) = (0, 0, 0);
    for (name, src) in fixtures() {
        let scan = Php.find(Path::new(&name), &src).expect("parses");
        let sendable = !scan
            .diagnostics
            .iter()
            .any(|d| d.code == "PHP504" || d.code == "PHP505");
        for (i, site) in scan.sites.iter().enumerate() {
            // A value expanded from a variable (`$csp = "..."; header('...' . $csp)`) is
            // edited in the assignment's literal, outside the header() call: splice places
            // it there, and tests/e2e/vars_php.rs checks what php -S sends.
            if site.refusal.is_some() || !sendable || !site.value.pieces.is_empty() {
                continue;
            }
            let stem = name.trim_end_matches(".php");
            // 1. A fragment where the merge would put one.
            if site.repaired.is_none() {
                for pos in insertion_points(site) {
                    let at = site
                        .value
                        .raw_insertion_point(pos)
                        .expect("insertion point");
                    assert!(
                        site.span.start <= at && at <= site.span.end,
                        "{name}: {at} outside the value"
                    );
                    let enc = Php
                        .encode_fragment(site, &src, at, FRAGMENT)
                        .unwrap_or_else(|| panic!("{name}: no fragment encoding at {pos}"));
                    let patched = splice(&src, at..at, &enc);
                    assert_eq!(
                        &patched[..site.span.start],
                        &src[..site.span.start],
                        "{name}: prefix changed"
                    );
                    assert_eq!(
                        &patched[site.span.end + enc.len()..],
                        &src[site.span.end..],
                        "{name}: suffix changed"
                    );
                    let text = &site.value.text;
                    let expected = format!("{}{FRAGMENT}{}", &text[..pos], &text[pos..]);
                    let rescan = Php
                        .find(Path::new(&name), &patched)
                        .expect("patched parses");
                    let again = &rescan.sites[i];
                    assert_eq!(
                        again.span,
                        site.span.start..site.span.end + enc.len(),
                        "{name}"
                    );
                    assert!(
                        matches(again, &expected) || again.value.text == expected,
                        "{name}: {:?}",
                        again.value.text
                    );
                    let file = format!("{stem}-site{i}-frag{pos}.php");
                    std::fs::write(dir.path().join(&file), &patched).unwrap();
                    cases.push(Case {
                        file,
                        site: i,
                        disposition: site.disposition,
                        expected,
                    });
                    fragments += 1;
                }
            }
            // 2. The whole value.
            let new_value = site
                .repaired
                .as_ref()
                .map_or(VALUE.to_string(), |r| r.text.clone());
            match Php.encode_value(site, &src, &new_value) {
                Ok(enc) => {
                    assert!(
                        site.value.opaque.is_empty(),
                        "{name}: rewrote a value with run-time parts"
                    );
                    let patched = splice(&src, site.span.clone(), &enc);
                    assert_eq!(&patched[..site.span.start], &src[..site.span.start]);
                    assert_eq!(
                        &patched[site.span.start + enc.len()..],
                        &src[site.span.end..]
                    );
                    let file = format!("{stem}-value{i}.php");
                    std::fs::write(dir.path().join(&file), &patched).unwrap();
                    cases.push(Case {
                        file,
                        site: i,
                        disposition: site.disposition,
                        expected: new_value,
                    });
                    values += 1;
                }
                Err(why) => {
                    assert!(
                        !site.value.opaque.is_empty(),
                        "{name}: encode_value refused: {why}"
                    );
                    refused += 1;
                }
            }
        }
    }
    let server = common::php::start(dir.path(), Some(&router), &[]);
    for case in &cases {
        let path = dir.path().join(&case.file);
        lint(&path).unwrap_or_else(|e| panic!("{}: php -l: {e}", case.file));
        let src = std::fs::read(&path).unwrap();
        let site = &Php.find(Path::new(&case.file), &src).unwrap().sites[case.site];
        let resp = server.get(&format!("/{}", case.file));
        let sent: Vec<String> = resp
            .headers
            .iter()
            .filter(|(n, _)| Disposition::from_header_name(n.as_bytes()) == Some(case.disposition))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect();
        let ok = |v: &String| {
            if site.value.opaque.is_empty() {
                *v == case.expected
            } else {
                matches(site, v)
            }
        };
        assert!(
            sent.iter().any(ok),
            "{}: PHP sent {sent:?}, expected {:?}\n{}",
            case.file,
            case.expected,
            server.log()
        );
    }
    eprintln!("{fragments} fragments and {values} whole values sent exactly by PHP; {refused} values with run-time parts refused");
    assert_eq!(cases.len(), fragments + values);
    assert_eq!((fragments, values, refused), (26, 15, 2));
}
