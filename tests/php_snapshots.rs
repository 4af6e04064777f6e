//! Reviewed snapshots of what the PHP dialect finds in each fixture: sites, decoded values
//! (opaque parts in ⟦ ⟧), contexts, refusals, repairs and lints.
mod common;

use std::fmt::Write as _;
use std::path::Path;

use csppatch::diag::line_col;
use csppatch::dialect::php::Php;
use csppatch::dialect::Dialect;
use csppatch::site::{FileScan, Site};

/// A site's text with its opaque parts marked.
pub fn marked(site: &Site) -> String {
    let text = &site.value.text;
    let mut out = String::new();
    let mut last = 0;
    for o in &site.value.opaque {
        out.push_str(&text[last..o.start]);
        write!(out, "⟦{}⟧", &text[o.clone()]).unwrap();
        last = o.end;
    }
    out.push_str(&text[last..]);
    out
}

pub fn render(src: &[u8], scan: &FileScan) -> String {
    let mut out = String::new();
    for (i, s) in scan.sites.iter().enumerate() {
        let (l1, c1) = line_col(src, s.span.start);
        let (l2, c2) = line_col(src, s.span.end);
        writeln!(
            out,
            "site {i}: {:?} {:?} at {l1}:{c1}-{l2}:{c2}",
            s.disposition, s.delivery
        )
        .unwrap();
        writeln!(out, "  context: {}", s.context).unwrap();
        writeln!(out, "  value:   {:?}", marked(s)).unwrap();
        if let Some(r) = &s.repaired {
            writeln!(out, "  repaired ({}): {:?}", r.code, r.text).unwrap();
        }
        if let Some(r) = &s.refusal {
            writeln!(out, "  refusal: {r}").unwrap();
        }
    }
    for d in &scan.diagnostics {
        let at = d
            .location
            .as_ref()
            .map_or(String::new(), |l| format!("{}:{} ", l.line, l.col));
        writeln!(out, "{at}{} {}: {}", d.severity, d.code, d.message).unwrap();
    }
    if out.is_empty() {
        out.push_str("(nothing found)\n");
    }
    out
}

#[test]
fn find_output_per_fixture() {
    for (name, src) in common::php::fixtures() {
        let scan = Php.find(Path::new(&name), &src).expect("fixture parses");
        let snap = name.trim_end_matches(".php").to_string();
        common::snapshots("php").bind(|| insta::assert_snapshot!(snap, render(&src, &scan)));
    }
}

#[test]
fn seed_rewritten_whole_keeps_its_concatenation_layout() {
    let (name, src) = common::php::fixtures()
        .into_iter()
        .find(|(n, _)| n == "muserelay-functions.php")
        .unwrap();
    let scan = Php.find(Path::new(&name), &src).unwrap();
    let site = &scan.sites[0];
    let new = format!("{} frame-src https://embed.example;", site.value.text);
    let enc = Php.encode_value(site, &src, &new).expect("static value");
    let mut patched = src[..site.span.start].to_vec();
    patched.extend_from_slice(&enc);
    patched.extend_from_slice(&src[site.span.end..]);
    common::snapshots("php").bind(|| {
        insta::assert_snapshot!(
            "muserelay-encode-value",
            String::from_utf8(patched).unwrap()
        )
    });
}
