//! Dialect targets: `find` on arbitrary bytes, then the encode contract on every site found.
//!
//! The contract (`Dialect` in src/dialect/mod.rs, and the read-back in src/splice.rs): the
//! bytes `encode_value` returns, spliced over `site.span`, make the file read back with the
//! same sites, this one decoding to exactly the new value (nothing left to repair, no part
//! only known at request time that the site did not already have), every other site as it
//! was; or `encode_value` says why not with an `Err`. Likewise `encode_fragment` inserted at a
//! text position: the value reads back with exactly the fragment inserted there, or `None`.
//! Bytes outside the splice are the old file's by construction, so the check is that the
//! re-read site starts where it did and its span ends where the new bytes end.

use std::path::Path;

use csppatch::dialect::{Dialect, DialectKind};
use csppatch::site::{FileScan, Site};

/// Most sites and positions tried per input, so that one input stays fast.
const MAX_SITES: usize = 4;
const MAX_POSITIONS: usize = 6;

/// Values every site is re-encoded with besides the fuzzer's: the characters each dialect
/// escapes or cannot write, a vendor source, line breaks, non-ASCII text.
const VALUES: &[&str] = &[
    "default-src 'self'; img-src https://v.example",
    "script-src 'nonce-a\"b' \\x; style-src 'unsafe-inline'",
    "default-src $x ${y} {$ENV} {http.request.uuid} %{UNIQUE_ID}e %% &amp; <?php ?> {{ n }}",
    "a\nb\r\nc\td # e ; f, g",
    "img-src https://ü.example 'self'",
    "",
    " default-src 'self' ",
    "'",
    "\"",
    "\\",
];

const FRAGMENTS: &[&str] = &[
    " https://v.example; img-src data:",
    " 'sha256-abc=' \"x\" \\ $y {z} %w &amp; ?>",
];

/// Which site of a scan, as the pipeline's read-back compares them.
#[derive(Clone, Copy, Debug)]
enum Which {
    Direct(usize),
    Binding(usize),
}

fn site_of(scan: &FileScan, w: Which) -> &Site {
    match w {
        Which::Direct(i) => &scan.sites[i],
        Which::Binding(i) => &scan.bindings[i],
    }
}

/// The paths a dialect is tried under: some behave differently by name (`.htaccess`,
/// templates).
fn paths(kind: DialectKind) -> &'static [&'static str] {
    match kind.name() {
        "apache" => &["site.conf", ".htaccess"],
        "caddy" => &["Caddyfile"],
        "php" => &["functions.php"],
        "html" => &["index.html", "layout.html.twig"],
        _ => &["nginx.conf"],
    }
}

pub fn check(kind: DialectKind, data: &[u8]) {
    let (src, extra) = crate::split_input(data);
    let dialect = kind.dialect();
    for path in paths(kind) {
        let path = Path::new(path);
        let Ok(scan) = dialect.find(path, src) else {
            continue;
        };
        check_scan(src, &scan);
        let which = (0..scan.sites.len())
            .map(Which::Direct)
            .chain((0..scan.bindings.len()).map(Which::Binding))
            .take(MAX_SITES);
        for w in which {
            let site = site_of(&scan, w);
            if site.refusal.is_some() {
                continue; // the pipeline reports a refused site and never encodes it
            }
            // What the pipeline merges: the repaired text where the value needs repair.
            let own = site.policy_text().to_string();
            let widened = format!("{own}; img-src https://v.example");
            let values = [own.as_str(), widened.as_str()]
                .into_iter()
                .chain(extra.as_deref())
                .chain(VALUES.iter().copied());
            for value in values {
                check_value(dialect, path, src, &scan, w, value);
            }
            if site.repaired.is_some() {
                continue; // the pipeline rewrites a repaired value whole
            }
            for pos in positions(&site.value.text) {
                for fragment in extra
                    .as_deref()
                    .into_iter()
                    .chain(FRAGMENTS.iter().copied())
                {
                    check_fragment(dialect, path, src, &scan, w, pos, fragment);
                }
            }
        }
    }
}

/// Every site's bytes are inside the file, every value byte comes from inside its span, and
/// the sites the pipeline may patch do not overlap (it splices them all into one file).
fn check_scan(src: &[u8], scan: &FileScan) {
    let mut open: Vec<&Site> = scan
        .sites
        .iter()
        .chain(&scan.bindings)
        .filter(|s| s.refusal.is_none())
        .collect();
    open.sort_by_key(|s| s.span.start);
    for pair in open.windows(2) {
        assert!(
            pair[0].span.end <= pair[1].span.start,
            "sites {:?} and {:?} overlap",
            pair[0].span,
            pair[1].span
        );
    }
    for site in scan.sites.iter().chain(&scan.bindings) {
        crate::assert_within("site span", &site.span, &(0..src.len()));
        for r in site.value.raw_ranges() {
            crate::assert_within("value byte's raw range", &r, &site.span);
        }
        for o in &site.value.opaque {
            crate::assert_within("opaque part", o, &(0..site.value.text.len()));
        }
    }
}

/// Text positions the merge inserts at, most likely first: the end, after the last directive
/// of each policy and after each directive, after a source; then the start and every tenth
/// character boundary; capped.
fn positions(text: &str) -> Vec<usize> {
    let list = csppatch::csp::parse::parse(text);
    let mut out = vec![text.len()];
    for p in &list.policies {
        out.extend(p.directives.last().map(|d| d.span.end));
    }
    for d in list.policies.iter().flat_map(|p| &p.directives).rev() {
        out.push(d.span.end);
        out.extend(d.sources.iter().map(|t| t.span.end));
    }
    out.push(0);
    out.extend(text.char_indices().map(|(i, _)| i).filter(|i| i % 10 == 3));
    let mut picked = Vec::with_capacity(MAX_POSITIONS);
    for p in out {
        if picked.len() == MAX_POSITIONS {
            break;
        }
        if !picked.contains(&p) {
            picked.push(p);
        }
    }
    picked
}

fn splice(src: &[u8], range: std::ops::Range<usize>, bytes: &[u8]) -> Vec<u8> {
    [&src[..range.start], bytes, &src[range.end..]].concat()
}

/// Re-read `new` and compare with the scan before; `expect` is the site's new value,
/// `start..end` where its bytes now are.
#[allow(clippy::too_many_arguments)]
fn read_back(
    dialect: &dyn Dialect,
    path: &Path,
    new: &[u8],
    before: &FileScan,
    w: Which,
    expect: &str,
    span: std::ops::Range<usize>,
    how: &dyn Fn() -> String,
) {
    let old = site_of(before, w);
    let after = match dialect.find(path, new) {
        Ok(s) => s,
        Err(d) => panic!(
            "{} made a file {} refuses: {}",
            how(),
            dialect.name(),
            d.message
        ),
    };
    assert_eq!(
        (after.sites.len(), after.bindings.len()),
        (before.sites.len(), before.bindings.len()),
        "{} changed the sites found",
        how()
    );
    let site = site_of(&after, w);
    assert_eq!(site.value.text, expect, "{} reads back wrong", how());
    assert!(
        site.repaired.is_none(),
        "{} reads back as needing repair",
        how()
    );
    assert_eq!(site.span, span, "{} re-read span", how());
    // What the server sends is the text only where no new run-time part appeared.
    let known: Vec<&str> = old
        .value
        .opaque
        .iter()
        .map(|o| &old.value.text[o.clone()])
        .collect();
    for o in &site.value.opaque {
        let part = &site.value.text[o.clone()];
        assert!(
            known.contains(&part),
            "{} reads back with a new run-time part `{part}`",
            how()
        );
    }
    for (i, (a, b)) in before.sites.iter().zip(&after.sites).enumerate() {
        if !matches!(w, Which::Direct(j) if j == i) {
            assert_eq!(a.value.text, b.value.text, "{} changed site {i}", how());
        }
    }
    for (i, (a, b)) in before.bindings.iter().zip(&after.bindings).enumerate() {
        if !matches!(w, Which::Binding(j) if j == i) {
            assert_eq!(a.value.text, b.value.text, "{} changed binding {i}", how());
        }
    }
}

fn check_value(
    dialect: &dyn Dialect,
    path: &Path,
    src: &[u8],
    scan: &FileScan,
    w: Which,
    value: &str,
) {
    let site = site_of(scan, w);
    let Ok(bytes) = dialect.encode_value(site, src, value) else {
        return;
    };
    let new = splice(src, site.span.clone(), &bytes);
    let span = site.span.start..site.span.start + bytes.len();
    let how = || {
        format!(
            "encode_value({value:?}) of {w:?} {:?} as {:?}",
            String::from_utf8_lossy(&src[site.span.clone()]),
            String::from_utf8_lossy(&bytes)
        )
    };
    read_back(dialect, path, &new, scan, w, value, span, &how);
}

#[allow(clippy::too_many_arguments)]
fn check_fragment(
    dialect: &dyn Dialect,
    path: &Path,
    src: &[u8],
    scan: &FileScan,
    w: Which,
    pos: usize,
    fragment: &str,
) {
    let site = site_of(scan, w);
    let value = &site.value;
    if value.touches_opaque(pos..pos) {
        return; // the pipeline refuses a change inside a run-time part before encoding
    }
    let Some(at) = value.raw_insertion_point(pos) else {
        return;
    };
    let Some(bytes) = dialect.encode_fragment(site, src, at, fragment) else {
        return;
    };
    let new = splice(src, at..at, &bytes);
    let expect = format!("{}{fragment}{}", &value.text[..pos], &value.text[pos..]);
    let span = site.span.start..site.span.end + bytes.len();
    let how = || {
        format!(
            "encode_fragment({fragment:?}) at text {pos} (file {at}) of {w:?} {:?} as {:?}",
            String::from_utf8_lossy(&src[site.span.clone()]),
            String::from_utf8_lossy(&bytes)
        )
    };
    read_back(dialect, path, &new, scan, w, &expect, span, &how);
}
