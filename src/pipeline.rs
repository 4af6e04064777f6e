//! The patch run: scan, link variables, merge each site, splice, re-read, diff, validate, write.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::commit::{self, Staged};
use crate::csp::{self, MergeOptions, MergeOutcome};
use crate::diag::{Diagnostic, Location};
use crate::dialect::{Dialect, TreeFile};
use crate::report::{FileChange, Report, SiteReport};
use crate::scan::{self, ScannedFile, Tree};
use crate::site::{Delivery, Site};
use crate::splice::{self, Failure, Planned, SiteRef};
use crate::{exit, Config, Mode};

/// A site the run will consider, with the file it is in.
struct Active<'t> {
    file: usize,
    which: SiteRef,
    /// Borrowed from the scan; a variable's value is copied, as the header that refers to it
    /// decides its disposition.
    site: Cow<'t, Site>,
    /// In a file the user named (or one it includes), or a `map`/`set` value that a CSP
    /// header in such a file takes its value from: the policy of the user's sites, wherever
    /// it is defined.
    in_scope: bool,
}

pub fn run(config: &Config) -> Report {
    let tree = scan::scan(&config.paths, &config.scan);
    let mut report = Report {
        mode: Some(config.mode),
        files_read: tree.files.iter().filter(|f| f.relevant).count(),
        files_skipped: tree.skipped,
        excluded: tree.excluded.iter().cloned().collect(),
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
    if active.iter().all(|a| !a.in_scope) && !report.has_errors() {
        let n = tree.files.iter().filter(|f| f.in_scope).count();
        report.diagnostics.push(Diagnostic::note(
            "E012",
            format!("no Content-Security-Policy found in {n} file{}: nothing blocks the vendor, nothing to change", if n == 1 { "" } else { "s" }),
        ));
    }

    // `active` is sorted by file: merge one file's sites, patch the file, and let the merges
    // go before the next file (on a large tree, holding every merge costs more than the tree).
    // One file at a time, in order. (Splitting the files over threads saved 30% of the wall
    // time on the 10,000-vhost benchmark but glibc's per-thread arenas kept 25% more memory;
    // with one arena the threads fought over the allocator and gained nothing.)
    let (part, changed) = plan_files(&active, &tree, config);
    report.sites.extend(part.sites);
    report.diagnostics.extend(part.diagnostics);
    report.files.extend(part.files);
    report.diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.location.as_ref().map(|l| (l.path.clone(), l.line, l.col));
        key(a).cmp(&key(b)).then(a.code.cmp(b.code))
    });
    report.diagnostics.dedup();

    report.exit_code = if report.has_errors() {
        exit::BAD_INPUT
    } else if config.mode == Mode::Check && !report.files.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    };
    if report.has_errors() || report.files.is_empty() {
        return report;
    }
    let files = std::mem::take(&mut report.files);
    let staged: Vec<Staged> = files
        .iter()
        .map(|f| Staged {
            path: &f.path,
            target: &f.target,
            original: &f.before,
            new: &f.after,
        })
        .collect();
    commit::finish(config, &tree, &changed, &staged, &mut report);
    drop(staged);
    report.files = files;
    report
}

/// Merge and patch the files of `chunk` (sorted by file), one file at a time (its merges are dropped once the
/// file is patched: on a large tree, holding every merge costs more than the tree).
fn plan_files(chunk: &[Active], tree: &Tree, config: &Config) -> (Report, Vec<usize>) {
    let mut report = Report::default();
    // A site of many pages or vhosts often has the same policy everywhere: merge it once.
    let mut merges: HashMap<(String, Delivery), MergeOutcome> = HashMap::new();
    let mut changed = Vec::new();
    let mut start = 0;
    while start < chunk.len() {
        let file = chunk[start].file;
        let end = start + chunk[start..].iter().take_while(|a| a.file == file).count();
        let planned: Vec<(&Active, MergeOutcome, usize)> = chunk[start..end]
            .iter()
            .filter_map(|a| {
                plan_site(a, tree, config, &mut merges, &mut report).map(|(o, row)| (a, o, row))
            })
            .collect();
        if !planned.is_empty() && patch(tree, file, &planned, &mut report) {
            changed.push(file);
        }
        start = end;
    }
    (report, changed)
}

/// Merge one site; record it in the report. `Some`: the merge and the site's report row, when
/// the file must change for it.
fn plan_site(
    a: &Active,
    tree: &Tree,
    config: &Config,
    merges: &mut HashMap<(String, Delivery), MergeOutcome>,
    report: &mut Report,
) -> Option<(MergeOutcome, usize)> {
    let file = &tree.files[a.file];
    let loc = location(file, a.site.span.start);
    if !a.in_scope {
        if !allows_already(&a.site, config) {
            report.diagnostics.push(
                Diagnostic::warning("E011", format!("this {} also applies to the given paths and was not patched: it is outside them", a.site.disposition.header_name()))
                    .at(loc)
                    .with_help("pass this file (or its directory) to csppatch too"),
            );
        }
        // Else nothing to patch there (Debian's security.conf `frame-ancestors 'self'`):
        // telling the user to pass the file too would change nothing.
        return None;
    }
    if a.site.value.text.trim().is_empty() && a.site.value.opaque.is_empty() {
        // An empty value sends no policy (a map's `default ""` for non-HTML responses):
        // nothing blocks the vendor there, and it must stay empty.
        return None;
    }
    report.sites.push(SiteReport {
        path: file.path.clone(),
        line: loc.line,
        col: loc.col,
        context: a.site.context.clone(),
        disposition: a.site.disposition,
        variable: a.site.binding.clone(),
        before: a.site.value.text.clone(),
        after: a.site.value.text.clone(),
        added: vec![],
        created: vec![],
        changed: false,
    });
    let row = report.sites.len() - 1;
    if let Some(reason) = &a.site.refusal {
        report.diagnostics.push(refused(&a.site, reason, loc));
        return None;
    }
    if merges.len() > 256 {
        // Bounded: a tree of all-different policies must not keep every merge.
        merges.clear();
    }
    let key = (a.site.policy_text().to_string(), a.site.delivery);
    let outcome = merges
        .entry(key)
        .or_insert_with(|| {
            csp::merge(
                a.site.policy_text(),
                &config.requirements,
                &MergeOptions {
                    delivery: a.site.delivery,
                },
            )
        })
        .clone();
    let run_time = run_time_sources(&a.site);
    report.diagnostics.extend(
        outcome
            .diagnostics
            .iter()
            .filter(|d| !about_run_time_source(d, &run_time))
            .map(|d| d.clone().at(loc.clone())),
    );
    // Any https origin will do: the requirements name the vendor's hosts, not the site's.
    let broken = csp::self_check(&outcome, &config.requirements, "https://site.example");
    if !broken.is_empty() {
        report.diagnostics.push(
            Diagnostic::error(
                "E014",
                format!(
                    "internal: the merged policy still blocks: {}",
                    broken.join("; ")
                ),
            )
            .at(loc),
        );
        return None;
    }
    if outcome.refused() || (outcome.edits.is_empty() && a.site.repaired.is_none()) {
        return None;
    }
    Some((outcome, row))
}

/// Splice the planned sites into file `index` and record the change. `true` when the bytes
/// change.
fn patch(
    tree: &Tree,
    index: usize,
    planned: &[(&Active, MergeOutcome, usize)],
    report: &mut Report,
) -> bool {
    let file = &tree.files[index];
    let list: Vec<Planned> = planned
        .iter()
        .map(|(a, outcome, _)| Planned {
            which: a.which,
            site: &a.site,
            outcome,
        })
        .collect();
    match splice::patch_file(file, &list) {
        Ok(new) => {
            for (_, outcome, row) in planned {
                let r = &mut report.sites[*row];
                r.after = outcome.text.clone();
                r.added = outcome.added.clone();
                r.created = outcome.created.clone();
                r.changed = true;
            }
            if *new == *file.src {
                return false;
            }
            report.files.push(FileChange {
                path: file.path.clone(),
                target: file.target.clone(),
                before: file.src.clone(),
                after: new,
            });
            true
        }
        Err(Failure::Refused { site, reason }) => {
            let site = &planned[site].0.site;
            report
                .diagnostics
                .push(refused(site, &reason, location(file, site.span.start)));
            false
        }
        Err(Failure::SelfCheck(e)) => {
            report.diagnostics.push(
                Diagnostic::error(
                    "E014",
                    format!("the patched file does not read back as merged: {e}"),
                )
                .at(location(file, 0)),
            );
            false
        }
    }
}

/// Does this policy already let every requirement through as it is: no change to make, and
/// nothing the merge would warn about (a `'strict-dynamic'` that ignores hosts, say)?
fn allows_already(site: &Site, config: &Config) -> bool {
    if site.refusal.is_some() || site.repaired.is_some() {
        return false;
    }
    let outcome = csp::merge(
        site.policy_text(),
        &config.requirements,
        &MergeOptions {
            delivery: site.delivery,
        },
    );
    outcome.edits.is_empty() && outcome.diagnostics.is_empty()
}

/// The sources of a site's policy that hold a part only known at request time
/// (`'nonce-$nonce'`, `'nonce-{{ nonce }}'`): the merge sees only their stand-in text.
fn run_time_sources(site: &Site) -> Vec<String> {
    if site.value.opaque.is_empty() || site.repaired.is_some() {
        return Vec::new();
    }
    let list = csp::parse::parse(&site.value.text);
    list.policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter(|t| site.value.touches_opaque(t.span.clone()))
        .map(|t| t.text.clone())
        .collect()
}

/// CSP112 ("not a valid source", "a placeholder from a vendor snippet") judges a source by
/// its text; for a source with a run-time part that text is a stand-in (`$nonce`), not what
/// the server sends, so the lint would call a working nonce invalid.
fn about_run_time_source(d: &Diagnostic, run_time: &[String]) -> bool {
    // CSP112 messages start with "`<source>` in `<directive>`" (csp/lint.rs).
    d.code == "CSP112"
        && run_time
            .iter()
            .any(|t| d.message.starts_with(&format!("`{t}` in `")))
}

fn refused(site: &Site, reason: &str, loc: Location) -> Diagnostic {
    Diagnostic::error(
        "E013",
        format!(
            "cannot patch this {}: {reason}",
            site.disposition.header_name()
        ),
    )
    .at(loc)
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
    let scope: std::collections::HashSet<&std::path::Path> = tree
        .files
        .iter()
        .filter(|f| f.in_scope)
        .map(|f| f.path.as_path())
        .collect();
    let in_scope = |d: &Diagnostic| match &d.location {
        None => true,
        Some(l) => scope.contains(l.path.as_path()),
    };
    dialect
        .check_tree(&views)
        .into_iter()
        .filter(in_scope)
        .collect()
}

/// Activate the variable bindings that CSP headers refer to (nginx `map`/`set`), across the
/// whole configuration, and list every site to consider.
fn link<'t>(tree: &'t Tree, diagnostics: &mut Vec<Diagnostic>) -> Vec<Active<'t>> {
    let mut active = Vec::new();
    let mut bound: BTreeMap<(usize, usize), (Site, bool)> = BTreeMap::new();
    // Every variable definition by (dialect, name): (file, binding) pairs, in file order.
    let mut by_name: HashMap<(crate::dialect::DialectKind, &str), Vec<(usize, usize)>> =
        HashMap::new();
    for (gi, g) in tree.files.iter().enumerate().filter(|(_, g)| g.relevant) {
        let Ok(gscan) = &g.scan else { continue };
        for (bi, b) in gscan.bindings.iter().enumerate() {
            if let Some(name) = b.binding.as_deref() {
                by_name.entry((g.dialect, name)).or_default().push((gi, bi));
            }
        }
    }
    for (fi, f) in tree.files.iter().enumerate().filter(|(_, f)| f.relevant) {
        let Ok(scan) = &f.scan else { continue };
        for (si, site) in scan.sites.iter().enumerate() {
            active.push(Active {
                file: fi,
                which: SiteRef::Direct(si),
                site: Cow::Borrowed(site),
                in_scope: f.in_scope,
            });
        }
        for r in &scan.refs {
            // The file's own definitions first (an nginx `set` belongs to its server and
            // location); otherwise any file's (a `map` is http-wide, often in conf.d/).
            let all = by_name
                .get(&(f.dialect, r.name.as_str()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let own: Vec<(usize, usize)> =
                all.iter().copied().filter(|&(gi, _)| gi == fi).collect();
            let targets = if own.is_empty() { all } else { &own[..] };
            let found = !targets.is_empty();
            for &(gi, bi) in targets {
                let Ok(gscan) = &tree.files[gi].scan else {
                    continue;
                };
                let b = &gscan.bindings[bi];
                let (entry, from_scope) = bound.entry((gi, bi)).or_insert_with(|| {
                    let mut s = b.clone();
                    s.disposition = r.disposition;
                    (s, false)
                });
                *from_scope |= f.in_scope;
                if entry.disposition != r.disposition && !entry.context.contains("(also ") {
                    entry
                        .context
                        .push_str(&format!(" (also sent as {})", r.disposition.header_name()));
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
    let mut noted = std::collections::HashSet::new();
    for ((fi, bi), (site, from_scope)) in bound {
        if from_scope && !tree.files[fi].in_scope && noted.insert((fi, site.binding.clone())) {
            diagnostics.push(
                Diagnostic::note("E015", format!("${} is defined here, outside the given paths; it is patched because a CSP header in them takes its value from it", site.binding.as_deref().unwrap_or("?")))
                    .at(location(&tree.files[fi], site.span.start)),
            );
        }
        // The dialect only knows a bound value is a CSP once it is referenced: say now what
        // it would have said of a direct site.
        if let Some(r) = &site.repaired {
            if from_scope {
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
            site: Cow::Owned(site),
            in_scope: from_scope,
        });
    }
    active.sort_by_key(|a| (a.file, a.site.span.start));
    active
}

fn location(file: &ScannedFile, offset: usize) -> Location {
    Location::of(&file.path, &file.src, offset)
}
