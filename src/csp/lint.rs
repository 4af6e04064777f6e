//! Warnings about a policy (`CSP1xx`), one rule per file in the layout ruff uses: each file
//! holds the rule's documentation ([`crate::rule::Rule`], the text of `csppatch rules CODE`)
//! and its check. [`check`] lints the policy as the site sends it; the merge
//! ([`super::merge()`]) builds the diagnostics for what it runs into with the constructors
//! re-exported here. Diagnostics carry no location: the caller knows the file and line.

use super::Delivery;
use crate::diag::Diagnostic;
use crate::rule::Rule;

use super::directives::{info, Kind};
use super::parse::{Directive, Policy, PolicyList};
use super::source::Source;

// The policy as the site sends it.
mod comma_in_meta_policy;
mod comma_splits_policy;
mod deprecated_directive;
mod duplicate_directive;
mod ignored_in_meta;
mod invalid_source;
mod missing_semicolon;
mod non_ascii_directive;
mod none_with_other_sources;
mod unknown_directive;
mod unquoted_keyword;
mod unsafe_inline_ignored;

// What the merge runs into. `vendor` is who asked (`ortto`, `--allow`); `label` names the
// policy in the list ([`policy_label`]).
mod default_src_requirement_expanded;
mod invalid_requirement;
mod legacy_browsers_still_block;
mod merge_impossible;
mod meta_cannot_allow_vendor;
mod requirement_without_effect;
mod risky_script_source;
mod strict_dynamic_ignores_hosts;
mod trusted_types_block_vendor;
mod vendor_hash_disables_unsafe_inline;
mod vendor_unsafe_inline_ineffective;

// What offboarding a vendor (`csppatch remove`, [`super::remove::remove()`]) leaves or takes.
mod vendor_source_kept;
mod vendor_still_allowed;

pub use default_src_requirement_expanded::default_src_expanded;
pub use invalid_requirement::invalid_requirement;
pub use legacy_browsers_still_block::legacy_blocked;
pub use merge_impossible::impossible;
pub use meta_cannot_allow_vendor::meta_ignored_needed;
pub use requirement_without_effect::no_effect;
pub use risky_script_source::risky_script_source;
pub use strict_dynamic_ignores_hosts::strict_dynamic;
pub use trusted_types_block_vendor::check as trusted_types;
pub use vendor_hash_disables_unsafe_inline::hash_disables_unsafe_inline;
pub use vendor_source_kept::vendor_source_kept;
pub use vendor_still_allowed::vendor_still_allowed;
pub use vendor_unsafe_inline_ineffective::unsafe_inline_ineffective;

/// Every CSP rule, in code order.
pub static RULES: &[Rule] = &[
    strict_dynamic_ignores_hosts::RULE,
    unsafe_inline_ignored::RULE,
    vendor_hash_disables_unsafe_inline::RULE,
    risky_script_source::RULE,
    vendor_unsafe_inline_ineffective::RULE,
    deprecated_directive::RULE,
    unknown_directive::RULE,
    missing_semicolon::RULE,
    comma_splits_policy::RULE,
    ignored_in_meta::RULE,
    duplicate_directive::RULE,
    invalid_source::RULE,
    unquoted_keyword::RULE,
    non_ascii_directive::RULE,
    invalid_requirement::RULE,
    requirement_without_effect::RULE,
    legacy_browsers_still_block::RULE,
    default_src_requirement_expanded::RULE,
    none_with_other_sources::RULE,
    merge_impossible::RULE,
    comma_in_meta_policy::RULE,
    meta_cannot_allow_vendor::RULE,
    trusted_types_block_vendor::RULE,
    vendor_source_kept::RULE,
    vendor_still_allowed::RULE,
];

/// How a policy of a list is named in messages.
pub fn policy_label(list: &PolicyList, policy: &Policy) -> String {
    let n = list.policies.len();
    if n == 1 {
        "the policy".to_string()
    } else {
        format!("policy {} of {n}", policy.index + 1)
    }
}

fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// Lints on the policy list as the site sends it.
pub fn check(list: &PolicyList, delivery: Delivery) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    out.extend(comma_in_meta_policy::check(list, delivery));
    for policy in &list.policies {
        let label = policy_label(list, policy);
        out.extend(comma_splits_policy::check(list, policy));
        for (i, d) in policy.directives.iter().enumerate() {
            let after_comma = i == 0 && policy.index > 0;
            out.extend(directive_lints(
                list,
                policy,
                d,
                &label,
                delivery,
                after_comma,
            ));
        }
    }
    out
}

/// One directive's lints, in the order they are shown.
fn directive_lints(
    list: &PolicyList,
    policy: &Policy,
    d: &Directive,
    label: &str,
    delivery: Delivery,
    after_comma: bool,
) -> Vec<Diagnostic> {
    // A directive that browsers may read in several ways says nothing more.
    if let Some(lint) = non_ascii_directive::check(list, d, label) {
        return vec![lint];
    }
    let mut out = Vec::new();
    out.extend(duplicate_directive::check(list, policy, d, label));
    let Some(known) = info(&d.name) else {
        out.extend(unknown_directive::check(list, d, after_comma));
        out.extend(missing_semicolon::check(d));
        return out;
    };
    out.extend(deprecated_directive::check(d, known));
    out.extend(ignored_in_meta::check(d, known, delivery));
    out.extend(missing_semicolon::check(d));
    if matches!(known.kind, Kind::Fetch | Kind::NoFallback) {
        for t in &d.sources {
            out.extend(invalid_source::check(d, t));
            out.extend(unquoted_keyword::check(d, t));
        }
        let parsed: Vec<&Source> = d
            .sources
            .iter()
            .filter_map(|t| t.source.as_ref().ok())
            .collect();
        out.extend(none_with_other_sources::check(d, &parsed));
        out.extend(unsafe_inline_ignored::check(d, &parsed, label));
    }
    out
}
