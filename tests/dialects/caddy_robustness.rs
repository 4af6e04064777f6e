//! Any bytes at all: the Caddy dialect never panics, never hangs, and its pieces always tile
//! the input (so concatenating tokens and trivia gives the file back).
use std::path::Path;

use csppatch::dialect::caddy::lexer::lex;
use csppatch::dialect::DialectKind;
use proptest::prelude::*;

/// Bytes biased towards what the Caddyfile grammar cares about.
fn caddyish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"`".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"#".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"{$".to_vec()),
        Just(b"import ".to_vec()),
        Just(b"(s)".to_vec()),
        Just(b"header ".to_vec()),
        Just(b"Content-Security-Policy ".to_vec()),
        Just(b"+".to_vec()),
        Just(b"?".to_vec()),
        Just(b">".to_vec()),
        Just(b"handle ".to_vec()),
        Just(b"reverse_proxy ".to_vec()),
        Just(b"header_down ".to_vec()),
        Just("\u{a0}".as_bytes().to_vec()),
        Just(vec![0xff]),
        Just(vec![0xe2, 0x82]),
        Just("\u{feff}".as_bytes().to_vec()),
        "[a-z]{1,5}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_panics_and_always_tiles(src in caddyish()) {
        let lexed = lex(&src);
        let mut pos = 0;
        for p in &lexed.pieces {
            prop_assert_eq!(p.span.start, pos);
            prop_assert!(p.span.end > p.span.start);
            pos = p.span.end;
        }
        prop_assert_eq!(pos, src.len());
        let dialect = DialectKind::Caddy.dialect();
        if let Ok(scan) = dialect.find(Path::new("Caddyfile"), &src) {
            for site in &scan.sites {
                prop_assert!(site.span.end <= src.len());
                let _ = dialect.encode_value(site, &src, "default-src 'self'");
                if let Some(at) = site.value.raw_insertion_point(site.value.text.len()) {
                    let _ = dialect.encode_fragment(site, &src, at, " x");
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes(src in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = DialectKind::Caddy.dialect().find(Path::new("Caddyfile"), &src);
    }
}

/// Snippets that import each other many times: bounded, not exponential forever.
#[test]
fn nested_snippet_imports_stay_bounded() {
    let mut src =
        String::from("(s0) {\n\theader Content-Security-Policy \"default-src 'self'\"\n}\n");
    for i in 1..30 {
        src.push_str(&format!(
            "(s{i}) {{\n\timport s{}\n\timport s{}\n}}\n",
            i - 1,
            i - 1
        ));
    }
    src.push_str("example.com {\n\timport s29\n}\n");
    let got = DialectKind::Caddy
        .dialect()
        .find(Path::new("Caddyfile"), src.as_bytes());
    // Refused by the token bound, which stops the expansion as it is reached (not after
    // 2^29 tokens): the message names the bound.
    let err = got.expect_err("2^29 imported tokens are refused");
    assert!(
        err.message
            .contains("the imports expand this file to more than"),
        "{}",
        err.message
    );
}

/// Every site of a large file (how fast is for a benchmark, not for a test in a debug build).
#[test]
fn a_large_file_has_every_site_found() {
    let mut src = String::new();
    for i in 0..5000 {
        src.push_str(&format!(
            "site{i}.example {{\n\theader Content-Security-Policy \"default-src 'self'; img-src https://{i}.example\"\n\trespond ok\n}}\n"
        ));
    }
    let scan = DialectKind::Caddy
        .dialect()
        .find(Path::new("Caddyfile"), src.as_bytes())
        .unwrap();
    assert_eq!(scan.sites.len(), 5000);
}
