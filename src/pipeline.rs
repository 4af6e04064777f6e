//! The patch run: scan, link variables, merge each site, splice, re-read, diff, validate, write.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::commit::{self, Staged};
use crate::csp::{self, MergeOptions, MergeOutcome};
use crate::diag::{line_col, Diagnostic, Location, Severity};
use crate::dialect::{Dialect, TreeFile};
use crate::edit::{self, Paint, Splice};
use crate::report::{FileChange, Report, SiteReport, ValidationReport};
use crate::scan::{self, ScannedFile, Tree};
use crate::site::Site;
use crate::validate;
use crate::{exit, Config, Mode};

/// Which site of a file: a directly set value, or a value bound to a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum SiteRef {
    Direct(usize),
    Binding(usize),
}

/// A site the run will consider, with the file it is in.
struct Active {
    file: usize,
    which: SiteRef,
    site: Site,
}

pub fn run(config: &Config) -> Report {
    let tree = scan::scan(&config.paths, &config.scan);
    let mut report = Report {
        mode: Some(config.mode),
        files_read: tree.files.iter().filter(|f| f.relevant).count(),
        files_skipped: tree.skipped,
        ..Default::default()
    };
    report.diagnostics.extend(tree.diagnostics.iter().cloned());
    for f in tree.files.iter().filter(|f| f.relevant) {
        match &f.scan {
            Err(d) => report.diagnostics.push(d.clone()),
            Ok(scan) if f.in_scope => report.diagnostics.extend(scan.diagnostics.iter().cloned()),
            Ok(_) => {}
        }
    }
    for (kind, mut files) in scan::by_dialect(&tree) {
        files.retain(|&i| tree.files[i].relevant);
        report
            .diagnostics
            .extend(check_tree(kind.dialect(), &tree, &files));
    }

    let active = link(&tree, &mut report.diagnostics);
    if active.iter().all(|a| !tree.files[a.file].in_scope) && !report.has_errors() {
        let n = tree.files.iter().filter(|f| f.in_scope).count();
        report.diagnostics.push(Diagnostic::note(
            "E012",
            format!("no Content-Security-Policy found in {n} file{}: nothing blocks the vendor, nothing to change", if n == 1 { "" } else { "s" }),
        ));
    }

    let mut splices: BTreeMap<usize, Vec<Splice>> = BTreeMap::new();
    let mut expected: HashMap<(usize, SiteRef), String> = HashMap::new();
    for a in &active {
        let file = &tree.files[a.file];
        let loc = location(file, a.site.span.start);
        if !file.in_scope {
            report.diagnostics.push(
                Diagnostic::warning("E011", format!("this {} also applies to the given paths and was not patched: it is outside them", a.site.disposition.header_name()))
                    .at(loc)
                    .with_help("pass this file (or its directory) to csppatch too"),
            );
            continue;
        }
        let mut site_report = SiteReport {
            path: file.path.clone(),
            line: loc.line,
            col: loc.col,
            context: a.site.context.clone(),
            disposition: a.site.disposition,
            variable: a.site.binding.clone(),
            before: a.site.value.text.clone(),
            after: a.site.value.text.clone(),
            added: vec![],
            changed: false,
        };
        if let Some(reason) = &a.site.refusal {
            report.diagnostics.push(
                Diagnostic::error(
                    "E013",
                    format!(
                        "cannot patch this {}: {reason}",
                        a.site.disposition.header_name()
                    ),
                )
                .at(loc),
            );
            report.sites.push(site_report);
            continue;
        }
        let outcome = csp::merge(
            a.site.policy_text(),
            &config.requirements,
            &MergeOptions {
                delivery: a.site.delivery,
            },
        );
        for d in &outcome.diagnostics {
            report.diagnostics.push(d.clone().at(loc.clone()));
        }
        let refused = outcome
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        if refused || (outcome.edits.is_empty() && a.site.repaired.is_none()) {
            report.sites.push(site_report);
            continue;
        }
        match splices_for(file.dialect.dialect(), &a.site, &file.src, &outcome) {
            Ok(s) => {
                splices.entry(a.file).or_default().extend(s);
                expected.insert((a.file, a.which), outcome.text.clone());
                site_report.after = outcome.text.clone();
                site_report.added = outcome.added.clone();
                site_report.changed = true;
            }
            Err(reason) => report.diagnostics.push(
                Diagnostic::error(
                    "E013",
                    format!(
                        "cannot patch this {}: {reason}",
                        a.site.disposition.header_name()
                    ),
                )
                .at(loc),
            ),
        }
        report.sites.push(site_report);
    }

    let mut staged = Vec::new();
    for (&i, file_splices) in &splices {
        let file = &tree.files[i];
        let new = match edit::apply(&file.src, file_splices) {
            Ok(n) => n,
            Err(e) => {
                report.diagnostics.push(
                    Diagnostic::error("E014", format!("internal: {e}")).at(location(file, 0)),
                );
                continue;
            }
        };
        if let Err(e) = self_check(file, &new, &expected, i) {
            report.diagnostics.push(
                Diagnostic::error(
                    "E014",
                    format!("the patched file does not read back as merged: {e}"),
                )
                .at(location(file, 0)),
            );
            continue;
        }
        if new != file.src {
            staged.push(Staged {
                path: file.path.clone(),
                target: file.target.clone(),
                original: file.src.clone(),
                new,
            });
        }
    }
    report.files = staged
        .iter()
        .map(|s| FileChange {
            path: s.path.clone(),
            before: s.original.clone(),
            after: s.new.clone(),
            diff: String::from_utf8_lossy(&edit::unified_diff(
                &s.original,
                &s.new,
                &s.path.display().to_string(),
                Paint::Plain,
            ))
            .into_owned(),
        })
        .collect();
    report.diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.location.as_ref().map(|l| (l.path.clone(), l.line, l.col));
        key(a).cmp(&key(b)).then(a.code.cmp(b.code))
    });
    report.diagnostics.dedup();

    report.exit_code = if report.has_errors() {
        exit::BAD_INPUT
    } else if config.mode == Mode::Check && !staged.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    };
    if report.has_errors() || staged.is_empty() {
        return report;
    }
    let changed: Vec<usize> = staged
        .iter()
        .filter_map(|s| tree.files.iter().position(|f| f.target == s.target))
        .collect();
    if config.validate {
        match validate_and_write(config, &tree, &changed, &staged, &mut report) {
            Ok(()) => {}
            Err(code) => {
                report.exit_code = code;
                return report;
            }
        }
    } else if config.mode == Mode::Write {
        write(&staged, &mut report);
    }
    report
}

/// The dialect's checks over a whole configuration, kept for files the user named.
fn check_tree(dialect: &dyn Dialect, tree: &Tree, files: &[usize]) -> Vec<Diagnostic> {
    let parsed: Vec<(&ScannedFile, &crate::site::FileScan)> = files
        .iter()
        .filter_map(|&i| Some((&tree.files[i], tree.files[i].scan.as_ref().ok()?)))
        .collect();
    let included: Vec<Vec<Vec<PathBuf>>> = parsed
        .iter()
        .map(|(f, _)| {
            f.included
                .iter()
                .map(|t| t.iter().map(|&j| tree.files[j].path.clone()).collect())
                .collect()
        })
        .collect();
    let views: Vec<TreeFile> = parsed
        .iter()
        .zip(&included)
        .map(|((f, scan), inc)| TreeFile {
            path: &f.path,
            src: &f.src,
            scan,
            included: inc,
            is_root: f.is_root,
        })
        .collect();
    let in_scope = |d: &Diagnostic| match &d.location {
        None => true,
        Some(l) => tree.files.iter().any(|f| f.in_scope && f.path == l.path),
    };
    dialect
        .check_tree(&views)
        .into_iter()
        .filter(in_scope)
        .collect()
}

/// Activate the variable bindings that CSP headers refer to (nginx `map`/`set`), across the
/// whole configuration, and list every site to consider.
fn link(tree: &Tree, diagnostics: &mut Vec<Diagnostic>) -> Vec<Active> {
    let mut active = Vec::new();
    let mut bound: BTreeMap<(usize, usize), Site> = BTreeMap::new();
    for (fi, f) in tree.files.iter().enumerate().filter(|(_, f)| f.relevant) {
        let Ok(scan) = &f.scan else { continue };
        for (si, site) in scan.sites.iter().enumerate() {
            active.push(Active {
                file: fi,
                which: SiteRef::Direct(si),
                site: site.clone(),
            });
        }
        for r in &scan.refs {
            let mut found = false;
            for (gi, g) in tree
                .files
                .iter()
                .enumerate()
                .filter(|(_, g)| g.relevant && g.dialect == f.dialect)
            {
                let Ok(gscan) = &g.scan else { continue };
                for (bi, b) in gscan.bindings.iter().enumerate() {
                    if b.binding.as_deref() == Some(r.name.as_str()) {
                        found = true;
                        let entry = bound.entry((gi, bi)).or_insert_with(|| {
                            let mut s = b.clone();
                            s.disposition = r.disposition;
                            s
                        });
                        if entry.disposition != r.disposition && !entry.context.contains("(also ") {
                            entry.context.push_str(&format!(
                                " (also sent as {})",
                                r.disposition.header_name()
                            ));
                        }
                    }
                }
            }
            if !found && f.in_scope {
                diagnostics.push(
                    Diagnostic::error("E010", format!("{} takes its value from ${}, which no file read defines", r.disposition.header_name(), r.name))
                        .at(location(f, r.offset))
                        .with_help("pass the file that defines it, or the server's main config with --conf-root"),
                );
            }
        }
    }
    for ((fi, bi), site) in bound {
        // The dialect only knows a bound value is a CSP once it is referenced: say now what
        // it would have said of a direct site.
        if let Some(r) = &site.repaired {
            if tree.files[fi].in_scope {
                diagnostics.push(
                    Diagnostic::warning(r.code, format!("the value of ${} contains a line break, which the server sends raw: browsers then drop the directives after it", site.binding.as_deref().unwrap_or("?")))
                        .at(location(&tree.files[fi], site.span.start))
                        .with_help("csppatch writes the patched value on one line"),
                );
            }
        }
        active.push(Active {
            file: fi,
            which: SiteRef::Binding(bi),
            site,
        });
    }
    active.sort_by_key(|a| (a.file, a.site.span.start));
    active
}

fn location(file: &ScannedFile, offset: usize) -> Location {
    let (line, col) = line_col(&file.src, offset);
    Location {
        path: file.path.clone(),
        line,
        col,
    }
}

/// The byte edits that make the server send `outcome.text`: each merge edit spliced in place
/// through the value's raw map (keeping the value's layout: a continued line, a PHP
/// concatenation), or, when that cannot be done, the whole value re-encoded.
fn splices_for(
    dialect: &dyn Dialect,
    site: &Site,
    src: &[u8],
    outcome: &MergeOutcome,
) -> Result<Vec<Splice>, String> {
    if site.repaired.is_none() {
        let mut out = Vec::with_capacity(outcome.edits.len());
        for e in &outcome.edits {
            if site.value.touches_opaque(e.range.clone()) {
                return Err(format!(
                    "the change to `{}` falls inside a part only known at request time",
                    &site.value.text[e.range.clone()]
                ));
            }
            let Some(raw) = site.value.raw_range(e.range.clone()) else {
                break;
            };
            let Some(bytes) = dialect.encode_fragment(site, src, raw.start, &e.text) else {
                break;
            };
            out.push(Splice { range: raw, bytes });
        }
        if out.len() == outcome.edits.len() {
            return Ok(out);
        }
    }
    let bytes = dialect.encode_value(site, src, &outcome.text)?;
    Ok(vec![Splice {
        range: site.span.clone(),
        bytes,
    }])
}

/// Read the patched bytes back with the same dialect: every patched site must now decode to
/// exactly the merged policy, and the file must have the same sites as before.
fn self_check(
    file: &ScannedFile,
    new: &[u8],
    expected: &HashMap<(usize, SiteRef), String>,
    index: usize,
) -> Result<(), String> {
    let before = file.scan.as_ref().map_err(|d| d.message.clone())?;
    let after = file
        .dialect
        .dialect()
        .find(&file.path, new)
        .map_err(|d| d.message)?;
    if after.sites.len() != before.sites.len() || after.bindings.len() != before.bindings.len() {
        return Err(format!(
            "{} sites before, {} after",
            before.sites.len() + before.bindings.len(),
            after.sites.len() + after.bindings.len()
        ));
    }
    for ((fi, which), text) in expected {
        if *fi != index {
            continue;
        }
        let site = match which {
            SiteRef::Direct(i) => &after.sites[*i],
            SiteRef::Binding(i) => &after.bindings[*i],
        };
        if site.value.text != *text {
            return Err(format!(
                "expected `{text}`, read back `{}`",
                site.value.text
            ));
        }
        if site.repaired.is_some() {
            return Err("the rewritten value still needs repair".into());
        }
    }
    Ok(())
}

fn write(staged: &[Staged], report: &mut Report) -> bool {
    match commit::write_all(staged) {
        Ok(()) => {
            report.written = true;
            true
        }
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::error("E021", e.to_string()));
            report.exit_code = exit::BAD_INPUT;
            false
        }
    }
}

/// Validate the unpatched configuration (a failure there is not the patch's), then the
/// patched one at the real paths, and write only if it passes. Without a mount namespace,
/// write, validate, and restore on failure.
fn validate_and_write(
    config: &Config,
    tree: &Tree,
    changed: &[usize],
    staged: &[Staged],
    report: &mut Report,
) -> Result<(), u8> {
    let validators = match validate::plan(tree, changed, config.validate_cmd.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            report.diagnostics.push(Diagnostic::error("E020", e));
            return Err(exit::INVALID);
        }
    };
    if validators.is_empty() {
        report.diagnostics.push(Diagnostic::note("E020", "no validator for these files (HTML): each patched value was read back and checked instead"));
    }
    let record = |v: &validate::Validator,
                  stage: &'static str,
                  o: validate::Outcome,
                  report: &mut Report| {
        report.validations.push(ValidationReport {
            command: v.label.clone(),
            stage,
            ok: o.ok,
            output: o.output,
        });
        o.ok
    };
    for v in &validators {
        let o = validate::run(v, &[]);
        if !record(v, "before", o, report) {
            report.diagnostics.push(Diagnostic::error("E020", format!("`{}` already fails on the unpatched configuration; fix that first (nothing was written)", v.label)));
            return Err(exit::INVALID);
        }
    }
    if validate::namespace_available() {
        let scratch = tempfile::tempdir().map_err(|_| exit::INVALID)?;
        let mut mounts = Vec::new();
        for (n, s) in staged.iter().enumerate() {
            let copy = scratch.path().join(format!("{n}"));
            if let Err(e) = std::fs::write(&copy, &s.new) {
                report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!("cannot stage {}: {e}", s.path.display()),
                ));
                return Err(exit::INVALID);
            }
            mounts.push((copy, s.target.clone()));
        }
        for v in &validators {
            let o = validate::run(v, &mounts);
            if !record(v, "after", o, report) {
                report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!(
                        "`{}` rejects the patched configuration; nothing was written",
                        v.label
                    ),
                ));
                return Err(exit::INVALID);
            }
        }
        if config.mode == Mode::Write && !write(staged, report) {
            return Err(exit::BAD_INPUT);
        }
        return Ok(());
    }
    if config.mode != Mode::Write {
        report.diagnostics.push(Diagnostic::warning(
            "E020",
            "cannot validate without writing here (no private mount namespace: run as root, or allow user namespaces); validation skipped",
        ));
        return Ok(());
    }
    if !write(staged, report) {
        return Err(exit::BAD_INPUT);
    }
    for v in &validators {
        let o = validate::run(v, &[]);
        if !record(v, "after", o, report) {
            let restore: Vec<Staged> = staged
                .iter()
                .map(|s| Staged {
                    original: s.new.clone(),
                    new: s.original.clone(),
                    ..s.clone()
                })
                .collect();
            report.written = false;
            match commit::write_all(&restore) {
                Ok(()) => report.diagnostics.push(Diagnostic::error(
                    "E020",
                    format!(
                        "`{}` rejects the patched configuration; every file was restored",
                        v.label
                    ),
                )),
                Err(e) => report.diagnostics.push(Diagnostic::error(
                    "E021",
                    format!(
                        "`{}` rejects the patched configuration and restoring failed: {e}",
                        v.label
                    ),
                )),
            }
            return Err(exit::INVALID);
        }
    }
    Ok(())
}
