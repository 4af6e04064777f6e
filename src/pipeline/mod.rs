//! The patch run as stages, each returning what it found for the run to record:
//! read (scan every file, follow includes) → plan (link variables, merge each site, splice,
//! read back) → validate (the servers' own validators, on the patched configuration at its
//! real paths) → write (every file or none).

mod link;
mod locked;
mod plan;
mod read;
mod semicolon;
mod superseded;
mod unread;
mod write;

use crate::commit::{HardLinks, Staged};
use crate::diag::{Diagnostic, Location};
use crate::exit;
use crate::options::{Mode, PatchOptions};
use crate::report::{FileChange, Report, Sink, Tally};
use crate::scan::{self, ScannedFile};

pub(crate) use plan::about_run_time_source;
pub use plan::Plan;
pub use write::{Next, Validation};

pub fn run(options: &PatchOptions) -> Report {
    run_with(options, None)
}

/// A run whose plan goes to `sink` part by part as it is done, in file order (the diffs and
/// site rows are not kept: the report has their [`Tally`]); the rest of the report (the
/// diagnostics, sorted over the whole run) is as [`run`] gives it. Only for a run that
/// neither writes nor validates: both need every file's new bytes at once.
pub fn run_with(options: &PatchOptions, sink: Option<&mut dyn Sink>) -> Report {
    debug_assert!(sink.is_none() || (options.mode != Mode::Write && !options.validate));
    let set = scan::scan(&options.paths, &options.scan);
    let mut report = Report {
        mode: Some(options.mode),
        removal: options.removal.is_some(),
        files_read: set.files.iter().filter(|f| f.relevant).count(),
        files_skipped: set.skipped,
        excluded: set.excluded.iter().cloned().collect(),
        diagnostics: read::diagnostics(&set),
        ..Default::default()
    };

    let streamed = sink.is_some();
    let mut tally = Tally::default();
    // E027 for the streamed files, said (as in `run`) only if the run has no error.
    let mut links = Vec::new();
    let plan = match sink {
        Some(sink) => {
            let mut each = |part: &mut plan::Plan| {
                tally.add(&part.files, &part.sites);
                links.extend(hard_links(&part.files, options.hard_links, options.mode));
                sink.part(
                    std::mem::take(&mut part.files),
                    std::mem::take(&mut part.sites),
                );
            };
            plan::plan(&set, options, Some(&mut each))
        }
        None => plan::plan(&set, options, None),
    };
    if streamed {
        report.tally = Some(tally);
    }
    report.sites = plan.sites;
    report.diagnostics.extend(plan.diagnostics);
    report.diagnostics.extend(unread::unread(&set));
    report.files = plan.files;
    let in_scope = set.files.iter().filter(|f| f.in_scope).count();
    coverage(&mut report, options, plan.found, in_scope);
    report.diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.location.as_ref().map(|l| (l.path.clone(), l.line, l.col));
        key(a).cmp(&key(b)).then(a.code.cmp(b.code))
    });
    report.diagnostics = once_each(std::mem::take(&mut report.diagnostics));
    report.exit_code = if report.has_errors() {
        exit::BAD_INPUT
    } else if options.mode == Mode::Check
        && (report.changed_files() > 0 || !report.not_checked().is_empty())
    {
        exit::CHANGES
    } else {
        exit::OK
    };
    if streamed {
        if !report.has_errors() && report.changed_files() > 0 {
            report.diagnostics.extend(links);
            if report.has_errors() {
                report.exit_code = exit::BAD_INPUT;
            }
        }
        report.sources = read_sources(&set, &plan.changed, &report.diagnostics);
        return report;
    }
    if report.has_errors() || report.files.is_empty() {
        return report;
    }

    let files = std::mem::take(&mut report.files);
    let staged = staged(&files);
    report
        .diagnostics
        .extend(hard_links(&files, options.hard_links, options.mode));
    if report.has_errors() {
        report.exit_code = exit::BAD_INPUT;
        drop(staged);
        report.files = files;
        return report;
    }
    let mut next = Next::Write;
    if options.validate {
        let validation = write::validate(
            &set,
            &plan.changed,
            &staged,
            options.mode,
            options.validate_cmd.as_deref(),
        );
        report.validations.extend(validation.runs);
        report.diagnostics.extend(validation.diagnostics);
        next = validation.next;
    }
    match next {
        Next::Stop(code) => report.exit_code = code,
        Next::Write if options.mode != Mode::Write => {}
        Next::Write => {
            let written = write::write(&staged, options.hard_links);
            record_write(&mut report, written);
        }
        Next::WriteThenValidate(validators) => {
            let outcome = write::write_then_validate(&staged, &validators, options.hard_links);
            report.validations.extend(outcome.runs);
            report.diagnostics.extend(outcome.diagnostics);
            report.written = outcome.written;
            report.left_modified = outcome.left_modified;
            if let Some(code) = outcome.exit_code {
                report.exit_code = code;
            }
        }
    }
    drop(staged);
    report.files = files;
    report
}

fn staged(files: &[FileChange]) -> Vec<Staged<'_>> {
    files
        .iter()
        .map(|f| Staged {
            path: &f.path,
            target: &f.target,
            original: &f.before,
            new: &f.after,
        })
        .collect()
}

/// The bytes as read of each changed file (`changed`: indices in `set`) that a diagnostic
/// points at: a streamed run's diagnostics show those lines as [`run`]'s do, from the bytes
/// read, not from the disk.
fn read_sources(
    set: &scan::FileSet,
    changed: &[usize],
    diagnostics: &[Diagnostic],
) -> Vec<(std::path::PathBuf, std::sync::Arc<[u8]>)> {
    let named: std::collections::HashSet<&std::path::Path> = diagnostics
        .iter()
        .filter_map(|d| d.location.as_ref())
        .map(|l| l.path.as_path())
        .collect();
    changed
        .iter()
        .map(|&i| &set.files[i])
        .filter(|f| named.contains(f.path.as_path()))
        .map(|f| (f.path.clone(), f.src.clone()))
        .collect()
}

/// Each diagnostic once, in the order given (sorted by file:line:col and code). A value
/// built from variables is linted once per variant (an nginx `map`, a `set` in an `if`), so
/// a policy with two invalid sources gives `a b a b ...` at the same place: equal ones are
/// not always next to each other, and `dedup()` alone kept the repeats.
pub(crate) fn once_each(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let key = |d: &Diagnostic| {
        d.location
            .as_ref()
            .map(|l| (l.path.clone(), l.line, l.col, d.code))
    };
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let k = key(&d);
        let seen = kept
            .iter()
            .rev()
            .take_while(|e| k.is_some() && key(e) == k)
            .any(|e| *e == d);
        let repeat = seen || kept.last() == Some(&d);
        if !repeat {
            kept.push(d);
        }
    }
    kept
}

/// What the run says when it changes nothing: "nothing blocks the vendor" (E012) only when
/// every file was read and no CSP was seen, even unread; "0 configuration files" (E042) when
/// nothing was read at all (README, "Never a false all-clear").
fn coverage(report: &mut Report, options: &PatchOptions, found: bool, n: usize) {
    if found || report.has_errors() {
        return;
    }
    if n == 0 {
        let paths: Vec<String> = options
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        // With --skip-unknown the user asked for unknown files to be skipped (a hook passing
        // every staged file): then it is a note, and a file among them that names the header
        // has its own E003 warning.
        let severity = if options.scan.skip_unknown {
            crate::diag::Severity::Note
        } else {
            crate::diag::Severity::Warning
        };
        report.diagnostics.push(
            Diagnostic::new(
                "E042",
                severity,
                format!(
                    "0 configuration files under {}: nothing was checked",
                    paths.join(", ")
                ),
            )
            .with_help(
                "name the files with --dialect if csppatch does not know them by name \
                 (htaccess.txt: --dialect apache)",
            ),
        );
        return;
    }
    if !report.not_checked().is_empty() {
        // A CSP was seen but not read, or may be in what was not read: no all-clear.
        return;
    }
    report.diagnostics.push(Diagnostic::note(
        "E012",
        format!(
            "no Content-Security-Policy found in {n} file{}: nothing blocks the vendor, nothing to change",
            if n == 1 { "" } else { "s" }
        ),
    ));
}

/// The write stage's result in the report: written, or why not (the files already written
/// were restored).
fn record_write(report: &mut Report, written: Result<(), crate::commit::CommitError>) {
    match written {
        Ok(()) => report.written = true,
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::error("E021", e.to_string()));
            report.exit_code = exit::BAD_INPUT;
        }
    }
}

/// What happens to each file with several hard links, said before anything is written: by
/// default it is refused (an error in write mode, nothing is written; a warning when only the
/// diff is shown), else a note says what `--hard-links` does to it.
/// The count is the one the scan read: the write checks the open file again
/// (`commit::replace`), so a link made in between is still refused.
fn hard_links(files: &[FileChange], links: HardLinks, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for f in files {
        let n = f.links;
        if n < 2 {
            continue;
        }
        let name = crate::diag::quoted(&f.path);
        out.push(match links {
            HardLinks::Refuse => {
                let message = format!("{name}: {}", crate::commit::hard_link_refusal(n));
                if mode == Mode::Write {
                    Diagnostic::error("E027", message)
                } else {
                    Diagnostic::warning("E027", message)
                }
            }
            HardLinks::Split => Diagnostic::note(
                "E027",
                format!("{name}: it has {n} hard links; --hard-links split replaces this name by a new file, and the other {} name(s) keep the old bytes", n - 1),
            ),
            HardLinks::InPlace => Diagnostic::note(
                "E027",
                format!("{name}: it has {n} hard links; --hard-links in-place writes the file itself, so all its names change (not crash-safe: a kill mid-write can leave it corrupt)"),
            ),
        });
    }
    out
}

fn location(file: &ScannedFile, offset: usize) -> Location {
    Location::of(&file.path, &file.src, offset)
}
