//! Every diagnostic code the sources can emit is documented once, and every documented code
//! is emitted somewhere (issue 9: one meaning per code, `csppatch rules CODE` for each).
//!
//! The test reads `src/` as text: a code is a string literal like `"CSP101"` or `"E020"`, and
//! each such literal outside `#[cfg(test)]` code must sit in a place the scanner knows:
//! - emitted: the first argument of a function whose first parameter is
//!   `code: &'static str` (`Diagnostic::error`, `err`, `doc.error`), a `code:` field of a
//!   struct literal (`SyntaxError`, `Repair`), the first element of a `(code, message)` tuple,
//!   or a `const` used in one of those places (`code::PARSE`);
//! - documented: a `code:` field inside `Rule { .. }` or `declare_rule! { .. }` (the tables
//!   themselves are read through [`super::all`]);
//! - compared: after `==`/`!=`, in `contains(&"..")`, or in an array of codes.
//!
//! A literal anywhere else fails the test with its file and line, so a new way of building a
//! diagnostic cannot hide a code from it. Codes named inside text (comments, messages, rule
//! docs: "see VND717") must be documented too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod lex;

use lex::{ident, is_punct, lex, strip_test_items, Tok, Token};

fn is_code(s: &str) -> bool {
    if !s.is_ascii() {
        return false;
    }
    let (letters, digits) = s.split_at(s.len().saturating_sub(3));
    digits.len() == 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (letters == "E" && digits.starts_with('0')
            || letters.len() == 3 && letters.bytes().all(|b| b.is_ascii_uppercase()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Use {
    Emitted,
    Documented,
    Compared,
    Const,
    Unrecognized,
}

/// One place a code appears.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    code: String,
    at: String,
    kind: Use,
}

#[derive(Default)]
struct Scan {
    seen: Vec<Seen>,
    /// Codes named in comments and text, with where.
    mentioned: Vec<(String, String)>,
}

/// Functions whose first parameter (after `self`) is `code: &'static str`.
fn code_functions(files: &[(String, Vec<Token>)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, toks) in files {
        for i in 0..toks.len() {
            if ident(toks.get(i)) != Some("fn") || !is_punct(toks.get(i + 2), '(') {
                continue;
            }
            let Some(name) = ident(toks.get(i + 1)) else {
                continue;
            };
            let mut j = i + 3;
            // `self`, `&self`, `&mut self`, `mut self`, then a comma.
            let mut k = j;
            while matches!(
                toks.get(k).map(|t| &t.tok),
                Some(Tok::Punct('&') | Tok::Lifetime)
            ) || ident(toks.get(k)) == Some("mut")
            {
                k += 1;
            }
            if ident(toks.get(k)) == Some("self") {
                j = k + 1;
                if is_punct(toks.get(j), ',') {
                    j += 1;
                }
            }
            let shape = [
                ident(toks.get(j)) == Some("code"),
                is_punct(toks.get(j + 1), ':'),
                is_punct(toks.get(j + 2), '&'),
                matches!(toks.get(j + 3).map(|t| &t.tok), Some(Tok::Lifetime)),
                ident(toks.get(j + 4)) == Some("str"),
            ];
            if shape.iter().all(|&ok| ok) {
                out.insert(name.to_string());
            }
        }
    }
    out
}

/// `const NAME: &str = "CODE";` (or `&'static str`) in every file.
fn code_consts(files: &[(String, Vec<Token>)]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, toks) in files {
        for i in 0..toks.len() {
            if ident(toks.get(i)) != Some("const") {
                continue;
            }
            let (Some(name), true) = (ident(toks.get(i + 1)), is_punct(toks.get(i + 2), ':'))
            else {
                continue;
            };
            let eq = (i + 3..toks.len().min(i + 8)).find(|&j| is_punct(toks.get(j), '='));
            if let Some(Token {
                tok: Tok::Str(s), ..
            }) = eq.and_then(|e| toks.get(e + 1))
            {
                if is_code(s) {
                    out.entry(name.to_string()).or_default().push(s.clone());
                }
            }
        }
    }
    out
}

/// The identifier that ends the path starting at `i` (`code::PARSE`, `PARSE`), when the path
/// is the whole expression (followed by `,`, `)` or `}`).
fn path_end(toks: &[Token], mut i: usize) -> Option<&str> {
    let mut last = ident(toks.get(i))?;
    while is_punct(toks.get(i + 1), ':') && is_punct(toks.get(i + 2), ':') {
        last = ident(toks.get(i + 3))?;
        i += 3;
    }
    matches!(
        toks.get(i + 1).map(|t| &t.tok),
        Some(Tok::Punct(',' | ')' | '}'))
    )
    .then_some(last)
}

fn scan_file(
    scan: &mut Scan,
    path: &str,
    toks: &[Token],
    comments: &[(usize, String)],
    functions: &BTreeSet<String>,
    consts: &BTreeMap<String, Vec<String>>,
) {
    // For each token, the innermost open bracket: its char and the identifier before it
    // (`Rule {`, `declare_rule! {`, `error(`).
    let mut stack: Vec<(char, Option<String>, bool)> = Vec::new();
    let mut in_table = 0usize;
    for (i, t) in toks.iter().enumerate() {
        let at = format!("{path}:{}", t.line);
        match &t.tok {
            Tok::Punct(open @ ('(' | '[' | '{')) => {
                let before = if is_punct(toks.get(i.wrapping_sub(1)), '!') {
                    ident(toks.get(i.wrapping_sub(2)))
                } else {
                    ident(toks.get(i.wrapping_sub(1)))
                };
                let table = *open == '{' && matches!(before, Some("Rule" | "declare_rule"));
                in_table += usize::from(table);
                stack.push((*open, before.map(str::to_string), table));
                continue;
            }
            Tok::Punct(')' | ']' | '}') => {
                if let Some((_, _, true)) = stack.pop() {
                    in_table -= 1;
                }
                continue;
            }
            Tok::Str(s) if !is_code(s) => {
                mentions(scan, s, &at);
                continue;
            }
            Tok::Str(_) => {}
            _ => {
                // A const used where a code is emitted.
                let arg = is_punct(toks.get(i.wrapping_sub(1)), '(')
                    && stack
                        .last()
                        .and_then(|(_, owner, _)| owner.as_deref())
                        .is_some_and(|o| functions.contains(o));
                let field = is_punct(toks.get(i.wrapping_sub(1)), ':')
                    && !is_punct(toks.get(i.wrapping_sub(2)), ':')
                    && ident(toks.get(i.wrapping_sub(2))) == Some("code");
                if (arg || field) && in_table == 0 {
                    if let Some(codes) = path_end(toks, i).and_then(|name| consts.get(name)) {
                        for code in codes {
                            scan.seen.push(Seen {
                                code: code.clone(),
                                at: at.clone(),
                                kind: Use::Emitted,
                            });
                        }
                    }
                }
                continue;
            }
        }
        let Tok::Str(code) = &t.tok else {
            unreachable!("only code literals get here")
        };
        let prev = |k: usize| toks.get(i.wrapping_sub(k));
        let owner = stack.last().and_then(|(_, o, _)| o.as_deref());
        // `Diagnostic::error("CSP101", ..)`, `err("APA001", ..)`.
        let argument = is_punct(prev(1), '(') && owner.is_some_and(|o| functions.contains(o));
        // `SyntaxError { code: "NGX001", .. }`.
        let field =
            is_punct(prev(1), ':') && !is_punct(prev(2), ':') && ident(prev(2)) == Some("code");
        // `Err(("VND704", message))`, `|e| ("VND702", e.to_string())`.
        let tuple = is_punct(prev(1), '(')
            && (ident(prev(2)).is_none() || ident(prev(2)) == Some("Err"))
            && !is_punct(prev(2), ')')
            && is_punct(toks.get(i + 1), ',');
        let kind = if in_table > 0 {
            Use::Documented
        } else if argument || field || tuple {
            Use::Emitted
        } else if is_punct(prev(1), '=') && (3..=7).any(|k| ident(prev(k)) == Some("const")) {
            Use::Const
        } else if (is_punct(prev(1), '=') && (is_punct(prev(2), '=') || is_punct(prev(2), '!')))
            || (is_punct(prev(1), '&')
                && is_punct(prev(2), '(')
                && ident(prev(3)) == Some("contains"))
            || (stack.last().is_some_and(|(c, ..)| *c == '[')
                && (is_punct(prev(1), '[') || is_punct(prev(1), ',')))
        {
            Use::Compared
        } else {
            Use::Unrecognized
        };
        scan.seen.push(Seen {
            code: code.clone(),
            at,
            kind,
        });
    }
    for (line, text) in comments {
        mentions(scan, text, &format!("{path}:{line}"));
    }
}

/// Codes named inside text: `(CSP109)`, `see VND717`.
fn mentions(scan: &mut Scan, text: &str, at: &str) {
    let bytes = text.as_bytes();
    for start in 0..bytes.len() {
        let boundary = |k: usize| k >= bytes.len() || !bytes[k].is_ascii_alphanumeric();
        if start > 0 && !boundary(start - 1) {
            continue;
        }
        for len in [4, 6] {
            let end = start + len;
            let Some(word) = bytes
                .get(start..end)
                .and_then(|w| std::str::from_utf8(w).ok())
            else {
                continue;
            };
            if boundary(end) && is_code(word) {
                scan.mentioned.push((word.to_string(), at.to_string()));
            }
        }
    }
}

/// Every `.rs` file under `dir` that is compiled outside tests.
fn scan_tree(dir: &Path) -> Scan {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    for path in &paths {
        let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let (toks, comments) = lex(&src);
        let (toks, test_mods) = strip_test_items(toks);
        // `#[cfg(test)] mod tests;` in `a/b.rs` is `a/b/tests.rs`; in `mod.rs`, a sibling.
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let children = if matches!(stem, "mod" | "lib" | "main") {
            path.parent().map(Path::to_path_buf)
        } else {
            Some(path.with_extension(""))
        };
        for m in test_mods {
            if let Some(dir) = &children {
                test_only.insert(dir.join(format!("{m}.rs")));
                test_only.insert(dir.join(&m).join("mod.rs"));
            }
        }
        let rel = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        files.push((path.clone(), rel, toks, comments));
    }
    files.retain(|(path, ..)| !test_only.contains(path));
    // Comments of test code are kept (the lexer does not know where they belong): they
    // name codes too, and must name documented ones.
    let token_files: Vec<(String, Vec<Token>)> = files
        .iter()
        .map(|(_, rel, toks, _)| (rel.clone(), toks.clone()))
        .collect();
    let functions = code_functions(&token_files);
    let consts = code_consts(&token_files);
    let mut scan = Scan::default();
    for (_, rel, toks, comments) in &files {
        scan_file(
            &mut scan,
            &format!("src/{rel}"),
            toks,
            comments,
            &functions,
            &consts,
        );
    }
    scan
}

#[test]
fn every_emitted_code_has_one_documented_rule_and_every_rule_is_emitted() {
    let scan = scan_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let rules = super::all();
    let mut problems = Vec::new();

    for s in scan.seen.iter().filter(|s| s.kind == Use::Unrecognized) {
        problems.push(format!(
            "{}: `\"{}\"` is neither emitted, documented nor compared in a way this test \
             knows (teach src/rules/emitted.rs the new construction)",
            s.at, s.code
        ));
    }
    let documented = |code: &str| rules.iter().filter(|r| r.code == code).count();
    let prefixes: BTreeSet<&str> = rules.iter().map(|r| &r.code[..r.code.len() - 3]).collect();
    let named = scan
        .seen
        .iter()
        .filter(|s| s.kind != Use::Documented)
        .map(|s| (&s.code, &s.at))
        .chain(
            // Only the families csppatch uses: `AH02430` in a message is httpd's.
            scan.mentioned
                .iter()
                .filter(|(c, _)| prefixes.contains(&c[..c.len() - 3]))
                .map(|(c, at)| (c, at)),
        );
    for (code, at) in named {
        if documented(code) != 1 {
            problems.push(format!(
                "{at}: {code} is documented {} times",
                documented(code)
            ));
        }
    }
    let emitted: BTreeSet<&str> = scan
        .seen
        .iter()
        .filter(|s| s.kind == Use::Emitted)
        .map(|s| s.code.as_str())
        .collect();
    for r in &rules {
        if !emitted.contains(r.code) {
            problems.push(format!(
                "{} ({}) is documented but never emitted",
                r.code, r.name
            ));
        }
        if documented(r.code) != 1 {
            problems.push(format!(
                "{} is documented {} times",
                r.code,
                documented(r.code)
            ));
        }
        if !is_code(r.code) {
            problems.push(format!(
                "{} is not a code (three capitals or E, three digits)",
                r.code
            ));
        }
        let kebab = !r.name.is_empty()
            && r.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !kebab {
            problems.push(format!("{}: name `{}` is not kebab-case", r.code, r.name));
        }
        for (part, text) in [("what", r.what), ("why", r.why), ("example", r.example)] {
            if text.trim().is_empty() {
                problems.push(format!("{}: `{part}` is empty", r.code));
            }
        }
        if !r.example.contains("Use instead") {
            problems.push(format!("{}: the example has no \"Use instead\"", r.code));
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_each_way_a_code_is_written() {
    let src = r##"
        pub const PARSE: &str = "ZZZ001";
        impl Diagnostic { pub fn warning(code: &'static str, m: impl Into<String>) -> Self { todo!() } }
        fn err(code: &'static str, at: usize) -> E { todo!() }
        impl Doc { fn error(&self, code: &'static str, m: String) -> D { todo!() } }
        fn f(d: &Diagnostic) {
            Diagnostic::warning("ZZZ002", "m");
            err("ZZZ003", 0);
            doc.error("ZZZ004", m);
            let e = SyntaxError { offset: 0, code: "ZZZ005" };
            let r = Err(("ZZZ006", why));
            Diagnostic::error(code::PARSE, "m");
            if d.code == "ZZZ007" || ["ZZZ008", "ZZZ009"].contains(&c) || v.contains(&"ZZZ010") {}
            println!("{}", "ZZZ011");
            let s = r#"a "ZZZ012" raw string, with 'quotes' and text naming ZZZ013"#; // ZZZ014
            let c = 'x'; let l: &'static str = "n"; /* block ZZZ015 */
        }
        static RULES: &[Rule] = &[Rule { code: "ZZZ016", name: "n", what: "see ZZZ017" }];
        declare_rule! { code: "ZZZ018", name: "n" }
        #[cfg(test)]
        mod tests { fn t() { Diagnostic::error("ZZZ019", "m"); } }
        #[cfg(test)]
        mod more;
    "##;
    let (toks, comments) = lex(src);
    let (toks, test_mods) = strip_test_items(toks);
    assert_eq!(test_mods, ["more"]);
    let files = vec![("x.rs".to_string(), toks.clone())];
    let mut scan = Scan::default();
    scan_file(
        &mut scan,
        "x.rs",
        &toks,
        &comments,
        &code_functions(&files),
        &code_consts(&files),
    );
    let kinds: BTreeMap<&str, Vec<Use>> = scan.seen.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.code.as_str()).or_default().push(s.kind);
        m
    });
    let kind = |code: &str| kinds.get(code).cloned().unwrap_or_default();
    assert_eq!(kind("ZZZ001"), [Use::Const, Use::Emitted]);
    for code in ["ZZZ002", "ZZZ003", "ZZZ004", "ZZZ005", "ZZZ006"] {
        assert_eq!(kind(code), [Use::Emitted], "{code}");
    }
    for code in ["ZZZ007", "ZZZ008", "ZZZ009", "ZZZ010"] {
        assert_eq!(kind(code), [Use::Compared], "{code}");
    }
    assert_eq!(kind("ZZZ011"), [Use::Unrecognized]);
    assert_eq!(kind("ZZZ016"), [Use::Documented]);
    assert_eq!(kind("ZZZ018"), [Use::Documented]);
    assert!(kind("ZZZ019").is_empty(), "test code is skipped");
    let mut mentioned: Vec<&str> = scan.mentioned.iter().map(|(c, _)| c.as_str()).collect();
    mentioned.sort();
    assert_eq!(
        mentioned,
        ["ZZZ012", "ZZZ013", "ZZZ014", "ZZZ015", "ZZZ017"]
    );
}
