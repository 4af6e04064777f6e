//! Splicing: an `encode_fragment` inserted at a `Decoded::raw_insertion_point`, or an
//! `encode_value` replacing a site's span, changes no byte outside the value's span, and the
//! file then reads (to the Caddy dialect) as the old value with the edit, other sites intact.
//! That the dialect's reading is Caddy's is shown by tests/dialects/caddy_oracle.rs and
//! tests/dialects/caddy_adapt_fuzz.rs; this test covers many more shapes of values and fragments.
use std::path::Path;

use csppatch::dialect::DialectKind;
use csppatch::site::FileScan;
use proptest::prelude::*;

fn scan(src: &[u8]) -> FileScan {
    DialectKind::Caddy
        .dialect()
        .find(Path::new("Caddyfile"), src)
        .expect("the file parses")
}

/// The file around the value under test: a snippet, a comment, a second CSP site.
fn file(value: &str) -> Vec<u8> {
    format!(
        "(snip) {{\n\theader X-Other \"x\"\n}}\nexample.com {{\n\t# comment \"{{\n\theader Content-Security-Policy {value}\n\theader +Content-Security-Policy-Report-Only \"default-src 'none'\"\n\timport snip\n}}\n"
    )
    .into_bytes()
}

fn double_quoted() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z:/.;'-]{1,8}",
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\\\"".to_string()),
        Just("\\\\".to_string()),
        Just("\\{".to_string()),
        Just("\\}".to_string()),
        Just("\\d".to_string()),
        Just("{http.request.uuid}".to_string()),
        Just("é".to_string()),
        Just("`".to_string()),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|p| format!("\"{}\"", p.concat()))
}

fn backtick() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z:/.;'-]{1,8}",
        Just(" ".to_string()),
        Just("\\".to_string()),
        Just("\"".to_string()),
        Just("\\{".to_string()),
        Just("{http.request.host}".to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|p| format!("`{}`", p.concat()))
}

fn bare() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z:/.;'-]{1,8}",
        Just("\\x".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("{x}".to_string()),
    ];
    ("[a-z]{1,4}", prop::collection::vec(piece, 0..4))
        .prop_map(|(a, p)| format!("{a}{}", p.concat()))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![3 => double_quoted(), 1 => backtick(), 1 => bare()]
}

/// Fragments with every character that needs care in some quoting style.
fn fragment() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z:/.]{1,6}",
            Just(" ".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("`".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\\".to_string()),
            Just("$".to_string()),
            Just(";".to_string()),
            Just("é".to_string()),
        ],
        1..6,
    )
    .prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn fragments_touch_only_the_value(value in value(), fragment in fragment(), pick in 0usize..1000) {
        let src = file(&value);
        let before = scan(&src);
        let site = &before.sites[0];
        let text = &site.value.text;
        // Any character boundary outside placeholders; an empty value has no insertion point
        // (the pipeline re-encodes it whole).
        let spots: Vec<usize> = (0..=text.len())
            .filter(|&p| text.is_char_boundary(p) && !site.value.touches_opaque(p..p))
            .filter(|&p| site.value.raw_insertion_point(p).is_some())
            .collect();
        if spots.is_empty() {
            return Ok(());
        }
        let pos = spots[pick % spots.len()];
        let at = site.value.raw_insertion_point(pos).expect("filtered above");
        prop_assert!(site.span.start <= at && at <= site.span.end);
        let dialect = DialectKind::Caddy.dialect();
        if let Some(raw) = dialect.encode_fragment(site, &src, at, &fragment) {
            let after = [&src[..at], raw.as_slice(), &src[at..]].concat();
            prop_assert_eq!(&after[..site.span.start], &src[..site.span.start]);
            prop_assert_eq!(&after[site.span.end + raw.len()..], &src[site.span.end..]);
            let rescan = scan(&after);
            prop_assert_eq!(rescan.sites.len(), before.sites.len());
            prop_assert_eq!(&rescan.sites[0].value.text, &format!("{}{fragment}{}", &text[..pos], &text[pos..]));
            prop_assert!(rescan.sites[0].refusal.is_none());
            for (a, b) in rescan.sites.iter().zip(&before.sites).skip(1) {
                prop_assert_eq!(&a.value.text, &b.value.text);
            }
        }
    }

    #[test]
    fn values_touch_only_the_span(value in value(), new in "[a-z:/.;' \"{}`\\\\-]{1,30}") {
        let src = file(&value);
        let before = scan(&src);
        let site = &before.sites[0];
        let dialect = DialectKind::Caddy.dialect();
        match dialect.encode_value(site, &src, &new) {
            Ok(raw) => {
                let after = [&src[..site.span.start], raw.as_slice(), &src[site.span.end..]].concat();
                prop_assert!(!raw.contains(&b'\n'));
                let rescan = scan(&after);
                prop_assert_eq!(&rescan.sites[0].value.text, &new);
                prop_assert_eq!(rescan.sites[0].span.clone(), site.span.start..site.span.start + raw.len());
                for (a, b) in rescan.sites.iter().zip(&before.sites).skip(1) {
                    prop_assert_eq!(&a.value.text, &b.value.text);
                }
            }
            // Only what Caddy cannot send as written: trimmed ends, or a backslash before a
            // quote or at the end inside double quotes.
            Err(_) => prop_assert!(
                new.starts_with(' ') || new.ends_with(' ') || new.ends_with('\\') || new.contains("\\\""),
                "refused {:?}", new
            ),
        }
    }
}

#[test]
fn most_fragments_splice_in_place() {
    // A fixed sample, so that "None" (re-encode the whole value) is not the only answer.
    let dialect = DialectKind::Caddy.dialect();
    let cases = [
        ("\"default-src 'self'\"", " https://v.example", true),
        ("`default-src 'self'`", " https://v.example", true),
        ("\"a \\\"b\\\"\"", " \"c\"", true),
        ("\"x {http.request.uuid}\"", " {y}", true),
        ("default-src", ";", true),
        ("default-src", " x", false),
        ("`a`", "`", false),
        ("\"a\"", " ", false),
    ];
    for (value, fragment, splices) in cases {
        let src = file(value);
        let site = &scan(&src).sites[0];
        let at = site
            .value
            .raw_insertion_point(site.value.text.len())
            .unwrap();
        let got = dialect.encode_fragment(site, &src, at, fragment);
        assert_eq!(got.is_some(), splices, "{value} + {fragment:?}: {got:?}");
    }
}
