//! A patch run for people: the diffs on stdout (`csppatch ... > fix.patch` gives a patch
//! file), and on stderr, as linters do, what changed in each site, the diagnostics, the
//! validators' verdicts and the one-line summary ([`crate::report::summary`]).
//!
//! Large runs: a change made identically in [`GROUP_AT`] or more sites (same header, same
//! lines) is printed once, with the first [`LISTED`] locations and how many more there are;
//! `--format json` lists every site.

use std::io::Write;

use super::diagnostic::{self, Sources};
use super::{diff, style, thousands, Palette, Streams, Verbosity};
use crate::diag::Severity;
use crate::report::{summary, FileChange, Report, SiteReport};

/// Sites with the same change, from this many on, are shown as one group.
pub const GROUP_AT: usize = 6;
/// Locations listed for a group; the rest are counted.
pub const LISTED: usize = 3;

/// The whole report. `--quiet`: only the error diagnostics, the failed validators and the
/// summary (no diff, no per-site lines, no warnings or notes).
pub fn write_text(
    report: &Report,
    streams: Streams,
    verbosity: Verbosity,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let quiet = verbosity == Verbosity::Quiet;
    if !quiet {
        for f in &report.files {
            out.write_all(&diff::paint(&f.diff(), streams.out))?;
        }
        // The diffs come before the report on a terminal that shows both streams: the caller
        // may buffer each stream.
        out.flush()?;
        let mut groups = Groups::new(report.removal);
        for site in &report.sites {
            groups.add(site);
        }
        groups.write(streams.err, err)?;
    }
    write_tail(report, streams, verbosity, err)
}

/// A run's text report as it goes ([`crate::pipeline::run_with`]): each file's diff written
/// to `out` as soon as the file is planned, its site rows folded into their groups; then
/// [`Stream::finish`] writes the rest as [`write_text`] does. The same bytes on both streams
/// as [`write_text`] on the whole report.
pub struct Stream<'w> {
    streams: Streams,
    verbosity: Verbosity,
    out: &'w mut dyn Write,
    groups: Groups,
    /// The first write that failed: nothing more is written.
    failed: Option<std::io::Error>,
}

impl<'w> Stream<'w> {
    /// `removal`: a `csppatch remove` run (its rows say what was removed).
    pub fn new(
        streams: Streams,
        verbosity: Verbosity,
        removal: bool,
        out: &'w mut dyn Write,
    ) -> Self {
        Stream {
            streams,
            verbosity,
            out,
            groups: Groups::new(removal),
            failed: None,
        }
    }

    /// The per-site report, the diagnostics, the validators and the summary of the finished
    /// run, on `err` (after the last diff is flushed).
    pub fn finish(self, report: &Report, err: &mut dyn Write) -> std::io::Result<()> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.verbosity != Verbosity::Quiet {
            self.out.flush()?;
            self.groups.write(self.streams.err, err)?;
        }
        write_tail(report, self.streams, self.verbosity, err)
    }
}

impl crate::report::Sink for Stream<'_> {
    fn part(&mut self, files: Vec<FileChange>, sites: Vec<SiteReport>) {
        if self.verbosity == Verbosity::Quiet || self.failed.is_some() {
            return;
        }
        for f in files {
            if let Err(e) = self
                .out
                .write_all(&diff::paint(&f.diff(), self.streams.out))
            {
                self.failed = Some(e);
                return;
            }
        }
        for site in &sites {
            self.groups.add(site);
        }
    }
}

/// After the diffs and the site rows: the diagnostics, the validators, the summary.
fn write_tail(
    report: &Report,
    streams: Streams,
    verbosity: Verbosity,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let quiet = verbosity == Verbosity::Quiet;
    let mut sources = Sources::new();
    for f in &report.files {
        sources.insert(&f.path, &f.before);
    }
    for (path, bytes) in &report.sources {
        sources.insert(path, bytes);
    }
    let shown: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| !quiet || d.severity == Severity::Error)
        .cloned()
        .collect();
    diagnostic::write_all(&shown, &mut sources, streams.err, err)?;
    for v in report.validations.iter().filter(|v| !quiet || !v.ok) {
        let status = if v.ok {
            streams.err.paint(style::OK, "ok")
        } else {
            streams.err.paint(style::FAILED, "FAILED")
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

/// The changed sites, grouped where the same change repeats: groups in the order of their
/// first site, each site in exactly one. Found by hash (a run of 10,000 distinct changes
/// compared each with every group before), one `Change` kept per group, not per site (a large
/// run's changes mostly repeat), and of each site only what is printed: its place, scope and
/// literals, for at most the rows a group shows.
struct Groups {
    removal: bool,
    index: std::collections::HashMap<Change, usize>,
    groups: Vec<Group>,
}

struct Group {
    /// Sites in the group.
    count: usize,
    /// The first sites' rows: every one while fewer than [`GROUP_AT`], then the [`LISTED`].
    rows: Vec<Row>,
}

/// What the report prints of one site: its place, its scope and (`    written into ...`)
/// its literals, if any, in one string (a 100,000-site run keeps a row for every site whose
/// change is its own: three strings each were 30 MB).
struct Row {
    text: Box<str>,
    place: u32,
    scope: u32,
}

impl Row {
    fn new(site: &SiteReport) -> Row {
        let mut text = place(site);
        let place = text.len() as u32;
        text.push_str(&scope(site));
        let scope = text.len() as u32;
        if let Some(l) = literals(site) {
            text.push_str(&l);
        }
        Row {
            text: text.into_boxed_str(),
            place,
            scope,
        }
    }

    fn place(&self) -> &str {
        &self.text[..self.place as usize]
    }

    fn scope(&self) -> &str {
        &self.text[self.place as usize..self.scope as usize]
    }

    fn literals(&self) -> Option<&str> {
        Some(&self.text[self.scope as usize..]).filter(|l| !l.is_empty())
    }
}

impl Groups {
    fn new(removal: bool) -> Self {
        Groups {
            removal,
            index: Default::default(),
            groups: Vec::new(),
        }
    }

    fn add(&mut self, site: &SiteReport) {
        if !site.changed {
            return;
        }
        let change = if self.removal {
            Change::removal(site)
        } else {
            Change::of(site)
        };
        let g = match self.index.get(&change) {
            Some(&g) => g,
            None => {
                self.index.insert(change, self.groups.len());
                self.groups.push(Group {
                    count: 0,
                    // Most groups keep one row: room for one, not the four a first push makes.
                    rows: Vec::with_capacity(1),
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[g];
        group.count += 1;
        if group.count < GROUP_AT {
            group.rows.push(Row::new(site));
        } else {
            group.rows.truncate(LISTED);
        }
    }

    fn write(self, paint: Palette, err: &mut dyn Write) -> std::io::Result<()> {
        let mut changes: Vec<Option<Change>> = (0..self.groups.len()).map(|_| None).collect();
        for (change, g) in self.index {
            changes[g] = Some(change);
        }
        for (change, group) in changes.into_iter().flatten().zip(self.groups) {
            let change = &change;
            if group.count >= GROUP_AT {
                write_group(change, &group, paint, err)?;
            } else {
                for row in &group.rows {
                    writeln!(
                        err,
                        "{} {} ({})",
                        paint.paint(style::BOLD, &format!("{}:", row.place())),
                        change.header,
                        row.scope()
                    )?;
                    change.write_lines(err)?;
                    if let Some(l) = row.literals() {
                        writeln!(err, "{l}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// ```text
/// 8,572 sites: Content-Security-Policy, the same change in each
///     script-src   + https://muserelay.com
///   at sites-enabled/a.conf:7 (server a.example.com)
///   ...
///   and 8,569 more (--format json lists every site)
/// ```
fn write_group(
    change: &Change,
    group: &Group,
    paint: Palette,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let head = format!("{} sites:", thousands(group.count));
    writeln!(
        err,
        "{} {}, the same change in each",
        paint.paint(style::BOLD, &head),
        change.header
    )?;
    change.write_lines(err)?;
    for row in group.rows.iter().take(LISTED) {
        writeln!(err, "  at {} ({})", row.place(), row.scope())?;
    }
    if group.count > LISTED {
        writeln!(
            err,
            "  and {} more (--format json lists every site)",
            thousands(group.count - LISTED)
        )?;
    }
    Ok(())
}

/// Where the change of a value built from variables was written:
/// `    written into `$csp_script` (line 9)`.
fn literals(site: &SiteReport) -> Option<String> {
    let named: Vec<String> = site
        .literals
        .iter()
        .map(|l| match &l.variable {
            Some(v) => format!("`{v}` (line {})", l.line),
            None => format!("the header itself (line {})", l.line),
        })
        .collect();
    if named.is_empty() {
        return None;
    }
    Some(format!("    written into {}", named.join(", ")))
}

fn place(site: &SiteReport) -> String {
    format!("{}:{}", crate::diag::quoted(&site.path), site.line)
}

/// `server shop.example.com`, or `$csp, server shop.example.com` for a variable's value.
fn scope(site: &SiteReport) -> String {
    match &site.variable {
        Some(v) => format!("${v}, {}", site.context),
        None => site.context.clone(),
    }
}

/// What changed in one site, a directive per line, and the header it is sent as: what two
/// sites must share to be grouped.
///
/// ```text
///     script-src   + https://muserelay.com
///     connect-src  new, from default-src: 'self' https://muserelay.com wss://muserelay.com
///     worker-src   new, from script-src: 'self' (keeps other requests as they were)
/// ```
#[derive(PartialEq, Eq, Hash)]
struct Change {
    header: &'static str,
    /// Each line's directive and text, in one string (see [`Lines`]): the key of every group
    /// is kept to the end, and most changes of a large run are their own group.
    lines: Box<str>,
    /// What to say when `lines` is empty (the policy was only rewritten).
    none: &'static str,
}

/// A change's lines as one string, each directive and text prefixed by its length (so two
/// different lists never make the same string).
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn push(&mut self, directive: &str, text: &str) {
        use std::fmt::Write as _;
        let _ = write!(
            self.0,
            "{}:{directive}{}:{text}",
            directive.len(),
            text.len()
        );
    }

    fn done(self) -> Box<str> {
        self.0.into_boxed_str()
    }

    /// The `(directive, text)` pairs of a string [`Lines::done`] made.
    fn read(mut s: &str) -> impl Iterator<Item = (&str, &str)> {
        fn field<'a>(s: &mut &'a str) -> Option<&'a str> {
            let (len, rest) = s.split_once(':')?;
            let (f, rest) = rest.split_at_checked(len.parse().ok()?)?;
            *s = rest;
            Some(f)
        }
        std::iter::from_fn(move || Some((field(&mut s)?, field(&mut s)?)))
    }
}

impl Change {
    fn of(site: &SiteReport) -> Change {
        let policies = site
            .added
            .iter()
            .map(|a| a.policy)
            .chain(site.created.iter().map(|c| c.policy))
            .max()
            .unwrap_or(0)
            + 1;
        let mut lines = Lines::default();
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
                lines.push(d, &format!("+ {}{tag}", sources.join(" ")));
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
                lines.push(
                    &c.directive,
                    &format!("new{from}: {}{why}{tag}", c.sources.join(" ")),
                );
            }
        }
        Change {
            header: site.disposition.header_name(),
            lines: lines.done(),
            none: "rewritten on one line (no source added)",
        }
    }

    /// What `csppatch remove` took out of one site, a directive per line:
    ///
    /// ```text
    ///     script-src   - https://muserelay.com
    ///     connect-src  removed (the rest was csppatch's copy, default-src applies again): - https://muserelay.com
    /// ```
    fn removal(site: &SiteReport) -> Change {
        let several = site.removed.iter().any(|r| r.policy > 0);
        let mut lines = Lines::default();
        for r in &site.removed {
            let tag = if several {
                format!(" [policy {}]", r.policy + 1)
            } else {
                String::new()
            };
            let sources = if r.sources.is_empty() {
                String::new()
            } else {
                format!("- {}", r.sources.join(" "))
            };
            let text = if r.dropped {
                let from = r
                    .copied_from
                    .as_deref()
                    .map(|f| format!(", {f} applies again"))
                    .unwrap_or_default();
                let colon = if sources.is_empty() { "" } else { ": " };
                format!("removed (the rest was csppatch's copy{from}){colon}{sources}")
            } else {
                sources
            };
            lines.push(&r.directive, &format!("{text}{tag}"));
        }
        Change {
            header: site.disposition.header_name(),
            lines: lines.done(),
            none: "rewritten on one line (no source removed)",
        }
    }

    fn write_lines(&self, err: &mut dyn Write) -> std::io::Result<()> {
        if self.lines.is_empty() {
            writeln!(err, "    {}", self.none)?;
        }
        let width = Lines::read(&self.lines)
            .map(|(d, _)| d.len())
            .max()
            .unwrap_or(0);
        for (d, text) in Lines::read(&self.lines) {
            writeln!(err, "    {d:width$}  {text}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Mode, PatchOptions};

    /// The text of a run over `dir`: streamed (as `--dry-run` prints it) or whole.
    fn text(dir: &std::path::Path, streamed: bool) -> (Vec<u8>, Vec<u8>) {
        let choice = crate::commands::VendorChoice {
            vendors: vec!["muserelay".into()],
            ..Default::default()
        };
        let options = PatchOptions {
            paths: vec![dir.to_path_buf()],
            requirements: choice.requirements().unwrap().requirements,
            scan: crate::scan::ScanOptions {
                system_root: dir.to_path_buf(),
                ..Default::default()
            },
            mode: Mode::DryRun,
            validate: false,
            validate_cmd: None,
            removal: None,
            hard_links: crate::commit::HardLinks::Refuse,
            include_locked: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        if streamed {
            let mut stream = Stream::new(Streams::PLAIN, Verbosity::Normal, false, &mut out);
            let report = crate::pipeline::run_with(&options, Some(&mut stream));
            assert!(report.files.is_empty() && report.sites.is_empty());
            stream.finish(&report, &mut err).unwrap();
        } else {
            let report = crate::pipeline::run(&options);
            write_text(
                &report,
                Streams::PLAIN,
                Verbosity::Normal,
                &mut out,
                &mut err,
            )
            .unwrap();
        }
        (out, err)
    }

    /// Enough sites for the plan's threads and many parts, groups of the same change, single
    /// rows, a locked policy and warnings in changed files (shown with their line as read).
    #[test]
    fn streamed_output_is_the_whole_report() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..700 {
            let policy = match i % 5 {
                0 | 1 => "default-src 'self'".to_string(),
                2 => format!("default-src 'self'; script-src 'self' https://s{i}.example"),
                3 => format!("script-src 'self' htp:/bad{i}; img-src 'self'"),
                _ => "frame-ancestors 'none'".to_string(),
            };
            std::fs::write(
                dir.path().join(format!("site{i:04}.conf")),
                format!("server {{\n    server_name s{i}.example;\n    add_header Content-Security-Policy \"{policy}\" always;\n}}\n"),
            )
            .unwrap();
        }
        let whole = text(dir.path(), false);
        let streamed = text(dir.path(), true);
        let err = String::from_utf8_lossy(&whole.1);
        assert!(
            err.contains("sites: Content-Security-Policy, the same change in each"),
            "{err}"
        );
        assert!(err.contains("warning["), "{err}");
        assert!(whole.0.len() > 10_000);
        assert!(streamed.0 == whole.0, "the diffs differ");
        assert_eq!(String::from_utf8_lossy(&streamed.1), err);
    }

    /// A change's lines read back as they were pushed, whatever their text holds (digits and
    /// `:` as a length prefix has them), and two lists that join to the same text differ.
    #[test]
    fn lines_read_back_as_pushed() {
        let pairs = [
            ("script-src", "+ https://a.example:8443 'sha256-1:2'"),
            ("3:x", ""),
            ("", "12:ab"),
        ];
        let mut lines = Lines::default();
        for (d, t) in pairs {
            lines.push(d, t);
        }
        let done = lines.done();
        assert_eq!(Lines::read(&done).collect::<Vec<_>>(), pairs);
        let (mut a, mut b) = (Lines::default(), Lines::default());
        a.push("ab", "c");
        b.push("a", "bc");
        assert_ne!(a.done(), b.done());
    }
}
