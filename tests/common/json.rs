//! csppatch's JSON documents, parsed and validated against their schema
//! (`schemas/<kind>.schema.json`) with an independent validator (the `jsonschema` crate):
//! every test that reads a document csppatch printed goes through [`parse_checked`], so the
//! schemas and the output cannot drift apart (issue 9 §3).

use std::path::Path;

use serde_json::Value;

/// Every kind of document, named as its schema file is.
pub const KINDS: [&str; 6] = ["patch", "merge", "probe", "vendors", "rules", "audit"];

/// `schemas/<kind>.schema.json`, parsed.
pub fn schema(kind: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{kind}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The errors of `doc` against `kind`'s schema, each with where it is.
pub fn errors(kind: &str, doc: &Value) -> Vec<String> {
    let schema = schema(kind);
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panic unless `doc` is valid against `kind`'s schema.
pub fn check(kind: &str, doc: &Value) {
    let errors = errors(kind, doc);
    assert!(
        errors.is_empty(),
        "{kind} document does not match schemas/{kind}.schema.json:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

/// One document csppatch printed (`bytes`: its stdout), parsed and valid against `kind`'s
/// schema; panics, with the text, otherwise.
pub fn parse_checked(kind: &str, bytes: impl AsRef<[u8]>) -> Value {
    let bytes = bytes.as_ref();
    let doc: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{kind}: not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(bytes)
        )
    });
    check(kind, &doc);
    doc
}

/// The patch document of a run's stdout, checked.
pub fn patch(out: &std::process::Output) -> Value {
    parse_checked("patch", &out.stdout)
}

/// The kind of document a csppatch command line prints with `--format json`: that of the
/// subcommand its first word names, a patch run's otherwise (`remove` prints one too).
pub fn kind_of(first_word: &str) -> &'static str {
    match first_word {
        "merge" => "merge",
        "probe" => "probe",
        "vendors" => "vendors",
        "rules" => "rules",
        "audit" => "audit",
        _ => "patch",
    }
}
