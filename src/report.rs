//! What a patch run did: the [`Report`] every stage adds to, and the one-line summary. How it
//! is shown (text, JSON) is [`crate::render`]'s.

use std::path::PathBuf;

use crate::csp::{Added, Created};
use crate::diag::{Diagnostic, Severity};
use crate::edit::unified_diff;
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
    /// A streamed run ([`Sink`]): the counts of the files and sites handed to the sink, which
    /// are not kept in `files` and `sites`.
    #[serde(skip)]
    pub tally: Option<Tally>,
    /// A streamed run: the bytes as read of each changed file a diagnostic points at (the
    /// diagnostics show its line as read, not as it is on disk now).
    #[serde(skip)]
    pub sources: Vec<(PathBuf, std::sync::Arc<[u8]>)>,
}

/// What a streamed run handed to its [`Sink`], counted for the summary and the exit code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Changed files.
    pub files: usize,
    /// Site rows (changed or not).
    pub sites: usize,
    pub added: usize,
    pub removed: usize,
    pub locked: usize,
}

impl Tally {
    /// Count one part's files and site rows.
    pub fn add(&mut self, files: &[FileChange], sites: &[SiteReport]) {
        self.files += files.len();
        self.sites += sites.len();
        self.added += sites.iter().map(|s| s.added.len()).sum::<usize>();
        self.removed += sites
            .iter()
            .flat_map(|s| &s.removed)
            .map(|r| r.sources.len())
            .sum::<usize>();
        self.locked += sites.iter().filter(|s| s.locked.is_some()).count();
    }
}

/// Where a streamed run (text output without validation, not writing) sends each part of the
/// plan as soon as it is done, in file order: the changed files and the site rows, which the
/// run then drops (issue 10: a 100,000-vhost run held every file's old and new bytes).
pub trait Sink {
    fn part(&mut self, files: Vec<FileChange>, sites: Vec<SiteReport>);
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
    /// The file's hard-link count when it was read ([`crate::scan::ScannedFile::links`]).
    pub links: u64,
}

impl FileChange {
    /// The unified diff, plain (`render::diff` colours it).
    pub fn diff(&self) -> Vec<u8> {
        unified_diff(
            &self.before,
            &self.after,
            &crate::edit::diff_label(&self.path),
        )
    }
}

impl serde::Serialize for FileChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FileChange", 4)?;
        st.serialize_field("path", &self.path.to_string_lossy())?;
        st.serialize_field("diff", &String::from_utf8_lossy(&self.diff()))?;
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
    /// Header or `<meta>`: how the lints and a merge read the policy (`csppatch audit`).
    #[serde(skip)]
    pub delivery: crate::csp::Delivery,
    /// The parts of `before` known only at request time, with what each is, where the
    /// dialect knows (`csppatch audit` shows them; `before` holds stand-ins there).
    #[serde(skip)]
    pub opaque: Vec<std::ops::Range<usize>>,
    #[serde(skip)]
    pub opaque_notes: Vec<crate::site::OpaqueNote>,
    /// A value built from variables: each literal whose bytes the change went into (the
    /// `set`, the `vars`, the PHP assignment, or the header's own literal), in file order.
    /// The site is where the policy is sent; these are where it was edited.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<LiteralEdit>,
}

/// One literal of a value built from variables that a change was written into.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiteralEdit {
    pub line: usize,
    /// The variable the literal is assigned to (`$csp_script`, `{vars.scriptSrc}`); absent
    /// for the header's own literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// The literal's text as written before and after, its own references as they are.
    pub before: String,
    pub after: String,
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

    /// A run that stopped before reading anything (a bad `--vendor`, usage): its errors, exit 2.
    pub fn refused(mode: Option<Mode>, diagnostics: Vec<Diagnostic>) -> Report {
        Report {
            mode,
            diagnostics,
            exit_code: crate::exit::BAD_INPUT,
            ..Default::default()
        }
    }

    /// What the run saw but could not check, as `(count, what)`: a CSP it cannot read (E041),
    /// one outside the given paths (E011), an include or a variable it could not follow
    /// (E006, TPL004, E010: only when no CSP was found in the paths, the all-clear they
    /// would make false), a file it does not know that names the header (E003), a server directive sending a CSP in
    /// a file it does not read (E065), no file at all (E042).
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
        let none_found = self.site_count() == 0;
        [
            ("E041", "CSP not readable", false),
            ("E011", "CSP outside the paths", false),
            ("E006", "include not found", true),
            ("TPL004", "template include not followed", true),
            ("E010", "undefined CSP variable", true),
            ("E003", "unknown file naming the CSP header", false),
            ("E065", "CSP sent from a file not read", false),
            ("E042", "no configuration file", false),
        ]
        .into_iter()
        .filter(|&(_, _, may_hold)| none_found || !may_hold)
        .map(|(code, what, may_hold)| (count(code, may_hold), what))
        .filter(|&(n, _)| n > 0)
        .collect()
    }

    /// What the counts are over: the files and sites kept, or those a streamed run sent.
    fn tally_or_own(&self) -> Tally {
        match self.tally {
            Some(t) => t,
            None => {
                let mut t = Tally::default();
                t.add(&self.files, &self.sites);
                t
            }
        }
    }

    /// Files whose bytes change (or changed).
    pub fn changed_files(&self) -> usize {
        self.tally_or_own().files
    }

    /// CSP sites considered.
    pub fn site_count(&self) -> usize {
        self.tally.map_or(self.sites.len(), |t| t.sites)
    }

    /// Sources added, over every site.
    pub fn added_count(&self) -> usize {
        self.tally_or_own().added
    }

    /// Sources removed (`csppatch remove`), over every site.
    pub fn removed_count(&self) -> usize {
        self.tally_or_own().removed
    }
}

/// The one-line summary, the last line of every text run (also under `--quiet`).
pub fn summary(report: &Report) -> String {
    let tally = report.tally_or_own();
    let changed = tally.files;
    let (sources, done) = if report.removal {
        (report.removed_count(), "removed")
    } else {
        (report.added_count(), "added")
    };
    let what = format!(
        "{} file{} read, {} CSP site{}, {} source{} {done} in {} file{}",
        report.files_read,
        plural(report.files_read),
        tally.sites,
        plural(tally.sites),
        sources,
        plural(sources),
        changed,
        plural(changed)
    );
    let what = match report.excluded.len() {
        0 => what,
        n => format!("{what}, {n} path{} excluded", plural(n)),
    };
    let what = match tally.locked {
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
