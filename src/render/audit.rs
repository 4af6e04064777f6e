//! `csppatch audit` for people and for programs. The audit is the output, so the text goes
//! to stdout whole (`csppatch audit /etc/nginx > audit.txt`): each site, then every finding
//! in the compiler layout, then the one-line summary. Sites with the same header, policy and
//! verdicts, from [`super::patch::GROUP_AT`] on, are shown once with their places counted.
//!
//! ```text
//! sites-enabled/shop:4: Content-Security-Policy (server shop.example.com)
//!     default-src 'self'; script-src 'self'
//!     muserelay: needs script-src + https://muserelay.com, connect-src (new) + https://api.muserelay.com
//! ```

use std::io::Write;

use serde_json::{json, Value};

use super::diagnostic::{self, Sources};
use super::patch::{GROUP_AT, LISTED};
use super::{style, thousands, Palette, Verbosity};
use crate::commands::audit::{needs, Audit, AuditSite, Verdict};
use crate::diag::{Diagnostic, Severity};
use crate::site::Disposition;

/// 1: the first version.
pub const SCHEMA_VERSION: u32 = 1;

/// The audit as text on `out`. `--quiet`: the error findings and the summary only.
pub fn write_text(
    audit: &Audit,
    palette: Palette,
    verbosity: Verbosity,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let quiet = verbosity == Verbosity::Quiet;
    if !quiet {
        write_sites(audit, palette, out)?;
    }
    let shown: Vec<Diagnostic> = audit
        .diagnostics
        .iter()
        .filter(|d| !quiet || d.is_error())
        .cloned()
        .collect();
    diagnostic::write_all(&shown, &mut Sources::new(), palette, out)?;
    writeln!(out, "{}", summary(audit))
}

/// What groups sites: the same header, policy and vendor verdicts.
fn key(s: &AuditSite) -> (Disposition, &str, Vec<String>) {
    (s.site.disposition, s.site.before.as_str(), detail_lines(s))
}

fn write_sites(audit: &Audit, palette: Palette, out: &mut dyn Write) -> std::io::Result<()> {
    let mut groups: Vec<(_, Vec<&AuditSite>)> = Vec::new();
    for s in &audit.sites {
        let k = key(s);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, list)) => list.push(s),
            None => groups.push((k, vec![s])),
        }
    }
    for ((disposition, policy, lines), sites) in groups {
        if sites.len() >= GROUP_AT {
            let head = format!("{} sites:", thousands(sites.len()));
            writeln!(
                out,
                "{} {}, the same policy in each",
                palette.paint(style::BOLD, &head),
                disposition.header_name()
            )?;
            write_policy(policy, &lines, out)?;
            for s in sites.iter().take(LISTED) {
                writeln!(out, "  at {} ({})", place(s), scope(s))?;
            }
            if sites.len() > LISTED {
                writeln!(
                    out,
                    "  and {} more (--format json lists every site)",
                    thousands(sites.len() - LISTED)
                )?;
            }
        } else {
            for s in sites {
                writeln!(
                    out,
                    "{} {} ({})",
                    palette.paint(style::BOLD, &format!("{}:", place(s))),
                    disposition.header_name(),
                    scope(s)
                )?;
                write_policy(policy, &lines, out)?;
            }
        }
    }
    Ok(())
}

fn write_policy(policy: &str, lines: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    let shown = if policy.trim().is_empty() {
        "(empty)".to_string()
    } else {
        policy.replace('\n', "\\n").replace('\r', "\\r")
    };
    writeln!(out, "    {shown}")?;
    for l in lines {
        writeln!(out, "    {l}")?;
    }
    Ok(())
}

/// The lines under a site's policy: what is unknown, why it is locked, each vendor.
fn detail_lines(s: &AuditSite) -> Vec<String> {
    let mut lines = Vec::new();
    for u in &s.unknown {
        lines.push(match &u.what {
            // The dialect's note names the part itself (`$request_id`: ...).
            Some(w) if w.starts_with(&format!("`{}`", u.text)) => {
                format!("known at request time: {w}")
            }
            Some(w) => format!("known at request time: `{}` ({w})", u.text),
            None => format!("known at request time: `{}`", u.text),
        });
    }
    if let Some(why) = &s.site.locked {
        lines.push(format!("locked on purpose: {why}"));
    }
    for (label, list) in [("lints", &s.lints), ("traps", &s.traps)] {
        let codes: Vec<&str> = list
            .iter()
            .filter(|d| d.code != "AUD901")
            .map(|d| d.code)
            .collect();
        if !codes.is_empty() {
            lines.push(format!("{label}: {}", codes.join(", ")));
        }
    }
    for c in &s.vendors {
        let text = match c.verdict {
            Verdict::Passes => "passes".to_string(),
            Verdict::NeedsChange => format!("needs {}", needs(c)),
            Verdict::Blocked => {
                let codes: Vec<&str> = c.reasons.iter().map(|d| d.code).collect();
                format!("blocked whatever is added ({})", codes.join(", "))
            }
            Verdict::NotChecked => "not checked (the policy is not readable)".to_string(),
        };
        lines.push(format!("{}: {text}", c.vendor));
    }
    lines
}

fn place(s: &AuditSite) -> String {
    format!("{}:{}", crate::diag::quoted(&s.site.path), s.site.line)
}

fn scope(s: &AuditSite) -> String {
    match &s.site.variable {
        Some(v) => format!("${v}, {}", s.site.context),
        None => s.site.context.clone(),
    }
}

/// `csppatch audit: 3 files read, 4 CSP sites (3 enforced, 1 report-only), 1 trap, 2 errors,
/// 5 warnings; muserelay passes at 1 of 4 sites`.
pub fn summary(audit: &Audit) -> String {
    let n = audit.sites.len();
    let mut what = format!(
        "{} file{} read, {} CSP site{} ({} enforced, {} report-only)",
        thousands(audit.files_read),
        plural(audit.files_read),
        thousands(n),
        plural(n),
        thousands(audit.sites_of(Disposition::Enforce)),
        thousands(audit.sites_of(Disposition::ReportOnly)),
    );
    for (count, word) in [
        (audit.trap_count(), "trap"),
        (audit.count(Severity::Error), "error"),
        (audit.count(Severity::Warning), "warning"),
    ] {
        what.push_str(&format!(", {} {word}{}", thousands(count), plural(count)));
    }
    if !audit.excluded.is_empty() {
        let e = audit.excluded.len();
        what.push_str(&format!(", {e} path{} excluded", plural(e)));
    }
    let vendors: Vec<String> = audit
        .vendors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{v} passes at {} of {}",
                thousands(audit.passing(i)),
                thousands(n)
            )
        })
        .collect();
    if !vendors.is_empty() {
        what.push_str(&format!("; {}", vendors.join(", ")));
    }
    if !audit.not_checked.is_empty() {
        let list: Vec<String> = audit
            .not_checked
            .iter()
            .map(|(n, w)| format!("{n} {w}"))
            .collect();
        what.push_str(&format!("; NOT checked: {}", list.join(", ")));
    }
    format!("csppatch audit: {what}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The audit document (schemas/audit.schema.json).
pub fn to_json(audit: &Audit) -> Value {
    let sites: Vec<Value> = audit.sites.iter().map(site_json).collect();
    let not_checked: Vec<Value> = audit
        .not_checked
        .iter()
        .map(|(count, what)| json!({ "count": count, "what": what }))
        .collect();
    let vendors: Vec<Value> = audit
        .vendors
        .iter()
        .enumerate()
        .map(|(i, v)| json!({ "name": v, "passing_sites": audit.passing(i) }))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "paths": audit.paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "files_read": audit.files_read,
        "files_skipped": audit.files_skipped,
        "excluded": audit.excluded.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
        "vendors": vendors,
        "sites": sites,
        "traps": audit.traps,
        "not_checked": not_checked,
        "summary": {
            "sites": audit.sites.len(),
            "enforced": audit.sites_of(Disposition::Enforce),
            "report_only": audit.sites_of(Disposition::ReportOnly),
            "traps": audit.trap_count(),
            "errors": audit.count(Severity::Error),
            "warnings": audit.count(Severity::Warning),
            "notes": audit.count(Severity::Note),
        },
        "diagnostics": audit.diagnostics,
        "exit_code": audit.exit_code,
    })
}

fn site_json(s: &AuditSite) -> Value {
    let r = &s.site;
    let vendors: Vec<Value> = s
        .vendors
        .iter()
        .map(|c| {
            json!({
                "vendor": c.vendor,
                "verdict": c.verdict,
                "added": c.added,
                "created": c.created,
                "reasons": c.reasons,
            })
        })
        .collect();
    let unknown: Vec<Value> = s
        .unknown
        .iter()
        .map(|u| json!({ "text": u.text, "what": u.what }))
        .collect();
    json!({
        "path": r.path.to_string_lossy(),
        "line": r.line,
        "col": r.col,
        "context": r.context,
        "variable": r.variable,
        "disposition": r.disposition,
        "delivery": match r.delivery {
            crate::csp::Delivery::Header => "header",
            crate::csp::Delivery::Meta => "meta",
        },
        "policy": r.before,
        "unknown": unknown,
        "locked": r.locked,
        "lints": s.lints,
        "traps": s.traps,
        "vendors": vendors,
    })
}

/// The audit document of a run that stopped before reading anything (exit 2).
pub fn error_json(diagnostics: &[Diagnostic]) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "paths": [],
        "files_read": 0,
        "files_skipped": 0,
        "excluded": [],
        "vendors": [],
        "sites": [],
        "traps": [],
        "not_checked": [],
        "summary": {
            "sites": 0, "enforced": 0, "report_only": 0, "traps": 0,
            "errors": diagnostics.iter().filter(|d| d.is_error()).count(),
            "warnings": diagnostics.iter().filter(|d| d.severity == Severity::Warning).count(),
            "notes": diagnostics.iter().filter(|d| d.severity == Severity::Note).count(),
        },
        "diagnostics": diagnostics,
        "exit_code": crate::exit::BAD_INPUT,
    })
}
