//! The conformance set of issue 7: `tests/fixtures/conformance/<dialect>/<name>/`, each a
//! small tree written for this repository to reproduce the shape of one real configuration
//! file of a public project (a comment in the file names the project and the file), with an
//! `outcome.toml` saying what a careful engineer expects csppatch to do on it. The expected
//! outcomes, and the policies after patching, were written by hand from the CSP rules (README,
//! "How the merge decides"), never produced by csppatch.
//!
//! For each fixture, on fresh copies of the tree:
//! - `csppatch RUN ARGS --check --format json` exits with `check_exit`;
//! - `csppatch RUN ARGS --format json` (a real write) exits with `exit`, reports every code of
//!   `codes` (`CODE`, `CODE@LINE` or `CODE@FILE:LINE`), changes exactly the sites of `[[site]]`
//!   to exactly their `after` text, and changes no other byte: each changed file is the
//!   original with each site's old value text replaced by its new one (`raw = false` on a site
//!   whose value is escaped or continued in the file skips only that byte check); a value
//!   built from variables is listed by the literals its change was written into (the `set`,
//!   the `vars` line: the report's `literals`), since those are the bytes that change;
//! - the real server's validator (`validate`) accepts the fixture before and, when patched,
//!   after the write.
//!
//! `pending = "BRANCH"` marks an outcome that needs work from that branch (issue 7's variables
//! on h-vars; locked policies and the false all-clear on h-honest): its failure is printed as
//! PENDING instead of failing the test, and a pending fixture that passes says its marker can go.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outcome {
    /// The public project and file this fixture models.
    models: String,
    /// The path given to csppatch, relative to the fixture (`.`: the whole tree).
    run: String,
    args: Vec<String>,
    /// patched | unchanged (nothing to add) | skipped (left as it is, with a reason code) |
    /// refused (with a reason code, nothing written)
    outcome: String,
    exit: i32,
    check_exit: i32,
    #[serde(default)]
    codes: Vec<String>,
    /// Codes that must not be reported (a comment is no CSP: no "cannot read" warning).
    #[serde(default)]
    absent: Vec<String>,
    /// Words some diagnostic's message must contain (for a warning whose code is not settled).
    #[serde(default)]
    messages: Vec<String>,
    /// nginx-main | nginx-http | nginx-server | apache-conf | apache-htaccess | caddy | php |
    /// none, optionally `:FILE` (tests/e2e/conformance/validate.rs)
    validate: String,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    site: Vec<ExpectedSite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSite {
    file: String,
    line: u64,
    after: String,
    #[serde(default = "yes")]
    raw: bool,
}

fn yes() -> bool {
    true
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

/// Every fixture directory, as `dialect/name`.
fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dialect in std::fs::read_dir(root()).expect("tests/fixtures/conformance") {
        let dialect = dialect.unwrap().path();
        for f in std::fs::read_dir(&dialect).unwrap() {
            let dir = f.unwrap().path();
            if dir.join("outcome.toml").is_file() {
                let name = format!(
                    "{}/{}",
                    dialect.file_name().unwrap().to_string_lossy(),
                    dir.file_name().unwrap().to_string_lossy()
                );
                out.push((name, dir));
            }
        }
    }
    out.sort();
    out
}

/// The fixture's files (relative path -> bytes), `outcome.toml` left out.
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
        if e.file_type().is_file() && rel != Path::new("outcome.toml") {
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

struct Ran {
    status: i32,
    json: serde_json::Value,
    stderr: String,
}

/// csppatch on a fresh copy of the tree: what it printed, and the tree afterwards.
fn run(
    files: &BTreeMap<PathBuf, Vec<u8>>,
    o: &Outcome,
    extra: &[&str],
) -> Result<(Ran, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), files);
    let out = common::csppatch()
        .current_dir(dir.path())
        .arg(&o.run)
        .args(&o.args)
        .args(extra)
        .args(["--format", "json", "--color", "never"])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str::<serde_json::Value>(&stdout)
        .map_err(|e| format!("stdout is not one JSON document ({e}): {stdout}"))?;
    let json = common::json::parse_checked(common::json::kind_of(&o.run), &out.stdout);
    let ran = Ran {
        status: out.status.code().unwrap_or(-1),
        json,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    Ok((ran, dir))
}

/// `path` as the JSON reports it, relative to the tree.
fn relative(path: &str, tree: &Path) -> String {
    let p = Path::new(path);
    p.strip_prefix(tree)
        .unwrap_or(p)
        .to_string_lossy()
        .trim_start_matches("./")
        .to_string()
}

fn diagnostics(ran: &Ran, tree: &Path) -> Vec<(String, String, u64)> {
    ran.json["diagnostics"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .map(|d| {
                    (
                        d["code"].as_str().unwrap_or("").to_string(),
                        relative(d["location"]["path"].as_str().unwrap_or(""), tree),
                        d["location"]["line"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn summary(ran: &Ran, tree: &Path) -> String {
    let codes: Vec<String> = diagnostics(ran, tree)
        .iter()
        .map(|(c, f, l)| format!("{c}@{f}:{l}"))
        .collect();
    format!(
        "exit {}, diagnostics [{}]\n--- stderr\n{}",
        ran.status,
        codes.join(", "),
        ran.stderr.trim_end()
    )
}

/// What a policy means to a browser, for comparing an expected policy with the one written:
/// directives in any order (a repeated one is kept as a marker: only the first counts), each
/// a set of sources, case-insensitive except nonces and hashes. Keywords that match no
/// request of a directive other than default-src/script-src*/style-src* ('unsafe-inline',
/// 'unsafe-eval' in worker-src, say) are left out: with or without them the verdicts are
/// the same, and the layout of new text is the dialect's choice.
fn meaning(policy: &str) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for d in policy.split(';') {
        let mut tokens = d.split_ascii_whitespace();
        let Some(name) = tokens.next() else { continue };
        let name = name.to_ascii_lowercase();
        let scripty = name == "default-src"
            || name.starts_with("script-src")
            || name.starts_with("style-src");
        let sources = tokens
            .map(|t| {
                if t.starts_with("'nonce-") || t.starts_with("'sha") {
                    t.to_string()
                } else {
                    t.to_ascii_lowercase()
                }
            })
            .filter(|t| {
                scripty
                    || !matches!(
                        t.as_str(),
                        "'unsafe-inline'"
                            | "'unsafe-eval'"
                            | "'wasm-unsafe-eval'"
                            | "'unsafe-hashes'"
                            | "'report-sample'"
                    )
            })
            .collect();
        if out.contains_key(&name) {
            out.insert(format!("{name} (repeated)"), Default::default());
        } else {
            out.insert(name, sources);
        }
    }
    out
}

/// Checks one fixture; `Err` lists what differs from its outcome.
fn check(name: &str, dir: &Path, o: &Outcome) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let files = read_tree(dir);
    if !matches!(
        o.outcome.as_str(),
        "patched" | "unchanged" | "skipped" | "refused"
    ) {
        errors.push(format!("unknown outcome {:?}", o.outcome));
    }
    if !files
        .values()
        .any(|b| String::from_utf8_lossy(b).contains("Models "))
    {
        errors.push("no file names the project it models (a `Models ...` comment)".into());
    }
    if o.outcome == "patched" && o.site.is_empty() {
        errors.push("a patched outcome lists the sites it changes".into());
    }
    if matches!(o.outcome.as_str(), "skipped" | "refused") && o.codes.is_empty() {
        errors.push("a skip or a refusal names its reason code".into());
    }
    if let Err(e) = validate(&o.validate, dir, &o.run, &files) {
        errors.push(format!("the fixture itself fails {}: {e}", o.validate));
    }

    // --check: nothing written, the exit status a CI job sees.
    match run(&files, o, &["--check"]) {
        Ok((ran, tree)) => {
            if ran.status != o.check_exit {
                errors.push(format!(
                    "--check: exit {} expected, got {}",
                    o.check_exit,
                    summary(&ran, tree.path())
                ));
            }
            if read_tree(tree.path()) != files {
                errors.push("--check wrote a file".into());
            }
        }
        Err(e) => errors.push(format!("--check: {e}")),
    }

    // The write run.
    let (ran, tree) = match run(&files, o, &[]) {
        Ok(r) => r,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    let t = tree.path();
    let said = summary(&ran, t);
    if ran.status != o.exit {
        errors.push(format!("exit {} expected, got {said}", o.exit));
    }
    let found = diagnostics(&ran, t);
    for want in &o.codes {
        let (code, at) = want.split_once('@').unwrap_or((want, ""));
        let (file, line) = match at.rsplit_once(':') {
            Some((f, l)) => (Some(f), l.parse().ok()),
            None => (None, at.parse().ok()),
        };
        let hit = found.iter().any(|(c, f, l)| {
            c == code && file.is_none_or(|x| f == x) && line.is_none_or(|x: u64| *l == x)
        });
        if !hit {
            errors.push(format!("no {want} reported: {said}"));
        }
    }
    for code in &o.absent {
        if found.iter().any(|(c, _, _)| c == code) {
            errors.push(format!("{code} reported, and must not be: {said}"));
        }
    }
    let texts: Vec<String> = ran.json["diagnostics"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .map(|d| format!("{} {}", d["message"], d["help"]))
                .collect()
        })
        .unwrap_or_default();
    for words in &o.messages {
        if !texts.iter().any(|t| t.contains(words.as_str())) {
            errors.push(format!("no diagnostic says {words:?}: {said}"));
        }
    }
    let mut changed: Vec<(String, u64, String, String)> = ran.json["sites"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|s| s["changed"].as_bool() == Some(true))
                .flat_map(|s| {
                    let path = relative(s["path"].as_str().unwrap_or(""), t);
                    let row = |r: &serde_json::Value| {
                        (
                            path.clone(),
                            r["line"].as_u64().unwrap_or(0),
                            r["before"].as_str().unwrap_or("").to_string(),
                            r["after"].as_str().unwrap_or("").to_string(),
                        )
                    };
                    // A value built from variables is edited in its literals (README, "Values
                    // built from variables"): the outcome names those, where the bytes change.
                    match s["literals"].as_array() {
                        Some(l) if !l.is_empty() => l.iter().map(row).collect::<Vec<_>>(),
                        _ => vec![row(s)],
                    }
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // A literal several sites are built from (the variants of one header, README "Values
    // built from variables": nginx's values of a variable, PHP's writes on some requests) is
    // listed by each of them, and changed once.
    let mut seen = std::collections::HashSet::new();
    changed.retain(|row| seen.insert(row.clone()));
    for want in &o.site {
        match changed
            .iter()
            .find(|(f, l, _, _)| *f == want.file && *l == want.line)
        {
            None => errors.push(format!(
                "{}:{} is not changed: {said}",
                want.file, want.line
            )),
            Some((_, _, _, after)) if meaning(after) != meaning(&want.after) => {
                errors.push(format!(
                    "{}:{}: the policy after patching differs\nexpected {}\n     got {}",
                    want.file, want.line, want.after, after
                ))
            }
            Some(_) => {}
        }
    }
    for (f, l, _, after) in &changed {
        if !o.site.iter().any(|w| w.file == *f && w.line == *l) {
            errors.push(format!(
                "{f}:{l} changed, and the outcome says it must not: {after}"
            ));
        }
    }

    // No byte outside a value: each changed file is the original with the old value texts
    // replaced by the new ones (sites whose raw bytes are the text).
    let now = read_tree(t);
    for (rel, old) in &files {
        let new = &now[rel];
        let sites: Vec<_> = changed
            .iter()
            .filter(|(f, _, _, _)| Path::new(f) == rel)
            .collect();
        if sites.is_empty() {
            if new != old {
                errors.push(format!(
                    "{} changed with no CSP site changed",
                    rel.display()
                ));
            }
            continue;
        }
        if o.exit != 0 {
            continue;
        }
        let raw = sites.iter().all(|(f, l, _, _)| {
            o.site
                .iter()
                .find(|w| w.file == *f && w.line == *l)
                .is_none_or(|w| w.raw)
        });
        if raw {
            let mut expect = String::from_utf8_lossy(old).into_owned();
            let mut sites = sites;
            sites.sort_by_key(|(_, l, _, _)| *l);
            // Replaced in file order, each after the one before it, so that a value repeated
            // in several places (or a new text starting with the old) replaces its own.
            let mut at = 0;
            for (_, line, before, after) in sites {
                // From the start of the site's line (a value's text can also be another
                // header's, an X-Content-Security-Policy twin on the line before).
                let line_start = expect
                    .match_indices('\n')
                    .nth((*line as usize).saturating_sub(2))
                    .map_or(0, |(i, _)| i + 1);
                let from = if *line <= 1 { at } else { at.max(line_start) };
                at = from.min(expect.len());
                match expect[at..].find(before.as_str()) {
                    Some(i) => {
                        expect.replace_range(at + i..at + i + before.len(), after);
                        at += i + after.len();
                    }
                    None => at = expect.len(),
                }
            }
            if expect.as_bytes() != new.as_slice() {
                errors.push(format!(
                    "{}: bytes outside the CSP values changed, or a value is not written as its text",
                    rel.display()
                ));
            }
        }
    }
    if o.outcome == "patched" && o.exit == 0 {
        if let Err(e) = validate(&o.validate, t, &o.run, &now) {
            errors.push(format!("the patched tree fails {}: {e}", o.validate));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.into_iter().map(|e| format!("{name}: {e}")).collect())
    }
}

mod validate;
use validate::validate;

#[test]
fn conformance_set() {
    // CONFORMANCE=WORD runs only the fixtures whose name contains WORD (the count checks
    // then stay off).
    let only = std::env::var("CONFORMANCE").ok();
    let all: Vec<_> = fixtures()
        .into_iter()
        .filter(|(n, _)| only.as_ref().is_none_or(|w| n.contains(w.as_str())))
        .collect();
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    let mut dialects = BTreeMap::new();
    for (name, dir) in &all {
        let text = std::fs::read_to_string(dir.join("outcome.toml")).unwrap();
        let o: Outcome = match toml::from_str(&text) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{name}/outcome.toml: {e}"));
                continue;
            }
        };
        assert!(!o.models.is_empty(), "{name}: models");
        let _ = &o.note;
        *dialects
            .entry(name.split('/').next().unwrap().to_string())
            .or_insert(0) += 1;
        let result = check(name, dir, &o);
        match (&o.pending, result) {
            (None, Ok(())) => println!("ok       {name}"),
            (None, Err(e)) => failures.extend(e),
            (Some(b), Ok(())) => {
                println!("ok       {name} (marked pending on {b}: the marker can go)")
            }
            (Some(b), Err(e)) => {
                println!("PENDING  {name} (needs {b}):");
                for line in &e {
                    println!("    {}", line.replace('\n', "\n    "));
                }
                pending.push(name.clone());
            }
        }
    }
    println!(
        "{} fixtures, {} pending ({}), by dialect {dialects:?}",
        all.len(),
        pending.len(),
        pending.join(", ")
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    if only.is_some() {
        return;
    }
    assert!(all.len() >= 40, "issue 7 asks for at least 40 fixtures");
    for d in ["nginx", "apache", "caddy", "php", "html"] {
        assert!(dialects.contains_key(d), "no {d} fixture");
    }
}
