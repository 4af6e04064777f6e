//! Offboarding a vendor (`csppatch remove`, README "Offboarding a vendor"): the inverse of
//! [`super::merge()`], as text edits on the policy list.
//!
//! A policy carries no record of who added what, so removal reads the merge's own habits back:
//! - the merge appends a vendor's sources at the **end** of a directive, in requirement order.
//!   Only that trailing run of the vendor's sources is removed; a vendor source that stands
//!   before one of the site's own (or out of requirement order) was there first and is kept;
//! - a directive the merge created is appended after the policy's last directive and starts
//!   as a copy of the directive it fell back to (`plan::copy_for`). Once the vendor's sources
//!   are out, a directive that again equals that copy is removed, last first (a later one may
//!   have been copied from an earlier one), only while each is (the created ones are the
//!   policy's last directives), and only when removing it changes no verdict;
//! - a directive the merge only *pinned* (`worker-src` copied from `script-src` before
//!   script-src was widened) holds none of the vendor's sources: it goes when it did pin work in
//!   the merged policy (it meant something other than its fallback) and equals its fallback's
//!   copy once the vendor is out;
//! - `default-src` and `child-src` are never widened by the merge, so a vendor source there is
//!   the site's own; a `--keep` vendor's requests that the policy allowed stay allowed.
//!
//! For a policy `P` without any of the vendor's sources, `remove(merge(P, V), V) == P` byte
//! for byte, unless `P` has a directive that says exactly what a copy of its fallback would
//! (then csppatch cannot tell it from one it created; it is removed and the policy means the
//! same): `tests/csp/remove_props.rs` checks both.

use super::eval::{allows_in, requests_for, Browser};
use super::lint;
use super::merge::{MergeOutcome, Requirement};
use super::parse::{parse, Directive, DirectiveState, Policy, PolicyList};
use super::plan::{copy_for, signature, Class, PlannedDirective, PolicyPlan};
use super::source::{parse_vendor_source, Source};
use super::targets::{targets, Targets};
use crate::diag::Diagnostic;

mod edits;

use edits::{policy_edits, policy_of, policy_text};

/// What was taken out of one directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// Index of the policy in the comma-separated list.
    pub policy: usize,
    pub directive: String,
    /// The vendor's sources taken out, as written.
    pub sources: Vec<String>,
    /// The whole directive went: what was left equalled a copy of `copied_from`.
    pub dropped: bool,
    /// For a dropped directive, the one it falls back to again (`None`: nothing governs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
}

/// A removal: the edits as a [`MergeOutcome`] (so that the splice and read-back of a patch run
/// apply as they are), and what was removed, per directive.
#[derive(Debug, Clone, Default)]
pub struct RemoveOutcome {
    pub outcome: MergeOutcome,
    pub removed: Vec<Removed>,
}

impl RemoveOutcome {
    /// Sources removed, over every policy.
    pub fn source_count(&self) -> usize {
        self.removed.iter().map(|r| r.sources.len()).sum()
    }
}

/// A vendor requirement, parsed, with the directives the merge may have put it in.
struct Wanted {
    index: usize,
    text: String,
    /// Every directive of the fallback chains of its classes, except default-src and
    /// child-src (never widened); for form-action & co, the directive itself.
    directives: Vec<&'static str>,
    req: Requirement,
}

fn wanted(requirements: &[Requirement]) -> Vec<Wanted> {
    let mut out = Vec::new();
    for (index, req) in requirements.iter().enumerate() {
        let directive = req.directive.trim().to_ascii_lowercase();
        let Ok(source) = parse_vendor_source(req.source.trim(), true) else {
            continue;
        };
        let directives = match targets(&directive, &source) {
            Ok(Targets::NoFallback(name)) => vec![name],
            Ok(Targets::Classes(classes)) => {
                let mut v: Vec<&'static str> = Vec::new();
                for c in classes {
                    for b in Browser::ALL {
                        for &n in c.chain(b) {
                            if !matches!(n, "default-src" | "child-src") && !v.contains(&n) {
                                v.push(n);
                            }
                        }
                    }
                }
                v
            }
            Err(_) => continue,
        };
        out.push(Wanted {
            index,
            text: source.to_string(),
            directives,
            req: req.clone(),
        });
    }
    out
}

/// Is `token` the source `text` (as the merge writes it)? Hosts, schemes and keywords compare
/// without case; nonces and hashes exactly.
fn same_source(token: &str, text: &str) -> bool {
    match Source::parse(text) {
        Ok(s) if s.is_nonce_or_hash() => token == text,
        _ => token.eq_ignore_ascii_case(text),
    }
}

fn without_none(tokens: &[String]) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| !t.eq_ignore_ascii_case("'none'"))
        .cloned()
        .collect()
}

/// One effective directive as the removal goes.
struct Dir<'a> {
    d: &'a Directive,
    /// Per source token: taken out.
    out: Vec<bool>,
    dropped: bool,
    /// A later directive of the same name (ignored by browsers) would take over if this one
    /// went: never dropped.
    shadows: bool,
}

impl Dir<'_> {
    fn kept(&self) -> Vec<String> {
        self.d
            .sources
            .iter()
            .zip(&self.out)
            .filter(|(_, o)| !**o)
            .map(|(t, _)| t.text.clone())
            .collect()
    }
}

/// The policy as the removal stands: directives not dropped, with their kept tokens.
fn plan_of(dirs: &[Dir]) -> PolicyPlan {
    PolicyPlan {
        directives: dirs
            .iter()
            .filter(|d| !d.dropped)
            .map(|d| PlannedDirective {
                name: d.d.name.clone(),
                tokens: d.kept(),
                existing: None,
                added: Vec::new(),
                copied_from: None,
                pin: false,
            })
            .collect(),
    }
}

/// The directive `dirs[i]` would be copied from by the merge: the first present directive
/// after its name in a fallback chain holding it (as `plan::with_source_in` picks it).
fn fallback(dirs: &[Dir], i: usize) -> Option<usize> {
    fallback_among(dirs, i, dirs.len())
}

/// [`fallback`], among the directives written before `i`.
fn fallback_before(dirs: &[Dir], i: usize) -> Option<usize> {
    fallback_among(dirs, i, i)
}

/// [`fallback`], among `dirs[..end]`.
fn fallback_among(dirs: &[Dir], i: usize, end: usize) -> Option<usize> {
    let name = dirs[i].d.name.as_str();
    Class::all().into_iter().find_map(|c| {
        let chain = c.chain(Browser::Csp3);
        let at = chain.iter().position(|n| *n == name)?;
        chain[at + 1..].iter().find_map(|n| {
            dirs[..end]
                .iter()
                .position(|d| !d.dropped && d.d.name == *n)
                .filter(|&k| k != i)
        })
    })
}

/// Do two plans give every class the same verdicts, in every browser generation?
fn same_meaning(a: &PolicyPlan, b: &PolicyPlan) -> bool {
    Browser::ALL.iter().all(|&browser| {
        Class::all().into_iter().all(|class| {
            match (a.governance(class, browser), b.governance(class, browser)) {
                (None, None) => true,
                // As `plan::compare`: a class that moves between a URL check and
                // script-src's check must not care which runs.
                (Some(x), Some(y)) => {
                    let sig = signature(x.tokens, class, x.script_check);
                    sig == signature(x.tokens, class, y.script_check)
                        && sig == signature(y.tokens, class, y.script_check)
                }
                _ => false,
            }
        })
    })
}

/// Take `requirements` (the vendor being offboarded) out of every policy of `policy_list`,
/// keeping what `keep` (the other vendors) needs.
pub fn remove(
    policy_list: &str,
    requirements: &[Requirement],
    keep: &[Requirement],
) -> RemoveOutcome {
    super::plan::reset_memo();
    let list = parse(policy_list);
    let vendor = wanted(requirements);
    let keep_wanted = wanted(keep);
    let mut edits = Vec::new();
    let mut removed = Vec::new();
    let mut diagnostics = Vec::new();
    for policy in &list.policies {
        let unsure = policy
            .directives
            .iter()
            .any(|d| d.state == DirectiveState::NonAscii);
        if policy.is_empty() || unsure {
            continue;
        }
        let label = lint::policy_label(&list, policy);
        let mut dirs = dirs_of(policy);
        let merged = plan_of(&dirs);
        choose_tokens(&mut dirs, &vendor, &keep_wanted, &label, &mut diagnostics);
        keep_for_others(
            &list,
            policy,
            &mut dirs,
            &vendor,
            &keep_wanted,
            &label,
            &mut diagnostics,
        );
        let dropped = drop_copies(&mut dirs, &merged);
        still_allowed(&dirs, &vendor, &label, &mut diagnostics);
        for (i, dir) in dirs.iter().enumerate() {
            let sources: Vec<String> = dir
                .d
                .sources
                .iter()
                .zip(&dir.out)
                .filter(|(_, o)| **o)
                .map(|(t, _)| t.text.clone())
                .collect();
            if sources.is_empty() && !dir.dropped {
                continue;
            }
            removed.push(Removed {
                policy: policy.index,
                directive: dir.d.name.clone(),
                sources,
                dropped: dir.dropped,
                copied_from: dropped
                    .iter()
                    .find(|(k, _)| *k == i)
                    .and_then(|(_, f)| f.clone()),
            });
        }
        edits.extend(policy_edits(policy, &dirs));
    }
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    RemoveOutcome {
        outcome: MergeOutcome {
            text: super::merge::apply(policy_list, &edits),
            edits,
            diagnostics,
            ..Default::default()
        },
        removed,
    }
}

/// Mark the vendor's sources each directive ends with (the merge's trailing run, in
/// requirement order); say which of the vendor's sources stay and why.
fn choose_tokens(
    dirs: &mut [Dir],
    vendor: &[Wanted],
    keep: &[Wanted],
    label: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for i in 0..dirs.len() {
        let name = dirs[i].d.name.clone();
        // A directive created after its fallback starts with the fallback's copy: the run
        // cannot reach into that copy (a vendor source there is the fallback's). The copy
        // is of a fallback written before it: one the merge created later in the text
        // (`worker-src` created, then `script-src`) did not exist when the copy was made.
        let floor = match fallback_before(dirs, i) {
            Some(f) => {
                let copy = without_none(&copy_for(&name, &dirs[f].kept()));
                let tokens = dirs[i].d.values();
                if tokens.len() >= copy.len() && tokens[..copy.len()] == copy[..] {
                    copy.len()
                } else {
                    0
                }
            }
            _ => 0,
        };
        let d = dirs[i].d;
        // The requirement that appended `t`, before the one that appended the next source:
        // the latest that can have (a source several requirements share went in once).
        let owner = |t: &str, before: usize| {
            vendor
                .iter()
                .filter(|w| w.index < before && same_source(t, &w.text))
                .filter(|w| w.directives.contains(&name.as_str()))
                .map(|w| w.index)
                .max()
        };
        // A `--keep` vendor's own sources (merged after this vendor) do not end the run.
        let kept_for = |t: &str| {
            keep.iter().any(|o| {
                same_source(t, &o.text)
                    && o.directives.contains(&name.as_str())
                    && !vendor.iter().any(|w| same_source(t, &w.text))
            })
        };
        let mut last = usize::MAX;
        let mut run_start = d.sources.len();
        for k in (floor..d.sources.len()).rev() {
            if kept_for(&d.sources[k].text) {
                continue;
            }
            match owner(&d.sources[k].text, last) {
                Some(idx) => {
                    last = idx;
                    run_start = k;
                }
                None => break,
            }
        }
        for (k, t) in d.sources.iter().enumerate() {
            let Some(w) = vendor.iter().find(|w| same_source(&t.text, &w.text)) else {
                continue;
            };
            let why = if k >= run_start {
                match keep.iter().find(|o| {
                    same_source(&t.text, &o.text) && o.directives.contains(&name.as_str())
                }) {
                    Some(o) => format!("--keep {} needs it", o.req.vendor),
                    None => {
                        dirs[i].out[k] = true;
                        continue;
                    }
                }
            } else if matches!(name.as_str(), "default-src" | "child-src") {
                format!(
                    "csppatch never adds to {name} (it also decides request types {} does not \
                     ask for): it was there before",
                    w.req.vendor
                )
            } else if !w.directives.contains(&name.as_str()) {
                format!(
                    "{}'s preset does not list it for {name}: the site added it there",
                    w.req.vendor
                )
            } else {
                "it stands before the sources csppatch adds for the vendor, so the policy had \
                 it already"
                    .to_string()
            };
            diagnostics.push(lint::vendor_source_kept(
                &w.req.vendor,
                &t.text,
                &name,
                label,
                &why,
            ));
        }
    }
}

/// Put back, one by one, the marked sources without which a `--keep` vendor's request that
/// the policy allowed would be blocked (a vendor wildcard that covers the other's host).
#[allow(clippy::too_many_arguments)]
fn keep_for_others(
    list: &PolicyList,
    policy: &Policy,
    dirs: &mut [Dir],
    vendor: &[Wanted],
    keep: &[Wanted],
    label: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if keep.is_empty() {
        return;
    }
    let origin = "https://site.example";
    let requests: Vec<(&Wanted, super::eval::Request)> = keep
        .iter()
        .flat_map(|w| {
            requests_for(&w.req, origin)
                .into_iter()
                .map(move |r| (w, r))
        })
        .collect();
    let allowed =
        |l: &PolicyList, r: &super::eval::Request| Browser::ALL.iter().all(|&b| allows_in(l, r, b));
    let before = parse(&list.text[policy.span.clone()]);
    let was: Vec<bool> = requests.iter().map(|(_, r)| allowed(&before, r)).collect();
    let broken = |dirs: &[Dir]| -> Vec<usize> {
        let now = parse(&policy_text(list, policy, dirs));
        (0..requests.len())
            .filter(|&n| was[n] && !allowed(&now, &requests[n].1))
            .collect()
    };
    let mut current = broken(dirs);
    for i in 0..dirs.len() {
        for k in 0..dirs[i].out.len() {
            if current.is_empty() {
                return;
            }
            if !dirs[i].out[k] {
                continue;
            }
            dirs[i].out[k] = false;
            let now = broken(dirs);
            let Some(&fixed) = current.iter().find(|n| !now.contains(n)) else {
                dirs[i].out[k] = true;
                continue;
            };
            let text = dirs[i].d.sources[k].text.clone();
            let name = dirs[i].d.name.clone();
            let who = vendor
                .iter()
                .find(|w| same_source(&text, &w.text))
                .map_or("the vendor", |w| w.req.vendor.as_str());
            diagnostics.push(lint::vendor_source_kept(
                who,
                &text,
                &name,
                label,
                &format!("--keep {} needs it", requests[fixed].0.req.vendor),
            ));
            current = now;
        }
    }
}

/// Drop, last first, each directive that again equals a copy of its fallback and that the
/// vendor touched or that pinned something in the merged policy. Returns (index, copied from).
fn drop_copies(dirs: &mut [Dir], merged: &PolicyPlan) -> Vec<(usize, Option<String>)> {
    let mut out = Vec::new();
    for i in (0..dirs.len()).rev() {
        let touched = dirs[i].out.iter().any(|o| *o);
        let pinned = {
            // In the merged policy, did this directive mean something its fallback did not?
            let mut without = merged.clone();
            without.directives.retain(|d| d.name != dirs[i].d.name);
            !same_meaning(merged, &without)
        };
        // The merge appends what it creates after the policy's last directive: the created
        // ones are a suffix, so the first directive (from the end) that stays ends the search
        // (`script-src 'self'` in the middle of a policy is the site's own, even when it says
        // what default-src says).
        if (!touched && !pinned) || dirs[i].shadows {
            break;
        }
        let f = fallback(dirs, i);
        let kept = dirs[i].kept();
        let matches = match f {
            Some(f) if f < i => {
                let copy = copy_for(&dirs[i].d.name, &dirs[f].kept());
                let all_none = copy.iter().all(|t| t.eq_ignore_ascii_case("'none'"));
                if all_none {
                    // A pin says 'none' once; a created directive lost its 'none' to the
                    // vendor's sources and is empty now.
                    kept.is_empty() || (kept.len() == 1 && kept[0] == "'none'")
                } else {
                    // A pin keeps the copy's 'none'; a created directive lost it.
                    kept == copy || kept == without_none(&copy)
                }
            }
            // Before its fallback, or nothing to fall back to (form-action, frame-ancestors
            // and base-uri have none: the merge only ever appends to them).
            _ => false,
        };
        // A pin that copied one of the vendor's own sources from its fallback
        // (`default-src https://x 'unsafe-inline'` pins `worker-src https://x`, the vendor's
        // worker source): it is a copy with that source left in.
        let pinned_copy = !matches
            && f.is_some_and(|f| {
                f < i && {
                    let all: Vec<String> =
                        dirs[i].d.sources.iter().map(|t| t.text.clone()).collect();
                    all == copy_for(&dirs[i].d.name, &dirs[f].kept())
                }
            });
        if !matches && !pinned_copy {
            break;
        }
        let taken = dirs[i].out.clone();
        if pinned_copy {
            dirs[i].out.iter_mut().for_each(|o| *o = false);
        }
        let before = plan_of(dirs);
        dirs[i].dropped = true;
        if same_meaning(&before, &plan_of(dirs)) {
            out.push((i, f.map(|f| dirs[f].d.name.clone())));
        } else {
            dirs[i].dropped = false;
            dirs[i].out = taken;
            break;
        }
    }
    out
}

/// Warn when another source still lets a vendor request through (`https:`, `*`).
fn still_allowed(dirs: &[Dir], vendor: &[Wanted], label: &str, diagnostics: &mut Vec<Diagnostic>) {
    let plan = plan_of(dirs);
    let origin = "https://site.example";
    let mut said = Vec::new();
    for w in vendor {
        // Kept on purpose somewhere: CSP124 said so.
        let kept_somewhere = dirs.iter().any(|d| {
            !d.dropped
                && d.d
                    .sources
                    .iter()
                    .zip(&d.out)
                    .any(|(t, o)| !o && same_source(&t.text, &w.text))
        });
        if kept_somewhere {
            continue;
        }
        let Ok(source) = Source::parse(&w.text) else {
            continue;
        };
        let Ok(Targets::Classes(classes)) = targets(&w.req.directive.to_ascii_lowercase(), &source)
        else {
            continue;
        };
        let text = policy_of(&plan);
        let list = parse(&text);
        for r in requests_for(&w.req, origin) {
            if !allows_in(&list, &r, Browser::Csp3) {
                continue;
            }
            let Some(g) = classes
                .iter()
                .find_map(|c| plan.governing(*c, Browser::Csp3))
            else {
                continue; // Nothing restricts it: there was nothing to narrow.
            };
            let by = g
                .tokens
                .iter()
                .find(|t| {
                    Source::parse(t)
                        .is_ok_and(|s| super::cover::covers(std::slice::from_ref(&s), &source))
                })
                .cloned()
                .unwrap_or_else(|| g.tokens.join(" "));
            let key = (w.text.clone(), g.name.clone());
            if said.contains(&key) {
                continue;
            }
            said.push(key);
            diagnostics.push(lint::vendor_still_allowed(
                &w.req.vendor,
                &w.text,
                classes[0].describe(),
                &by,
                &g.name,
                label,
            ));
        }
    }
}

/// The directives at the end of each policy of `policy_list` (policy index, name) that say
/// exactly what the merge would write if it created them from their fallback: `remove` cannot tell such a directive from
/// one it created, and removes it with the vendor when the vendor's sources made it differ
/// (the policy means the same without it).
/// The effective directives of `policy`, nothing marked yet; `shadows` when a later
/// duplicate of the same name exists (browsers ignore it, but dropping this one would let
/// it take effect).
fn dirs_of(policy: &Policy) -> Vec<Dir<'_>> {
    policy
        .directives
        .iter()
        .filter(|d| d.is_effective())
        .map(|d| Dir {
            d,
            out: vec![false; d.sources.len()],
            dropped: false,
            shadows: policy.directives.iter().any(|x| {
                !x.is_effective() && x.name == d.name && x.state != DirectiveState::NonAscii
            }),
        })
        .collect()
}

pub fn look_created(policy_list: &str) -> Vec<(usize, String)> {
    let list = parse(policy_list);
    let mut out = Vec::new();
    for policy in &list.policies {
        let dirs = dirs_of(policy);
        // From the end, while they look created (the created ones are a suffix).
        for i in (0..dirs.len()).rev() {
            let Some(f) = fallback(&dirs, i).filter(|&f| f < i && !dirs[i].shadows) else {
                break;
            };
            let copy = copy_for(&dirs[i].d.name, &dirs[f].kept());
            let kept = dirs[i].kept();
            let all_none = copy.iter().all(|t| t.eq_ignore_ascii_case("'none'"));
            let same = if all_none {
                kept.is_empty() || kept.len() == 1 && kept[0].eq_ignore_ascii_case("'none'")
            } else {
                kept == copy || kept == without_none(&copy)
            };
            if !same {
                break;
            }
            out.push((policy.index, dirs[i].d.name.clone()));
        }
    }
    out
}
