//! Snapshots of what the Caddy dialect finds in each fixture of tests/fixtures/caddy and in
//! the MuseRelay seed snippet: sites (where, raw, decoded, opaque parts, repair, refusal,
//! context), includes, and diagnostics with file:line:col.
use crate::common;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use csppatch::diag::{line_col, Diagnostic};
use csppatch::dialect::DialectKind;
use csppatch::site::FileScan;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/caddy");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

fn diagnostic(d: &Diagnostic) -> String {
    let at = d
        .location
        .as_ref()
        .map(|l| format!("{}:{}:{}", l.path.display(), l.line, l.col))
        .unwrap_or_default();
    let mut s = format!("{}[{}] {at}: {}", d.severity, d.code, d.message);
    if let Some(help) = &d.help {
        write!(s, "\n    help: {help}").unwrap();
    }
    s
}

fn render(name: &str, src: &[u8], scan: &Result<FileScan, Diagnostic>) -> String {
    let scan = match scan {
        Ok(scan) => scan,
        Err(d) => return format!("refused:\n{}\n", diagnostic(d)),
    };
    let mut out = String::new();
    for (i, s) in scan.sites.iter().enumerate() {
        let (l, c) = line_col(src, s.span.start);
        writeln!(
            out,
            "site {i}: {:?} in {} at {name}:{l}:{c}",
            s.disposition, s.context
        )
        .unwrap();
        writeln!(
            out,
            "    raw:      {:?}",
            String::from_utf8_lossy(&src[s.span.clone()])
        )
        .unwrap();
        writeln!(out, "    sent:     {:?}", s.value.text).unwrap();
        for o in &s.value.opaque {
            writeln!(out, "    opaque:   {:?}", &s.value.text[o.clone()]).unwrap();
        }
        if let Some(r) = &s.repaired {
            writeln!(out, "    repaired: ({}) {:?}", r.code, r.text).unwrap();
        }
        if let Some(r) = &s.refusal {
            writeln!(out, "    refusal:  {r}").unwrap();
        }
    }
    for inc in &scan.includes {
        let (l, c) = line_col(src, inc.offset);
        let optional = if inc.optional { " (optional)" } else { "" };
        writeln!(out, "include {:?} at {name}:{l}:{c}{optional}", inc.pattern).unwrap();
    }
    for d in &scan.diagnostics {
        writeln!(out, "{}", diagnostic(d)).unwrap();
    }
    out
}

#[test]
fn fixtures_snapshot() {
    if !common::have_seeds() {
        return;
    }
    let dialect = DialectKind::Caddy.dialect();
    let mut files = fixtures();
    files.push(common::seed("muserelay.Caddyfile"));
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read(&path).unwrap();
        let scan = dialect.find(Path::new(&name), &src);
        let text = render(&name, &src, &scan);
        common::snapshots("caddy").bind(|| insta::assert_snapshot!(name.clone(), text));
    }
}
