//! The plan stage: every site merged with the vendors' requirements, each file's new bytes
//! spliced and proven by reading them back. Nothing is written here.

use std::collections::HashMap;

use crate::csp::{self, Delivery, MergeOptions, MergeOutcome};
use crate::diag::{Diagnostic, Location};
use crate::options::PatchOptions;
use crate::report::{FileChange, LiteralEdit, SiteReport};
use crate::scan::FileSet;
use crate::site::Site;
use crate::splice::{self, Failure, SitePatch, SiteRef};

use super::link::{link, Active};
use super::location;

/// The most comma-separated policies in one value that csppatch patches (E063, README
/// "Limits"): each policy's edit is encoded and read back against the whole value.
pub const MAX_POLICIES: usize = 64;

/// What the plan stage decided.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every CSP site considered, changed or not.
    pub sites: Vec<SiteReport>,
    pub diagnostics: Vec<Diagnostic>,
    /// The files whose bytes change, with their new bytes.
    pub files: Vec<FileChange>,
    /// For each of `files`, its index in the scanned tree.
    pub changed: Vec<usize>,
    /// Some CSP site is in the given paths (else the run may say none was found).
    pub found: bool,
}

/// Link the variables, merge every site, patch every file. With `each`, every part of the
/// plan (a run of whole files) is handed to it as soon as it and the parts before it are done,
/// in file order; what it leaves in the part is kept in the plan (a streamed run takes the
/// files and the site rows, and keeps the diagnostics).
pub fn plan(
    set: &FileSet,
    options: &PatchOptions,
    mut each: Option<&mut dyn FnMut(&mut Plan)>,
) -> Plan {
    let mut out = Plan::default();
    let active = link(set, &mut out.diagnostics);
    out.found = active.iter().any(|a| a.in_scope);
    let mut keep = |mut part: Plan| {
        if let Some(f) = each.as_mut() {
            f(&mut part);
        }
        out.sites.extend(part.sites);
        out.diagnostics.extend(part.diagnostics);
        out.files.extend(part.files);
        out.changed.extend(part.changed);
    };
    // `active` is sorted by file: cut it into contiguous parts of whole files, taken in turn
    // by the threads, each merged and patched one file at a time (its merges dropped once the
    // file is patched), then joined in file order: the same sites, files and diagnostics in
    // the same order as one thread gives. Small parts, so that a streamed run holds only the
    // few parts done ahead of the one it waits for.
    let jobs = jobs(active.len());
    let chunks = split_by_file(&active, active.len().div_ceil(SITES_PER_PART).max(jobs));
    if jobs < 2 {
        let mut merges = HashMap::new();
        for chunk in &chunks {
            let mut part = Plan::default();
            plan_files(chunk, set, options, &mut merges, &mut part);
            keep(part);
        }
        return out;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Bounded: when the parts are used more slowly than they are made, the threads wait.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Plan)>(2 * jobs);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let tx = tx.clone();
                let (chunks, next) = (&chunks, &next);
                scope.spawn(move || {
                    // One cache per thread, kept from part to part.
                    let mut merges = HashMap::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = chunks.get(k) else { break };
                        let mut part = Plan::default();
                        plan_files(chunk, set, options, &mut merges, &mut part);
                        if tx.send((k, part)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        // The parts in file order: those done ahead wait here for the one before them.
        let mut ahead: std::collections::BTreeMap<usize, Plan> = Default::default();
        let mut want = 0;
        for (k, part) in rx.iter() {
            ahead.insert(k, part);
            while let Some(part) = ahead.remove(&want) {
                keep(part);
                want += 1;
            }
        }
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
    out
}

/// Sites per part of the plan (a part is whole files: it may hold a few more).
const SITES_PER_PART: usize = 64;

/// Sites from which a second thread pays for itself (below, one thread: no spawn at all).
const SITES_PER_THREAD: usize = 256;

/// Threads for the plan stage: the run's [`threads`](crate::par::threads), no more than
/// the sites justify.
fn jobs(sites: usize) -> usize {
    crate::par::threads().min(sites / SITES_PER_THREAD).max(1)
}

/// `active` (sorted by file) in at most `n` contiguous runs of about equal length, never
/// cutting a file's sites apart.
fn split_by_file<'a, 'b>(active: &'a [Active<'b>], n: usize) -> Vec<&'a [Active<'b>]> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..=n {
        if start >= active.len() {
            break;
        }
        let mut end = (active.len() * k / n).max(start + 1);
        while end < active.len() && active[end].file == active[end - 1].file {
            end += 1;
        }
        out.push(&active[start..end]);
        start = end;
    }
    out
}

/// Merge and patch the files of `chunk` (sorted by file), one file at a time (its merges are
/// dropped once the file is patched: on a large tree, holding every merge costs more than the
/// tree).
fn plan_files(
    chunk: &[Active],
    set: &FileSet,
    options: &PatchOptions,
    // A site of many pages or vhosts often has the same policy everywhere: merge it once.
    merges: &mut HashMap<(String, Delivery), MergeOutcome>,
    out: &mut Plan,
) {
    let mut start = 0;
    while start < chunk.len() {
        let file = chunk[start].file;
        let end = start + chunk[start..].iter().take_while(|a| a.file == file).count();
        let sites: Vec<(&Site, &SiteRef)> = chunk[start..end]
            .iter()
            .map(|a| (&*a.site, &a.which))
            .collect();
        let f = &set.files[file];
        let replaced = super::superseded::superseded(f.dialect, f.scan.as_ref().ok(), &sites);
        let planned: Vec<(&Active, MergeOutcome, usize)> = chunk[start..end]
            .iter()
            .zip(replaced)
            .filter_map(|(a, by)| {
                plan_site(a, by, set, options, merges, out).map(|(o, row)| (a, o, row))
            })
            .collect();
        if !planned.is_empty() && patch(set, file, &planned, out) {
            out.changed.push(file);
        }
        start = end;
    }
}

/// Merge one site; record it in the plan. `Some`: the merge and the site's report row, when
/// the file must change for it.
fn plan_site(
    a: &Active,
    replaced_by: Option<super::superseded::Replacer>,
    set: &FileSet,
    options: &PatchOptions,
    merges: &mut HashMap<(String, Delivery), MergeOutcome>,
    out: &mut Plan,
) -> Option<(MergeOutcome, usize)> {
    let file = &set.files[a.file];
    let loc = location(file, a.site.span.start);
    if !a.in_scope {
        if !allows_already(&a.site, options) {
            out.diagnostics.push(
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
    out.sites.push(SiteReport {
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
        removed: vec![],
        changed: false,
        locked: None,
        delivery: a.site.delivery,
        opaque: a.site.value.opaque.clone(),
        opaque_notes: a.site.value.notes.clone(),
        literals: vec![],
    });
    let row = out.sites.len() - 1;
    if let Some(reason) = &a.site.refusal {
        out.diagnostics.push(refused(&a.site, reason, loc));
        return None;
    }
    if only_opaque(&a.site) {
        // `content="<?php echo $csp; ?>"`, `"{{{ContentSecurityPolicy}}}"`: the policy is
        // a run-time or template expression; its stand-in text is no directive.
        out.diagnostics.push(
            Diagnostic::warning(
                "E041",
                format!(
                    "this {} is a run-time or template expression csppatch cannot read: check it by hand",
                    a.site.disposition.header_name()
                ),
            )
            .at(loc)
            .with_help("add the vendor's sources where the expression's value is defined"),
        );
        return None;
    }
    if let Some(by) = replaced_by {
        let line = location(file, by.offset).line;
        out.diagnostics.push(
            Diagnostic::warning(
                "E043",
                format!(
                    "never sent: the {} of line {line} in the same scope replaces this {}; left as it is",
                    by.what,
                    a.site.disposition.header_name()
                ),
            )
            .at(loc)
            .with_help("remove this line, or merge its directives into the one that is sent"),
        );
        return None;
    }
    if let Some(removal) = &options.removal {
        return remove_site(a, options, removal, loc, row, out);
    }
    // A run-time or template part where a directive name is (`"...; " . $extra`,
    // `{% if x %} frame-src 'none'{% endif %}`, Blade's `@if(...)`) can hold any directive:
    // refused for that, before its stand-in is taken for a directive with a missing `;`.
    if let Some(why) = crate::site::unknown_directives(&a.site.value) {
        out.diagnostics.push(refused(&a.site, &why, loc));
        return None;
    }
    if a.site.repaired.is_none() {
        if let Some(fixed) = super::semicolon::corrected(&a.site.value.text) {
            out.diagnostics.push(
                refused(
                    &a.site,
                    "a `;` is missing: a directive name is among another directive's sources, \
                     so browsers do not set that directive, and a merge would copy the broken \
                     list into new directives",
                    loc,
                )
                .with_help(format!("correct it to `{fixed}`, then run csppatch again")),
            );
            return None;
        }
    }
    if !options.include_locked {
        if let Some(why) = super::locked::reason(a.site.policy_text(), &a.site.context) {
            out.sites[row].locked = Some(why.clone());
            out.diagnostics.push(
                Diagnostic::warning(
                    "E040",
                    format!(
                        "left as it is: this {} is locked on purpose: {why}",
                        a.site.disposition.header_name()
                    ),
                )
                .at(loc)
                .with_help(format!(
                    "it is not a page policy a widget runs under ({}); pass --include-locked to patch it too",
                    a.site.context
                )),
            );
            return None;
        }
    }
    let policies = csp::parse::parse(a.site.policy_text()).policies.len();
    if policies > MAX_POLICIES {
        out.diagnostics.push(
            Diagnostic::error(
                "E063",
                format!(
                    "this value holds {policies} comma-separated policies: csppatch patches at \
                     most {MAX_POLICIES} in one value (each policy's edit is written and read back \
                     in the whole value); left as it is"
                ),
            )
            .at(loc)
            .with_help("browsers enforce every policy of the list: merge them into fewer, or send them as separate headers"),
        );
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
            csp::merge_shared(
                a.site.policy_text(),
                &options.requirements,
                &MergeOptions {
                    delivery: a.site.delivery,
                },
            )
        })
        .clone();
    let run_time = run_time_sources(&a.site);
    out.diagnostics.extend(
        outcome
            .diagnostics
            .iter()
            .filter(|d| !about_run_time_source(d, &run_time))
            .map(|d| d.clone().at(loc.clone())),
    );
    // Any https origin will do: the requirements name the vendor's hosts, not the site's.
    let broken = csp::self_check(&outcome, &options.requirements, "https://site.example");
    if !broken.is_empty() {
        out.diagnostics.push(
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
    if let Some(d) = interpolated_source(file.dialect, &outcome, loc) {
        out.diagnostics.push(d);
        return None;
    }
    Some((outcome, row))
}

/// E061: a new source holding `$` in an nginx value. nginx reads `$name` in a header value as
/// a variable and sends its value, and has no escape for `$`: browsers would get another
/// source than the one merged. (Where the `$name` is also one of the value's own variables the
/// read-back cannot tell the two apart, so the refusal comes before the splice.) A `$` in a
/// source can only be in its path, where `%24` matches the same URLs.
fn interpolated_source(
    dialect: crate::dialect::DialectKind,
    outcome: &MergeOutcome,
    loc: Location,
) -> Option<Diagnostic> {
    if dialect != crate::dialect::DialectKind::Nginx {
        return None;
    }
    let added = outcome.added.iter().find(|a| a.source.contains('$'))?;
    let at = added.source.find('$').unwrap_or(0);
    let name: String = added.source[at + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '{' || *c == '}')
        .collect();
    Some(
        Diagnostic::error(
            "E061",
            format!(
                "the new source `{}` holds `${name}`: nginx replaces `$` and a name in a header \
                 value with a variable's value at request time (and has no escape for `$`), so \
                 browsers would not get this source; nothing was changed here",
                added.source
            ),
        )
        .at(loc)
        .with_help(format!(
            "write the `$` of the path as %24 (CSP compares paths percent-decoded): `{}`",
            added.source.replace('$', "%24")
        )),
    )
}

/// Splice the planned sites into file `index` and record the change. `true` when the bytes
/// change.
fn patch(
    set: &FileSet,
    index: usize,
    planned: &[(&Active, MergeOutcome, usize)],
    out: &mut Plan,
) -> bool {
    let file = &set.files[index];
    let list: Vec<SitePatch> = planned
        .iter()
        .map(|(a, outcome, _)| SitePatch {
            which: a.which,
            site: &a.site,
            outcome,
        })
        .collect();
    match splice::patch_file(file, &list) {
        Ok((new, read)) => {
            for (a, outcome, row) in planned {
                let literals = splice::changed_literals(&a.site, splice::site_of(&read, a.which))
                    .into_iter()
                    .map(|(at, variable, before, after)| LiteralEdit {
                        line: location(file, at).line,
                        variable,
                        before,
                        after,
                    })
                    .collect();
                let r = &mut out.sites[*row];
                r.after = outcome.text.clone();
                r.added = outcome.added.clone();
                r.created = outcome.created.clone();
                r.changed = true;
                r.literals = literals;
            }
            if *new == *file.src {
                return false;
            }
            out.files.push(FileChange {
                path: file.path.clone(),
                target: file.target.clone(),
                before: file.src.clone(),
                after: new,
                links: file.links,
            });
            true
        }
        Err(Failure::Refused { site, reason }) => {
            forget_removed(planned, out);
            let site = &planned[site].0.site;
            out.diagnostics
                .push(refused(site, &reason, location(file, site.span.start)));
            false
        }
        Err(Failure::SelfCheck(e)) => {
            forget_removed(planned, out);
            out.diagnostics.push(
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

/// Is every non-blank byte of the value inside an opaque (run-time or template) part?
fn only_opaque(site: &Site) -> bool {
    let v = &site.value;
    !v.opaque.is_empty()
        && site.repaired.is_none()
        && v.text.char_indices().all(|(i, c)| {
            c.is_ascii_whitespace() || c == ';' || v.opaque.iter().any(|o| o.contains(&i))
        })
}

/// Does this policy already let every requirement through as it is: no change to make, and
/// nothing the merge would warn about (a `'strict-dynamic'` that ignores hosts, say)?
fn allows_already(site: &Site, options: &PatchOptions) -> bool {
    if site.refusal.is_some() || site.repaired.is_some() {
        return false;
    }
    if let Some(removal) = &options.removal {
        // Removing: nothing to do there when none of the vendor's sources would go.
        let out = csp::remove::remove(site.policy_text(), &options.requirements, &removal.keep);
        return out.outcome.edits.is_empty();
    }
    let outcome = csp::merge(
        site.policy_text(),
        &options.requirements,
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
pub(crate) fn about_run_time_source(d: &Diagnostic, run_time: &[String]) -> bool {
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

/// `csppatch remove` on one site: the vendor's sources out, the removal recorded in the
/// site's row (the splice and read-back of [`patch`] then apply as for a merge).
fn remove_site(
    a: &Active,
    options: &PatchOptions,
    removal: &crate::options::Removal,
    loc: Location,
    row: usize,
    out: &mut Plan,
) -> Option<(MergeOutcome, usize)> {
    let removed = csp::remove::remove(a.site.policy_text(), &options.requirements, &removal.keep);
    out.diagnostics.extend(
        removed
            .outcome
            .diagnostics
            .iter()
            .map(|d| d.clone().at(loc.clone())),
    );
    if removed.outcome.edits.is_empty() {
        return None;
    }
    out.sites[row].removed = removed.removed;
    Some((removed.outcome, row))
}

/// A file that cannot be patched changes none of its sites: their rows say nothing removed.
fn forget_removed(planned: &[(&Active, MergeOutcome, usize)], out: &mut Plan) {
    for (_, _, row) in planned {
        out.sites[*row].removed.clear();
    }
}
