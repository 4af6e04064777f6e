//! `csppatch audit PATH...`: every CSP site of a configuration as the browser receives it,
//! with its lints, the delivery traps around it, and, with `--vendor`, whether each vendor
//! already passes there. Nothing is written.
//!
//! The audit is a patch run that adds nothing ([`crate::pipeline::run`] with no
//! requirements, in dry-run mode): the same reading of the files, the same includes and
//! variables, the same dialect checks over the whole tree (nginx `add_header` inheritance,
//! Apache's two header tables, Caddy's nested blocks). On each site it then lints the policy
//! as sent ([`crate::csp::lint::check`]) and merges each vendor's requirements on their own
//! ([`crate::csp::merge()`]): a vendor passes where the merge adds nothing and no caveat says
//! its requests stay blocked.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::commands::VendorChoice;
use crate::csp::{self, Added, Created, Delivery, MergeOptions, Requirement};
use crate::diag::{Diagnostic, Location, Severity};
use crate::options::{Mode, PatchOptions};
use crate::report::SiteReport;
use crate::scan::ScanOptions;
use crate::site::Disposition;

/// What to audit.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    pub paths: Vec<PathBuf>,
    pub scan: ScanOptions,
    /// `--vendor` (and `--allow`): the vendors to check each site for; `None`: none.
    pub vendors: Option<VendorChoice>,
}

/// The audit of a configuration.
#[derive(Debug)]
pub struct Audit {
    pub paths: Vec<PathBuf>,
    /// The vendors each site was checked for, in the order given (`--allow` counts as one).
    pub vendors: Vec<String>,
    pub sites: Vec<AuditSite>,
    /// Traps that are at no CSP site: a block that drops the headers it would inherit, a
    /// header that removes the policy (their codes: [`TRAP_CODES`]).
    pub traps: Vec<Diagnostic>,
    /// Every finding, sorted by place: the sites' lints and traps included.
    pub diagnostics: Vec<Diagnostic>,
    /// What the audit saw but could not check, as the patch run counts it.
    pub not_checked: Vec<(usize, &'static str)>,
    pub files_read: usize,
    pub files_skipped: usize,
    pub excluded: Vec<PathBuf>,
    pub exit_code: u8,
}

/// One CSP site.
#[derive(Debug)]
pub struct AuditSite {
    /// Where it is, its scope, disposition, the policy as sent (`before`), why it is locked.
    pub site: SiteReport,
    /// The parts of the policy only known at request time.
    pub unknown: Vec<Unknown>,
    /// The lints of the policy and of the line it is on.
    pub lints: Vec<Diagnostic>,
    /// The delivery traps reported at this site.
    pub traps: Vec<Diagnostic>,
    /// One per audited vendor, in [`Audit::vendors`] order.
    pub vendors: Vec<VendorCheck>,
}

/// A part of a policy that is only known at request time (`$nonce`, `{$CSP_EXTRA}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The stand-in in the policy text.
    pub text: String,
    /// What it is, where the dialect knows.
    pub what: Option<String>,
}

/// Does a vendor pass at a site?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The policy already lets every request of the vendor through.
    Passes,
    /// A patch run would add sources (`added`) or directives (`created`).
    NeedsChange,
    /// Its requests stay blocked whatever a patch run adds (`'strict-dynamic'` ignoring
    /// hosts, a `<meta>` policy that cannot carry what it needs...): see `reasons`.
    Blocked,
    /// The policy is a run-time or template expression: nothing can be said.
    NotChecked,
}

/// A vendor at one site.
#[derive(Debug, Clone)]
pub struct VendorCheck {
    pub vendor: String,
    pub verdict: Verdict,
    /// What a patch run would add.
    pub added: Vec<Added>,
    pub created: Vec<Created>,
    /// The merge's caveats for this vendor that keep it blocked (`CSP101`, `CSP120`...).
    pub reasons: Vec<Diagnostic>,
}

/// The codes of delivery traps: a policy that is not sent where it is written, sent twice,
/// dropped by a nested block, or replaced.
pub const TRAP_CODES: &[&str] = &[
    "NGX202", "NGX203", "NGX204", "NGX206", "APA302", "APA303", "APA304", "APA305", "APA306",
    "APA311", "APA312", "CDY406", "CDY408", "CDY409", "E043", "E011", "HTM601", "HTM603", "PHP502",
    "PHP504", "PHP505",
];

/// A caveat of the merge that means the vendor stays blocked whatever is added.
const BLOCKING: &[&str] = &["CSP101", "CSP103", "CSP105", "CSP120", "CSP122", "CSP123"];

/// Audit the configuration. `Err`: the vendor choice is invalid (nothing was read).
pub fn audit(request: &AuditRequest) -> Result<Audit, Vec<Diagnostic>> {
    let (requirements, notes) = match &request.vendors {
        Some(choice) => {
            let r = choice.requirements()?;
            (r.requirements, r.notes)
        }
        None => (Vec::new(), Vec::new()),
    };
    let vendors = vendor_groups(&requirements);
    let options = PatchOptions {
        paths: request.paths.clone(),
        requirements: Vec::new(),
        scan: request.scan.clone(),
        mode: Mode::DryRun,
        validate: false,
        validate_cmd: None,
        removal: None,
        hard_links: crate::commit::HardLinks::Refuse,
        include_locked: false,
    };
    let report = crate::pipeline::run(&options);
    let not_checked = report.not_checked();
    let mut diagnostics = notes;
    diagnostics.extend(report.diagnostics.into_iter().filter_map(reword));

    // The policies csppatch cannot read (a run-time or template expression).
    let unreadable: HashSet<(PathBuf, usize, usize)> = diagnostics
        .iter()
        .filter(|d| d.code == "E041")
        .filter_map(|d| d.location.as_ref())
        .map(|l| (l.path.clone(), l.line, l.col))
        .collect();
    // A tree of many vhosts often has one policy everywhere: lint and merge it once.
    let mut merges: HashMap<(String, Delivery, usize), csp::MergeOutcome> = HashMap::new();
    let mut linted: HashMap<(String, Delivery), Vec<Diagnostic>> = HashMap::new();
    let mut sites = Vec::new();
    for site in report.sites {
        let loc = Location {
            path: site.path.clone(),
            line: site.line,
            col: site.col,
        };
        let readable = !unreadable.contains(&(loc.path.clone(), loc.line, loc.col));
        let mut lints = Vec::new();
        if readable {
            if linted.len() > 256 {
                linted.clear();
            }
            let found = if site.opaque.is_empty() {
                linted
                    .entry((site.before.clone(), site.delivery))
                    .or_insert_with(|| policy_lints(&site))
                    .clone()
            } else {
                policy_lints(&site)
            };
            lints.extend(found.into_iter().map(|d| d.at(loc.clone())));
        }
        let checks: Vec<VendorCheck> = vendors
            .iter()
            .enumerate()
            .map(|(i, (name, reqs))| {
                if !readable {
                    return VendorCheck {
                        vendor: name.clone(),
                        verdict: Verdict::NotChecked,
                        added: Vec::new(),
                        created: Vec::new(),
                        reasons: Vec::new(),
                    };
                }
                if merges.len() > 256 {
                    merges.clear();
                }
                let key = (site.before.clone(), site.delivery, i);
                let outcome = merges.entry(key).or_insert_with(|| {
                    csp::merge(
                        &site.before,
                        reqs,
                        &MergeOptions {
                            delivery: site.delivery,
                        },
                    )
                });
                check_vendor(name, outcome, &loc)
            })
            .collect();
        for c in &checks {
            if let Some(d) = blocked_here(&site, c, &loc) {
                lints.push(d);
            }
        }
        diagnostics.extend(lints.iter().cloned());
        sites.push(AuditSite {
            unknown: unknown_parts(&site),
            site,
            lints,
            traps: Vec::new(),
            vendors: checks,
        });
    }
    sort(&mut diagnostics);

    // Each finding of the read stage at a site's line goes with that site.
    let mut by_line: HashMap<(PathBuf, usize), Vec<usize>> = HashMap::new();
    for (i, s) in sites.iter().enumerate() {
        by_line
            .entry((s.site.path.clone(), s.site.line))
            .or_default()
            .push(i);
    }
    let mut traps = Vec::new();
    for d in &diagnostics {
        let trap = TRAP_CODES.contains(&d.code);
        let at: &[usize] = d
            .location
            .as_ref()
            .and_then(|l| by_line.get(&(l.path.clone(), l.line)))
            .map_or(&[], Vec::as_slice);
        if at.is_empty() {
            if trap {
                traps.push(d.clone());
            }
            continue;
        }
        for &i in at {
            let s = &mut sites[i];
            if trap {
                s.traps.push(d.clone());
            } else if !s.lints.contains(d) {
                s.lints.push(d.clone());
            }
        }
    }
    for s in &mut sites {
        sort(&mut s.lints);
    }
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let exit_code = if has_errors && report.files_read == 0 {
        crate::exit::BAD_INPUT
    } else if has_errors {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    };
    Ok(Audit {
        paths: request.paths.clone(),
        vendors: vendors.into_iter().map(|(n, _)| n).collect(),
        sites,
        traps,
        diagnostics,
        not_checked,
        files_read: report.files_read,
        files_skipped: report.files_skipped,
        excluded: report.excluded,
        exit_code,
    })
}

impl Audit {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// Traps at sites and elsewhere.
    pub fn trap_count(&self) -> usize {
        self.traps.len() + self.sites.iter().map(|s| s.traps.len()).sum::<usize>()
    }

    /// Sites of `disposition`.
    pub fn sites_of(&self, disposition: Disposition) -> usize {
        self.sites
            .iter()
            .filter(|s| s.site.disposition == disposition)
            .count()
    }

    /// Sites where vendor `i` of [`Audit::vendors`] passes.
    pub fn passing(&self, i: usize) -> usize {
        self.sites
            .iter()
            .filter(|s| s.vendors.get(i).map(|c| c.verdict) == Some(Verdict::Passes))
            .count()
    }
}

/// The requirements by vendor, in the order the vendors first appear.
fn vendor_groups(requirements: &[Requirement]) -> Vec<(String, Vec<Requirement>)> {
    let mut out: Vec<(String, Vec<Requirement>)> = Vec::new();
    for r in requirements {
        match out.iter_mut().find(|(n, _)| *n == r.vendor) {
            Some((_, list)) => list.push(r.clone()),
            None => out.push((r.vendor.clone(), vec![r.clone()])),
        }
    }
    out
}

/// A patch run's diagnostic as the audit says it; `None` for what the audit says itself.
fn reword(d: Diagnostic) -> Option<Diagnostic> {
    // The policy's lints: the audit lints every site itself, including those a patch run
    // refuses before merging. E040: the site's `locked` says it.
    if d.code.starts_with("CSP") || d.code == "E040" {
        return None;
    }
    if d.code == "E013" {
        // A patch run could not change this site: for an audit, something to know, not a
        // fault of the configuration.
        return Some(Diagnostic {
            severity: Severity::Warning,
            ..d
        });
    }
    if d.code == "E012" {
        let message = d
            .message
            .replace(": nothing blocks the vendor, nothing to change", "");
        return Some(Diagnostic { message, ..d });
    }
    Some(d)
}

fn check_vendor(name: &str, outcome: &csp::MergeOutcome, loc: &Location) -> VendorCheck {
    let reasons: Vec<Diagnostic> = outcome
        .diagnostics
        .iter()
        .filter(|d| {
            BLOCKING.contains(&d.code)
                && outcome
                    .caveats
                    .iter()
                    .any(|c| c.code == d.code && BLOCKING.contains(&c.code))
        })
        .map(|d| d.clone().at(loc.clone()))
        .collect();
    let verdict = if !reasons.is_empty() {
        Verdict::Blocked
    } else if !outcome.edits.is_empty() {
        Verdict::NeedsChange
    } else {
        Verdict::Passes
    };
    VendorCheck {
        vendor: name.to_string(),
        verdict,
        added: outcome.added.clone(),
        created: outcome.created.clone(),
        reasons,
    }
}

/// AUD901 for a vendor that does not pass at `site`.
fn blocked_here(site: &SiteReport, c: &VendorCheck, loc: &Location) -> Option<Diagnostic> {
    let what = match c.verdict {
        Verdict::Passes | Verdict::NotChecked => return None,
        Verdict::NeedsChange => format!("a patch run adds {}", added_summary(c)),
        Verdict::Blocked => {
            let codes: Vec<&str> = c.reasons.iter().map(|d| d.code).collect();
            format!("it stays blocked whatever is added ({})", codes.join(", "))
        }
    };
    let (severity, verb) = match (site.disposition, &site.locked) {
        (Disposition::ReportOnly, _) => (Severity::Note, "would be reported"),
        // An SVG's or an upload's policy: no widget runs there, on purpose.
        (Disposition::Enforce, Some(_)) => {
            (Severity::Note, "is blocked, on purpose (a locked policy),")
        }
        (Disposition::Enforce, None) => (Severity::Error, "is blocked"),
    };
    let help = match c.verdict {
        Verdict::Blocked => c
            .reasons
            .first()
            .map(|d| format!("{}: {}", d.code, d.message)),
        _ => Some(format!(
            "`csppatch {} --vendor {} --dry-run` shows the change",
            crate::diag::quoted(&site.path),
            c.vendor
        )),
    };
    let mut d = Diagnostic::new(
        "AUD901",
        severity,
        format!(
            "{} {verb} by this {}: {what}",
            c.vendor,
            site.disposition.header_name()
        ),
    )
    .at(loc.clone());
    d.help = help;
    Some(d)
}

/// `3 sources to script-src, connect-src (new)`.
fn added_summary(c: &VendorCheck) -> String {
    let mut directives: Vec<String> = Vec::new();
    for a in &c.added {
        let d = if a.created {
            format!("{} (new)", a.directive)
        } else {
            a.directive.clone()
        };
        if !directives.contains(&d) {
            directives.push(d);
        }
    }
    let n = c.added.len();
    format!(
        "{n} source{} to {}",
        if n == 1 { "" } else { "s" },
        directives.join(", ")
    )
}

/// `script-src + https://a.example, connect-src (new) + https://b.example`.
pub fn needs(c: &VendorCheck) -> String {
    let mut parts: Vec<String> = Vec::new();
    for a in &c.added {
        let new = if a.created { " (new)" } else { "" };
        match parts
            .iter_mut()
            .find(|p| p.starts_with(&format!("{}{new} + ", a.directive)))
        {
            Some(p) => {
                p.push(' ');
                p.push_str(&a.source);
            }
            None => parts.push(format!("{}{new} + {}", a.directive, a.source)),
        }
    }
    for cr in c.created.iter().filter(|cr| cr.pin) {
        parts.push(format!("{} (new, pinned)", cr.directive));
    }
    parts.join(", ")
}

/// The lints of the policy as sent, without location.
fn policy_lints(site: &SiteReport) -> Vec<Diagnostic> {
    let list = csp::parse::parse(&site.before);
    let run_time = run_time_sources(site, &list);
    csp::lint::check(&list, site.delivery)
        .into_iter()
        .filter(|d| !crate::pipeline::about_run_time_source(d, &run_time))
        .collect()
}

/// The opaque parts of the site's policy, with the dialect's note where there is one.
fn unknown_parts(site: &SiteReport) -> Vec<Unknown> {
    site.opaque
        .iter()
        .filter_map(|r| {
            let text = site.before.get(r.clone())?.to_string();
            let what = site
                .opaque_notes
                .iter()
                .find(|n| n.range == *r)
                .map(|n| n.what.clone());
            Some(Unknown { text, what })
        })
        .collect()
}

/// The sources of the policy that hold a part only known at request time: their text is a
/// stand-in, so "not a valid source" (CSP112) says nothing about what the server sends.
fn run_time_sources(site: &SiteReport, list: &csp::parse::PolicyList) -> Vec<String> {
    if site.opaque.is_empty() {
        return Vec::new();
    }
    list.policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter(|t| {
            site.opaque
                .iter()
                .any(|o| o.start < t.span.end && t.span.start < o.end)
        })
        .map(|t| t.text.clone())
        .collect()
}

/// By place, then code, as the patch run sorts; duplicates dropped.
fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.location.as_ref().map(|l| (l.path.clone(), l.line, l.col));
        key(a).cmp(&key(b)).then(a.code.cmp(b.code))
    });
    *diags = crate::pipeline::once_each(std::mem::take(diags));
}
