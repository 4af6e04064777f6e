//! Properties over arbitrary input: the tokenizer never panics and is lossless, and every value
//! `encode_value` / `encode_fragment` write decodes back to exactly that value.

use std::path::Path;

use csppatch::dialect::nginx::{self, Nginx};
use csppatch::dialect::Dialect;
use proptest::prelude::*;

/// Bytes weighted towards what matters to nginx's tokenizer.
fn config_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"ab $;{}#\"'\\\n\r\t()".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..200)
}

/// Text a merge could produce: printable ASCII and some non-ASCII, no `$`, no line breaks.
fn policy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::char::range(' ', '~').prop_filter("no $", |c| *c != '$'),
            1 => Just('\t'),
            1 => Just('é'),
        ],
        0..120,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

const STYLES: &[&str] = &[
    "add_header Content-Security-Policy \"default-src 'self'\" always;\n",
    "add_header Content-Security-Policy 'default-src \\'self\\'';\n",
    "add_header Content-Security-Policy upgrade-insecure-requests always;\n",
    "more_set_headers 'Content-Security-Policy: default-src \\'self\\'';\n",
    "more_set_headers Content-Security-Policy:upgrade-insecure-requests;\n",
    "map $a $csp { default \"default-src 'self'\"; }\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tokenizer_is_lossless_and_total(src in config_bytes()) {
        if let Ok(tokens) = nginx::tokenize(&src) {
            let joined: Vec<u8> = tokens.iter().flat_map(|t| src[t.span.clone()].to_vec()).collect();
            prop_assert_eq!(joined, src.clone());
        }
        // find() on anything: a value or a diagnostic, never a panic.
        let _ = Nginx.find(Path::new("p.conf"), &src);
    }

    #[test]
    fn encoded_values_decode_to_themselves(style in 0..STYLES.len(), value in policy_text()) {
        let src = STYLES[style].as_bytes();
        let scan = Nginx.find(Path::new("p.conf"), src).unwrap();
        let site = scan.sites.first().or(scan.bindings.first()).unwrap();
        let encoded = Nginx.encode_value(site, src, &value);
        let headers_more = STYLES[style].starts_with("more_set_headers");
        if headers_more && (value.is_empty() || value.starts_with([' ', '\t', ':'])) {
            // headers-more would drop those bytes, or clear the header.
            prop_assert!(encoded.is_err());
            return Ok(());
        }
        let raw = encoded.unwrap();
        let patched = [&src[..site.span.start], &raw, &src[site.span.end..]].concat();
        let rescan = Nginx.find(Path::new("p.conf"), &patched).unwrap();
        let after = rescan.sites.first().or(rescan.bindings.first()).unwrap();
        prop_assert_eq!(&after.value.text, &value);
    }

    #[test]
    fn fragments_decode_to_themselves(style in 0..STYLES.len(), fragment in policy_text(), cut in 0usize..40) {
        let src = STYLES[style].as_bytes();
        let scan = Nginx.find(Path::new("p.conf"), src).unwrap();
        let site = scan.sites.first().or(scan.bindings.first()).unwrap();
        let text = &site.value.text;
        let pos = cut.min(text.len());
        let at = site.value.raw_insertion_point(pos).unwrap();
        if let Some(raw) = Nginx.encode_fragment(site, src, at, &fragment) {
            let patched = [&src[..at], &raw, &src[at..]].concat();
            let rescan = Nginx.find(Path::new("p.conf"), &patched).unwrap();
            let after = rescan.sites.first().or(rescan.bindings.first()).unwrap();
            let mut expected = text.clone();
            expected.insert_str(pos, &fragment);
            prop_assert_eq!(&after.value.text, &expected);
        }
    }
}
