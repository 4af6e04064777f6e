//! The Caddy dialect against the corpus of Caddy's own adapt tests
//! (`corpus/caddy/caddyfile-adapt`: a Caddyfile, a `----------` line, then the JSON that
//! `caddy adapt` printed for it, or the error it gave), and against the installed Caddy 2.6.2.
use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use csppatch::dialect::caddy::find::{scan_with_ops, FoundOp};
use csppatch::dialect::caddy::headers::OpKind;
use csppatch::dialect::caddy::lexer::{lex, PieceKind};
use csppatch::dialect::DialectKind;
use serde_json::Value;

struct Case {
    name: String,
    caddyfile: Vec<u8>,
    /// The text after the separator line: JSON, or an error message.
    expected: String,
}

fn corpus() -> Vec<Case> {
    let dir = common::corpus_dir().join("caddy/caddyfile-adapt");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "LICENSE"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read corpus file");
            let sep = find_separator(&bytes)
                .unwrap_or_else(|| panic!("{}: no ---------- line", p.display()));
            let rest = &bytes[sep..];
            let after = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |n| n + 1);
            Case {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                caddyfile: bytes[..sep].to_vec(),
                expected: String::from_utf8_lossy(&rest[after..]).into_owned(),
            }
        })
        .collect()
}

/// Offset of the first line that starts with ten dashes.
fn find_separator(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.starts_with(b"----------") {
            return Some(start);
        }
        start += line.len() + 1;
    }
    None
}

#[test]
fn every_corpus_file_round_trips_byte_for_byte() {
    if !common::have_corpus() {
        return;
    }
    let cases = corpus();
    let mut ok = 0;
    for case in &cases {
        let lexed = lex(&case.caddyfile);
        let mut rebuilt = Vec::new();
        let mut pos = 0;
        for piece in &lexed.pieces {
            assert_eq!(piece.span.start, pos, "{}: pieces must tile", case.name);
            if let PieceKind::Token(i) = piece.kind {
                assert_eq!(lexed.tokens[i].span, piece.span);
            }
            rebuilt.extend_from_slice(&case.caddyfile[piece.span.clone()]);
            pos = piece.span.end;
        }
        assert_eq!(rebuilt, case.caddyfile, "{}", case.name);
        ok += 1;
    }
    eprintln!("round-trip: {ok}/{} corpus Caddyfiles", cases.len());
    assert_eq!(ok, 239, "the corpus has 239 Caddyfiles");
}

#[test]
fn every_corpus_file_is_scanned_quickly_without_panicking() {
    if !common::have_corpus() {
        return;
    }
    let dialect = DialectKind::Caddy.dialect();
    let mut refused = Vec::new();
    for case in corpus() {
        let path = Path::new(&case.name);
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dialect.find(path, &case.caddyfile)
        }))
        .unwrap_or_else(|_| panic!("{}: find panicked", case.name));
        if let Err(d) = got {
            let loc = d.location.clone().expect("a refusal has a location");
            assert!(loc.line >= 1 && loc.col >= 1);
            refused.push(format!(
                "{}:{}:{} {}",
                case.name, loc.line, loc.col, d.message
            ));
        }
    }
    // Hand-checked: the only corpus file Caddy 2.6.2's parser refuses. In 2.6 a quoted "{"
    // opens a block (the corpus JSON is from a newer Caddy, which fixed that), so the next
    // line's `header` lands in a block of a `header` that already has arguments; `caddy adapt`
    // 2.6.2 says "Caddyfile:3 - ... cannot specify headers in both arguments and block".
    assert_eq!(
        refused,
        vec!["quoted_brace_args.caddyfiletest:3:2 Caddy refuses this directive: cannot specify headers in both arguments and block (the quoted \"{\" at 2:22 opens a block in Caddy 2.6)"],
    );
}

/// An operation as a comparable tuple: (kind, field, value, replacement).
type Op = (String, String, String, String);

/// Go's `textproto.CanonicalMIMEHeaderKey`, which `http.Header.Set`/`Add` apply: unchanged if
/// any byte is not a token character; else upper-case the first letter and each letter after
/// a `-`, lower-case the rest.
fn canonical(key: &str) -> String {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if key.is_empty() || !key.chars().all(token) {
        return key.to_string();
    }
    let mut upper = true;
    key.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// Our operations where Caddy runs them (not read from snippet definitions).
fn ours(ops: &[FoundOp]) -> BTreeSet<Op> {
    ops.iter()
        .filter(|o| !o.in_definition)
        .map(|o| {
            let v = o.value.clone().unwrap_or_default();
            let r = o.replacement.clone().unwrap_or_default();
            match o.kind {
                OpKind::Set => ("set".into(), canonical(&o.name), v, String::new()),
                OpKind::Add => ("add".into(), canonical(&o.name), v, String::new()),
                OpKind::Default => ("default".into(), canonical(&o.name), v, String::new()),
                OpKind::Delete => (
                    "delete".into(),
                    o.name.clone(),
                    String::new(),
                    String::new(),
                ),
                OpKind::Replace => ("replace".into(), o.name.clone(), v, r),
            }
        })
        .collect()
}

/// Every response-header operation of a `caddy adapt` JSON config: `headers` handlers and
/// the `headers.response` of `reverse_proxy` handlers, wherever they are nested.
fn theirs(json: &Value) -> BTreeSet<Op> {
    let mut out = BTreeSet::new();
    walk(json, &mut out);
    out
}

fn walk(v: &Value, out: &mut BTreeSet<Op>) {
    match v {
        Value::Object(m) => {
            match m.get("handler").and_then(Value::as_str) {
                Some("headers") => response_ops(m.get("response"), out),
                Some("reverse_proxy") => {
                    response_ops(m.get("headers").and_then(|h| h.get("response")), out)
                }
                _ => {}
            }
            m.values().for_each(|x| walk(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}

fn response_ops(r: Option<&Value>, out: &mut BTreeSet<Op>) {
    let Some(r) = r else { return };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let default = r.get("require").is_some();
    let fields = |key: &str| {
        r.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    for (field, vals) in fields("set") {
        for v in vals.as_array().into_iter().flatten() {
            let kind = if default { "default" } else { "set" };
            out.insert((kind.into(), field.clone(), s(v), String::new()));
        }
    }
    for (field, vals) in fields("add") {
        for v in vals.as_array().into_iter().flatten() {
            out.insert(("add".into(), field.clone(), s(v), String::new()));
        }
    }
    for field in r
        .get("delete")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.insert(("delete".into(), s(field), String::new(), String::new()));
    }
    for (field, reps) in fields("replace") {
        for rep in reps.as_array().into_iter().flatten() {
            let search = rep
                .get("search_regexp")
                .or_else(|| rep.get("search"))
                .map(s)
                .unwrap_or_default();
            let replace = rep.get("replace").map(s).unwrap_or_default();
            out.insert(("replace".into(), field.clone(), search, replace));
        }
    }
}

#[test]
fn header_values_match_the_corpus_json() {
    if !common::have_corpus() {
        return;
    }
    let (mut files, mut matched, mut ops) = (0, 0, 0);
    let mut differ = Vec::new();
    for case in corpus() {
        let Ok(json) = serde_json::from_str::<Value>(&case.expected) else {
            continue; // the corpus expects an error
        };
        files += 1;
        let want = theirs(&json);
        let got = match scan_with_ops(Path::new(&case.name), &case.caddyfile) {
            Ok((_, found)) => ours(&found),
            Err(_) => BTreeSet::new(),
        };
        if got == want {
            matched += 1;
            ops += want.len();
        } else {
            differ.push(case.name.clone());
            eprintln!(
                "{}:\n  corpus JSON only: {:?}\n  csppatch only:    {:?}",
                case.name,
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            );
        }
    }
    eprintln!("corpus JSON differential: {matched}/{files} files agree ({ops} header operations)");
    // The corpus JSON comes from a newer Caddy; these files differ because Caddy 2.6.2 (which
    // csppatch mirrors) reads them differently, as `header_ops_match_caddy_2_6_adapt` shows.
    assert_eq!(differ, KNOWN_2_6_DIFFERENCES);
}

/// Corpus files whose header operations differ between Caddy 2.6.2 and the newer Caddy that
/// wrote the corpus JSON, each checked by hand (and `header_ops_match_caddy_2_6_adapt` shows
/// that csppatch agrees with 2.6.2 on all of them):
/// - header: `>Field` (defer prefix, Caddy 2.7) and a `match` block inside `header` (2.9) are
///   plain field names and blocks to 2.6; `?` in a block goes to its own handler in 2.6;
/// - import_block*/import_blocks*: `import name { ... }` passing a block to `{block}` and
///   `{blocks.*}` (Caddy 2.9); 2.6 reads the block after the import as ordinary tokens;
/// - quoted_brace_args: a quoted `"{"` opens a block in 2.6 (see the scan test above).
const KNOWN_2_6_DIFFERENCES: &[&str] = &[
    "header.caddyfiletest",
    "import_block_snippet.caddyfiletest",
    "import_block_snippet_args.caddyfiletest",
    "import_block_snippet_non_replaced_block.caddyfiletest",
    "import_block_snippet_non_replaced_block_from_separate_file.caddyfiletest",
    "import_block_snippet_non_replaced_key_block.caddyfiletest",
    "import_blocks_snippet.caddyfiletest",
    "import_blocks_snippet_nested.caddyfiletest",
    "quoted_brace_args.caddyfiletest",
];

/// Caddy's messages for errors of the Caddyfile parser itself (and of the header directives):
/// the errors `find` must report too, at the same line.
const PARSE_ERRORS: &[&str] = &[
    "Syntax error",
    "Unexpected '}'",
    "Unexpected EOF",
    "Site addresses cannot end",
    "Expected another address",
    "redeclaration of previously declared snippet",
    "Import requires",
    "after 'import'",
    "Glob pattern",
    "cannot specify headers in both arguments and block",
    "after 'header_down'",
];

/// The line Caddy names in `...Caddyfile:N - ...` or `...Caddyfile:N: ...`.
fn caddy_line(message: &str) -> Option<usize> {
    let at = message.find("Caddyfile:")? + "Caddyfile:".len();
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn header_ops_match_caddy_2_6_adapt() {
    if !common::have_corpus() || !common::have(common::caddy::BIN) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut adapted, mut agree, mut refused_alike, mut ops) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in corpus() {
        let path = dir.path().join("Caddyfile");
        std::fs::write(&path, &case.caddyfile).unwrap();
        let mine = scan_with_ops(Path::new("Caddyfile"), &case.caddyfile);
        match common::caddy::adapt(&path) {
            Ok(json) => {
                adapted += 1;
                let want = theirs(&json);
                match &mine {
                    Ok((_, found)) if ours(found) == want => {
                        agree += 1;
                        ops += want.len();
                    }
                    Ok((_, found)) => failures.push(format!(
                        "{}: caddy only {:?}, csppatch only {:?}",
                        case.name,
                        want.difference(&ours(found)).collect::<Vec<_>>(),
                        ours(found).difference(&want).collect::<Vec<_>>()
                    )),
                    Err(d) => failures.push(format!(
                        "{}: caddy adapts it, csppatch refuses: {}",
                        case.name, d.message
                    )),
                }
            }
            Err(message) if PARSE_ERRORS.iter().any(|p| message.contains(p)) => match &mine {
                Err(d) if d.location.as_ref().map(|l| l.line) == caddy_line(&message) => {
                    refused_alike += 1;
                }
                other => failures.push(format!(
                    "{}: caddy refuses ({message}); csppatch: {:?}",
                    case.name,
                    other.as_ref().map(|_| "accepted").map_err(|d| &d.location)
                )),
            },
            // Semantic errors (unknown options, modules not in 2.6.2, missing import files):
            // not the parser's business, so `find` must accept the file.
            Err(message) => {
                if let Err(d) = &mine {
                    failures.push(format!(
                        "{}: caddy: {message}; csppatch refuses: {}",
                        case.name, d.message
                    ));
                }
            }
        }
    }
    eprintln!(
        "caddy 2.6.2 differential: {agree}/{adapted} adapted files agree ({ops} header operations); {refused_alike} parse refusals at the same line"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(adapted > 100, "most of the corpus adapts on 2.6.2");
}
