//! The nginx tokenizer against ~900 real configuration files: lossless round trip, nginx's own
//! verdict on the files it refuses (`nginx -t`), and crossplane as a differential oracle for
//! every directive's arguments.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use csppatch::dialect::nginx::{self, Body, Directive, Quote, Word};
use csppatch::dialect::Dialect;

fn nginx_corpus() -> PathBuf {
    common::corpus_dir().join("nginx")
}

/// Every file of the nginx corpus except the upstream licences.
fn corpus_files() -> Vec<PathBuf> {
    common::corpus_files("nginx")
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("LICENSE")
        })
        .collect()
}

fn rel(path: &Path) -> String {
    path.strip_prefix(nginx_corpus())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The files nginx refuses at the syntax level, with the line nginx reports, hand-checked
/// against `nginx -t` (see `refused_files_are_refused_by_nginx_too`).
const REFUSED: &[(&str, usize, &str)] = &[
    // A symbolic link stored as a file: its text is `../sites-available/default`, no `;`.
    (
        "certbot-trees/great-nginx-config/stuff/sites-enabled/default",
        1,
        "unexpected end of file",
    ),
    // Certificates and keys in the certbot trees: base64 lines and no `;` at all.
    (
        "certbot-trees/lots/nginx/empty_cert.pem",
        18,
        "unexpected end of file",
    ),
    (
        "certbot-trees/lots/nginx/key2.pem",
        29,
        "unexpected end of file",
    ),
    (
        "certbot-trees/site-10033/nginx/empty_cert.pem",
        18,
        "unexpected end of file",
    ),
    (
        "certbot-trees/site-10033/nginx/key2.pem",
        29,
        "unexpected end of file",
    ),
    (
        "certbot-trees/site-14402/nginx/empty_cert.pem",
        18,
        "unexpected end of file",
    ),
    (
        "certbot-trees/site-14402/nginx/key2.pem",
        29,
        "unexpected end of file",
    ),
    // "# this file should never be included" followed by a word and no `;`.
    (
        "crossplane/includes-globbed/servers/locations/not-included.conf",
        3,
        "unexpected end of file",
    ),
    (
        "crossplane/includes-regular/conf.d/bar.conf",
        3,
        "unexpected end of file",
    ),
    (
        "crossplane/includes-regular/conf.d/foo.conf",
        3,
        "unexpected end of file",
    ),
    // `proxy_pass http://is.broken.example` then `}`.
    (
        "crossplane/missing-semicolon/broken-above.conf",
        5,
        "unexpected \"}\"",
    ),
    (
        "crossplane/missing-semicolon/broken-below.conf",
        8,
        "unexpected \"}\"",
    ),
    // `"outer-quote" "left"-quote`: nginx wants a space after a closing quote.
    (
        "crossplane/quote-behavior/nginx.conf",
        1,
        "unexpected \"-\"",
    ),
];

#[test]
fn every_corpus_file_round_trips_or_fails_like_nginx() {
    if !common::have_corpus() {
        return;
    }
    let files = corpus_files();
    assert!(
        files.len() >= 880,
        "corpus not found: {} files",
        files.len()
    );
    let mut round_tripped = 0;
    let mut refused = BTreeMap::new();
    for path in &files {
        let src = std::fs::read(path).unwrap();
        match nginx::tokenize(&src) {
            Ok(tokens) => {
                let mut joined = Vec::with_capacity(src.len());
                let mut at = 0;
                for t in &tokens {
                    assert_eq!(t.span.start, at, "{}: gap before a token", rel(path));
                    joined.extend_from_slice(&src[t.span.clone()]);
                    at = t.span.end;
                }
                assert_eq!(joined, src, "{} does not round-trip", rel(path));
                round_tripped += 1;
            }
            Err(e) => {
                let (line, _) = csppatch::diag::line_col(&src, e.offset);
                refused.insert(rel(path), (line, e.message));
            }
        }
    }
    let expected: BTreeMap<String, (usize, String)> = REFUSED
        .iter()
        .map(|(p, l, m)| (p.to_string(), (*l, m.to_string())))
        .collect();
    assert_eq!(
        refused.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the set of refused files changed"
    );
    for (path, (line, message)) in &refused {
        let (want_line, want) = &expected[path];
        assert_eq!(line, want_line, "{path}: {message}");
        assert!(message.starts_with(want.as_str()), "{path}: {message}");
    }
    eprintln!(
        "nginx corpus: {round_tripped}/{} files round-trip byte for byte, {} refused as nginx does",
        files.len() - refused.len(),
        refused.len()
    );
    assert_eq!(round_tripped + refused.len(), files.len());
}

/// `find()` on every file: no panic, and the refused files are refused with file:line.
#[test]
fn find_runs_on_every_corpus_file() {
    if !common::have_corpus() {
        return;
    }
    let mut scanned = 0;
    let mut errors = Vec::new();
    for path in corpus_files() {
        let src = std::fs::read(&path).unwrap();
        match nginx::Nginx.find(&path, &src) {
            Ok(_) => scanned += 1,
            Err(d) => {
                let loc = d.location.as_ref().expect("an error has a location");
                assert!(loc.line >= 1 && loc.path == path);
                errors.push(rel(&path));
            }
        }
    }
    let expected: Vec<&str> = REFUSED.iter().map(|(p, _, _)| *p).collect();
    assert_eq!(errors, expected);
    assert!(scanned > 870);
}

/// The nginx binary agrees: each refused file fails `nginx -t` with the same message and line.
#[test]
fn refused_files_are_refused_by_nginx_too() {
    if !common::have_corpus() || !common::have("nginx") {
        return;
    }
    for (path, line, message) in REFUSED {
        let full = nginx_corpus().join(path);
        let err = common::nginx::nginx_t(&full).expect_err(path);
        let src = std::fs::read(&full).unwrap();
        let ours = nginx::tokenize(&src).unwrap_err();
        assert!(
            err.starts_with(&ours.message),
            "{path}: nginx says {err:?}, we say {:?}",
            ours.message
        );
        assert!(err.starts_with(message));
        assert!(
            err.ends_with(&format!(":{line}")),
            "{path}: nginx says {err}"
        );
    }
}

// ---- crossplane differential ----------------------------------------------------------------

/// crossplane's view of one file: every non-comment directive as (name, args, line), depth
/// first, or its error.
const CROSSPLANE_DUMP: &str = r#"
import crossplane, json, sys
def flat(block, out):
    for d in block:
        if d['directive'] == '#':
            continue
        out.append([d['directive'], d['args'], d['line']])
        flat(d.get('block', []), out)
res = {}
for path in sys.argv[1:]:
    try:
        p = crossplane.parse(path, single=True, check_ctx=False, check_args=False, comments=True)
        c = p['config'][0]
        if c['status'] == 'ok':
            out = []
            flat(c['parsed'], out)
            res[path] = {'ok': out}
        else:
            res[path] = {'error': str(c['errors'])}
    except Exception as e:
        res[path] = {'error': repr(e)}
print(json.dumps(res))
"#;

type Flat = Vec<(String, Vec<String>, usize)>;

/// A word as crossplane presents it: crossplane keeps escapes as written except a backslash
/// before the word's own quote character (lexer.py `_lex_file_object`). nginx decodes more
/// (`\\n` is a newline, `\\\\` one backslash): comparing this view checks where our words
/// start and end; the decoding is checked against the real nginx in nginx_server.rs.
fn crossplane_view(w: &Word, src: &[u8]) -> String {
    let raw = &src[w.inner()];
    let quote = match w.quote {
        Quote::Bare => return String::from_utf8_lossy(raw).into_owned(),
        Quote::Double => b'"',
        Quote::Single => b'\'',
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            if raw[i + 1] == quote {
                out.push(quote);
            } else {
                out.extend_from_slice(&raw[i..i + 2]);
            }
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// crossplane's parser drops the parentheses of `if` (parser.py `_prepare_if_args`).
fn prepare_if_args(args: &mut Vec<String>) {
    if args.first().is_some_and(|a| a.starts_with('('))
        && args.last().is_some_and(|a| a.ends_with(')'))
    {
        args[0] = args[0][1..].trim_start().to_string();
        let last = args.len() - 1;
        args[last] = args[last][..args[last].len() - 1].trim_end().to_string();
        let start = usize::from(args[0].is_empty());
        let end = args.len() - usize::from(args[last].is_empty());
        *args = args[start..end.max(start)].to_vec();
    }
}

/// Our directives in crossplane's view, and how many arguments nginx decodes differently.
fn ours(src: &[u8]) -> Result<(Flat, usize), String> {
    fn flat(ds: &[Directive], src: &[u8], out: &mut Flat, decoded_differently: &mut usize) {
        for d in ds {
            let mut args: Vec<String> = d.args.iter().map(|a| crossplane_view(a, src)).collect();
            *decoded_differently += d
                .args
                .iter()
                .filter(|a| a.text(src) != crossplane_view(a, src))
                .count();
            if let Body::Lua(code) = &d.body {
                args.push(String::from_utf8_lossy(&src[code.clone()]).into_owned());
            }
            let name = crossplane_view(&d.name, src);
            if name == "if" {
                prepare_if_args(&mut args);
            }
            let line = csppatch::diag::line_col(src, d.name.span.start).0;
            out.push((name, args, line));
            flat(d.children(), src, out, decoded_differently);
        }
    }
    let tree = nginx::parse(src).map_err(|e| e.message)?;
    let mut out = Vec::new();
    let mut decoded_differently = 0;
    flat(&tree, src, &mut out, &mut decoded_differently);
    Ok((out, decoded_differently))
}

/// Files where crossplane and nginx (so csppatch) disagree, and why. Each was checked by hand
/// against ngx_conf_read_token.
const DISAGREEMENTS: &[(&str, &str)] = &[
    // crossplane does not require a `;` before `}`: it nests the next location inside the
    // broken one. nginx -t: unexpected "}".
    (
        "crossplane/missing-semicolon/broken-above.conf",
        "crossplane accepts a missing `;`",
    ),
    (
        "crossplane/missing-semicolon/broken-below.conf",
        "crossplane accepts a missing `;`",
    ),
    // crossplane drops a last word that ends the file (its lexer yields a token only when a
    // space or `;{}` follows). nginx -t: unexpected end of file, expecting ";" or "}".
    (
        "certbot-trees/great-nginx-config/stuff/sites-enabled/default",
        "crossplane drops a word at the end of the file",
    ),
    // crossplane does not require a space after a closing quote. nginx -t: unexpected "-".
    (
        "crossplane/quote-behavior/nginx.conf",
        "crossplane accepts `\"left\"-quote`",
    ),
    // crossplane's `${` handling (lexer.py "parameter expansion syntax") swallows the space
    // after `${var}` and glues the next word on: `try_files /abc/${uri} /abc/${uri}.html` has
    // two words for nginx (ngx_conf_read_token only keeps `{` right after `$`).
    (
        "crossplane/messy/nginx.conf",
        "crossplane glues the word after `${uri}` on",
    ),
    (
        "nginx-tests/access_log.conf",
        "crossplane glues the word after `${arg_logname}` on",
    ),
];

#[test]
fn directive_arguments_agree_with_crossplane() {
    if !common::have_corpus() {
        return;
    }
    let have_crossplane = Command::new("python3")
        .args(["-c", "import crossplane"])
        .status()
        .is_ok_and(|s| s.success());
    if !common::available(
        have_crossplane,
        "python3 cannot import crossplane (pip install crossplane)",
    ) {
        return;
    }
    let files = corpus_files();
    let out = Command::new("python3")
        .arg("-c")
        .arg(CROSSPLANE_DUMP)
        .args(&files)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut agree = 0;
    let mut both_refuse = 0;
    let mut decoded_differently = 0;
    let mut disagree = Vec::new();
    for path in &files {
        let src = std::fs::read(path).unwrap();
        let cp = &theirs[&path.to_string_lossy().into_owned()];
        match (ours(&src), cp.get("ok")) {
            (Err(_), None) => both_refuse += 1,
            (Ok((mine, differently)), Some(list)) => {
                decoded_differently += differently;
                let cp_list: Vec<(String, Vec<String>, usize)> =
                    serde_json::from_value(list.clone()).unwrap();
                if mine == cp_list {
                    agree += 1;
                } else {
                    let first = mine
                        .iter()
                        .zip(&cp_list)
                        .find(|(a, b)| a != b)
                        .map(|(a, b)| format!("{a:?} vs crossplane {b:?}"))
                        .unwrap_or_else(|| {
                            format!("{} vs {} directives", mine.len(), cp_list.len())
                        });
                    disagree.push((rel(path), first));
                }
            }
            (mine, _) => disagree.push((
                rel(path),
                format!("ours: {:?}, crossplane: {cp}", mine.err()),
            )),
        }
    }
    eprintln!(
        "crossplane differential: {agree} files agree directive for directive, {both_refuse} refused by both, {} disagree; \
         {decoded_differently} arguments hold escapes nginx decodes and crossplane keeps",
        disagree.len()
    );
    for (path, why) in &disagree {
        eprintln!("  {path}: {why}");
    }
    let mut explained: Vec<&str> = DISAGREEMENTS.iter().map(|(p, _)| *p).collect();
    explained.sort();
    let found: Vec<&str> = disagree.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        found, explained,
        "unexplained disagreements with crossplane"
    );
}
