//! Fallback-aware merge of vendor requirements (README, "How the merge decides").
//!
//! For each requirement and each policy of the list, [`super::plan`] decides which directives
//! change; this module turns the result into minimal [`TextEdit`]s on the input: an insertion
//! after the last token of a directive, a `'none'` replaced, a new directive inserted after the
//! last directive of its policy with the policy's own separator. Everything else of the input
//! stays byte for byte.
//!
//! The rules, in short (see `plan.rs` for the why):
//! - a vendor source is needed for request *classes* (`script-src https://x` means script
//!   element loads; `style-src 'unsafe-inline'` inline `<style>` and style attributes;
//!   `child-src` frames and workers; `'unsafe-eval'` eval, checked against script-src only);
//! - each class must allow it in CSP3 browsers and, when possible without side effects, in
//!   browsers that ignore the -elem/-attr directives;
//! - a missing directive is created as a copy of the one it fell back to, plus the source (the
//!   copy keeps the sources that mean something there: no 'unsafe-inline' in a worker-src);
//!   default-src and child-src are never widened; classes that would otherwise start falling
//!   back to a changed directive are pinned to a copy of what governed them;
//! - a requirement under default-src is spread over the fetch directives (never object-src);
//! - form-action, frame-ancestors, base-uri are appended to only when present;
//! - every policy of a comma-separated list is patched on its own; Report-Only policies the
//!   same way (the merge does not know or care about the disposition).

use std::ops::Range;

use super::fxhash::FxHashMap;
use super::Delivery;
use crate::diag::{Diagnostic, Severity};

use super::directives::info;
use super::eval::Browser;
use super::lint;
use super::parse::{parse, DirectiveState, Policy, PolicyList};
use super::plan::{unsafe_inline_effective, Class, PlannedDirective, PolicyPlan};
use super::source::{Keyword, Source};
use super::targets::{targets, Targets, Unusable};

/// One source a vendor needs under one directive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Requirement {
    /// Lower-case directive name: the effective directive the vendor's requests are checked
    /// against (`script-src`, `connect-src`, `frame-src`...).
    pub directive: String,
    /// The source expression, already validated by `source::parse_vendor_source`.
    pub source: String,
    /// Who asked for it (`muserelay`, `--allow`), for messages.
    pub vendor: String,
}

impl Requirement {
    pub fn new(directive: &str, source: &str, vendor: &str) -> Requirement {
        Requirement {
            directive: directive.to_string(),
            source: source.to_string(),
            vendor: vendor.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MergeOptions {
    /// A `<meta>` policy ignores `frame-ancestors`, `report-uri`, `sandbox`: refuse them.
    pub delivery: Delivery,
}

/// A replacement in the merged text's input coordinates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub text: String,
}

/// A source the merge added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Added {
    /// Index of the policy in the comma-separated list.
    pub policy: usize,
    pub directive: String,
    pub source: String,
    /// The directive did not exist and was created (from its fallback's sources).
    pub created: bool,
}

/// A directive created only to keep other request types as they were (a copy of the directive
/// they used to fall back to), e.g. `worker-src` before script-src is widened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pin {
    pub policy: usize,
    pub directive: String,
    /// The directive whose sources were copied.
    pub copied_from: Option<String>,
}

/// A directive the merge created: for a vendor's sources (a copy of the directive it used to
/// fall back to, plus the sources) or as a pin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Created {
    pub policy: usize,
    pub directive: String,
    /// The directive whose sources were copied (`None`: nothing governed it before).
    pub copied_from: Option<String>,
    /// Every source of the new directive, as written.
    pub sources: Vec<String>,
    /// Created only to keep other request types as they were (see [`Pin`]).
    pub pin: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MergeOutcome {
    /// The merged policy list.
    pub text: String,
    /// Edits that turn the input into `text`: sorted, non-overlapping, each as small as it can
    /// be (an insertion after the last source of a directive, a `'none'` replaced, a new
    /// directive inserted after the last one of its policy).
    pub edits: Vec<TextEdit>,
    pub added: Vec<Added>,
    /// Directives created to keep other request types unchanged.
    pub pins: Vec<Pin>,
    /// Every directive created (pins included), in the order they appear in `text`.
    pub created: Vec<Created>,
    /// Lints and refusals (`CSP1xx`); any `Severity::Error` means the site must not be patched.
    pub diagnostics: Vec<Diagnostic>,
    /// Which diagnostic codes each requirement ran into (index into the requirements), for
    /// [`self_check`] and for callers that report per vendor.
    pub caveats: Vec<Caveat>,
}

/// A diagnostic code raised while merging one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Caveat {
    pub requirement: usize,
    pub code: &'static str,
}

impl MergeOutcome {
    /// Whether the diagnostics forbid writing the result.
    pub fn refused(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// The plan of `policy` as it is: its enforced directives, nothing added.
pub(super) fn initial_plan(policy: &Policy) -> PolicyPlan {
    PolicyPlan {
        directives: policy
            .directives
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_effective())
            .map(|(i, d)| PlannedDirective {
                name: d.name.clone(),
                tokens: d.values(),
                existing: Some(i),
                added: Vec::new(),
                copied_from: None,
                pin: false,
            })
            .collect(),
    }
}

/// Merge `requirements` into every policy of `policy_list`.
pub fn merge(
    policy_list: &str,
    requirements: &[Requirement],
    options: &MergeOptions,
) -> MergeOutcome {
    let list = parse(policy_list);
    let lints = lints(&list, requirements, options);
    finish(policy_list, lints, planned(&list, requirements, options))
}

/// The lints of a policy list as written: they may quote any part of it, so they are made from
/// the site's own text even when its plan is shared ([`super::shape`]).
pub(super) fn lints(
    list: &PolicyList,
    requirements: &[Requirement],
    options: &MergeOptions,
) -> Vec<Diagnostic> {
    let mut diagnostics = lint::check(list, options.delivery);
    diagnostics.extend(lint::trusted_types(list, requirements));
    diagnostics
}

/// What the merge decided for a policy list, before its text is made: a pure function of the
/// list's text, the requirements and the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Planned {
    pub edits: Vec<TextEdit>,
    pub added: Vec<Added>,
    pub pins: Vec<Pin>,
    pub created: Vec<Created>,
    /// The requirements' diagnostics, in order (not deduplicated): they name vendors,
    /// sources, directives and policies by number, never a site's own sources.
    pub diagnostics: Vec<Diagnostic>,
    pub caveats: Vec<Caveat>,
}

pub(super) fn planned(
    list: &PolicyList,
    requirements: &[Requirement],
    options: &MergeOptions,
) -> Planned {
    super::plan::reset_memo();
    // A policy browsers drop, or one csppatch cannot read with certainty, is not patched.
    let mut plans: Vec<Option<PolicyPlan>> = list
        .policies
        .iter()
        .map(|p| {
            let unsure = p
                .directives
                .iter()
                .any(|d| d.state == DirectiveState::NonAscii);
            (!p.is_empty() && !unsure).then(|| initial_plan(p))
        })
        .collect();
    let mut added = Vec::new();
    let mut caveats = Vec::new();
    let mut diagnostics = Vec::new();
    for (i, req) in requirements.iter().enumerate() {
        let start = diagnostics.len();
        merge_requirement(list, &mut plans, req, options, &mut added, &mut diagnostics);
        caveats.extend(diagnostics[start..].iter().map(|d| Caveat {
            requirement: i,
            code: d.code,
        }));
    }
    let mut edits = Vec::new();
    let mut pins = Vec::new();
    let mut created = Vec::new();
    for (policy, plan) in list.policies.iter().zip(&plans) {
        if let Some(plan) = plan {
            edits.extend(policy_edits(list, policy, plan));
            created.extend(
                plan.directives
                    .iter()
                    .filter(|d| d.existing.is_none())
                    .map(|d| Created {
                        policy: policy.index,
                        directive: d.name.clone(),
                        copied_from: d.copied_from.clone(),
                        sources: d.tokens.clone(),
                        pin: d.pin,
                    }),
            );
            pins.extend(plan.directives.iter().filter(|d| d.pin).map(|d| Pin {
                policy: policy.index,
                directive: d.name.clone(),
                copied_from: d.copied_from.clone(),
            }));
        }
    }
    Planned {
        edits: coalesce(edits),
        added,
        pins,
        created,
        diagnostics,
        caveats,
    }
}

/// The outcome of `planned` on `policy_list`, with the list's `lints` first (each diagnostic
/// once).
pub(super) fn finish(policy_list: &str, lints: Vec<Diagnostic>, planned: Planned) -> MergeOutcome {
    let mut diagnostics = lints;
    diagnostics.extend(planned.diagnostics);
    let mut seen = Vec::new();
    diagnostics.retain(|d| {
        let key = (d.code, d.message.clone());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    MergeOutcome {
        text: apply(policy_list, &planned.edits),
        edits: planned.edits,
        added: planned.added,
        pins: planned.pins,
        created: planned.created,
        diagnostics,
        caveats: planned.caveats,
    }
}

/// Re-check a merge with the evaluator: every request of every requirement
/// ([`super::eval::requests_for`]) against `outcome.text`, in a CSP3 browser, from a page of
/// `origin` (any `https://…` origin will do when the site's is unknown). Requests that a caveat
/// explains are skipped: a refused requirement, script loads under 'strict-dynamic' (CSP101),
/// 'unsafe-inline' next to a nonce (CSP105). Returns what is still blocked, described; empty
/// means the merge did what it promised, anything else is a csppatch bug.
pub fn self_check(
    outcome: &MergeOutcome,
    requirements: &[Requirement],
    origin: &str,
) -> Vec<String> {
    use super::eval::{allows_in, Check, Destination};
    if outcome.diagnostics.iter().any(|d| d.code == "CSP114") {
        return Vec::new(); // A policy was left alone on purpose.
    }
    let list = parse(&outcome.text);
    let mut blocked = Vec::new();
    for (i, req) in requirements.iter().enumerate() {
        let codes: Vec<&str> = outcome
            .caveats
            .iter()
            .filter(|c| c.requirement == i)
            .map(|c| c.code)
            .collect();
        if ["CSP103", "CSP115", "CSP116", "CSP120", "CSP122"]
            .iter()
            .any(|c| codes.contains(c))
        {
            continue;
        }
        for r in cached_requests(req, origin).iter() {
            let exempt = match &r.check {
                Check::Load {
                    destination: Destination::Script,
                    ..
                } => codes.contains(&"CSP101"),
                Check::Inline(_) => codes.contains(&"CSP105"),
                _ => false,
            };
            if !exempt && !allows_in(&list, r, Browser::Csp3) {
                blocked.push(format!(
                    "`{} {}` for {}: {:?} still blocked",
                    req.directive, req.source, req.vendor, r.check
                ));
            }
        }
    }
    blocked
}

thread_local! {
    /// `requests_for` by requirement and origin: the same few requirements are checked on
    /// every site of a run. The key's fields are kept to rule out a hash collision.
    static REQUESTS: std::cell::RefCell<RequestsMemo> = std::cell::RefCell::new(RequestsMemo::default());
}

/// `requests_for` results: (directive, source, origin) and the requests.
type RequestsMemo = FxHashMap<
    u64,
    (
        (String, String, String),
        std::rc::Rc<[super::eval::Request]>,
    ),
>;

/// [`super::eval::requests_for`], memoized (bounded: a run has a few dozen requirements).
fn cached_requests(req: &Requirement, origin: &str) -> std::rc::Rc<[super::eval::Request]> {
    let key = (req.directive.as_str(), req.source.as_str(), origin);
    let hash = super::fxhash::hash_of(&key);
    let hit = REQUESTS.with(|m| {
        m.borrow()
            .get(&hash)
            .filter(|((d, s, o), _)| (d.as_str(), s.as_str(), o.as_str()) == key)
            .map(|(_, r)| r.clone())
    });
    if let Some(hit) = hit {
        return hit;
    }
    let requests: std::rc::Rc<[super::eval::Request]> =
        super::eval::requests_for(req, origin).into();
    REQUESTS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(
            hash,
            (
                (
                    req.directive.clone(),
                    req.source.clone(),
                    origin.to_string(),
                ),
                requests.clone(),
            ),
        );
    });
    requests
}

thread_local! {
    /// `matches_no_url` by vendor source (it runs the URL parser's host rules, IDNA included,
    /// and a run asks about the same few vendor sources on every site). Bounded.
    static NO_URL: std::cell::RefCell<FxHashMap<Source, Option<String>>> =
        std::cell::RefCell::new(FxHashMap::default());
}

fn matches_no_url_cached(source: &Source) -> Option<String> {
    if let Some(hit) = NO_URL.with(|m| m.borrow().get(source).cloned()) {
        return hit;
    }
    let why = super::source::matches_no_url(source);
    NO_URL.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(source.clone(), why.clone());
    });
    why
}

/// A requirement's source as parsed, and (when it parses) its canonical text and targets.
type Compiled = (
    Result<Source, super::source::SourceError>,
    Option<(String, Result<Targets, Unusable>)>,
);

/// [`compiled`] results: (directive, source) and the answer (shared: a copy of a parsed host
/// and its targets was most of a hit).
type CompiledMemo = FxHashMap<u64, ((String, String), std::rc::Rc<Compiled>)>;

thread_local! {
    /// [`compiled`] by directive and source: a run merges the same few requirements into every
    /// site, and parsed, printed and classified them again on each. Bounded.
    static COMPILED: std::cell::RefCell<CompiledMemo> = std::cell::RefCell::new(CompiledMemo::default());
}

/// `parse_vendor_source`, then `to_string` and `targets` of a requirement, memoized.
fn compiled(directive: &str, source: &str) -> std::rc::Rc<Compiled> {
    let key = (directive, source);
    let hash = super::fxhash::hash_of(&key);
    let hit = COMPILED.with(|m| {
        m.borrow()
            .get(&hash)
            .filter(|((d, s), _)| (d.as_str(), s.as_str()) == key)
            .map(|(_, c)| c.clone())
    });
    if let Some(hit) = hit {
        return hit;
    }
    let parsed = super::source::parse_vendor_source(source, true);
    let rest = parsed
        .as_ref()
        .ok()
        .map(|s| (s.to_string(), targets(directive, s)));
    let value = std::rc::Rc::new((parsed, rest));
    COMPILED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(
            hash,
            ((directive.to_string(), source.to_string()), value.clone()),
        );
    });
    value
}

fn merge_requirement(
    list: &PolicyList,
    plans: &mut [Option<PolicyPlan>],
    req: &Requirement,
    options: &MergeOptions,
    added: &mut Vec<Added>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let directive = req.directive.trim().to_ascii_lowercase();
    let vendor = req.vendor.as_str();
    // As strict as the vendor presets (unquoted keywords, stray quotes); whether http:/ws:
    // may be used was decided when the requirement was made.
    let compiled = compiled(&directive, req.source.trim());
    let (parsed, compiled) = &*compiled;
    let source = match parsed {
        Ok(s) => s,
        Err(e) => {
            diagnostics.push(lint::invalid_requirement(
                vendor,
                &directive,
                &req.source,
                &e.reason,
            ));
            return;
        }
    };
    // Valid by the grammar, but browsers rewrite it into a source that matches no URL (the
    // callers refuse it first with E060; a library caller gets the refusal here).
    if let Some(why) = matches_no_url_cached(source) {
        diagnostics.push(lint::invalid_requirement(
            vendor,
            &directive,
            &req.source,
            &why,
        ));
        return;
    }
    // Keywords in their canonical lower case; hosts as the vendor wrote them.
    let (text, targets) = compiled.as_ref().expect("compiled with the source");
    if options.delivery == Delivery::Meta && info(&directive).is_some_and(|i| i.meta_ignored) {
        diagnostics.push(lint::meta_ignored_needed(vendor, &directive));
        return;
    }
    let targets = match targets {
        Ok(t) => t,
        Err(why) => {
            diagnostics.push(match why {
                Unusable::UnknownDirective => {
                    lint::invalid_requirement(vendor, &directive, text, "no such directive")
                }
                Unusable::NotSourceList => lint::invalid_requirement(
                    vendor,
                    &directive,
                    text,
                    "this directive does not take a source list",
                ),
                Unusable::Deprecated(instead) => lint::invalid_requirement(
                    vendor,
                    &directive,
                    text,
                    &format!("the directive is deprecated; use {instead}"),
                ),
                Unusable::Refused(why) => lint::invalid_requirement(vendor, &directive, text, why),
                Unusable::NoEffect(why) => lint::no_effect(vendor, &directive, text, why),
            });
            return;
        }
    };
    if directive == "default-src" {
        diagnostics.push(lint::default_src_expanded(vendor, text));
    }
    for (policy, plan) in list.policies.iter().zip(plans.iter_mut()) {
        let Some(plan) = plan else { continue };
        let before = Snapshot::of(plan);
        let label = lint::policy_label(list, policy);
        let ok = match &targets {
            Targets::NoFallback(name) => {
                plan.append_no_fallback(name, source, text);
                true
            }
            Targets::Classes(classes) => apply_classes(
                plan,
                &label,
                vendor,
                &directive,
                source,
                text,
                classes,
                diagnostics,
            ),
        };
        if !ok {
            before.restore(plan);
            continue;
        }
        let mut any = false;
        for (i, d) in plan.directives.iter().enumerate() {
            let old = before.added_len(i);
            for s in &d.added[old..] {
                any = true;
                added.push(Added {
                    policy: policy.index,
                    directive: d.name.clone(),
                    source: s.clone(),
                    created: d.existing.is_none(),
                });
            }
        }
        if let Targets::Classes(classes) = &targets {
            if any && classes.iter().any(|c| c.is_script()) && risky_for_scripts(source) {
                diagnostics.push(lint::risky_script_source(vendor, text, &directive));
            }
            let script_load = Class::Load(super::eval::Destination::Script);
            if source.matches_urls() && classes.contains(&script_load) {
                // In any browser generation: without -elem support, script-src decides.
                let strict = Browser::ALL.iter().find_map(|&b| {
                    plan.governing(script_load, b).filter(|g| {
                        g.tokens
                            .iter()
                            .any(|t| t.eq_ignore_ascii_case("'strict-dynamic'"))
                    })
                });
                if let Some(g) = strict {
                    diagnostics.push(lint::strict_dynamic(vendor, text, &g.name, &label));
                }
            }
        }
    }
}

/// What `restore` needs to put a plan back as it was before one requirement: the plan only
/// grows (directives appended, sources appended to a directive, its `'none'` dropped), so
/// lengths do, except for a directive holding `'none'`, whose tokens are kept. (A clone of the
/// whole plan per requirement and policy was a tenth of the merge.)
struct Snapshot {
    directives: usize,
    /// Per directive: tokens and additions before, and the tokens themselves when a `'none'`
    /// among them would be dropped by an addition.
    lens: Vec<(usize, usize, Option<Vec<String>>)>,
}

impl Snapshot {
    fn of(plan: &PolicyPlan) -> Snapshot {
        Snapshot {
            directives: plan.directives.len(),
            lens: plan
                .directives
                .iter()
                .map(|d| {
                    let nones = d.tokens.iter().any(|t| t.eq_ignore_ascii_case("'none'"));
                    (
                        d.tokens.len(),
                        d.added.len(),
                        nones.then(|| d.tokens.clone()),
                    )
                })
                .collect(),
        }
    }

    fn restore(self, plan: &mut PolicyPlan) {
        plan.directives.truncate(self.directives);
        for (d, (tokens, added, saved)) in plan.directives.iter_mut().zip(self.lens) {
            match saved {
                Some(t) => d.tokens = t,
                None => d.tokens.truncate(tokens),
            }
            d.added.truncate(added);
        }
    }

    /// Sources added to directive `i` before (0 for a directive created since).
    fn added_len(&self, i: usize) -> usize {
        self.lens.get(i).map_or(0, |l| l.1)
    }
}

fn risky_for_scripts(source: &Source) -> bool {
    match source {
        Source::Keyword(k) => matches!(k, Keyword::UnsafeInline | Keyword::UnsafeEval),
        Source::Scheme(s) => ["http", "https", "data"]
            .iter()
            .any(|x| s.eq_ignore_ascii_case(x)),
        Source::Host(h) => h.host == "*",
        _ => false,
    }
}

/// Make every class of `classes` allow `source` in one policy. `false`: the requirement is
/// refused for this policy (the caller restores the plan).
#[allow(clippy::too_many_arguments)]
fn apply_classes(
    plan: &mut PolicyPlan,
    label: &str,
    vendor: &str,
    directive: &str,
    source: &Source,
    text: &str,
    classes: &[Class],
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    // Classes where 'unsafe-inline' would be ignored, by the directive that decides them.
    let mut ineffective: Vec<(String, Vec<Class>)> = Vec::new();
    for &class in classes {
        for browser in Browser::ALL {
            let Some(g) = plan.governing(class, browser) else {
                continue;
            };
            if source.keyword() == Some(Keyword::UnsafeInline) {
                let mut with = g.tokens.clone();
                with.push(text.to_string());
                if !unsafe_inline_effective(&with, class) {
                    match ineffective.iter_mut().find(|(name, _)| *name == g.name) {
                        Some((_, list)) if !list.contains(&class) => list.push(class),
                        Some(_) => {}
                        None => ineffective.push((g.name.clone(), vec![class])),
                    }
                    continue;
                }
            }
            if source.is_nonce_or_hash() && unsafe_inline_effective(&g.tokens, class) {
                diagnostics.push(lint::hash_disables_unsafe_inline(
                    vendor, text, &g.name, label,
                ));
                return false;
            }
            if plan.ensure(class, browser, source, text, classes).is_err() {
                if browser == Browser::Csp3 {
                    diagnostics.push(lint::impossible(vendor, text, directive, label));
                    return false;
                }
                let through = plan
                    .governing(class, Browser::Csp3)
                    .map_or(directive.to_string(), |d| d.name.clone());
                diagnostics.push(lint::legacy_blocked(vendor, text, &through, label));
            }
        }
    }
    for (name, blocked) in ineffective {
        let what: Vec<&str> = blocked.iter().map(|c| c.describe()).collect();
        diagnostics.push(lint::unsafe_inline_ineffective(
            vendor,
            &name,
            label,
            &what.join(", "),
        ));
    }
    true
}

/// The separator the policy uses between directives (`"; "` when it cannot tell).
pub fn separator(text: &str, policy: &Policy) -> String {
    let n = policy.directives.len();
    if n >= 2 {
        let between = &text[policy.directives[n - 2].span.end..policy.directives[n - 1].span.start];
        let semicolons = between.bytes().filter(|b| *b == b';').count();
        if semicolons == 1
            && between
                .bytes()
                .all(|b| b == b';' || super::parse::is_ascii_whitespace(b))
        {
            return between.to_string();
        }
    }
    "; ".to_string()
}

fn policy_edits(list: &PolicyList, policy: &Policy, plan: &PolicyPlan) -> Vec<TextEdit> {
    let text = &list.text;
    let mut edits = Vec::new();
    for planned in &plan.directives {
        let Some(i) = planned.existing else { continue };
        if planned.added.is_empty() {
            continue;
        }
        let d = &policy.directives[i];
        let joined = planned.added.join(" ");
        let nones: Vec<usize> = (0..d.sources.len())
            .filter(|&k| d.sources[k].is_none_keyword())
            .collect();
        if let Some(&first) = nones.first() {
            edits.push(TextEdit {
                range: d.sources[first].span.clone(),
                text: joined,
            });
            for &k in &nones[1..] {
                // Delete the token with the whitespace before it.
                edits.push(TextEdit {
                    range: d.sources[k - 1].span.end..d.sources[k].span.end,
                    text: String::new(),
                });
            }
        } else {
            let at = d.sources.last().map_or(d.name_span.end, |t| t.span.end);
            edits.push(TextEdit {
                range: at..at,
                text: format!(" {joined}"),
            });
        }
    }
    let created: Vec<&PlannedDirective> = plan
        .directives
        .iter()
        .filter(|d| d.existing.is_none())
        .collect();
    if let (false, Some(last)) = (created.is_empty(), policy.directives.last()) {
        let sep = separator(text, policy);
        let mut insert = String::new();
        for d in created {
            insert.push_str(&sep);
            insert.push_str(&d.name);
            for t in &d.tokens {
                insert.push(' ');
                insert.push_str(t);
            }
        }
        edits.push(TextEdit {
            range: last.span.end..last.span.end,
            text: insert,
        });
    }
    edits
}

/// Sort edits and join the ones that touch (an insertion right after a replacement, two
/// insertions at one point), keeping their order, so the result never overlaps.
fn coalesce(mut edits: Vec<TextEdit>) -> Vec<TextEdit> {
    // Stable: same-position insertions keep the order they were made in (sources first).
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out: Vec<TextEdit> = Vec::new();
    for e in edits {
        if let Some(last) = out.last_mut() {
            if e.range.start == last.range.end && (e.range.is_empty() || last.range.is_empty()) {
                last.range.end = e.range.end;
                last.text.push_str(&e.text);
                continue;
            }
        }
        out.push(e);
    }
    out
}

/// Apply sorted, non-overlapping edits to `text`.
pub fn apply(text: &str, edits: &[TextEdit]) -> String {
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn a_restored_plan_is_the_plan_before_the_requirement() {
        // A 'none' that an addition drops, sources appended, a directive created and pins.
        let list = parse("form-action 'none'; default-src 'self'; script-src 'self' 'none'");
        let mut plan = initial_plan(&list.policies[0]);
        let before = format!("{plan:?}");
        let snapshot = Snapshot::of(&plan);
        let vendor = Source::parse("https://x.example").unwrap();
        assert!(plan.append_no_fallback("form-action", &vendor, "https://x.example"));
        let classes = [Class::Load(super::super::eval::Destination::Script)];
        for browser in Browser::ALL {
            plan.ensure(classes[0], browser, &vendor, "https://x.example", &classes)
                .unwrap();
        }
        let connect = Class::Load(super::super::eval::Destination::Connect);
        plan.ensure(
            connect,
            Browser::Csp3,
            &vendor,
            "https://x.example",
            &[connect],
        )
        .unwrap();
        assert!(plan.directives.len() > 3, "{plan:?}");
        assert_ne!(format!("{plan:?}"), before);
        assert_eq!(snapshot.added_len(0), 0);
        snapshot.restore(&mut plan);
        assert_eq!(format!("{plan:?}"), before);
    }
}
