//! Diagnostics for what the merge runs into. `vendor` is who asked (`ortto`, `--allow`);
//! `label` names the policy in the list ("the policy", "policy 2 of 3").

use crate::diag::Diagnostic;

pub fn strict_dynamic(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::warning(
        "CSP101",
        format!(
            "{label} has 'strict-dynamic' in `{directive}`: CSP3 browsers ignore hosts there, so \
             `{source}` (for {vendor}) only helps browsers without 'strict-dynamic'"
        ),
    )
    .with_help(format!(
        "Load {vendor}'s script from a <script> tag that carries the page's nonce; scripts it \
         loads are then trusted by 'strict-dynamic'."
    ))
}

pub fn hash_disables_unsafe_inline(
    vendor: &str,
    source: &str,
    directive: &str,
    label: &str,
) -> Diagnostic {
    let what = if directive.starts_with("style") {
        "inline style"
    } else if directive == "default-src" {
        "inline script or style"
    } else {
        "inline script or event handler"
    };
    Diagnostic::error(
        "CSP103",
        format!(
            "adding `{source}` for {vendor} to `{directive}` of {label} would make browsers \
             ignore its 'unsafe-inline', which the site relies on: every other {what} without \
             that hash or nonce would be blocked"
        ),
    )
    .with_help(format!(
        "Leave `{source}` out ({vendor}'s inline code already runs under 'unsafe-inline'), or \
         move the site to nonces or hashes first."
    ))
}

pub fn risky_script_source(vendor: &str, source: &str, directive: &str) -> Diagnostic {
    let what = match source.to_ascii_lowercase().as_str() {
        "'unsafe-inline'" => "any inline script injected into a page will run",
        "'unsafe-eval'" => "strings injected into eval() and similar will run as code",
        "data:" => "an injected <script src=\"data:…\"> will run",
        _ => "a script injected into a page can be loaded from almost any server",
    };
    Diagnostic::warning(
        "CSP104",
        format!("{vendor} needs `{source}` in `{directive}`: {what}"),
    )
    .with_help(format!(
        "Prefer a nonce on {vendor}'s snippet if the vendor supports it; otherwise accept the \
         risk knowingly."
    ))
}

pub fn unsafe_inline_ineffective(
    vendor: &str,
    directive: &str,
    label: &str,
    what: &str,
) -> Diagnostic {
    Diagnostic::warning(
        "CSP105",
        format!(
            "{vendor} needs 'unsafe-inline' ({what}), but `{directive}` of {label} has a \
             nonce, a hash or 'strict-dynamic', so browsers ignore 'unsafe-inline' there: these \
             stay blocked"
        ),
    )
    .with_help(format!(
        "Give {vendor}'s inline code the page's nonce (or its hash); csppatch did not add \
         'unsafe-inline'."
    ))
}

pub fn meta_ignored_needed(vendor: &str, directive: &str) -> Diagnostic {
    Diagnostic::error(
        "CSP110",
        format!(
            "{vendor} needs `{directive}`, which browsers ignore in a <meta> policy: it cannot be \
             allowed by editing the meta tag"
        ),
    )
    .with_help(format!(
        "Set `{directive}` in a Content-Security-Policy response header (server configuration)."
    ))
}

pub fn invalid_requirement(
    vendor: &str,
    directive: &str,
    source: &str,
    reason: &str,
) -> Diagnostic {
    Diagnostic::error(
        "CSP115",
        format!("cannot add `{directive} {source}` for {vendor}: {reason}"),
    )
}

pub fn no_effect(vendor: &str, directive: &str, source: &str, why: &str) -> Diagnostic {
    Diagnostic::note(
        "CSP116",
        format!("`{directive} {source}` (for {vendor}) has no effect: {why}; skipped"),
    )
}

pub fn legacy_blocked(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::warning(
        "CSP117",
        format!(
            "in {label}, `{source}` for {vendor} is allowed through `{directive}` only: browsers \
             without -elem/-attr directives (Safari before 15.4, Firefox before 108) keep \
             blocking it"
        ),
    )
    .with_help(
        "Widening script-src/style-src instead would also open other request types; csppatch \
         does not do that.",
    )
}

pub fn default_src_expanded(vendor: &str, source: &str) -> Diagnostic {
    Diagnostic::note(
        "CSP118",
        format!(
            "{vendor} asks for `default-src {source}`: added to each fetch directive that needs \
             it (not object-src), leaving default-src as it is"
        ),
    )
}

pub fn impossible(vendor: &str, source: &str, directive: &str, label: &str) -> Diagnostic {
    Diagnostic::error(
        "CSP120",
        format!(
            "cannot allow `{source}` for {vendor} under `{directive}` in {label} without \
             changing what other requests are allowed"
        ),
    )
    .with_help("Edit this policy by hand.")
}
