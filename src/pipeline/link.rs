//! Linking: the variable bindings CSP headers take their value from (nginx `map`/`set`),
//! across the whole configuration, and the list of every site a run considers.

use std::collections::{BTreeMap, HashMap};

use crate::diag::Diagnostic;
use crate::dialect::DialectKind;
use crate::scan::FileSet;
use crate::site::Site;
use crate::splice::SiteRef;

use super::location;

/// A site the run will consider, with the file it is in.
pub struct Active<'t> {
    pub file: usize,
    pub which: SiteRef,
    /// Borrowed from the scan; a variable's value is copied, as the header that refers to it
    /// decides its disposition.
    pub site: SiteOf<'t>,
    /// In a file the user named (or one it includes), or a `map`/`set` value that a CSP
    /// header in such a file takes its value from: the policy of the user's sites, wherever
    /// it is defined.
    pub in_scope: bool,
}

/// A site of the scan, or a variable's value copied: two words, where a `Cow<Site>` took a
/// whole `Site` (264 bytes) for each of the run's sites, though all but the few bound values
/// are borrowed (24 MB of a 100,000-vhost run).
pub enum SiteOf<'t> {
    Scanned(&'t Site),
    Bound(Box<Site>),
}

impl std::ops::Deref for SiteOf<'_> {
    type Target = Site;
    fn deref(&self) -> &Site {
        match self {
            SiteOf::Scanned(s) => s,
            SiteOf::Bound(s) => s,
        }
    }
}

/// Activate the variable bindings that CSP headers refer to (nginx `map`/`set`), across the
/// whole configuration, and list every site to consider.
pub fn link<'t>(set: &'t FileSet, diagnostics: &mut Vec<Diagnostic>) -> Vec<Active<'t>> {
    let mut active = Vec::new();
    let mut bound: BTreeMap<(usize, usize), (Site, bool)> = BTreeMap::new();
    // Every variable definition by (dialect, name): (file, binding) pairs, in file order.
    let mut by_name: HashMap<(DialectKind, &str), Vec<(usize, usize)>> = HashMap::new();
    for (gi, g) in set.files.iter().enumerate().filter(|(_, g)| g.relevant) {
        let Ok(gscan) = &g.scan else { continue };
        for (bi, b) in gscan.bindings.iter().enumerate() {
            if let Some(name) = b.binding.as_deref() {
                by_name.entry((g.dialect, name)).or_default().push((gi, bi));
            }
        }
    }
    for (fi, f) in set.files.iter().enumerate().filter(|(_, f)| f.relevant) {
        let Ok(scan) = &f.scan else { continue };
        for (si, site) in scan.sites.iter().enumerate() {
            active.push(Active {
                file: fi,
                which: SiteRef::Direct(si),
                site: SiteOf::Scanned(site),
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
                let Ok(gscan) = &set.files[gi].scan else {
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
        if from_scope && !set.files[fi].in_scope && noted.insert((fi, site.binding.clone())) {
            diagnostics.push(
                Diagnostic::note("E015", format!("${} is defined here, outside the given paths; it is patched because a CSP header in them takes its value from it", site.binding.as_deref().unwrap_or("?")))
                    .at(location(&set.files[fi], site.span.start)),
            );
        }
        // The dialect only knows a bound value is a CSP once it is referenced: say now what
        // it would have said of a direct site.
        if let Some(r) = &site.repaired {
            if from_scope {
                diagnostics.push(
                    Diagnostic::warning(r.code, format!("the value of ${} contains a line break, which the server sends raw: browsers then drop the directives after it", site.binding.as_deref().unwrap_or("?")))
                        .at(location(&set.files[fi], site.span.start))
                        .with_help("csppatch writes the patched value on one line"),
                );
            }
        }
        active.push(Active {
            file: fi,
            which: SiteRef::Binding(bi),
            site: SiteOf::Bound(Box::new(site)),
            in_scope: from_scope,
        });
    }
    active.sort_by_key(|a| (a.file, a.site.span.start));
    active
}
