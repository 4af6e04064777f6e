//! Bugs the fuzz targets found (fuzz/, scripts/fuzz.sh), each with its minimized input inline.
//!
//! The encode contract they check (README, "Fuzzing"): a value or fragment a dialect encodes
//! reads back, after the splice, as exactly that text with no new run-time part, or the
//! dialect refuses it. Refusing is always safe: the pipeline then re-encodes the whole value
//! or reports the site.

use std::path::Path;

use csppatch::csp::{merge, Delivery, MergeOptions, Requirement};
use csppatch::dialect::DialectKind;
use csppatch::site::{FileScan, Site};

fn find(kind: DialectKind, path: &str, src: &[u8]) -> FileScan {
    kind.dialect()
        .find(Path::new(path), src)
        .unwrap_or_else(|d| panic!("{}: {}", kind.name(), d.message))
}

/// What `site` reads back as after `bytes` replace `range`, and its run-time parts.
fn read_back(
    kind: DialectKind,
    path: &str,
    src: &[u8],
    range: std::ops::Range<usize>,
    bytes: &[u8],
) -> (String, Vec<String>) {
    let new = [&src[..range.start], bytes, &src[range.end..]].concat();
    let scan = find(kind, path, &new);
    let site = scan
        .sites
        .iter()
        .chain(&scan.bindings)
        .find(|s| s.span.start == range.start || s.span.contains(&range.start))
        .expect("the site is still there");
    let opaque = site
        .value
        .opaque
        .iter()
        .map(|o| site.value.text[o.clone()].to_string())
        .collect();
    (site.value.text.clone(), opaque)
}

/// `encode_value`, then the read-back: `Err` is the dialect's refusal.
fn value_round_trip(
    kind: DialectKind,
    path: &str,
    src: &[u8],
    site: &Site,
    value: &str,
) -> Result<(String, Vec<String>), String> {
    let bytes = kind.dialect().encode_value(site, src, value)?;
    Ok(read_back(kind, path, src, site.span.clone(), &bytes))
}

#[test]
fn nginx_a_capture_before_text_is_written_as_it_was() {
    // fuzz/dialect_nginx: certbot's WP Super Cache config, `$1index.html` re-encoded as
    // `${1}index.html`, which nginx reads as a variable named `1`.
    let src = b"set $p \"/c/$http_host/$1index.html\";\n";
    let scan = find(DialectKind::Nginx, "nginx.conf", src);
    let site = &scan.bindings[0];
    let value = "/c/$http_host/$1index.html";
    let (text, _) = value_round_trip(DialectKind::Nginx, "nginx.conf", src, site, value)
        .expect("a capture is one digit: nothing to brace");
    assert_eq!(text, value);
}

#[test]
fn nginx_a_variable_glued_to_text_is_refused_not_braced() {
    // `${csp}x` is what nginx would send, but reads back as other text than `$cspx`: the
    // pipeline's read-back then fails with E014. Refused instead.
    let src = b"add_header Content-Security-Policy \"img-src $cdn\";\n";
    let scan = find(DialectKind::Nginx, "nginx.conf", src);
    let r = value_round_trip(
        DialectKind::Nginx,
        "nginx.conf",
        src,
        &scan.sites[0],
        "img-src $cdnx",
    );
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn php_blanks_around_a_header_value_are_refused_not_dropped() {
    // fuzz/dialect_php: PHP sends the value without the blanks after `Name:` and without
    // trailing white space, so they read back gone.
    let src = b"<?php\nheader(\"Content-Security-Policy: default-src 'self'\");\n";
    let scan = find(DialectKind::Php, "functions.php", src);
    let site = &scan.sites[0];
    for value in [
        " default-src 'self'",
        "default-src 'self' ",
        "default-src 'self'\t",
    ] {
        let r = value_round_trip(DialectKind::Php, "functions.php", src, site, value);
        assert!(r.is_err(), "{value:?}: {r:?}");
    }
    let start = site.value.raw_insertion_point(0).unwrap();
    let end = site
        .value
        .raw_insertion_point(site.value.text.len())
        .unwrap();
    let php = DialectKind::Php.dialect();
    assert_eq!(
        php.encode_fragment(site, src, start, " https://v.example"),
        None
    );
    assert_eq!(
        php.encode_fragment(site, src, end, "; img-src data: "),
        None
    );
    let ok = php
        .encode_fragment(site, src, end, "; img-src data:")
        .expect("no blank at the end: written");
    let (text, _) = read_back(DialectKind::Php, "functions.php", src, end..end, &ok);
    assert_eq!(text, "default-src 'self'; img-src data:");
}

#[test]
fn html_an_empty_content_is_refused_not_written() {
    // fuzz/dialect_html: `content=""` is no policy (HTM604), so the site was gone after the
    // write.
    let src = b"<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\"></head>";
    let scan = find(DialectKind::Html, "index.html", src);
    let r = value_round_trip(DialectKind::Html, "index.html", src, &scan.sites[0], "");
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn apache_a_fragment_holding_a_define_variable_is_refused() {
    // fuzz/dialect_apache: httpd expands `${VAR}` anywhere in the file, so the fragment read
    // back with a run-time part the value did not have. `encode_value` already refused it.
    let src = b"Header set Content-Security-Policy \"frame-ancestors 'self';\"\n";
    let scan = find(DialectKind::Apache, "site.conf", src);
    let site = &scan.sites[0];
    let at = site.value.raw_insertion_point(0).unwrap();
    let apache = DialectKind::Apache.dialect();
    let fragment = "img-src https://${APACHE_LOCK_DIR}v.example; ";
    assert_eq!(apache.encode_fragment(site, src, at, fragment), None);
    let plain = apache
        .encode_fragment(site, src, at, "img-src https://v.example; ")
        .expect("plain text is written");
    let (text, opaque) = read_back(DialectKind::Apache, "site.conf", src, at..at, &plain);
    assert_eq!(text, "img-src https://v.example; frame-ancestors 'self';");
    assert!(opaque.is_empty());
}

#[test]
fn php_a_header_assignment_inside_another_value_is_refused() {
    // fuzz/dialect_php: `=` inside a concatenation is valid PHP, and one site's expression
    // then held the other site: patching the inner one rewrote the outer one.
    let src = b"<?php\nadd_filter('wp_headers', function ($h) {\n    $h['Content-Security-Policy'] = \"a\" . $h['Content-Security-Policy-Report-Only'] = 'b';\n    return $h;\n});\n";
    let scan = find(DialectKind::Php, "functions.php", src);
    assert!(scan.sites.len() >= 2, "{:?}", scan.sites);
    for (i, a) in scan.sites.iter().enumerate() {
        for b in &scan.sites[i + 1..] {
            let overlap = a.span.start < b.span.end && b.span.start < a.span.end;
            if overlap {
                assert!(a.refusal.is_some() && b.refusal.is_some(), "{a:?}\n{b:?}");
            }
        }
    }
    assert!(scan.sites.iter().any(|s| s.refusal.is_some()));
}

#[test]
fn an_insertion_inside_one_escape_has_no_file_offset() {
    // fuzz/dialect_php: in a single-quoted PHP string `\*` stays two characters from one raw
    // sequence; the insertion point "between" them was after both.
    let src = b"<?php\nheader('Content-Security-Policy: default-src \\*none');\n";
    let scan = find(DialectKind::Php, "functions.php", src);
    let v = &scan.sites[0].value;
    assert_eq!(v.text, "default-src \\*none");
    let between = "default-src \\".len();
    assert_eq!(v.raw_insertion_point(between), None);
    assert_eq!(v.raw_range(between..between + 2), None);
    assert_eq!(v.raw_range(between - 1..between), None);
    assert!(v.raw_insertion_point(between - 1).is_some());
    assert!(v.raw_insertion_point(between + 1).is_some());
}

#[test]
fn a_vendor_source_with_port_80_covers_itself() {
    // fuzz/merge: Chromium lets port 80 match 443 on an upgraded scheme; that counted for the
    // vendor's URLs but not for the same source already in the list, so every merge added
    // `http://*:80/` again (and twice in one merge).
    let options = MergeOptions {
        delivery: Delivery::Header,
    };
    for (policy, directive, source) in [
        ("default-src", "img-src", "http://*:80/"),
        ("FONT-SRC; ", "default-src", "ws://site.example:80"),
    ] {
        let reqs = [Requirement::new(directive, source, "v0")];
        let once = merge(policy, &reqs, &options);
        assert_eq!(
            once.text.matches(source).count(),
            1,
            "added once: {}",
            once.text
        );
        let again = merge(&once.text, &reqs, &options);
        assert!(again.edits.is_empty(), "{:?}", again.edits);
    }
}

#[test]
fn a_source_no_url_can_match_is_refused_up_front() {
    // fuzz/merge: `HTTPS://127.0.0.1:0/` passed parse_vendor_source; with sources like it
    // (`1`, `https://a.example/./../`) the merge added them and the self-check found the vendor
    // still blocked, which the patch run reported as E014 "this is a csppatch bug". CSP3's
    // grammar accepts them all (host-char = ALPHA / DIGIT / "-"); what decides is whether a
    // URL, as the WHATWG URL parser writes it, can match: an IPv4 address written as the
    // parser writes it can (Chromium and Firefox match it), the others cannot.
    let options = MergeOptions {
        delivery: Delivery::Header,
    };
    for ok in [
        "HTTPS://127.0.0.1:0/",
        "https://127.0.0.1",
        "https://a.example/x/",
    ] {
        let reqs = [Requirement::new("img-src", ok, "v0")];
        let out = merge("default-src 'self'", &reqs, &options);
        assert!(!out.refused(), "{ok}: {:?}", out.diagnostics);
        let blocked = csppatch::csp::self_check(&out, &reqs, "https://site.example");
        assert!(blocked.is_empty(), "{ok}: still blocked: {blocked:?}");
        assert!(out.text.contains(ok), "{ok} not added: {}", out.text);
    }
    for (bad, why) in [
        ("1", "IPv4 address 0.0.0.1"),
        ("https://0x7f.1", "IPv4 address 127.0.0.1"),
        ("https://127.000.0.1", "IPv4 address 127.0.0.1"),
        ("a.1", "no URL can have the host"),
        ("*.1", "no URL can have the host"),
        ("https://xn--a", "punycode"),
        ("https://a.example/./../", "dot segment `.`"),
        ("https://a.example/x/%2E%2e/", "dot segment `%2E%2e`"),
    ] {
        let reqs = [Requirement::new("img-src", bad, "v0")];
        let out = merge("default-src 'self'", &reqs, &options);
        assert!(out.refused(), "{bad} was not refused: {}", out.text);
        let d = &out.diagnostics[0];
        assert!(d.message.contains(why), "{bad}: {}", d.message);
        assert_eq!(out.text, "default-src 'self'", "{bad}: the policy changed");
    }
}
