//! The JSON documents (`--format json`; `vendors --json`): one per subcommand, each described
//! by `schemas/<name>.schema.json` and carrying, whatever happened, `schema_version`,
//! `exit_code` (the process's) and `diagnostics` (every [`Diagnostic`] in one shape). Names
//! are snake_case, and so are the values csppatch itself names (`dry_run`, `report_only`,
//! `no_csp`); values from elsewhere stay as they are written there (directive names, vendor
//! names, the preset files' own words).
//!
//! Every outcome is a document on stdout, errors included: a bad `--vendor`, an unreadable
//! path, a failed validation, a usage error clap reports ([`usage_error`]) each give the
//! document of the subcommand with the errors in `diagnostics` and exit code 2 (3 for
//! validation).
//!
//! A version is raised when a field changes meaning or goes away; adding a field does not.
//! The patch, merge and probe documents had no `schema_version` before version 2.

use std::ffi::OsString;
use std::io::Write;

use serde_json::{json, Value};

use crate::commands::merge::Merged;
use crate::commands::rules::Rules;
use crate::diag::Diagnostic;
use crate::report::Report;

/// Each kind of document, named as its schema file is (`schemas/patch.schema.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    Patch,
    Merge,
    Probe,
    Vendors,
    Rules,
    Audit,
}

impl Document {
    pub const ALL: [Document; 6] = [
        Document::Patch,
        Document::Merge,
        Document::Probe,
        Document::Vendors,
        Document::Rules,
        Document::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Document::Patch => "patch",
            Document::Merge => "merge",
            Document::Probe => "probe",
            Document::Vendors => "vendors",
            Document::Rules => "rules",
            Document::Audit => "audit",
        }
    }

    /// The `schema_version` documents of this kind carry.
    pub fn schema_version(self) -> u32 {
        match self {
            Document::Patch => PATCH_SCHEMA_VERSION,
            Document::Merge => MERGE_SCHEMA_VERSION,
            Document::Probe => super::probe::SCHEMA_VERSION,
            Document::Vendors => crate::vendors::SCHEMA_VERSION,
            Document::Rules => RULES_SCHEMA_VERSION,
            Document::Audit => super::audit::SCHEMA_VERSION,
        }
    }

    /// The document of this kind for a run that stopped on `diagnostics` before doing
    /// anything (exit 2).
    pub fn error(self, diagnostics: &[Diagnostic]) -> Value {
        let code = crate::exit::BAD_INPUT;
        match self {
            Document::Patch => patch(&Report::refused(None, diagnostics.to_vec())),
            Document::Merge => json!({
                "schema_version": MERGE_SCHEMA_VERSION,
                "policy": null,
                "added": [],
                "created": [],
                "diagnostics": diagnostics,
                "exit_code": code,
            }),
            Document::Probe => super::probe::error_json(None, diagnostics),
            Document::Vendors => json!({
                "schema_version": crate::vendors::SCHEMA_VERSION,
                "vendors": [],
                "diagnostics": diagnostics,
                "exit_code": code,
            }),
            Document::Rules => json!({
                "schema_version": RULES_SCHEMA_VERSION,
                "rules": [],
                "diagnostics": diagnostics,
                "exit_code": code,
            }),
            Document::Audit => super::audit::error_json(diagnostics),
        }
    }
}

/// 2: `mode` and `disposition` values are snake_case (`dry_run`, `report_only`), and the
/// document carries `schema_version`.
pub const PATCH_SCHEMA_VERSION: u32 = 2;
/// 2: `warnings` became `diagnostics` (every diagnostic, in the common shape); `added` and
/// `created` are the patch document's.
pub const MERGE_SCHEMA_VERSION: u32 = 2;
pub const RULES_SCHEMA_VERSION: u32 = 1;

/// A patch run (or a `csppatch remove` run, `removal: true`): the [`Report`], every field of
/// it, and `not_checked`, what the text summary lists after "NOT checked" (a run with any is
/// no all-clear).
pub fn patch(report: &Report) -> Value {
    let not_checked: Vec<Value> = report
        .not_checked()
        .into_iter()
        .map(|(count, what)| json!({ "count": count, "what": what }))
        .collect();
    let mut doc = json!({ "schema_version": PATCH_SCHEMA_VERSION, "not_checked": not_checked });
    if let (Value::Object(doc), Ok(Value::Object(fields))) =
        (&mut doc, serde_json::to_value(report))
    {
        doc.extend(fields);
    }
    doc
}

/// `csppatch merge`.
pub fn merge(merged: &Merged) -> Value {
    let o = &merged.outcome;
    json!({
        "schema_version": MERGE_SCHEMA_VERSION,
        "policy": o.text,
        "added": o.added,
        "created": o.created,
        "diagnostics": o.diagnostics,
        "exit_code": merged.exit_code(),
    })
}

/// `csppatch vendors --json`: the vendors module's listing (`vendors::ListingDoc`), with the
/// notes loading the vendor files gave and the exit code.
pub fn vendors(listing: &str, notes: &[Diagnostic]) -> Value {
    let mut doc: Value = serde_json::from_str(listing).unwrap_or_else(|_| json!({}));
    doc["diagnostics"] = json!(notes);
    doc["exit_code"] = json!(crate::exit::OK);
    doc
}

/// `csppatch rules [CODE] --format json`: every rule, or the one asked for.
pub fn rules(rules: &Rules) -> Value {
    let list = match rules {
        Rules::One(r) => vec![*r],
        Rules::All(all) => all.clone(),
    };
    json!({
        "schema_version": RULES_SCHEMA_VERSION,
        "rules": list,
        "diagnostics": [],
        "exit_code": crate::exit::OK,
    })
}

/// One document, pretty-printed, then a newline.
pub fn write(doc: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)
}

/// When clap refuses the command line (`args`, the program name first) and JSON was asked
/// for (`--format json`, `--format=json`, `vendors --json`), the document of the subcommand
/// the line names (patch mode when none), with `message` (clap's, plain) as an `E001` error.
/// `None`: text was asked for; clap prints its own message.
pub fn usage_error(args: &[OsString], message: &str) -> Option<Value> {
    let args: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let json = args.windows(2).any(|w| w == ["--format", "json"])
        || args.iter().any(|a| *a == "--format=json" || *a == "--json");
    if !json {
        return None;
    }
    let doc = match args.iter().find(|a| !a.starts_with('-')) {
        Some(&"merge") => Document::Merge,
        Some(&"probe") => Document::Probe,
        Some(&"vendors") => Document::Vendors,
        Some(&"rules") => Document::Rules,
        Some(&"audit") => Document::Audit,
        _ => Document::Patch,
    };
    let mut lines = message.trim().lines();
    let first = lines.next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let rest: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut d = Diagnostic::error("E001", first);
    if !rest.is_empty() {
        d = d.with_help(rest.join("; "));
    }
    Some(doc.error(&[d]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        std::iter::once("csppatch")
            .chain(line.split(' '))
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn a_usage_error_is_the_document_of_the_subcommand_named() {
        let msg = "error: unexpected argument '--bogus' found\n\nUsage: csppatch merge <POLICY>\n";
        let doc = usage_error(&args("merge --format json --bogus"), msg).unwrap();
        assert_eq!(doc["policy"], Value::Null);
        assert_eq!(doc["exit_code"], 2);
        assert_eq!(doc["diagnostics"][0]["code"], "E001");
        assert_eq!(
            doc["diagnostics"][0]["message"],
            "unexpected argument '--bogus' found"
        );
        assert_eq!(
            doc["diagnostics"][0]["help"],
            "Usage: csppatch merge <POLICY>"
        );
        let doc = usage_error(&args("--format=json x.conf --bogus"), msg).unwrap();
        assert_eq!(doc["schema_version"], PATCH_SCHEMA_VERSION);
        assert!(doc["sites"].is_array());
        let doc = usage_error(&args("vendors --json --bogus"), msg).unwrap();
        assert!(doc["vendors"].is_array());
        assert!(usage_error(&args("merge --bogus"), msg).is_none());
    }
}
