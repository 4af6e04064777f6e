//! The validate and write stages. Validation runs the validators on the unpatched
//! configuration (a failure there is not the patch's), then on the patched one at the real
//! paths inside a private mount namespace; where no namespace can be made, the patched files
//! are written, validated in place, and restored if a validator rejects them. Every write
//! holds the stop signals until it is done (see `signals`).

use crate::commit::{CommitError, HardLinks, Staged, Writer};
use crate::diag::Diagnostic;
use crate::exit;
use crate::options::Mode;
use crate::report::ValidationReport;
use crate::scan::FileSet;
use crate::signals;
use crate::validate::{self, Checked, Sandbox};
use crate::validator::Validator;

/// What the validate stage found, and what the run does next.
#[derive(Debug)]
pub struct Validation {
    pub runs: Vec<ValidationReport>,
    pub diagnostics: Vec<Diagnostic>,
    pub next: Next,
}

#[derive(Debug)]
pub enum Next {
    /// Write (in write mode): the patched configuration passed, or there was nothing to run.
    Write,
    /// Nothing is written; the run exits with this code.
    Stop(u8),
    /// No private mount namespace: write, run these on the written files, restore on failure.
    WriteThenValidate(Vec<Validator>),
}

fn row(v: &Validator, stage: &'static str, run: Checked) -> ValidationReport {
    ValidationReport {
        command: v.label.clone(),
        stage,
        ok: run.ok,
        output: run.output,
    }
}

/// Validation cannot go on: say why, and stop the run with exit 3.
fn stop(code: &'static str, out: &mut Validation, message: String) {
    out.diagnostics.push(Diagnostic::error(code, message));
    out.next = Next::Stop(exit::INVALID);
}

pub fn validate(
    set: &FileSet,
    changed: &[usize],
    staged: &[Staged<'_>],
    mode: Mode,
    custom: Option<&str>,
) -> Validation {
    // Ctrl-C waits while a validator runs: the runner stops it and its children at once,
    // the staged copies are removed on the way out, then the signal ends the run.
    let _held = signals::defer();
    let mut out = Validation {
        runs: Vec::new(),
        diagnostics: Vec::new(),
        next: Next::Write,
    };
    let validators = match validate::plan(set, changed, custom) {
        Ok(v) => v,
        Err(e) => {
            stop("E023", &mut out, e);
            return out;
        }
    };
    if validators.is_empty() {
        out.diagnostics.push(Diagnostic::note("E024", "no validator for these files (HTML): each patched value was read back and checked instead"));
    }
    for v in &validators {
        let run = validate::check(v, None);
        let (ok, timed_out) = (run.ok, run.timed_out);
        out.runs.push(row(v, "before", run));
        if timed_out {
            // No verdict: the configuration may well be valid.
            stop("E023", &mut out, format!("`{}` did not finish on the unpatched configuration within the deadline (CSPPATCH_VALIDATE_TIMEOUT seconds, 120 by default), so nothing can be validated; nothing was written", v.label));
            return out;
        }
        if !ok {
            stop("E022", &mut out, format!("`{}` already fails on the unpatched configuration; fix that first (nothing was written)", v.label));
            return out;
        }
    }
    if validate::sandbox::available() {
        let sandbox = match Sandbox::stage(staged.iter().map(|s| (s.target, s.new))) {
            Ok(s) => s,
            Err(e) => {
                stop(
                    "E023",
                    &mut out,
                    format!("cannot validate: {e}; nothing was written"),
                );
                return out;
            }
        };
        for v in &validators {
            let run = validate::check(v, Some(&sandbox));
            let ok = run.ok;
            out.runs.push(row(v, "after", run));
            if !ok {
                stop(
                    "E020",
                    &mut out,
                    format!(
                        "`{}` rejects the patched configuration; nothing was written",
                        v.label
                    ),
                );
                return out;
            }
        }
        return out;
    }
    if mode != Mode::Write {
        out.diagnostics.push(Diagnostic::warning(
            "E025",
            "cannot validate without writing here (no private mount namespace: run as root, or allow user namespaces); validation skipped",
        ));
        return out;
    }
    out.next = Next::WriteThenValidate(validators);
    out
}

/// Write every file, or none, with their directories locked against another csppatch run.
/// Ctrl-C and SIGTERM wait until the writes are done.
pub fn write(staged: &[Staged<'_>], links: HardLinks) -> Result<(), CommitError> {
    let _held = signals::defer();
    Writer::lock(staged, links)?.write_all()
}

/// What writing, validating in place and maybe restoring did.
#[derive(Debug, Default)]
pub struct InPlace {
    pub runs: Vec<ValidationReport>,
    pub diagnostics: Vec<Diagnostic>,
    /// The patched files are on disk (written, and not restored).
    pub written: bool,
    /// Files a failed restore left with the patched bytes.
    pub left_modified: Vec<std::path::PathBuf>,
    /// The run's exit code, when it is not the plan's.
    pub exit_code: Option<u8>,
}

/// Without a mount namespace: write, validate, and restore on failure. From the first write to
/// the last restore the stop signals wait: stopping in between would leave files patched and
/// unvalidated.
pub fn write_then_validate(
    staged: &[Staged<'_>],
    validators: &[Validator],
    links: HardLinks,
) -> InPlace {
    let _held = signals::defer();
    let mut out = InPlace::default();
    // One lock from the write to the restore: another run must not patch the files between.
    let written = Writer::lock(staged, links).and_then(|w| w.write_all().map(|()| w));
    let writer = match written {
        Ok(w) => w,
        Err(e) => {
            out.diagnostics
                .push(Diagnostic::error("E021", e.to_string()));
            out.exit_code = Some(exit::BAD_INPUT);
            return out;
        }
    };
    out.written = true;
    for v in validators {
        let run = validate::check(v, None);
        let ok = run.ok;
        out.runs.push(row(v, "after", run));
        if ok {
            continue;
        }
        out.exit_code = Some(exit::INVALID);
        match writer.restore() {
            Ok(()) => {
                out.written = false;
                out.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!(
                        "`{}` rejects the patched configuration; every file was restored",
                        v.label
                    ),
                ));
            }
            Err(e) => {
                // Some files keep the patched bytes: say which, and do not claim that
                // nothing was written.
                out.left_modified = e.not_restored.iter().map(|(p, _)| p.clone()).collect();
                out.diagnostics.push(Diagnostic::error(
                    "E026",
                    format!("`{}` rejects the patched configuration, and {e}", v.label,),
                ));
            }
        }
        return out;
    }
    out
}
