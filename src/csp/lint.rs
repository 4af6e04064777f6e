//! Warnings about a policy (`CSP1xx`): the policy as the site sends it ([`check`]), and what the
//! merge runs into (the constructors used by [`super::merge()`]). Diagnostics carry no location:
//! the caller knows the file and line.

use super::Delivery;
use crate::diag::{Diagnostic, Severity};
use crate::rules::Rule;

use super::directives::{info, Kind, KNOWN};
use super::parse::{Directive, DirectiveState, Policy, PolicyList};
use super::source::{Keyword, Source};

pub static RULES: &[Rule] = &[
    Rule {
        code: "CSP101",
        name: "strict-dynamic-ignores-hosts",
        what: "A vendor host or scheme is added to a script list that has 'strict-dynamic'.",
        why: "With 'strict-dynamic', CSP3 browsers ignore every host, scheme and 'self' in the \
              list: only scripts with the nonce (or loaded by such scripts) run. The added \
              source only helps browsers without 'strict-dynamic'.",
        example: "script-src 'nonce-r4nd0m' 'strict-dynamic' https://widget.example\n\
                  Use instead: load the widget from a script tag that carries the nonce:\n\
                  <script nonce=\"r4nd0m\" src=\"https://widget.example/loader.js\"></script>",
    },
    Rule {
        code: "CSP102",
        name: "unsafe-inline-ignored",
        what: "A list has 'unsafe-inline' together with a nonce or hash (or, for scripts, \
               'strict-dynamic').",
        why: "Browsers that understand nonces and hashes ignore 'unsafe-inline' then. It only \
              matters as a fallback for CSP1 browsers; it is not an opening.",
        example: "script-src 'nonce-r4nd0m' 'unsafe-inline'\n\
                  Use instead: keep it as a fallback on purpose, or drop it:\n\
                  script-src 'nonce-r4nd0m'",
    },
    Rule {
        code: "CSP103",
        name: "vendor-hash-disables-unsafe-inline",
        what: "A vendor nonce or hash would go into a list that relies on 'unsafe-inline'.",
        why: "As soon as a list holds a nonce or a hash, browsers ignore its 'unsafe-inline': \
              every inline script or style of the site without that nonce or hash would be \
              blocked. csppatch refuses the change.",
        example: "script-src 'self' 'unsafe-inline'   + vendor 'sha256-abc...'\n\
                  Use instead: leave the hash out (the vendor's inline code already runs under \
                  'unsafe-inline'), or move the site to nonces first.",
    },
    Rule {
        code: "CSP104",
        name: "risky-script-source",
        what: "'unsafe-inline', 'unsafe-eval', *, https:, http: or data: is added to a script \
               directive for a vendor.",
        why: "These sources let injected markup run script: an XSS hole becomes exploitable. \
              The vendor asks for it, so csppatch adds it, and says so.",
        example: "script-src 'self' 'unsafe-inline'\n\
                  Use instead: a nonce on the vendor's snippet: script-src 'self' 'nonce-r4nd0m'",
    },
    Rule {
        code: "CSP105",
        name: "vendor-unsafe-inline-ineffective",
        what: "A vendor needs 'unsafe-inline' in a list that has a nonce or hash (or, for \
               scripts, 'strict-dynamic').",
        why: "Browsers ignore 'unsafe-inline' there, so adding it would change nothing: the \
              vendor's inline code stays blocked. csppatch does not add it.",
        example: "style-src 'self' 'nonce-r4nd0m'   + vendor style-src 'unsafe-inline'\n\
                  Use instead: give the vendor's inline <style> the nonce, or add a separate \
                  style-src-attr 'unsafe-inline' if only style attributes are needed.",
    },
    Rule {
        code: "CSP106",
        name: "deprecated-directive",
        what: "The policy uses a directive that was removed from CSP or is being replaced.",
        why: "Browsers ignore removed directives (block-all-mixed-content, plugin-types, \
              prefetch-src, navigate-to, referrer, reflected-xss...), so they protect nothing. \
              report-uri still works but is superseded by report-to.",
        example: "block-all-mixed-content; plugin-types application/pdf\n\
                  Use instead: upgrade-insecure-requests; object-src 'none'",
    },
    Rule {
        code: "CSP107",
        name: "unknown-directive",
        what: "A directive name csppatch does not know (a typo, a vendor remark pasted into the \
               header, text after a stray comma).",
        why: "Browsers ignore unknown directives with all their sources. A remark such as \
              `//If using a custom tracking domain...` pasted from a vendor page becomes such a \
              directive and can swallow the next real one.",
        example: "script-src 'self'; //replace the domain below; style-src 'self'\n\
                  Use instead: script-src 'self'; style-src 'self'",
    },
    Rule {
        code: "CSP108",
        name: "missing-semicolon",
        what: "A directive's value contains the name of another directive.",
        why: "A `;` is missing: browsers read the second directive's name and sources as \
              sources of the first, so the second directive is not set at all.",
        example: "script-src 'self' style-src 'self' https://fonts.googleapis.com\n\
                  Use instead: script-src 'self'; style-src 'self' https://fonts.googleapis.com",
    },
    Rule {
        code: "CSP109",
        name: "comma-splits-policy",
        what: "A comma splits the header value into several policies, and a part after a comma \
               does not start with a known directive.",
        why: "A comma separates whole policies and browsers enforce each of them. A comma inside \
              a pasted remark cuts the policy in two: the directives after it form a second \
              policy that restricts on its own.",
        example: "img-src 'self'; //if needed, replace X; connect-src 'self'\n\
                  Use instead: img-src 'self'; connect-src 'self'",
    },
    Rule {
        code: "CSP110",
        name: "ignored-in-meta",
        what: "A <meta http-equiv> policy contains (or a vendor needs) frame-ancestors, \
               report-uri, report-to or sandbox.",
        why: "Browsers ignore these directives in a <meta> policy (CSP3 §3.3). A vendor that \
              needs one of them cannot be allowed by editing the meta tag.",
        example:
            "<meta http-equiv=\"Content-Security-Policy\" content=\"frame-ancestors 'self'\">\n\
                  Use instead: the response header Content-Security-Policy: frame-ancestors 'self'",
    },
    Rule {
        code: "CSP111",
        name: "duplicate-directive",
        what: "A directive name appears twice in one policy.",
        why: "Browsers enforce the first one only; the sources of the second have no effect.",
        example: "script-src 'self'; script-src https://cdn.example\n\
                  Use instead: script-src 'self' https://cdn.example",
    },
    Rule {
        code: "CSP112",
        name: "invalid-source",
        what: "A token in a source list is not a valid source expression (a placeholder such as \
               `<customdomain>` or `'nonce-{random}'`, a typo, a URL with a query).",
        why: "Browsers ignore it, so whatever it was meant to allow stays blocked.",
        example: "media-src <customdomain>\n\
                  Use instead: media-src https://track.example.com",
    },
    Rule {
        code: "CSP113",
        name: "unquoted-keyword",
        what: "A keyword is written without its single quotes (`self`, `none`, `unsafe-inline`).",
        why: "Without quotes it is a host name: `self` allows a server called `self`, not the \
              page's origin.",
        example: "default-src self\nUse instead: default-src 'self'",
    },
    Rule {
        code: "CSP114",
        name: "non-ascii-directive",
        what: "A directive contains a non-ASCII character (often typographic quotes: ‘self’).",
        why: "CSP3 and Firefox drop the whole directive; other browsers drop only the bad \
              source. csppatch cannot know which meaning the site gets, so it does not patch \
              this policy.",
        example: "script-src ‘self’ https://cdn.example\n\
                  Use instead: script-src 'self' https://cdn.example",
    },
    Rule {
        code: "CSP115",
        name: "invalid-requirement",
        what: "A vendor requirement cannot be used: unknown directive, a directive that takes no \
               sources, an invalid source, or a source csppatch refuses to add \
               ('strict-dynamic', 'none').",
        why: "Adding it would break the policy or change how every script of the site is \
              allowed; nothing is patched.",
        example: "--allow 'scirpt-src https://cdn.example'\n\
                  Use instead: --allow 'script-src https://cdn.example'",
    },
    Rule {
        code: "CSP116",
        name: "requirement-without-effect",
        what: "A vendor source is asked for under a directive where browsers never use it \
               ('unsafe-eval' under style-src, a host under script-src-attr, 'report-sample').",
        why: "Adding it would change nothing, so csppatch skips it.",
        example: "style-src 'unsafe-eval'\nUse instead: script-src 'unsafe-eval' (if eval is \
                  really needed)",
    },
    Rule {
        code: "CSP117",
        name: "legacy-browsers-still-block",
        what: "The vendor is allowed through a -elem/-attr directive only, because changing \
               script-src/style-src would also open other request types.",
        why: "Browsers without script-src-elem/-attr and style-src-elem/-attr (Safari before \
              15.4, Firefox before 108) ignore those directives and keep blocking the vendor.",
        example: "script-src 'self'; + vendor script-src-elem 'unsafe-inline'\n\
                  Use instead: accept it, or allow inline scripts and event handlers together: \
                  script-src 'self' 'unsafe-inline'",
    },
    Rule {
        code: "CSP118",
        name: "default-src-requirement-expanded",
        what: "A vendor source asked for under default-src is added to each fetch directive \
               instead.",
        why: "Widening default-src would also open every request type the site restricts through \
              default-src only, plugins included. csppatch adds the source to each fetch type \
              except object-src, creating directives where needed.",
        example: "default-src 'self' https://cdn.vendor.example   (as the vendor page suggests)\n\
                  Use instead (what csppatch writes): default-src 'self'; script-src 'self' \
                  https://cdn.vendor.example; img-src 'self' https://cdn.vendor.example; ...",
    },
    Rule {
        code: "CSP119",
        name: "none-with-other-sources",
        what: "A list contains 'none' and other sources.",
        why: "'none' only means something alone; next to other sources browsers ignore it. It \
              suggests the list is not what its author thinks.",
        example: "img-src 'none' https://cdn.example\nUse instead: img-src https://cdn.example",
    },
    Rule {
        code: "CSP120",
        name: "merge-impossible",
        what: "No change to the policy can allow the vendor source without also changing what \
               other requests are allowed.",
        why: "csppatch never opens more than the vendor asked for, nor blocks what the site \
              allowed; it stops instead.",
        example: "a requirement whose only possible directive also governs request types the \
                  vendor did not ask for\n\
                  Use instead: edit the policy by hand, or split it into per-type directives \
                  first. (A safety net: no known policy triggers it.)",
    },
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

const KEYWORD_NAMES: [&str; 10] = [
    "self",
    "none",
    "unsafe-inline",
    "unsafe-eval",
    "strict-dynamic",
    "unsafe-hashes",
    "report-sample",
    "wasm-unsafe-eval",
    "unsafe-allow-redirects",
    "inline-speculation-rules",
];

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Lints on the policy list as the site sends it.
pub fn check(list: &PolicyList, delivery: Delivery) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if delivery == Delivery::Meta && list.enforced().count() > 1 {
        out.push(
            Diagnostic::warning(
                "CSP109",
                "this <meta> policy contains a `,`: CSP3 reads a meta tag's content as one \
                 policy (the comma becomes part of a source), Chromium splits it into separate \
                 policies, so browsers enforce different things",
            )
            .with_help("Remove the comma: in a meta tag, separate directives with `;` only."),
        );
    }
    for policy in &list.policies {
        let label = policy_label(list, policy);
        if policy.index > 0 {
            if let Some(first) = policy.directives.first() {
                if info(&first.name).is_none() && first.state != DirectiveState::NonAscii {
                    out.push(comma_split(list, policy, first));
                }
            }
        }
        for (i, d) in policy.directives.iter().enumerate() {
            let mut lints = directive_lints(list, policy, d, &label, delivery);
            if i == 0 && policy.index > 0 {
                for l in lints.iter_mut().filter(|l| l.code == "CSP107") {
                    l.help = Some(
                        "It is the text after a comma (CSP109), most likely the rest of a pasted \
                         remark: delete it together with the remark."
                            .to_string(),
                    );
                }
            }
            out.extend(lints);
        }
    }
    out
}

fn comma_split(list: &PolicyList, policy: &Policy, first: &Directive) -> Diagnostic {
    let comma = policy.span.start.saturating_sub(1);
    let before = &list.text[list.text[..comma]
        .char_indices()
        .rev()
        .nth(30)
        .map_or(0, |(i, _)| i)..comma];
    Diagnostic::warning(
        "CSP109",
        format!(
            "a `,` after `…{}` splits the header into {} policies; the text after it starts \
             with `{}`, which is no directive",
            before.trim_start(),
            list.policies.len(),
            ellipsis(&list.text[first.span.clone()], 40),
        ),
    )
    .with_help(
        "Browsers enforce every comma-separated policy on its own. If the comma belongs to a \
         remark pasted from a vendor page, delete the remark; between directives use `;`.",
    )
}

fn directive_lints(
    list: &PolicyList,
    policy: &Policy,
    d: &Directive,
    label: &str,
    delivery: Delivery,
) -> Vec<Diagnostic> {
    let text = &list.text[d.span.clone()];
    let mut out = Vec::new();
    match d.state {
        DirectiveState::NonAscii => {
            let bad = text.chars().find(|c| !c.is_ascii()).unwrap_or('?');
            out.push(
                Diagnostic::error(
                    "CSP114",
                    format!(
                        "`{}` in {label} contains {bad:?} (U+{:04X}): CSP3 (and Firefox) drop \
                         this whole directive, other browsers may read it differently; csppatch \
                         will not patch {label}",
                        ellipsis(text, 60),
                        bad as u32
                    ),
                )
                .with_help(
                    "Retype it in plain ASCII: keywords are quoted with apostrophes ('self'), not \
                     typographic quotes.",
                ),
            );
            return out;
        }
        DirectiveState::Duplicate { first } => {
            out.push(
                Diagnostic::warning(
                    "CSP111",
                    format!(
                        "`{}` appears twice in {label}; browsers enforce only the first \
                         (`{}`), so `{}` has no effect",
                        d.name,
                        ellipsis(&list.text[policy.directives[first].span.clone()], 50),
                        ellipsis(text, 50)
                    ),
                )
                .with_help(format!(
                    "Move the sources into the first `{}` and delete the second one.",
                    d.name
                )),
            );
        }
        DirectiveState::Effective => {}
    }
    let Some(known) = info(&d.name) else {
        out.push(unknown_directive(list, d));
        out.extend(swallowed(d));
        return out;
    };
    if let Some(instead) = known.deprecated {
        let severity = if d.name == "report-uri" {
            Severity::Note
        } else {
            Severity::Warning
        };
        let message = if d.name == "report-uri" {
            "`report-uri` is deprecated in favour of report-to (it still works)".to_string()
        } else {
            format!("`{}` is obsolete: current browsers ignore it", d.name)
        };
        out.push(Diagnostic::new("CSP106", severity, message).with_help(format!("Use {instead}.")));
    }
    if known.meta_ignored && delivery == Delivery::Meta {
        out.push(
            Diagnostic::warning(
                "CSP110",
                format!(
                    "a <meta> policy ignores `{}`: it has no effect here",
                    d.name
                ),
            )
            .with_help("Send it in a Content-Security-Policy response header instead."),
        );
    }
    out.extend(swallowed(d));
    if matches!(known.kind, Kind::Fetch | Kind::NoFallback) {
        out.extend(source_lints(d, label));
    }
    out
}

fn unknown_directive(list: &PolicyList, d: &Directive) -> Diagnostic {
    let raw = &list.text[d.span.clone()];
    let name = &list.text[d.name_span.clone()];
    let message = format!(
        "unknown directive `{}`: browsers ignore it and its sources",
        ellipsis(name, 40)
    );
    let help = if ["//", "#", "/*", "<!--"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        format!(
            "CSP has no comments: the remark `{}` was pasted into the policy. Delete it.",
            ellipsis(raw, 60)
        )
    } else if let Some(near) = KNOWN
        .iter()
        .map(|k| k.name)
        .filter(|k| edit_distance(k, &d.name) <= 2)
        .min_by_key(|k| edit_distance(k, &d.name))
    {
        format!("Did you mean `{near}`?")
    } else {
        "Remove it, or fix its name.".to_string()
    };
    Diagnostic::warning("CSP107", message).with_help(help)
}

fn swallowed(d: &Directive) -> Option<Diagnostic> {
    let token = d.sources.iter().find(|t| {
        let lower = t.text.to_ascii_lowercase();
        info(&lower).is_some_and(|k| k.kind != Kind::Other)
    })?;
    let name = token.text.to_ascii_lowercase();
    Some(
        Diagnostic::warning(
            "CSP108",
            format!(
                "`{name}` appears inside the value of `{}`: browsers read it and what follows as \
                 sources of `{}`, so `{name}` is not set",
                d.name, d.name
            ),
        )
        .with_help(format!("Put a `;` before `{name}`.")),
    )
}

fn source_lints(d: &Directive, label: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for t in &d.sources {
        match &t.source {
            Err(e) => {
                let placeholder = t.text.contains(['<', '>', '{', '}']);
                let message = if placeholder {
                    format!(
                        "`{}` in `{}` is a placeholder from a vendor snippet: browsers ignore it",
                        t.text, d.name
                    )
                } else {
                    format!(
                        "`{}` in `{}` is not a valid source ({}): browsers ignore it",
                        t.text, d.name, e.reason
                    )
                };
                let help = if placeholder && t.text.to_ascii_lowercase().contains("nonce") {
                    "Generate a fresh random nonce for every response and put the same value in \
                     the nonce attribute of the script tags."
                } else if placeholder {
                    "Replace it with the real value (for example your tracking domain, \
                     https://track.example.com)."
                } else {
                    "Fix or remove it; whatever it was meant to allow stays blocked."
                };
                out.push(Diagnostic::warning("CSP112", message).with_help(help));
            }
            Ok(Source::Host(h))
                if h.scheme.is_none()
                    && h.port.is_none()
                    && h.path.is_none()
                    && KEYWORD_NAMES
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(&h.host)) =>
            {
                out.push(
                    Diagnostic::warning(
                        "CSP113",
                        format!(
                            "`{}` in `{}` has no quotes: browsers read it as a host name, not the \
                             keyword",
                            t.text, d.name
                        ),
                    )
                    .with_help(format!("Write '{}'.", t.text.to_ascii_lowercase())),
                );
            }
            _ => {}
        }
    }
    let parsed: Vec<&Source> = d
        .sources
        .iter()
        .filter_map(|t| t.source.as_ref().ok())
        .collect();
    let has = |k: Keyword| parsed.iter().any(|s| s.keyword() == Some(k));
    if has(Keyword::None) && d.sources.len() > 1 {
        out.push(
            Diagnostic::note(
                "CSP119",
                format!(
                    "`{}` has 'none' next to other sources: browsers ignore the 'none'",
                    d.name
                ),
            )
            .with_help("Remove 'none', or the other sources if nothing should load."),
        );
    }
    let script = matches!(
        d.name.as_str(),
        "script-src" | "script-src-elem" | "script-src-attr" | "default-src"
    );
    let disabled_by = if parsed.iter().any(|s| s.is_nonce_or_hash()) {
        Some(("", "a nonce or hash"))
    } else if script && has(Keyword::StrictDynamic) {
        let scope = if d.name == "default-src" {
            " for scripts"
        } else {
            ""
        };
        Some((scope, "'strict-dynamic'"))
    } else {
        None
    };
    if let (true, Some((scope, why))) = (has(Keyword::UnsafeInline), disabled_by) {
        out.push(
            Diagnostic::note(
                "CSP102",
                format!(
                    "'unsafe-inline' in `{}` of {label} is ignored{scope} by current browsers \
                     because of {why}; it only applies in browsers that predate nonces",
                    d.name
                ),
            )
            .with_help("Keep it only as a deliberate fallback for very old browsers."),
        );
    }
    out
}

mod merge;

/// Diagnostics for what the merge runs into (constructors used by `csp::merge`).
pub use merge::*;
