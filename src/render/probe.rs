//! How a [`Probe`] is shown: a report for people (text, on stdout) or one JSON document.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{json, Value};

use super::{diagnostic, Palette};
use crate::diag::Diagnostic;
use crate::probe::{Block, Outcome, Place, PolicySource, Probe, Role, Verdict};
use crate::site::Disposition;

/// The role as the text report says it.
fn role_name(p: &PolicySource) -> &'static str {
    match p.role() {
        Role::Enforced => "enforced",
        Role::ReportOnly => "report-only",
        Role::Ignored => "ignored",
    }
}

/// The role as the JSON document says it (snake_case, as every value csppatch names).
fn role_json(p: &PolicySource) -> &'static str {
    match p.role() {
        Role::Enforced => "enforced",
        Role::ReportOnly => "report_only",
        Role::Ignored => "ignored",
    }
}

fn header_name(p: &PolicySource) -> String {
    match p.place {
        Place::Header { .. } => format!("{}:", p.disposition.header_name()),
        Place::Meta { .. } => format!("<meta http-equiv=\"{}\">", p.disposition.header_name()),
    }
}

/// `header 1`, or `header 1 (policy 2 of 3)` inside a comma-separated list.
fn block_place(probe: &Probe, b: &Block) -> String {
    let label = probe.policies[b.policy].place.label();
    match b.list_position {
        Some((k, n)) => format!("{label} (policy {k} of {n})"),
        None => label,
    }
}

/// Blocks of one policy and one deciding directive, shown together: `style-src 'unsafe-inline'`
/// is two requests (inline `<style>`, style attributes) that `default-src` blocks alike.
struct Group<'a> {
    first: &'a Block,
    effective: Vec<&'a str>,
    reasons: Vec<&'a str>,
}

fn groups(blocks: &[Block]) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = Vec::new();
    // Each group's index by its key: a page of 10,000 metas blocks in as many policies, and a
    // search of the groups for each block was quadratic.
    let mut index = std::collections::HashMap::new();
    for b in blocks {
        let key = (b.policy, b.list_position, b.directive.as_str());
        let at = *index.entry(key).or_insert_with(|| {
            out.push(Group {
                first: b,
                effective: Vec::new(),
                reasons: Vec::new(),
            });
            out.len() - 1
        });
        let group = &mut out[at];
        if !group.effective.contains(&b.effective.as_str()) {
            group.effective.push(&b.effective);
        }
        if !group.reasons.contains(&b.reason.as_str()) {
            group.reasons.push(&b.reason);
        }
    }
    out
}

/// `connect-src 'self' https://x` plus, when the decision came through fallback, which
/// directives fell back to which.
fn group_directive(g: &Group, requirement_directive: &str) -> String {
    let governing = g.first.governing.as_str();
    let fell: Vec<&str> = g
        .effective
        .iter()
        .copied()
        .filter(|e| *e != governing)
        .collect();
    if fell.is_empty() || governing == requirement_directive {
        return g.first.directive.clone();
    }
    let verb = if fell.len() == 1 { "falls" } else { "fall" };
    format!(
        "{}  ({} {verb} back to {governing})",
        g.first.directive,
        fell.join(" and ")
    )
}

/// One requirement's blocks: `{head}{lead} header 1: directive`, then the reasons.
fn write_groups(
    out: &mut dyn Write,
    probe: &Probe,
    blocks: &[Block],
    requirement_directive: &str,
    (head, lead, indent): (&str, &str, &str),
) -> std::io::Result<()> {
    for (i, g) in groups(blocks).iter().enumerate() {
        let start = if i == 0 {
            format!("{head}{lead}")
        } else {
            format!("{indent}and by")
        };
        writeln!(
            out,
            "{start} {}: {}",
            block_place(probe, g.first),
            group_directive(g, requirement_directive)
        )?;
        for reason in &g.reasons {
            writeln!(out, "{indent}  {reason}")?;
        }
    }
    Ok(())
}

fn vendors_of(verdicts: &[&Verdict]) -> String {
    let names: BTreeSet<&str> = verdicts
        .iter()
        .map(|v| v.requirement.vendor.as_str())
        .collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// The report for people. `fix_args` are the vendor options to repeat in the suggested
/// `csppatch` command (`--vendor muserelay`); `paint`: stdout's colours (the warnings are
/// diagnostics, rendered as everywhere else).
pub fn write_text(
    probe: &Probe,
    fix_args: &str,
    paint: Palette,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let page = &probe.page;
    writeln!(out, "probe {}", page.url)?;
    for hop in &page.redirects {
        writeln!(out, "  {} {} -> {}", hop.status, hop.url, hop.location)?;
    }
    let status = format!("{} {}", page.status, page.reason);
    writeln!(
        out,
        "final {}  {}  ('self' is {})",
        page.final_url,
        status.trim_end(),
        probe.origin
    )?;

    writeln!(out, "\npolicies")?;
    if probe.policies.is_empty() {
        writeln!(out, "  none: no Content-Security-Policy header or <meta>")?;
    }
    let width = probe
        .policies
        .iter()
        .map(|p| p.place.label().len())
        .max()
        .unwrap_or(0);
    for p in &probe.policies {
        let label = p.place.label();
        let text = if p.text.trim().is_empty() {
            "(empty: no policy)"
        } else {
            p.text.as_str()
        };
        writeln!(
            out,
            "  {label:width$}  {:<11}  {} {text}",
            role_name(p),
            header_name(p)
        )?;
        if let Some(why) = &p.ignored {
            writeln!(out, "  {:width$}  {:<11}  ({why})", "", "")?;
        }
    }

    let dw = probe
        .verdicts
        .iter()
        .map(|v| v.requirement.directive.len())
        .max()
        .unwrap_or(0);
    let sw = probe
        .verdicts
        .iter()
        .map(|v| v.requirement.source.len())
        .max()
        .unwrap_or(0);
    let indent = " ".repeat(2 + dw + 1 + sw + 2);
    let mut vendor = None;
    for v in &probe.verdicts {
        let r = &v.requirement;
        if vendor != Some(r.vendor.as_str()) {
            vendor = Some(r.vendor.as_str());
            writeln!(out, "\nvendor {}", r.vendor)?;
        }
        let head = format!("  {:dw$} {:sw$}  ", r.directive, r.source);
        if !v.checked {
            writeln!(out, "{head}not checked (PRB806)")?;
            continue;
        }
        if v.blocked_by.is_empty() {
            write!(out, "{head}allowed")?;
            if let Some(b) = v.legacy_blocked_by.first() {
                write!(
                    out,
                    " (not in browsers without {}: {} has {}, PRB804)",
                    b.effective,
                    block_place(probe, b),
                    b.directive
                )?;
            }
            writeln!(out)?;
            continue;
        }
        write_groups(
            out,
            probe,
            &v.blocked_by,
            &r.directive,
            (&head, "BLOCKED by", &indent),
        )?;
    }

    let reported: Vec<&Verdict> = probe
        .verdicts
        .iter()
        .filter(|v| !v.reported_by.is_empty())
        .collect();
    if !reported.is_empty() {
        writeln!(out, "\nreport-only: would be reported (not blocked)")?;
        for v in &reported {
            let r = &v.requirement;
            let head = format!("  {:dw$} {:sw$}  ", r.directive, r.source);
            write_groups(
                out,
                probe,
                &v.reported_by,
                &r.directive,
                (&head, "by", &indent),
            )?;
        }
    }

    if !probe.warnings.is_empty() {
        writeln!(out, "\nwarnings")?;
        for w in &probe.warnings {
            let d = &w.diagnostic;
            writeln!(
                out,
                "  {}",
                diagnostic::headline(d, w.place.as_deref(), paint)
            )?;
            if let Some(help) = &d.help {
                writeln!(out, "    = help: {help}")?;
            }
        }
    }

    writeln!(out)?;
    let blocked: Vec<&Verdict> = probe
        .verdicts
        .iter()
        .filter(|v| v.allowed() == Some(false))
        .collect();
    let checked = probe.verdicts.iter().filter(|v| v.checked).count();
    match probe.outcome() {
        Outcome::NotAPage => writeln!(
            out,
            "result: no verdict: the page answered {} {} (PRB802)",
            page.status, page.reason
        )?,
        Outcome::NoCsp if probe.policies.iter().any(|p| p.role() == Role::ReportOnly) => {
            writeln!(out, "result: no enforced CSP: nothing blocks the vendor")?
        }
        Outcome::NoCsp => writeln!(out, "result: no CSP: nothing blocks the vendor")?,
        Outcome::Allowed => writeln!(
            out,
            "result: allowed: {checked} of {checked} checked requirements pass every enforced policy"
        )?,
        Outcome::Blocked => writeln!(
            out,
            "result: BLOCKED: {} of {checked} checked requirements ({}) fail in browsers",
            blocked.len(),
            vendors_of(&blocked)
        )?,
    }
    let fixing = if blocked.is_empty() {
        &reported
    } else {
        &blocked
    };
    if probe.outcome() == Outcome::NotAPage || fixing.is_empty() {
        return Ok(());
    }
    let places: BTreeSet<&str> = fixing
        .iter()
        .flat_map(|v| {
            if blocked.is_empty() {
                &v.reported_by
            } else {
                &v.blocked_by
            }
        })
        .map(|b| match probe.policies[b.policy].place {
            Place::Header { .. } => "<server config>",
            Place::Meta { .. } => "<the page's HTML file or template>",
        })
        .collect();
    if blocked.is_empty() {
        writeln!(
            out,
            "next:   the Report-Only policy would fill its reports with the vendor's requests; \
             csppatch patches it too:"
        )?;
    } else {
        writeln!(
            out,
            "next:   fix the policy where it is set, reload, and probe again:"
        )?;
    }
    let paths = places.iter().copied().collect::<Vec<_>>().join(" ");
    writeln!(out, "        csppatch {paths} {fix_args} --dry-run")?;
    if places.contains("<server config>") {
        writeln!(
            out,
            "        (<server config>: /etc/nginx, /etc/apache2, the Caddyfile, or the theme's functions.php)"
        )?;
    }
    Ok(())
}

/// The version of the probe document; 2 since csppatch's own values are snake_case
/// (`no_csp`, `report_only`) and every document carries `diagnostics`.
pub const SCHEMA_VERSION: u32 = 2;

/// A finding about the page: a diagnostic and the policy it is about (`header 1`).
fn warning_json(d: &Diagnostic, place: Option<&str>) -> Value {
    let mut v = json!(d);
    v["place"] = json!(place);
    v
}

fn place_json(place: &Place) -> Value {
    match place {
        Place::Header { index } => json!({"source": "header", "index": index}),
        Place::Meta { index, line } => json!({"source": "meta", "index": index, "line": line}),
    }
}

fn blocks_json(probe: &Probe, blocks: &[Block]) -> Value {
    blocks
        .iter()
        .map(|b| {
            let mut v = place_json(&probe.policies[b.policy].place);
            v["policy"] = json!(b.policy);
            if let Some((k, n)) = b.list_position {
                v["list_position"] = json!(k);
                v["list_length"] = json!(n);
            }
            v["effective"] = json!(b.effective);
            v["governing"] = json!(b.governing);
            v["directive"] = json!(b.directive);
            v["reason"] = json!(b.reason);
            v
        })
        .collect()
}

fn outcome_json(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::NoCsp => "no_csp",
        Outcome::Allowed => "allowed",
        Outcome::Blocked => "blocked",
        Outcome::NotAPage => "not_a_page",
    }
}

/// The whole probe as one JSON document; `notes`: what csppatch says about the vendor choice.
pub fn to_json(probe: &Probe, notes: &[Diagnostic]) -> Value {
    let page = &probe.page;
    let policies: Vec<Value> = probe
        .policies
        .iter()
        .map(|p| {
            let mut v = place_json(&p.place);
            v["disposition"] = json!(match p.disposition {
                Disposition::Enforce => "enforce",
                Disposition::ReportOnly => "report_only",
            });
            v["role"] = json!(role_json(p));
            v["ignored"] = json!(p.ignored);
            v["text"] = json!(p.text);
            v
        })
        .collect();
    let requirements: Vec<Value> = probe
        .verdicts
        .iter()
        .map(|v| {
            let r = &v.requirement;
            json!({
                "directive": r.directive,
                "source": r.source,
                "vendor": r.vendor,
                "checked": v.checked,
                "allowed": v.allowed(),
                "blocked_by": blocks_json(probe, &v.blocked_by),
                "reported_by": blocks_json(probe, &v.reported_by),
                "legacy_blocked_by": blocks_json(probe, &v.legacy_blocked_by),
            })
        })
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "url": page.url.as_str(),
        "final_url": page.final_url.as_str(),
        "status": page.status,
        "reason": page.reason,
        "origin": probe.origin,
        "redirects": page.redirects,
        "outcome": outcome_json(probe.outcome()),
        "exit_code": probe.exit_code(),
        "policies": policies,
        "requirements": requirements,
        "warnings": probe.warnings.iter().map(|w| warning_json(&w.diagnostic, w.place.as_deref())).collect::<Vec<_>>(),
        "diagnostics": notes,
    })
}

/// A probe that could not look at the page (a bad `--vendor` or `--header`, a failed fetch,
/// a usage error), as JSON: `"outcome": "error"`, the errors in `diagnostics`.
pub fn error_json(url: Option<&str>, diagnostics: &[Diagnostic]) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "url": url,
        "outcome": "error",
        "exit_code": crate::exit::BAD_INPUT,
        "policies": [],
        "requirements": [],
        "warnings": [],
        "diagnostics": diagnostics,
    })
}
