//! From a merge's text edits to byte splices in the file, and the proof that they are right.
//!
//! Three ways to write a site's change, tried in order until the patched file reads back as
//! the merged policy:
//! 1. layout: each edit spliced in place, and a new directive placed the way the value lays
//!    out its directives (an Apache continuation line, a PHP concatenated literal, a line of
//!    a multi-line meta), by copying the raw bytes the value already uses between directives;
//! 2. fragments: each edit spliced in place on the line where it falls;
//! 3. whole: the value re-encoded by the dialect, on one logical line.

use crate::csp::{self, MergeOutcome};
use crate::dialect::Dialect;
use crate::edit::{self, Splice};
use crate::scan::ScannedFile;
use crate::site::{FileScan, Site};

mod place;

/// Which site of a file: a directly set value, or a value bound to a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SiteRef {
    Direct(usize),
    Binding(usize),
}

/// A site and what the merge made of it.
pub struct SitePatch<'a> {
    pub which: SiteRef,
    pub site: &'a Site,
    pub outcome: &'a MergeOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Layout,
    Fragments,
    Whole,
}

/// Why a site cannot be written at all (not a matter of layout).
#[derive(Debug)]
pub enum Failure {
    /// Site `site` (index into the planned sites) cannot be patched as asked (a change inside
    /// a variable, a value too long).
    Refused { site: usize, reason: String },
    /// No strategy produced a file that reads back as merged: a csppatch bug.
    SelfCheck(String),
}

/// The file's new bytes with every planned site patched, and the file read back from them.
pub fn patch_file(
    file: &ScannedFile,
    planned: &[SitePatch],
) -> Result<(Vec<u8>, FileScan), Failure> {
    let mut variants: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for p in planned.iter().flat_map(|p| &p.site.value.pieces) {
        if p.variant {
            let lines = variants.entry(p.name.as_str()).or_default();
            if !lines.contains(&p.origin.as_str()) {
                lines.push(p.origin.as_str());
            }
        }
    }
    let first = match patch_with(file, planned, false) {
        Err(e) if !variants.is_empty() => e,
        done => return done,
    };
    // The variants of a header (README, "Values built from variables") share the header's
    // own literal: when their changes there differ (a new directive copying a source list
    // each variant has its own), each change goes around the reference to the variable
    // instead, and a copy of its value is written as the variable again.
    patch_with(file, planned, true).map_err(|_| match first {
        Failure::Refused { reason, .. }
            if !reason.starts_with(WHOLE_REFUSAL) && !reason.starts_with(VARIANT_REFUSAL) =>
        {
            Failure::Refused {
                site: variant_site(planned),
                reason,
            }
        }
        _ => {
            let names: Vec<String> = variants
                .iter()
                .map(|(name, origins)| format!("`{name}` ({})", origins.join("; ")))
                .collect();
            Failure::Refused {
                site: variant_site(planned),
                reason: format!(
                    "the values of {} each make a policy browsers receive for some requests, \
                     and their changes cannot be written so that every one reads back as its \
                     merge (they need different text where the variants share it, or one would \
                     change a variant that needs nothing): make it by hand",
                    names.join(", ")
                ),
            }
        }
    })
}

/// Is the site one variant of a header built from a variable with several values (nginx's
/// `set` in `if`, `map`)? Its variants share the header's literal and each has its own value
/// literal; PHP's variants (the same span, writes that run on some requests) have no such flag.
fn of_variable(p: &SitePatch) -> bool {
    p.site.value.pieces.iter().any(|x| x.variant)
}

/// The first planned site that is a variant, for a refusal about variants.
fn variant_site(planned: &[SitePatch]) -> usize {
    planned
        .iter()
        .position(|p| p.site.value.pieces.iter().any(|x| x.variant))
        .unwrap_or(0)
}

/// How the refusal starts when no strategy could write a value built from variables.
const WHOLE_REFUSAL: &str = "the change cannot be written into the literals";

/// How the refusal starts when a header's variants need changes that conflict.
const VARIANT_REFUSAL: &str = "the value differs between requests";

/// [`patch_file`]; `around`: no change goes into a literal that is one of several values of
/// a variable.
fn patch_with(
    file: &ScannedFile,
    planned: &[SitePatch],
    around: bool,
) -> Result<(Vec<u8>, FileScan), Failure> {
    let finder = crate::template::dialect(file.dialect, file.template.as_ref());
    let dialect: &dyn Dialect = &finder;
    let mut last = String::new();
    for strategy in [Strategy::Layout, Strategy::Fragments, Strategy::Whole] {
        let mut splices = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (k, p) in planned.iter().enumerate() {
            // PHP's variants (writes on some requests) are patched together here; nginx's
            // (values of a variable) by the `around` retry of `patch_file`.
            let later_variant =
                !of_variable(p) && planned[..k].iter().any(|q| q.site.span == p.site.span);
            if later_variant && alike(dialect, file, &splices, p) {
                continue;
            }
            // A header's variants are built from literals: never rewritten whole.
            let strategy = match strategy {
                Strategy::Whole if variants(planned, p).next().is_some() => Strategy::Fragments,
                s => s,
            };
            let s = splices_for(dialect, p.site, &file.src, p.outcome, strategy, around)
                .map_err(|reason| Failure::Refused { site: k, reason })?;
            let s = if around {
                // The variants' merges may space the same text differently (` ; ` after a
                // reference that is empty in one): one splice of each, the shortest.
                let mut rest = Vec::new();
                for x in s {
                    match splices.iter().position(|e: &Splice| same_splice(e, &x)) {
                        Some(i) if x.bytes.len() < splices[i].bytes.len() => splices[i] = x,
                        Some(_) => {}
                        None => rest.push(x),
                    }
                }
                rest
            } else {
                s
            };
            if later_variant {
                // Its new directives where an earlier variant already adds its own: often
                // the same ones, and then not written twice.
                let fewer: Vec<Splice> = s
                    .iter()
                    .filter(|x| !(x.range.is_empty() && splices.iter().any(|y| y.range == x.range)))
                    .cloned()
                    .collect();
                if fewer.len() < s.len() {
                    let mut with = splices.clone();
                    with.extend(fewer.iter().cloned());
                    if alike(dialect, file, &with, p) {
                        place::extend(&mut splices, &mut seen, fewer);
                        continue;
                    }
                }
            }
            place::extend(&mut splices, &mut seen, s);
        }
        let new = edit::apply(&file.src, &splices).map_err(Failure::SelfCheck)?;
        match read_back(file, &new, planned, around) {
            Ok(after) => {
                for (k, p) in planned.iter().enumerate() {
                    if let Some(reason) = literal_copy(p, site_of(&after, p.which)) {
                        return Err(Failure::Refused { site: k, reason });
                    }
                }
                return Ok((new, after));
            }
            Err(e) => last = e,
        }
    }
    // A header's variants (sites of one span, a dialect's value on different requests) are
    // patched together; when no way of writing their changes gives each variant its merged
    // policy, the changes they need conflict (one variant's new directive would shadow
    // another's own): that is a refusal, not a csppatch bug.
    if let Some(k) = planned.iter().position(|p| {
        variants(planned, p).next().is_some() || !unplanned_variants(file, planned, p).is_empty()
    }) {
        let contexts: Vec<&str> = std::iter::once(planned[k].site)
            .chain(variants(planned, &planned[k]).map(|q| q.site))
            .map(|s| s.context.as_str())
            .collect();
        return Err(Failure::Refused {
            site: k,
            reason: format!(
                "{VARIANT_REFUSAL} ({}), and the changes the vendor needs in one cannot be \
                 written without changing what another enforces ({last}): make them by hand",
                contexts.join("; ")
            ),
        });
    }
    Err(Failure::SelfCheck(last))
}

/// Does a variant of a header get its merged policy (as browsers enforce it) from `splices`,
/// the changes made for the variants before it and maybe some of its own? Then it needs no
/// more: a copy of a new directive would only repeat the one they add.
fn alike(dialect: &dyn Dialect, file: &ScannedFile, splices: &[Splice], p: &SitePatch) -> bool {
    if splices.is_empty() {
        return false;
    }
    let Ok(new) = edit::apply(&file.src, splices) else {
        return false;
    };
    dialect.find_sites(&file.path, &new).is_ok_and(|scan| {
        let same_count = file.scan.as_ref().is_ok_and(|b| {
            b.sites.len() == scan.sites.len() && b.bindings.len() == scan.bindings.len()
        });
        same_count && same_effect(&site_of(&scan, p.which).value.text, &p.outcome.text)
    })
}

/// The sites of the file that are variants of `p` but need no change (their policy already
/// allows the vendor): by index into the file's sites.
fn unplanned_variants(file: &ScannedFile, planned: &[SitePatch], p: &SitePatch) -> Vec<usize> {
    let Ok(before) = file.scan.as_ref() else {
        return Vec::new();
    };
    (0..before.sites.len())
        .filter(|&i| before.sites[i].span == p.site.span)
        .filter(|&i| !planned.iter().any(|q| q.which == SiteRef::Direct(i)))
        .collect()
}

/// The other planned sites that are variants of `p` (the same span: one header's value on
/// other requests).
fn variants<'a>(
    planned: &'a [SitePatch<'a>],
    p: &'a SitePatch<'a>,
) -> impl Iterator<Item = &'a SitePatch<'a>> {
    planned
        .iter()
        .filter(move |q| q.which != p.which && q.site.span == p.site.span)
}

/// Do browsers enforce `a` and `b` alike? Per policy, the same effective directives (the
/// first of each name) with the same sources, in any order. A header's variants are patched
/// together, so one variant may also hold a directive another needed, where an identical one
/// already is (the later one is ignored).
fn same_effect(a: &str, b: &str) -> bool {
    let key = |text: &str| -> Vec<Vec<(String, Vec<String>)>> {
        csp::parse::parse(text)
            .policies
            .iter()
            .map(|p| {
                let mut ds: Vec<(String, Vec<String>)> = p
                    .directives
                    .iter()
                    .filter(|d| d.is_effective())
                    .map(|d| {
                        let mut v = d.values();
                        v.sort();
                        (d.name.clone(), v)
                    })
                    .collect();
                ds.sort();
                ds
            })
            .collect()
    };
    key(a) == key(b)
}

fn splices_for(
    dialect: &dyn Dialect,
    site: &Site,
    src: &[u8],
    outcome: &MergeOutcome,
    strategy: Strategy,
    around: bool,
) -> Result<Vec<Splice>, String> {
    if site.repaired.is_none() && strategy != Strategy::Whole {
        let pieces = !site.value.pieces.is_empty();
        let layout = if strategy == Strategy::Layout && !pieces {
            LineLayout::of(site, src)
        } else {
            None
        };
        let refusal = |e: &csp::TextEdit| {
            if let Some(why) = site.value.substituted_conflict(e) {
                return Err(why);
            }
            if site.value.touches_opaque(e.range.clone()) {
                return Err(format!(
                    "the change to `{}` falls inside a part only known at request time",
                    &site.value.text[e.range.clone()]
                ));
            }
            Ok(())
        };
        if pieces {
            let mut out = Vec::with_capacity(outcome.edits.len());
            let mut done = 0;
            for e in &outcome.edits {
                refusal(e)?;
                match place::splice(dialect, site, src, e, around, &outcome.created)? {
                    Some(s) => out.extend(s),
                    None => break,
                }
                done += 1;
            }
            if done == outcome.edits.len() {
                return Ok(out);
            }
        } else {
            // The edits up to the first that is refused or has no place in the file; that
            // first one's refusal is only given once every edit before it is written, as one
            // edit at a time would find it.
            let mut placed = Vec::with_capacity(outcome.edits.len());
            let mut stop = None;
            for e in &outcome.edits {
                if let Err(why) = refusal(e) {
                    stop = Some(Err(why));
                    break;
                }
                match site
                    .value
                    .raw_range(e.range.clone())
                    .or_else(|| deletion_span(site, e))
                {
                    Some(raw) => placed.push((raw, e)),
                    None => {
                        stop = Some(Ok(()));
                        break;
                    }
                }
            }
            let laid_out = |e: &csp::TextEdit| {
                layout
                    .as_ref()
                    .filter(|l| e.range.is_empty() && e.text.contains(&l.separator))
            };
            let encoded: Option<Vec<Vec<u8>>> = if placed.iter().any(|(_, e)| laid_out(e).is_some())
            {
                placed
                    .iter()
                    .map(|(raw, e)| match laid_out(e) {
                        Some(l) => l.encode(dialect, site, src, raw.start, &e.text),
                        None => dialect.encode_fragment(site, src, raw.start, &e.text),
                    })
                    .collect()
            } else {
                dialect.encode_fragments(site, src, &placed)
            };
            if let Some(encoded) = encoded {
                match stop {
                    Some(Err(why)) => return Err(why),
                    Some(Ok(())) => {}
                    None => {
                        return Ok(placed
                            .into_iter()
                            .zip(encoded)
                            .map(|((range, _), bytes)| Splice { range, bytes })
                            .collect())
                    }
                }
            }
        }
    }
    if !site.value.pieces.is_empty() {
        // Re-encoding the whole value would write the variables' text into the header.
        return Err(format!(
            "{WHOLE_REFUSAL} the value is built from ({}): make it by hand",
            {
                let mut names: Vec<String> =
                    site.value.pieces.iter().map(|p| p.describe()).collect();
                names.dedup();
                names.sort();
                names.dedup();
                names.join(", ")
            }
        ));
    }
    let bytes = dialect.encode_value(site, src, &outcome.text)?;
    Ok(vec![Splice {
        range: site.span.clone(),
        bytes,
    }])
}

/// A deletion (`csppatch remove`) whose text spans a line continuation or a concatenation:
/// the file bytes from its first character to its last, syntax between them included. What
/// stays joins into well-formed syntax (the end of one literal, the rest of the next: the
/// merge inserted those bytes that way); the read-back proves it, or the next strategy runs.
fn deletion_span(site: &Site, e: &csp::TextEdit) -> Option<std::ops::Range<usize>> {
    if !e.text.is_empty() || e.range.is_empty() || site.value.touches_opaque(e.range.clone()) {
        return None;
    }
    let first = site.value.raw(e.range.start)?;
    let last = site.value.raw(e.range.end - 1)?;
    (first.start <= last.end).then_some(first.start..last.end)
}

/// How a multi-line value separates its directives: the decoded separator the merge uses,
/// and the raw bytes that produce it (`; \<LF>    ` in Apache, `; " .<LF>    "` in PHP).
struct LineLayout {
    separator: String,
    raw: Vec<u8>,
}

impl LineLayout {
    fn of(site: &Site, src: &[u8]) -> Option<LineLayout> {
        let text = &site.value.text;
        let list = csp::parse::parse(text);
        // One layout per value: the last policy's last two directives show it.
        let policy = list.policies.last()?;
        let n = policy.directives.len();
        if n < 2 {
            return None;
        }
        let gap = policy.directives[n - 2].span.end..policy.directives[n - 1].span.start;
        let start = site.value.raw(gap.start)?.start;
        let end = site.value.raw(gap.end)?.start;
        let raw = src.get(start..end)?.to_vec();
        if !raw.contains(&b'\n') || site.value.touches_opaque(gap.clone()) {
            return None;
        }
        Some(LineLayout {
            separator: csp::merge::separator(text, policy),
            raw,
        })
    }

    /// `text` (appended sources, then directives joined by the separator) with each separator
    /// written as the value's own raw separator.
    fn encode(
        &self,
        dialect: &dyn Dialect,
        site: &Site,
        src: &[u8],
        at: usize,
        text: &str,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for (i, piece) in text.split(self.separator.as_str()).enumerate() {
            if i > 0 {
                out.extend_from_slice(&self.raw);
            }
            if !piece.is_empty() {
                out.extend(dialect.encode_fragment(site, src, at, piece)?);
            }
        }
        Some(out)
    }
}

/// The literals of a value built from variables that differ between `before` and `after`
/// (the same site read before and after patching): `(file offset before, variable, old
/// text, new text)`, in file order.
pub fn changed_literals(
    before: &Site,
    after: &Site,
) -> Vec<(usize, Option<String>, String, String)> {
    let (b, a) = (&before.value, &after.value);
    if b.pieces.is_empty() || b.pieces.len() > a.pieces.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let own = |d: &crate::site::Decoded| d.level_value(None).text.clone();
    if own(b) != own(a) {
        out.push((before.span.start, None, own(b), own(a)));
    }
    // A copied source may refer to a variable the header did not (`http://${main_domain}`):
    // the pieces after hold those references too, each matched here to the one before of the
    // same literal, in order (no line is added, so a literal's line says which it is).
    let mut later = a.pieces.iter();
    let mut pairs = Vec::with_capacity(b.pieces.len());
    for pb in &b.pieces {
        let Some(pa) = later.find(|pa| pa.name == pb.name && pa.origin == pb.origin) else {
            return Vec::new();
        };
        pairs.push((pb, pa));
    }
    let mut seen = Vec::new();
    for (pb, pa) in pairs {
        if pb.alone.text != pa.alone.text && !seen.contains(&pb.span.start) {
            seen.push(pb.span.start);
            out.push((
                pb.span.start,
                Some(pb.name.clone()),
                pb.alone.text.clone(),
                pa.alone.text.clone(),
            ));
        }
    }
    out.sort_by_key(|l| l.0);
    out
}

pub fn site_of(scan: &FileScan, which: SiteRef) -> &Site {
    match which {
        SiteRef::Direct(i) => &scan.sites[i],
        SiteRef::Binding(i) => &scan.bindings[i],
    }
}

/// A directive the merge creates as a copy of another (`worker-src` pinned to what
/// `script-src` allowed, `script-src` from `default-src`) copies its sources, and a source
/// may hold a part only known at request time (`'nonce-" . $nonce . "'` in PHP, `{{ nonce }}`
/// in a template, `%{UNIQUE_ID}e` in Apache). The merge sees only that part's stand-in text.
/// Where the dialect writes the copy back as a run-time part again (an nginx `$variable`
/// inside a quoted string) the copy is right; where the stand-in can only be written as
/// literal text (escaped: `\$nonce`, `&#123;&#123;`, `%%{...}`) the server would send that
/// text, and the copied nonce no longer matches: the site's own nonce'd scripts, which the
/// old directive allowed, would be blocked by the new one. Such a site is refused.
fn literal_copy(p: &SitePatch, after: &Site) -> Option<String> {
    let before = &p.site.value;
    if before.opaque.is_empty() || p.site.repaired.is_some() {
        return None;
    }
    let old = csp::parse::parse(&before.text);
    let new = csp::parse::parse(&after.value.text);
    for c in &p.outcome.created {
        let Some(from) = &c.copied_from else { continue };
        let effective = |list: &'_ csp::parse::PolicyList, name: &str| {
            list.policies.get(c.policy).and_then(|policy| {
                policy
                    .directives
                    .iter()
                    .find(|d| d.is_effective() && d.name == name)
                    .cloned()
            })
        };
        let (Some(source), Some(copy)) = (effective(&old, from), effective(&new, &c.directive))
        else {
            continue;
        };
        let run_time: Vec<&str> = source
            .sources
            .iter()
            .filter(|t| before.touches_opaque(t.span.clone()))
            .map(|t| t.text.as_str())
            .collect();
        let literal = copy.sources.iter().find(|t| {
            run_time.contains(&t.text.as_str()) && !after.value.touches_opaque(t.span.clone())
        });
        if let Some(t) = literal {
            return Some(format!(
                "the new `{dir}` would copy `{}` from `{}`: that part is only known at request \
                 time and can only be written here as literal text, which would not match what \
                 `{from}` allows; add `{dir}` by hand with the same run-time part, then run \
                 csppatch again",
                t.text,
                &before.text[source.span.clone()],
                dir = c.directive,
            ));
        }
    }
    None
}

/// Two splices at the same place writing the same tokens.
fn same_splice(a: &Splice, b: &Splice) -> bool {
    let words = |s: &Splice| {
        String::from_utf8_lossy(&s.bytes)
            .replace(';', " ; ")
            .split_ascii_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    a.range == b.range && words(a) == words(b)
}

/// A policy's directives as their white-space separated tokens.
fn tokens(policy: &str) -> Vec<Vec<&str>> {
    policy
        .split(';')
        .map(|d| d.split_ascii_whitespace().collect())
        .collect()
}

/// Read the patched bytes back with the same dialect: every patched site must now decode to
/// exactly the merged policy, and the file must hold the same sites as before.
fn read_back(
    file: &ScannedFile,
    new: &[u8],
    planned: &[SitePatch],
    around: bool,
) -> Result<FileScan, String> {
    let before = file.scan.as_ref().map_err(|d| d.message.clone())?;
    let after = crate::template::dialect(file.dialect, file.template.as_ref())
        .find_sites(&file.path, new)
        .map_err(|d| d.message)?;
    if after.sites.len() != before.sites.len() || after.bindings.len() != before.bindings.len() {
        return Err(format!(
            "{} sites before, {} after",
            before.sites.len() + before.bindings.len(),
            after.sites.len() + after.bindings.len()
        ));
    }
    for p in planned {
        let site = site_of(&after, p.which);
        // Around the references of a variable with several values, the white space next to a
        // reference that is empty in one variant cannot be the merge's in every variant: the
        // same policy, token for token, is what is proved then. A header's variants patched
        // together may each hold a directive another needed (README "Values built from
        // variables"): the same effective policy is what is proved.
        let same = site.value.text == p.outcome.text
            || (around && tokens(&site.value.text) == tokens(&p.outcome.text))
            || (!of_variable(p)
                && variants(planned, p).next().is_some()
                && same_effect(&site.value.text, &p.outcome.text));
        if !same {
            return Err(format!(
                "expected `{}`, read back `{}`",
                p.outcome.text, site.value.text
            ));
        }
        if site.repaired.is_some() {
            return Err("the rewritten value still needs repair".into());
        }
        // A variant that needed nothing must keep enforcing what it did.
        for i in unplanned_variants(file, planned, p) {
            let (old, new) = (&before.sites[i].value.text, &after.sites[i].value.text);
            if !same_effect(old, new) {
                return Err(format!(
                    "the policy sent {} would change too: `{old}` would become `{new}`",
                    before.sites[i].context
                ));
            }
        }
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::{read_back, same_effect, SitePatch, SiteRef};
    use crate::csp::MergeOutcome;
    use crate::dialect::DialectKind;
    use crate::scan::ScannedFile;

    /// An nginx file with one CSP, as the scan gives it.
    fn scanned(src: &[u8]) -> ScannedFile {
        let path = std::path::PathBuf::from("site.conf");
        ScannedFile {
            scan: DialectKind::Nginx.dialect().find(&path, src),
            path: path.clone(),
            target: path,
            dialect: DialectKind::Nginx,
            template: None,
            src: src.into(),
            included: Vec::new(),
            in_scope: true,
            is_root: false,
            links: 1,
            roots: Vec::new(),
            relevant: true,
        }
    }

    /// The read-back is what proves a patched file sends the merged policy: a value that
    /// reads back as anything else is refused, and one that reads back as it is taken.
    #[test]
    fn a_patched_value_must_read_back_as_its_merge() {
        let file = scanned(
            b"server {\n    add_header Content-Security-Policy \"script-src 'self'\";\n}\n",
        );
        let site = &file.scan.as_ref().unwrap().sites[0];
        let outcome = MergeOutcome {
            text: "script-src 'self' https://w.example".into(),
            ..Default::default()
        };
        let planned = [SitePatch {
            which: SiteRef::Direct(0),
            site,
            outcome: &outcome,
        }];
        let good = b"server {\n    add_header Content-Security-Policy \"script-src 'self' https://w.example\";\n}\n";
        let after = read_back(&file, good, &planned, false).unwrap();
        assert_eq!(after.sites[0].value.text, outcome.text);
        // One byte off (an escape nginx sends as it is), a source missing, a site lost.
        for bad in [
            &b"server {\n    add_header Content-Security-Policy \"script-src 'self' https://w.exampl\\e\";\n}\n"[..],
            b"server {\n    add_header Content-Security-Policy \"script-src 'self'\";\n}\n",
            b"server {\n    add_header X-Csp \"script-src 'self' https://w.example\";\n}\n",
        ] {
            let err = read_back(&file, bad, &planned, false).unwrap_err();
            assert!(
                err.starts_with("expected `script-src 'self' https://w.example`, read back")
                    || err == "1 sites before, 0 after",
                "{err}"
            );
        }
    }

    #[test]
    fn policies_alike_when_their_first_directives_of_each_name_match() {
        assert!(same_effect("a 'self'; b x y; a z", "b y x; a 'self'"));
        assert!(same_effect("a x; b y; a x", "a x; b y"));
        assert!(
            !same_effect("a 'self' w; a p w", "a p w"),
            "the first of a name wins"
        );
        assert!(!same_effect("a x, b y", "a x; b y"), "policy by policy");
    }
}
