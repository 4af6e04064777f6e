//! One merge for policies that differ only in hosts no vendor source is about (README, "How a
//! run spends its cores").
//!
//! A fleet's policies are mostly one template with a host of each site's own in it
//! (`script-src 'self' https://static.site1.example`): every text is distinct, so the merge
//! cache keyed by the text never hits, but every merge decides the same thing. The merge looks
//! at such a host only through the text of its token: whether it covers a vendor source (it
//! does not, when its host is neither a vendor's host nor a domain above or below one), and
//! whether two lists hold the same tokens (text equality). So a policy's *shape* (its text
//! with each such host replaced by a placeholder of the same length, the same host by the same
//! placeholder) is merged once, and the plan is carried back to each policy of that shape by
//! putting its hosts back in the plan's new text. Its lints, which may quote any part of the
//! text, are made from the policy's own text every time.
//!
//! In debug builds (the test suite) every plan carried back is checked against a merge of the
//! policy's own text.

use std::rc::Rc;

use super::fxhash::FxHashMap;
use super::merge::{finish, lints, planned, MergeOptions, MergeOutcome, Planned, Requirement};
use super::parse::parse;
use super::Delivery;

/// A policy list's text with its vendor-inert hosts replaced by placeholders.
#[derive(Debug, PartialEq, Eq)]
pub struct Shape {
    /// The list with each inert host replaced (same length, so every offset is the text's).
    pub text: String,
    /// (placeholder, host) pairs, distinct on both sides.
    hosts: Vec<(String, String)>,
}

/// Planned merges by shape and delivery, per thread. Bounded: a tree of all-different shapes
/// must not keep every plan.
/// The key's requirements hash is checked against the requirements kept with the plan.
type ShapeMemo = FxHashMap<(String, Delivery, u64), (Vec<Requirement>, Rc<Planned>)>;

/// Plans kept before the memo starts over.
const SHAPES: usize = 256;

thread_local! {
    static PLANS: std::cell::RefCell<ShapeMemo> = std::cell::RefCell::new(ShapeMemo::default());
}

/// [`super::merge`], sharing the plan of every policy list of the same shape, delivery and
/// requirements.
pub fn merge_shared(
    policy_list: &str,
    requirements: &[Requirement],
    options: &MergeOptions,
) -> MergeOutcome {
    let Some(shape) = shape_of(policy_list, requirements) else {
        return super::merge(policy_list, requirements, options);
    };
    let key = (
        shape.text,
        options.delivery,
        super::fxhash::hash_of(requirements),
    );
    let hit = PLANS.with(|m| {
        m.borrow()
            .get(&key)
            .filter(|(r, _)| r.as_slice() == requirements)
            .map(|(_, p)| p.clone())
    });
    let plan = match hit {
        Some(plan) => plan,
        None => {
            let plan = Rc::new(planned(&parse(&key.0), requirements, options));
            PLANS.with(|m| {
                let mut m = m.borrow_mut();
                if m.len() >= SHAPES {
                    m.clear();
                }
                m.insert(key, (requirements.to_vec(), plan.clone()));
            });
            plan
        }
    };
    let Some(own) = carried(&plan, &shape.hosts) else {
        return super::merge(policy_list, requirements, options);
    };
    let list = parse(policy_list);
    let outcome = finish(policy_list, lints(&list, requirements, options), own);
    if cfg!(debug_assertions) {
        let direct = super::merge(policy_list, requirements, options);
        assert_eq!(
            format!("{outcome:?}"),
            format!("{direct:?}"),
            "a shared plan differs from the merge of {policy_list:?}"
        );
    }
    outcome
}

/// The shape of `policy_list`, or `None` when it has no inert host (or a placeholder could be
/// mistaken for a part of the text or of a requirement).
pub fn shape_of(policy_list: &str, requirements: &[Requirement]) -> Option<Shape> {
    let vendor_hosts: Vec<String> = requirements
        .iter()
        .filter_map(|r| host_of(&r.source))
        .collect();
    let list = parse(policy_list);
    let mut text = policy_list.as_bytes().to_vec();
    let mut hosts: Vec<(String, String)> = Vec::new();
    // Placeholders made so far per host length: the next one's number.
    let mut next: FxHashMap<usize, usize> = FxHashMap::default();
    for policy in &list.policies {
        for directive in &policy.directives {
            for token in &directive.sources {
                let Some(at) = inert_host(&token.text) else {
                    continue;
                };
                let host = &token.text[at..];
                if vendor_hosts.iter().any(|v| related(host, v)) {
                    continue;
                }
                let placeholder = match hosts.iter().find(|(_, h)| h == host) {
                    Some((p, _)) => p.clone(),
                    None => {
                        let n = next.entry(host.len()).or_insert(0);
                        let Some(p) = placeholder(host.len(), *n) else {
                            continue;
                        };
                        *n += 1;
                        hosts.push((p.clone(), host.to_string()));
                        p
                    }
                };
                let start = token.span.start + at;
                text[start..start + host.len()].copy_from_slice(placeholder.as_bytes());
            }
        }
    }
    if hosts.is_empty() {
        return None;
    }
    // A placeholder must stand for its host alone: found nowhere in the text or the
    // requirements, and no vendor's.
    let clash = hosts.iter().any(|(p, _)| {
        policy_list.contains(p.as_str())
            || requirements.iter().any(|r| r.source.contains(p.as_str()))
            || vendor_hosts.iter().any(|v| related(p, v))
    });
    if clash {
        return None;
    }
    let text = String::from_utf8(text).expect("ASCII replaced by ASCII");
    Some(Shape { text, hosts })
}

/// The plan of a shape with the policy's own hosts back in it, or `None` when a placeholder is
/// found where it cannot be put back (a diagnostic or an added source naming it).
fn carried(plan: &Planned, hosts: &[(String, String)]) -> Option<Planned> {
    let named = |s: &str| hosts.iter().any(|(p, _)| s.contains(p.as_str()));
    if plan.added.iter().any(|a| named(&a.source))
        || plan
            .diagnostics
            .iter()
            .any(|d| named(&d.message) || d.help.as_deref().is_some_and(named))
    {
        return None;
    }
    let mut own = plan.clone();
    for e in &mut own.edits {
        e.text = put_back(&e.text, hosts);
    }
    for c in &mut own.created {
        for s in &mut c.sources {
            *s = put_back(s, hosts);
        }
    }
    Some(own)
}

/// `text` with each token's placeholder host replaced by its host (a token: a run of bytes
/// that are not ASCII whitespace, `;` or `,`).
fn put_back(text: &str, hosts: &[(String, String)]) -> String {
    let mut out = text.as_bytes().to_vec();
    let bytes = text.as_bytes();
    let sep = |b: u8| super::parse::is_ascii_whitespace(b) || b == b';' || b == b',';
    let mut i = 0;
    while i < bytes.len() {
        if sep(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !sep(bytes[i]) {
            i += 1;
        }
        let token = &text[start..i];
        if let Some(at) = inert_host(token) {
            if let Some((_, host)) = hosts.iter().find(|(p, _)| *p == token[at..]) {
                out[start + at..i].copy_from_slice(host.as_bytes());
            }
        }
    }
    String::from_utf8(out).expect("ASCII replaced by ASCII")
}

/// Where the host starts in `token` when it is a plain `scheme://host` source whose host the
/// merge can only compare as text: a scheme of http, https, ws or wss, and a host of two or
/// more lower-case labels (letters, digits, inner `-`; no `xn--`), the last of letters, with no
/// port, path or wildcard.
fn inert_host(token: &str) -> Option<usize> {
    let at = ["https://", "http://", "wss://", "ws://"]
        .iter()
        .find(|s| token.starts_with(*s))?
        .len();
    let host = &token[at..];
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
            && !l.starts_with("xn--")
    };
    let last = labels.last()?;
    (labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && last.len() >= 2
        && last.bytes().all(|b| b.is_ascii_lowercase()))
    .then_some(at)
}

/// The host of a vendor source, lower case, without a leading `*.` (`None`: a keyword, a
/// scheme, `*`).
fn host_of(source: &str) -> Option<String> {
    let s = source.trim();
    if s.starts_with('\'') || s.ends_with(':') {
        return None;
    }
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or("");
    let host = host.strip_prefix("*.").unwrap_or(host).to_ascii_lowercase();
    (!host.is_empty() && host != "*").then_some(host)
}

/// Are the two hosts the same, or is one a domain of the other?
fn related(a: &str, b: &str) -> bool {
    let below = |x: &str, y: &str| {
        x.len() > y.len() && x.ends_with(y) && x.as_bytes()[x.len() - y.len() - 1] == b'.'
    };
    a == b || below(a, b) || below(b, a)
}

/// The `n`th placeholder host of `len` bytes: `z…z.q` and `n` in letters (`zzzz.qa`,
/// `zzzz.qb`...), or `None` when `len` is too short for it.
fn placeholder(len: usize, n: usize) -> Option<String> {
    let mut letters = Vec::new();
    let mut k = n;
    loop {
        letters.push(b'a' + (k % 26) as u8);
        k /= 26;
        if k == 0 {
            break;
        }
    }
    letters.reverse();
    let fill = len.checked_sub(2 + letters.len())?;
    if fill == 0 {
        return None;
    }
    let mut p = "z".repeat(fill);
    p.push_str(".q");
    p.push_str(std::str::from_utf8(&letters).expect("letters"));
    Some(p)
}
