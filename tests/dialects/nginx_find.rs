//! Snapshots of what the nginx dialect finds (sites with their context and decoded text,
//! bindings, references, includes, diagnostics) and of the tree lints, on fixtures, the vendor
//! seed snippet and the h5bp boilerplate. Every snapshot was read and checked by hand.

use crate::common;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use csppatch::diag::{line_col, Diagnostic};
use csppatch::dialect::nginx::Nginx;
use csppatch::dialect::{Dialect, TreeFile};
use csppatch::site::{FileScan, Site};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nginx")
        .join(name)
}

fn span(src: &[u8], r: &std::ops::Range<usize>) -> String {
    let (l1, c1) = line_col(src, r.start);
    let (l2, c2) = line_col(src, r.end);
    format!("{l1}:{c1}-{l2}:{c2}")
}

fn render_site(out: &mut String, src: &[u8], i: usize, site: &Site) {
    let raw = String::from_utf8_lossy(&src[site.span.clone()]);
    let at = span(src, &site.span);
    match &site.binding {
        // A binding's disposition is the referring header's: not shown.
        Some(b) => {
            writeln!(out, "  [{i}] ${b} = {}", site.context).unwrap();
            writeln!(out, "      at {at} raw {raw:?}").unwrap();
        }
        None => {
            writeln!(out, "  [{i}] {}", site.context).unwrap();
            let header = site.disposition.header_name();
            writeln!(
                out,
                "      {header} {:?} at {at} raw {raw:?}",
                site.delivery
            )
            .unwrap();
        }
    }
    writeln!(out, "      text: {:?}", site.value.text).unwrap();
    for o in &site.value.opaque {
        writeln!(out, "      opaque: {:?}", &site.value.text[o.clone()]).unwrap();
    }
    if let Some(r) = &site.repaired {
        writeln!(out, "      repaired ({}): {:?}", r.code, r.text).unwrap();
    }
    if let Some(r) = &site.refusal {
        writeln!(out, "      refusal: {r}").unwrap();
    }
}

/// A diagnostic with paths shown relative to `root`, so that snapshots do not depend on where
/// the project is checked out.
fn render_diag(out: &mut String, d: &Diagnostic, root: &Path) {
    let loc = d.location.as_ref().map_or(String::new(), |l| {
        let rel = l.path.strip_prefix(root).unwrap_or(&l.path);
        format!(" {}:{}:{}", rel.display(), l.line, l.col)
    });
    let prefix = format!("{}/", root.display());
    let message = d.message.replace(&prefix, "");
    writeln!(out, "  {}[{}]{loc}: {message}", d.severity, d.code).unwrap();
    if let Some(h) = &d.help {
        writeln!(out, "      help: {h}").unwrap();
    }
}

fn render(src: &[u8], scan: &FileScan, root: &Path) -> String {
    let mut out = String::new();
    if !scan.sites.is_empty() {
        out.push_str("sites:\n");
        for (i, s) in scan.sites.iter().enumerate() {
            render_site(&mut out, src, i, s);
        }
    }
    if !scan.bindings.is_empty() {
        out.push_str("bindings:\n");
        for (i, s) in scan.bindings.iter().enumerate() {
            render_site(&mut out, src, i, s);
        }
    }
    if !scan.refs.is_empty() {
        out.push_str("refs:\n");
        for r in &scan.refs {
            let (l, c) = line_col(src, r.offset);
            writeln!(
                out,
                "  ${} as {} at {l}:{c} in {}",
                r.name,
                r.disposition.header_name(),
                r.context
            )
            .unwrap();
        }
    }
    if !scan.includes.is_empty() {
        out.push_str("includes:\n");
        for inc in &scan.includes {
            let (l, c) = line_col(src, inc.offset);
            let optional = if inc.optional { " (optional)" } else { "" };
            writeln!(out, "  {} at {l}:{c}{optional}", inc.pattern).unwrap();
        }
    }
    if !scan.diagnostics.is_empty() {
        out.push_str("diagnostics:\n");
        for d in &scan.diagnostics {
            render_diag(&mut out, d, root);
        }
    }
    out
}

fn snapshot(name: &str, text: String) {
    common::snapshots("nginx").bind(|| insta::assert_snapshot!(name, text));
}

fn find(path: &Path, src: &[u8]) -> FileScan {
    Nginx
        .find(path, src)
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
}

#[test]
fn sites_fixture() {
    let path = fixture("sites.conf");
    let src = std::fs::read(&path).unwrap();
    let scan = find(&path, &src);
    snapshot("find_sites", render(&src, &scan, path.parent().unwrap()));
}

/// The vendor's snippet as a site owner pastes it: inside a server block.
#[test]
fn muserelay_seed_in_a_server_block() {
    if !common::have_seeds() {
        return;
    }
    let seed = std::fs::read(common::seed("muserelay-nginx.conf")).unwrap();
    let mut src = b"server {\n    listen 443 ssl;\n    server_name example.com;\n\n    ".to_vec();
    src.extend_from_slice(&seed);
    src.extend_from_slice(b"\n}\n");
    let scan = find(Path::new("muserelay.conf"), &src);
    assert_eq!(scan.sites.len(), 1);
    assert!(scan.diagnostics.iter().any(|d| d.code == "NGX201"));
    snapshot("find_muserelay_seed", render(&src, &scan, Path::new("")));
}

/// What nginx refuses is refused with its message and the place it names; `nginx -t` on the
/// same bytes says the same. `wrap`: the input goes inside `http { }` (on the same lines) for
/// directives that are only valid there.
#[test]
fn refused_inputs() {
    let cases: &[(&str, bool, &[u8])] = &[
        ("bom", false, b"\xEF\xBB\xBFevents {}\n"),
        (
            "missing semicolon",
            true,
            b"server {\n    add_header Content-Security-Policy \"default-src 'self'\"\n}\n",
        ),
        (
            "unterminated quote",
            true,
            b"add_header Content-Security-Policy \"default-src 'self';\n",
        ),
        (
            "text after quote",
            true,
            b"add_header Content-Security-Policy \"a\"b;\n",
        ),
        ("unclosed block", true, b"server {\n    listen 80;\n"),
        ("stray brace", false, b"events {}\n}\n"),
        (
            "invalid variable",
            true,
            b"add_header Content-Security-Policy \"script-src 'nonce-$'\" always;\n",
        ),
        (
            "unclosed variable",
            true,
            b"add_header Content-Security-Policy \"script-src ${nonce\" always;\n",
        ),
        (
            "too many arguments",
            true,
            b"add_header Content-Security-Policy a b c;\n",
        ),
        (
            "not always",
            true,
            b"add_header Content-Security-Policy \"a\" allways;\n",
        ),
    ];
    let have_nginx = common::have("nginx");
    let mut out = String::new();
    for (name, wrap, src) in cases {
        let err = Nginx.find(Path::new("x.conf"), src).unwrap_err();
        writeln!(out, "{name}:").unwrap();
        render_diag(&mut out, &err, Path::new(""));
        if !have_nginx {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("nginx.conf");
        let bytes = if *wrap {
            [&b"events {} http { "[..], src, b"}"].concat()
        } else {
            src.to_vec()
        };
        std::fs::write(&conf, bytes).unwrap();
        let theirs = common::nginx::nginx_t(&conf).expect_err(name);
        let line = err.location.as_ref().unwrap().line;
        assert_eq!(
            theirs,
            format!("{} in {}:{line}", err.message, conf.display()),
            "{name}"
        );
    }
    snapshot("find_refused", out);
}

/// A value within 512 bytes of nginx's limit gets a note.
#[test]
fn near_the_limit() {
    let long = format!(
        "default-src 'self'; img-src {}",
        "https://a.example ".repeat(200)
    );
    let src = format!("add_header Content-Security-Policy \"{long}\" always;\n");
    let scan = find(Path::new("x.conf"), src.as_bytes());
    let codes: Vec<&str> = scan.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["NGX205"]);
    let short = find(
        Path::new("x.conf"),
        b"add_header Content-Security-Policy \"a\" always;",
    );
    assert!(short.diagnostics.is_empty());
}

// ---- trees -----------------------------------------------------------------------------------

/// Files of a configuration in memory, with nginx's include resolution: relative to the
/// prefix, globs through glob(3) (sorted, no dot files).
struct Tree {
    prefix: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Tree {
    fn resolve(&self, pattern: &str) -> Vec<PathBuf> {
        let full = self.prefix.join(pattern);
        if pattern.contains(['*', '?', '[']) {
            let options = glob::MatchOptions {
                require_literal_leading_dot: true,
                ..Default::default()
            };
            let mut found: Vec<PathBuf> = self
                .files
                .iter()
                .map(|(p, _)| p.clone())
                .filter(|p| {
                    glob::Pattern::new(&full.to_string_lossy())
                        .unwrap()
                        .matches_path_with(p, options)
                })
                .collect();
            found.sort();
            found
        } else {
            vec![full]
        }
    }

    fn check(&self, root: &Path) -> (String, Vec<Diagnostic>) {
        let scans: Vec<FileScan> = self.files.iter().map(|(p, src)| find(p, src)).collect();
        // As the pipeline gives them: each include's targets as indices into the tree.
        let included: Vec<Vec<Vec<usize>>> = scans
            .iter()
            .map(|s| {
                s.includes
                    .iter()
                    .map(|i| {
                        self.resolve(&i.pattern)
                            .iter()
                            .filter_map(|t| self.files.iter().position(|(p, _)| p == t))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let tree: Vec<TreeFile> = self
            .files
            .iter()
            .zip(&scans)
            .zip(&included)
            .map(|(((path, src), scan), included)| TreeFile {
                path,
                src,
                scan,
                included,
                is_root: path == root,
            })
            .collect();
        let diags = Nginx.check_tree(&tree);
        let mut out = String::new();
        for ((path, src), scan) in self.files.iter().zip(&scans) {
            let text = render(src, scan, &self.prefix);
            if !text.is_empty() {
                let rel = path.strip_prefix(&self.prefix).unwrap();
                writeln!(out, "== {}\n{text}", rel.display()).unwrap();
            }
        }
        (out, diags)
    }
}

fn render_tree_diags(diags: &[Diagnostic], prefix: &Path) -> String {
    let mut out = String::new();
    for d in diags {
        render_diag(&mut out, d, prefix);
    }
    out
}

#[test]
fn tree_lints_fixture() {
    let path = fixture("lints.conf");
    let tree = Tree {
        prefix: path.parent().unwrap().to_path_buf(),
        files: vec![(path.clone(), std::fs::read(&path).unwrap())],
    };
    let (_, diags) = tree.check(&path);
    let codes: Vec<(&str, usize)> = diags
        .iter()
        .map(|d| (d.code, d.location.as_ref().unwrap().line))
        .collect();
    // Hand-derived from nginx's inheritance rule (see the fixture's comments).
    assert_eq!(
        codes,
        vec![
            ("NGX202", 9),
            ("NGX202", 16),
            ("NGX202", 22),
            ("NGX204", 39)
        ]
    );
    snapshot("check_tree_lints", render_tree_diags(&diags, &tree.prefix));
}

fn h5bp_dir() -> PathBuf {
    common::corpus_dir().join("nginx/h5bp")
}

/// Every nginx file of the boilerplate, read from the corpus.
fn h5bp_files() -> Vec<(PathBuf, Vec<u8>)> {
    common::corpus_files("nginx/h5bp")
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("LICENSE")
        })
        .map(|p| {
            let src = std::fs::read(&p).unwrap();
            (p, src)
        })
        .collect()
}

/// h5bp as it ships: its CSP is `map $sent_http_content_type $content_security_policy` in
/// nginx.conf plus `add_header Content-Security-Policy $content_security_policy always;` in a
/// snippet.
#[test]
fn h5bp_as_shipped() {
    if !common::have_corpus() {
        return;
    }
    let tree = Tree {
        prefix: h5bp_dir(),
        files: h5bp_files(),
    };
    let (found, diags) = tree.check(&h5bp_dir().join("nginx.conf"));
    // As shipped, no server includes basic.conf (the site template is not enabled): no lint.
    assert!(diags.is_empty(), "{diags:?}");
    snapshot("find_h5bp", found);
}

/// h5bp deployed as its README says (the template copied to conf.d/example.com.conf) with the
/// CSP snippet enabled in basic.conf, and the svgz location (which h5bp makes repeat the CSP,
/// because of the inheritance rule). Then the same with that repetition removed: NGX202.
#[test]
fn h5bp_deployed() {
    if !common::have_corpus() {
        return;
    }
    let csp_and_svgz = b"\ninclude h5bp/security/content-security-policy.conf;\ninclude h5bp/location/web_performance_svgz-compression.conf;\n";
    let deploy = |keep_svgz_csp: bool| {
        let mut files = h5bp_files();
        let template = files
            .iter()
            .find(|(p, _)| p.ends_with("conf.d/templates/example.com.conf"))
            .unwrap()
            .1
            .clone();
        files.push((h5bp_dir().join("conf.d/example.com.conf"), template));
        for (path, src) in &mut files {
            if path.ends_with("h5bp/basic.conf") {
                src.extend_from_slice(csp_and_svgz);
            }
            if path.ends_with("web_performance_svgz-compression.conf") && !keep_svgz_csp {
                let line = b"    include h5bp/security/content-security-policy.conf;\n";
                let at = src.windows(line.len()).position(|w| w == line).unwrap();
                src.drain(at..at + line.len());
            }
        }
        files.sort();
        Tree {
            prefix: h5bp_dir(),
            files,
        }
    };
    let (_, diags) = deploy(true).check(&h5bp_dir().join("nginx.conf"));
    assert!(
        diags.is_empty(),
        "h5bp repeats the CSP in its svgz location: {diags:?}"
    );
    let tree = deploy(false);
    let (_, diags) = tree.check(&h5bp_dir().join("nginx.conf"));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, "NGX202");
    assert!(diags[0].message.contains(r"location ~* \.svgz$"));
    snapshot(
        "check_tree_h5bp_svgz_without_csp",
        render_tree_diags(&diags, &tree.prefix),
    );
}

/// A block that starts a file's first byte and the file's top level are two levels: each
/// message names each by its own label (they share file and offset).
#[test]
fn a_block_at_a_files_first_byte_is_not_its_top_level() {
    let prefix = PathBuf::from("/etc/nginx");
    let tree = Tree {
        files: vec![(
            prefix.join("snippets/csp.conf"),
            b"location / { add_header X-A 1; }\nadd_header Content-Security-Policy \"default-src 'self'\";\n"
                .to_vec(),
        )],
        prefix: prefix.clone(),
    };
    let (_, diags) = tree.check(&prefix.join("nginx.conf"));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, "NGX202");
    assert!(
        diags[0]
            .message
            .starts_with("`location /` has its own add_header")
            && diags[0]
                .message
                .contains("inherits none from `top level of "),
        "{}",
        diags[0].message
    );
}

/// NGX201 points at the backslash that continues the line, not at an earlier escaped one.
#[test]
fn line_break_diagnostic_points_at_the_continuation() {
    let src =
        b"add_header Content-Security-Policy \"img-src a\\\\b; \\\n  script-src 'self'\" always;\n";
    let scan = find(Path::new("x.conf"), src);
    let d = scan
        .diagnostics
        .iter()
        .find(|d| d.code == "NGX201")
        .unwrap();
    let loc = d.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.col), (1, 51));
    assert_eq!(&src[50..52], b"\\\n");
    assert_eq!(
        scan.sites[0].policy_text(),
        "img-src a\\b; script-src 'self'"
    );
}

/// NGX206 (an upstream's own policy reaches the browser too): per module's hide list, which
/// a level inherits only when it has none of its own; headers-more's `more_clear_headers`;
/// a Report-Only policy alone blocks nothing, so no note. Hand-derived from nginx's
/// ngx_http_upstream_hide_headers_hash; tests/e2e/upstream_csp.rs measures the proxy case.
#[test]
fn upstream_policy_notes_follow_each_modules_hide_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("up.conf");
    let conf = "\
server {
    add_header Content-Security-Policy \"script-src 'self'\" always;
    fastcgi_hide_header Content-Security-Policy;
    location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; }
    location /py/ { uwsgi_pass 127.0.0.1:9001; }
    location /own/ { fastcgi_hide_header X-Powered-By; fastcgi_pass 127.0.0.1:9000; }
    location /cleared/ { more_clear_headers 'Content-Security-*'; proxy_pass http://a; }
    location /other/ { more_clear_headers X-Frame-Options; proxy_pass http://a; }
}
server {
    add_header Content-Security-Policy-Report-Only \"script-src 'self'\" always;
    location / { proxy_pass http://a; }
}
";
    std::fs::write(&path, conf).unwrap();
    let tree = Tree {
        prefix: dir.path().to_path_buf(),
        files: vec![(path.clone(), conf.as_bytes().to_vec())],
    };
    let (_, diags) = tree.check(&path);
    let lines: Vec<usize> = diags
        .iter()
        .filter(|d| d.code == "NGX206")
        .map(|d| d.location.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, vec![5, 6, 8], "{diags:#?}");
}
