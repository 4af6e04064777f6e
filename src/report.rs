//! What a run did, and how it is shown: a unified diff per changed file then diagnostics
//! (text), or one JSON document (`--format json`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::csp::{Added, Created};
use crate::diag::{Diagnostic, Severity};
use crate::edit::{unified_diff, Paint};
use crate::options::Mode;
use crate::site::Disposition;

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub mode: Option<Mode>,
    /// Files whose bytes change (or changed, when written).
    pub files: Vec<FileChange>,
    /// Every CSP site csppatch considered, changed or not.
    pub sites: Vec<SiteReport>,
    pub diagnostics: Vec<Diagnostic>,
    pub validations: Vec<ValidationReport>,
    /// Files read (configuration only).
    pub files_read: usize,
    /// Files walked over that are not configuration csppatch knows.
    pub files_skipped: usize,
    /// Files and directories left out by `--exclude`, as the walk or include named them.
    #[serde(serialize_with = "crate::diag::ser_paths")]
    pub excluded: Vec<PathBuf>,
    pub written: bool,
    /// A `csppatch remove` run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removal: bool,
    /// Files a failed restore left with the patched bytes (validation without a namespace).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::diag::ser_paths"
    )]
    pub left_modified: Vec<PathBuf>,
    pub exit_code: u8,
}

/// A changed file: its bytes before and after. JSON readers get the path, the diff, and both
/// texts (lossy UTF-8) for tools that show their own diff (Ansible's `--diff`).
#[derive(Debug)]
pub struct FileChange {
    pub path: PathBuf,
    /// The regular file written (symlinks resolved).
    pub target: PathBuf,
    pub before: std::sync::Arc<[u8]>,
    pub after: Vec<u8>,
}

impl FileChange {
    pub fn diff(&self, paint: Paint) -> Vec<u8> {
        unified_diff(
            &self.before,
            &self.after,
            &crate::edit::diff_label(&self.path),
            paint,
        )
    }
}

impl serde::Serialize for FileChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FileChange", 4)?;
        st.serialize_field("path", &self.path.to_string_lossy())?;
        st.serialize_field("diff", &String::from_utf8_lossy(&self.diff(Paint::Plain)))?;
        st.serialize_field("before", &String::from_utf8_lossy(&self.before))?;
        st.serialize_field("after", &String::from_utf8_lossy(&self.after))?;
        st.end()
    }
}

#[derive(Debug, serde::Serialize)]
pub struct SiteReport {
    #[serde(serialize_with = "crate::diag::ser_path")]
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub context: String,
    pub disposition: Disposition,
    /// The variable the value is assigned to (nginx `map`/`set`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    pub before: String,
    pub after: String,
    pub added: Vec<Added>,
    /// Directives the merge created (for a vendor, or pinned to keep other request types as
    /// they were: `worker-src` when `script-src` widens).
    pub created: Vec<Created>,
    /// `csppatch remove`: what was taken out, per directive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<crate::csp::remove::Removed>,
    pub changed: bool,
    /// Why the site was left as it is as a locked policy (README, "Locked policies").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ValidationReport {
    pub command: String,
    /// `before`: the unpatched configuration; `after`: the patched one.
    pub stage: &'static str,
    pub ok: bool,
    pub output: String,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// What the run saw but could not check, as `(count, what)`: a CSP it cannot read (E041),
    /// one outside the given paths (E011), an include or a variable it could not follow
    /// (E006, TPL004, E010: only when no CSP was found in the paths, the all-clear they
    /// would make false), a file it does not know that names the header (E003), no file at all (E042).
    /// Any of these and the run is no all-clear: `--check` fails (README, "Never a false
    /// all-clear").
    pub fn not_checked(&self) -> Vec<(usize, &'static str)> {
        // `may_hold`: a place the policy may be in that was not read, which matters only when
        // no CSP was found in the paths; counted whatever its severity (TPL004 is a note).
        let count = |code: &str, may_hold: bool| {
            self.diagnostics
                .iter()
                .filter(|d| d.code == code && (may_hold || d.severity != Severity::Note))
                .count()
        };
        let none_found = self.sites.is_empty();
        [
            ("E041", "CSP not readable", false),
            ("E011", "CSP outside the paths", false),
            ("E006", "include not found", true),
            ("TPL004", "template include not followed", true),
            ("E010", "undefined CSP variable", true),
            ("E003", "unknown file naming the CSP header", false),
            ("E042", "no configuration file", false),
        ]
        .into_iter()
        .filter(|&(_, _, may_hold)| none_found || !may_hold)
        .map(|(code, what, may_hold)| (count(code, may_hold), what))
        .filter(|&(n, _)| n > 0)
        .collect()
    }

    /// Sources added, over every site.
    pub fn added_count(&self) -> usize {
        self.sites.iter().map(|s| s.added.len()).sum()
    }
}

/// Diffs on stdout, diagnostics and the summary on stderr, as linters do: `csppatch ... > fix.patch`
/// gives a patch file. Each stream has its own colours (`out_paint`, `paint`): one may be a
/// terminal while the other is a file.
pub fn render_text(
    report: &Report,
    out_paint: Paint,
    paint: Paint,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    for f in &report.files {
        out.write_all(&f.diff(out_paint))?;
    }
    for site in report.sites.iter().filter(|s| s.changed) {
        if report.removal {
            crate::commands::remove::render_site(site, paint, err)?;
        } else {
            render_site(site, paint, err)?;
        }
    }
    render_diagnostics(report, paint, err)?;
    for v in &report.validations {
        let status = if v.ok {
            paint_str(paint, "\x1b[32m", "ok")
        } else {
            paint_str(paint, "\x1b[31m", "FAILED")
        };
        writeln!(err, "validate ({}): {} {status}", v.stage, v.command)?;
        if !v.ok {
            for line in v.output.lines() {
                writeln!(err, "    {line}")?;
            }
        }
    }
    writeln!(err, "{}", summary(report))
}

/// What changed in one site, a directive per line:
///
/// ```text
/// sites-enabled/shop:7: Content-Security-Policy (server shop.example.com)
///     script-src   + https://muserelay.com
///     connect-src  new, from default-src: 'self' https://muserelay.com wss://muserelay.com
///     worker-src   new, from script-src: 'self' (keeps workers as they were)
/// ```
fn render_site(site: &SiteReport, paint: Paint, err: &mut dyn Write) -> std::io::Result<()> {
    let loc = format!("{}:{}:", crate::diag::quoted(&site.path), site.line);
    let what = match &site.variable {
        Some(v) => format!("${v}, {}", site.context),
        None => site.context.clone(),
    };
    writeln!(
        err,
        "{} {} ({what})",
        paint_str(paint, "\x1b[1m", &loc),
        site.disposition.header_name()
    )?;
    let policies = site
        .added
        .iter()
        .map(|a| a.policy)
        .chain(site.created.iter().map(|c| c.policy))
        .max()
        .unwrap_or(0)
        + 1;
    let mut lines: Vec<(String, String)> = Vec::new();
    for p in 0..policies {
        let tag = if policies > 1 {
            format!(" [policy {}]", p + 1)
        } else {
            String::new()
        };
        let mut appended: Vec<(&str, Vec<&str>)> = Vec::new();
        for a in site.added.iter().filter(|a| a.policy == p && !a.created) {
            match appended.iter_mut().find(|(d, _)| *d == a.directive) {
                Some((_, v)) => v.push(&a.source),
                None => appended.push((&a.directive, vec![&a.source])),
            }
        }
        for (d, sources) in appended {
            lines.push((d.to_string(), format!("+ {}{tag}", sources.join(" "))));
        }
        for c in site.created.iter().filter(|c| c.policy == p) {
            let from = c
                .copied_from
                .as_deref()
                .map(|f| format!(", from {f}"))
                .unwrap_or_default();
            let why = if c.pin {
                " (keeps other requests as they were)"
            } else {
                ""
            };
            lines.push((
                c.directive.clone(),
                format!("new{from}: {}{why}{tag}", c.sources.join(" ")),
            ));
        }
    }
    if lines.is_empty() {
        writeln!(err, "    rewritten on one line (no source added)")?;
    }
    let width = lines.iter().map(|(d, _)| d.len()).max().unwrap_or(0);
    for (d, text) in lines {
        writeln!(err, "    {d:width$}  {text}")?;
    }
    Ok(())
}

/// Diagnostics that belong to no run (a bad `--vendor`, notes about the vendor files), in the
/// same style as a run's.
pub fn render_diagnostic_list(
    diagnostics: &[Diagnostic],
    paint: Paint,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let r = Report {
        diagnostics: diagnostics.to_vec(),
        ..Default::default()
    };
    render_diagnostics(&r, paint, err)
}

/// Every diagnostic of the report, rustc/ruff style: `path:line:col: severity[CODE]: message`,
/// the offending line with a caret, then the help.
pub fn render_diagnostics(
    report: &Report,
    paint: Paint,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    // Each file's bytes once, for the source lines: the report's own copy of a changed file,
    // else read from disk (a file with warnings and no change).
    let mut sources: HashMap<&Path, Option<std::borrow::Cow<[u8]>>> = report
        .files
        .iter()
        .map(|f| {
            (
                f.path.as_path(),
                Some(std::borrow::Cow::Borrowed(&f.before[..])),
            )
        })
        .collect();
    for d in &report.diagnostics {
        let src = d.location.as_ref().and_then(|loc| {
            sources
                .entry(loc.path.as_path())
                .or_insert_with(|| std::fs::read(&loc.path).ok().map(std::borrow::Cow::Owned))
                .as_deref()
        });
        render_diagnostic(d, src, paint, err)?;
    }
    Ok(())
}

fn render_diagnostic(
    d: &Diagnostic,
    src: Option<&[u8]>,
    paint: Paint,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let colour = match d.severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Note => "\x1b[1;36m",
    };
    let head = paint_str(paint, colour, &format!("{}[{}]", d.severity, d.code));
    match &d.location {
        Some(loc) => writeln!(err, "{loc}: {head}: {}", d.message)?,
        None => writeln!(err, "{head}: {}", d.message)?,
    }
    if let Some(loc) = &d.location {
        let text = src.map(|s| crate::diag::source_line(s, loc.line));
        if let (Some(text), Some(src)) = (text.filter(|t| !t.trim().is_empty()), src) {
            let shown: String = text.chars().take(160).collect();
            writeln!(err, "    {shown}")?;
            // The column counts bytes; the caret goes under the character that holds that
            // byte, so the pad is the characters of the bytes before it.
            let line = src
                .split(|&b| b == b'\n')
                .nth(loc.line.saturating_sub(1))
                .unwrap_or(&[]);
            let before = &line[..loc.col.saturating_sub(1).min(line.len())];
            let pad: String = String::from_utf8_lossy(before)
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            if pad.chars().count() < 160 {
                writeln!(err, "    {pad}{}", paint_str(paint, colour, "^"))?;
            }
        }
    }
    if let Some(help) = &d.help {
        writeln!(err, "    = help: {help}")?;
    }
    Ok(())
}

pub fn summary(report: &Report) -> String {
    let changed = report.files.len();
    let (sources, done) = if report.removal {
        (crate::commands::remove::removed_count(report), "removed")
    } else {
        (report.added_count(), "added")
    };
    let what = format!(
        "{} file{} read, {} CSP site{}, {} source{} {done} in {} file{}",
        report.files_read,
        plural(report.files_read),
        report.sites.len(),
        plural(report.sites.len()),
        sources,
        plural(sources),
        changed,
        plural(changed)
    );
    let what = match report.excluded.len() {
        0 => what,
        n => format!("{what}, {n} path{} excluded", plural(n)),
    };
    let locked = report.sites.iter().filter(|s| s.locked.is_some()).count();
    let what = match locked {
        0 => what,
        n => format!(
            "{what}, {n} locked polic{} left as {}",
            if n == 1 { "y" } else { "ies" },
            if n == 1 { "it is" } else { "they are" }
        ),
    };
    let unchecked = report.not_checked();
    let what = if unchecked.is_empty() {
        what
    } else {
        let list: Vec<String> = unchecked.iter().map(|(n, w)| format!("{n} {w}")).collect();
        format!("{what}; NOT checked: {}", list.join(", "))
    };
    let outcome = match (report.mode, report.written, report.exit_code) {
        _ if !report.left_modified.is_empty() => format!(
            "FAILED: {} file(s) left patched and unvalidated",
            report.left_modified.len()
        ),
        (_, true, _) => "written".to_string(),
        (_, _, crate::exit::INVALID) => "validation failed: nothing written".to_string(),
        (_, _, crate::exit::BAD_INPUT) => "errors: nothing written".to_string(),
        (Some(Mode::DryRun), ..) => "dry run: nothing written".to_string(),
        (Some(Mode::Check), ..) if changed > 0 => "check: changes needed".to_string(),
        (Some(Mode::Check), ..) if !unchecked.is_empty() => {
            "check: not a pass, see the warnings".to_string()
        }
        _ if changed == 0 => "nothing to change".to_string(),
        _ => "nothing written".to_string(),
    };
    format!("csppatch: {what} ({outcome})")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(crate) fn paint_str(paint: Paint, colour: &str, s: &str) -> String {
    match paint {
        Paint::Plain => s.to_string(),
        Paint::Ansi => format!("{colour}{s}\x1b[0m"),
    }
}

pub fn render_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
