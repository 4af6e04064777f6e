//! The removal as text edits on the policy list, the inverse of the merge's insertions.

use super::super::merge::TextEdit;
use super::super::parse::{Policy, PolicyList};
use super::super::plan::PolicyPlan;
use super::Dir;

/// One policy's text with the marked tokens out (directives dropped so far out too).
pub(super) fn policy_text(list: &PolicyList, policy: &Policy, dirs: &[Dir]) -> String {
    let edits = policy_edits(policy, dirs);
    let mut sorted = edits;
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let whole = super::super::merge::apply(&list.text, &sorted);
    // Only the policy's part matters to its requests; the others are unchanged.
    let delta: isize = sorted
        .iter()
        .map(|e| e.text.len() as isize - e.range.len() as isize)
        .sum();
    let start = policy.span.start;
    let end = (policy.span.end as isize + delta) as usize;
    whole[start..end].to_string()
}

/// A plan as a policy text (for the evaluator).
pub(super) fn policy_of(plan: &PolicyPlan) -> String {
    plan.directives
        .iter()
        .map(|d| {
            let mut s = d.name.clone();
            for t in &d.tokens {
                s.push(' ');
                s.push_str(t);
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The edits for one policy: marked tokens deleted with the white space before them (the
/// merge inserted them as ` SOURCE`), a directive left empty gets `'none'` back (the merge
/// replaces a `'none'`), a dropped directive deleted with the separator before it (the merge
/// inserted it as `; NAME ...` after the last directive).
pub(super) fn policy_edits(policy: &Policy, dirs: &[Dir]) -> Vec<TextEdit> {
    let mut edits = Vec::new();
    for dir in dirs {
        let d = dir.d;
        let at = policy
            .directives
            .iter()
            .position(|x| std::ptr::eq(x, d))
            .expect("a directive of this policy");
        if dir.dropped {
            let range = if at > 0 {
                policy.directives[at - 1].span.end..d.span.end
            } else {
                match policy.directives.get(1) {
                    Some(next) => d.span.start..next.span.start,
                    None => d.span.clone(),
                }
            };
            edits.push(TextEdit {
                range,
                text: String::new(),
            });
            continue;
        }
        if !dir.out.iter().any(|o| *o) {
            continue;
        }
        if dir.out.iter().all(|o| *o) {
            let (first, last) = (&d.sources[0], &d.sources[d.sources.len() - 1]);
            edits.push(TextEdit {
                range: first.span.start..last.span.end,
                text: "'none'".to_string(),
            });
            continue;
        }
        let mut k = 0;
        while k < d.sources.len() {
            if !dir.out[k] {
                k += 1;
                continue;
            }
            let mut end = k;
            while end + 1 < d.sources.len() && dir.out[end + 1] {
                end += 1;
            }
            let start = if k == 0 {
                d.name_span.end
            } else {
                d.sources[k - 1].span.end
            };
            edits.push(TextEdit {
                range: start..d.sources[end].span.end,
                text: String::new(),
            });
            k = end + 1;
        }
    }
    edits
}
