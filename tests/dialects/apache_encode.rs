//! Property tests of the encoders: any text is written so that it decodes back exactly (the
//! decoder itself is checked against a real httpd in `apache_server.rs`), and nothing outside
//! the value changes.

use crate::common;

use csppatch::dialect::apache::Apache;
use csppatch::dialect::Dialect;
use proptest::prelude::*;

use common::apache::{find, FIXTURES};

const STYLES: &[&str] = &[
    "<Location />\n  Header set Content-Security-Policy \"x\" env=A\n</Location>\n",
    "Header always set Content-Security-Policy 'x'\n",
    "Header set Content-Security-Policy x\n# after\n",
];

/// A `${NAME}` httpd would expand: the only text that cannot be written.
fn has_variable(s: &str) -> bool {
    s.find("${")
        .is_some_and(|i| s[i + 2..].find('}').is_some_and(|j| j > 0))
}

proptest! {
    #[test]
    fn encode_value_round_trips(value in "[ -~]{0,40}", style in 0..STYLES.len()) {
        let src = STYLES[style].as_bytes();
        let scan = find("s.conf", src);
        let site = &scan.sites[0];
        match Apache.encode_value(site, src, &value) {
            Ok(bytes) => {
                let mut patched = src[..site.span.start].to_vec();
                patched.extend_from_slice(&bytes);
                patched.extend_from_slice(&src[site.span.end..]);
                let again = find("s.conf", &patched);
                prop_assert_eq!(&again.sites[0].value.text, &value);
                prop_assert!(!bytes.contains(&b'\n'));
            }
            Err(e) => prop_assert!(has_variable(&value), "{value:?}: {e}"),
        }
    }

    #[test]
    fn fragments_round_trip(
        fixture in 0..FIXTURES.len(),
        site_pick in any::<prop::sample::Index>(),
        pos_pick in any::<prop::sample::Index>(),
        fragment in "[ -~]{1,12}",
    ) {
        let src = FIXTURES[fixture].bytes();
        let scan = find("s.conf", &src);
        let site = &scan.sites[site_pick.index(scan.sites.len())];
        let text = &site.value.text;
        let candidates: Vec<usize> = (0..=text.len())
            .filter(|&p| !site.value.touches_opaque(p..p))
            .collect();
        let pos = candidates[pos_pick.index(candidates.len())];
        let at = site.value.raw_insertion_point(pos).unwrap();
        let bare = !matches!(src[site.span.start], b'"' | b'\'');
        match Apache.encode_fragment(site, &src, at, &fragment) {
            Some(bytes) => {
                let mut patched = src[..at].to_vec();
                patched.extend_from_slice(&bytes);
                patched.extend_from_slice(&src[at..]);
                let again = find("s.conf", &patched);
                let new = again.sites.iter().find(|s| s.span.start == site.span.start).unwrap();
                let expected = format!("{}{}{}", &text[..pos], fragment, &text[pos..]);
                prop_assert_eq!(&new.value.text, &expected);
            }
            None => {
                // Refused only where no insertion can be exact: a bare word that would need
                // quotes or continue the line, a `${VAR}`, or right after a backslash that
                // would start an escape.
                let bare_breaks = bare
                    && (fragment.contains(' ')
                        || pos == 0 && fragment.starts_with(['"', '\''])
                        || pos == text.len() && fragment.ends_with('\\'));
                let after_backslash = text[..pos].ends_with('\\');
                prop_assert!(
                    bare_breaks || has_variable(&fragment) || after_backslash,
                    "{:?} at {} in {:?}", fragment, pos, text
                );
            }
        }
    }
}

#[test]
fn line_breaks_cannot_be_written() {
    let src = STYLES[0].as_bytes();
    let scan = find("s.conf", src);
    let e = Apache
        .encode_value(&scan.sites[0], src, "a\nb")
        .unwrap_err();
    assert!(e.contains("APA301"), "{e}");
    assert!(Apache
        .encode_fragment(&scan.sites[0], src, scan.sites[0].span.start + 1, "\r")
        .is_none());
}

#[test]
fn opaque_parts_are_written_back_as_they_were() {
    let src = b"Header set Content-Security-Policy \"script-src 'nonce-%{N}e' %{H}e; x ${HOST}\"\n";
    let scan = find("s.conf", src);
    let site = &scan.sites[0];
    let new = format!("{}; img-src data:", site.value.text);
    let bytes = Apache.encode_value(site, src, &new).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "\"script-src 'nonce-%{N}e' %{H}e; x ${HOST}; img-src data:\""
    );
    // The same text typed as plain characters would be escaped instead.
    let literal = "100% ${X}";
    assert!(
        Apache.encode_value(site, src, literal).is_err(),
        "${{X}} would be expanded"
    );
}

#[test]
fn a_fragment_after_a_trailing_percent_completes_it() {
    let src = b"Header set Content-Security-Policy \"report-uri /r?%\"\n";
    let scan = find("s.conf", src);
    let site = &scan.sites[0];
    let at = site
        .value
        .raw_insertion_point(site.value.text.len())
        .unwrap();
    let bytes = Apache
        .encode_fragment(site, src, at, "; img-src data:")
        .unwrap();
    assert_eq!(bytes, b"%; img-src data:");
}

#[test]
fn a_bare_value_ending_in_a_backslash_is_quoted_not_continued() {
    // Found by `encode_value_round_trips`: `\\\\` then LF would join the next line.
    let src = STYLES[2].as_bytes();
    let scan = find("s.conf", src);
    let bytes = Apache.encode_value(&scan.sites[0], src, "a\\").unwrap();
    assert_eq!(bytes, b"\"a\\\\\\\\\"");
}
