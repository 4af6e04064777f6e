//! `csppatch probe URL`: fetch a live page and report what its Content-Security-Policy does to
//! the vendors' requests. The check a site owner runs after deploying (or before patching).
//!
//! [`fetch::fetch`] GETs the page as a browser receives it; [`evaluate`] collects every policy
//! the browser would apply (each `Content-Security-Policy` header, each CSP `<meta>` the HTML
//! parser puts in `<head>`), the Report-Only ones, and those browsers ignore (a Report-Only or
//! `<body>` meta), then checks each vendor requirement with the crate's own evaluator
//! ([`crate::csp::eval`]) against every policy; `render::probe` shows the result as text or JSON.
//!
//! The page's origin for `'self'` is the final URL's (after redirects). The verdict is the one
//! of a CSP3 browser; where a browser without `script-src-elem`/`-attr` differs, it says so.
//! URLs are matched as Chromium and Firefox match them, not by the letter of the CSP3 text
//! (`csp::matching`; README "How probe judges"), the reading patch mode uses too; where the
//! text would answer otherwise, a PRB810 note says so.

mod explain;
pub mod fetch;
mod head;

use std::path::Path;

use crate::csp::eval::{policy_allows, policy_allows_by, requests_for, Browser, Origin, Reading};
use crate::csp::parse::{parse, PolicyList};
use crate::csp::Delivery;
use crate::csp::{lint, Requirement};
use crate::diag::{line_col, Diagnostic};
use crate::dialect::html::Html;
use crate::site::Disposition;

pub use fetch::{FetchOptions, Page};

mod rules;
pub use rules::RULES;

/// Where a policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Place {
    /// The n-th (1-based) `Content-Security-Policy[-Report-Only]` header, in the order received.
    Header { index: usize },
    /// The n-th CSP `<meta>` of the body, and the line its tag starts on.
    Meta { index: usize, line: usize },
}

impl Place {
    /// `header 1`, `meta line 4`.
    pub fn label(&self) -> String {
        match self {
            Place::Header { index } => format!("header {index}"),
            Place::Meta { line, .. } => format!("meta line {line}"),
        }
    }
}

/// One policy list the page delivers.
#[derive(Debug, Clone)]
pub struct PolicySource {
    pub place: Place,
    pub disposition: Disposition,
    /// The header value (continuation lines folded as the browser folds them), or the meta's
    /// decoded `content`.
    pub text: String,
    /// Why browsers ignore it altogether (a Report-Only or `<body>` meta).
    pub ignored: Option<String>,
    /// The list as the browser evaluates it: a meta's frame-ancestors, report-uri, report-to
    /// and sandbox are dropped (CSP3 §3.3).
    list: PolicyList,
}

/// How a policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Enforced,
    ReportOnly,
    Ignored,
}

impl PolicySource {
    pub fn role(&self) -> Role {
        match (&self.ignored, self.disposition) {
            (Some(_), _) => Role::Ignored,
            (None, Disposition::Enforce) => Role::Enforced,
            (None, Disposition::ReportOnly) => Role::ReportOnly,
        }
    }

    pub fn list(&self) -> &PolicyList {
        &self.list
    }
}

/// One policy of a list that blocks (or would report) a request of a requirement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    /// Index into [`Probe::policies`].
    pub policy: usize,
    /// The policy's position in its comma-separated list (1-based), when the list has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_position: Option<(usize, usize)>,
    /// The directive the request is checked against (CSP3 §6.8.1): `script-src-elem` for a
    /// `<script src>`.
    pub effective: String,
    /// The directive that decides it after fallback (`default-src` when nothing closer is set).
    pub governing: String,
    /// That directive as the page writes it.
    pub directive: String,
    pub reason: String,
}

/// What the page's policies do to one requirement.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub requirement: Requirement,
    /// False when no concrete request can test it (an SRI hash on a load, 'unsafe-hashes').
    pub checked: bool,
    /// Enforced policies that block it.
    pub blocked_by: Vec<Block>,
    /// Report-Only policies that would report it.
    pub reported_by: Vec<Block>,
    /// Enforced policies that allow it in CSP3 browsers but block it in browsers without
    /// `script-src-elem`/`-attr`, `style-src-elem`/`-attr`.
    pub legacy_blocked_by: Vec<Block>,
}

impl Verdict {
    /// `None` when not checked.
    pub fn allowed(&self) -> Option<bool> {
        self.checked.then_some(self.blocked_by.is_empty())
    }
}

/// A finding about the page, with the policy it is about (`header 1`), if any.
#[derive(Debug, Clone)]
pub struct Warning {
    pub place: Option<String>,
    pub diagnostic: Diagnostic,
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// No enforced policy: nothing blocks the vendor.
    NoCsp,
    Allowed,
    Blocked,
    /// The final status is not 2xx: not the page meant, no verdict.
    NotAPage,
}

/// Everything `csppatch probe` found.
#[derive(Debug, Clone)]
pub struct Probe {
    pub page: Page,
    /// The final URL's origin, which `'self'` means.
    pub origin: String,
    pub policies: Vec<PolicySource>,
    pub verdicts: Vec<Verdict>,
    pub warnings: Vec<Warning>,
}

impl Probe {
    pub fn outcome(&self) -> Outcome {
        if !(200..300).contains(&self.page.status) {
            Outcome::NotAPage
        } else if !self
            .policies
            .iter()
            .any(|p| p.role() == Role::Enforced && p.list.enforced().next().is_some())
        {
            Outcome::NoCsp
        } else if self.verdicts.iter().any(|v| v.allowed() == Some(false)) {
            Outcome::Blocked
        } else {
            Outcome::Allowed
        }
    }

    /// 0 the vendor is allowed (or no CSP), 1 something it needs is blocked, 2 not a 2xx page.
    pub fn exit_code(&self) -> u8 {
        match self.outcome() {
            Outcome::NoCsp | Outcome::Allowed => crate::exit::OK,
            Outcome::Blocked => crate::exit::CHANGES,
            Outcome::NotAPage => crate::exit::BAD_INPUT,
        }
    }
}

/// Fetch `url` and evaluate `requirements` against its policies. `Err` when the page could not
/// be fetched at all (exit 2).
pub fn probe(
    url: &str,
    requirements: &[Requirement],
    options: &FetchOptions,
) -> Result<Probe, Diagnostic> {
    let url = fetch::parse_url(url)?;
    let page = fetch::fetch(&url, options)?;
    Ok(evaluate(page, requirements))
}

/// Check `requirements` against every policy `page` delivers.
pub fn evaluate(page: Page, requirements: &[Requirement]) -> Probe {
    let origin = Origin::of(&page.final_url)
        .map(|o| o.serialize())
        .unwrap_or_else(|| page.final_url.to_string());
    let mut warnings = Vec::new();
    if !(200..300).contains(&page.status) {
        warnings.push(Warning {
            place: None,
            diagnostic: Diagnostic::error(
                "PRB802",
                format!(
                    "{} answered {} {}: that is not the page whose policy you meant to check, \
                     so there is no verdict (the policies it sent are shown as found)",
                    page.final_url, page.status, page.reason
                ),
            )
            .with_help(
                "Probe the URL of a page that answers 200 (log in with --header 'Cookie: ...' \
                 if it needs a session). Error pages often send another CSP, or none: nginx \
                 adds headers to 4xx/5xx answers only with `always`.",
            ),
        });
    }
    if !page.dropped_headers.is_empty() {
        warnings.push(Warning {
            place: None,
            diagnostic: Diagnostic::note(
                "PRB807",
                format!(
                    "--header {} not sent to {}: it is another origin than {}",
                    page.dropped_headers.join(", "),
                    page.final_url,
                    page.url
                ),
            )
            .with_help("Probe the final URL directly if it needs them."),
        });
    }
    let mut policies = header_policies(&page, &mut warnings);
    policies.extend(meta_policies(&page, &mut warnings));
    for p in &policies {
        let delivery = match p.place {
            Place::Header { .. } => Delivery::Header,
            Place::Meta { .. } => Delivery::Meta,
        };
        if p.ignored.is_none() {
            warnings.extend(
                lint::check(&parse(&p.text), delivery)
                    .into_iter()
                    .map(|d| Warning {
                        place: Some(p.place.label()),
                        diagnostic: d,
                    }),
            );
        }
    }
    let verdicts = requirements
        .iter()
        .map(|r| verdict(r, &origin, &policies, &mut warnings))
        .collect();
    // The page's findings first, then each policy's in the order the policies are listed.
    // A map from label to position: a page of 10,000 metas has as many labels, and more
    // warnings than that (a search per warning was quadratic).
    let mut labels: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, p) in policies.iter().enumerate() {
        labels.entry(p.place.label()).or_insert(i);
    }
    warnings.sort_by_cached_key(|w| match &w.place {
        None => 0,
        Some(place) => 1 + labels.get(place).copied().unwrap_or(policies.len()),
    });
    Probe {
        page,
        origin,
        policies,
        verdicts,
        warnings,
    }
}

fn header_policies(page: &Page, warnings: &mut Vec<Warning>) -> Vec<PolicySource> {
    let mut out = Vec::new();
    for h in &page.headers {
        let Some(disposition) = Disposition::from_header_name(h.name.as_bytes()) else {
            continue;
        };
        // Bytes that are not UTF-8 become U+FFFD: a non-ASCII directive, which browsers skip
        // (CSP3 §2.2.1), as they skip it in the raw bytes.
        let text = String::from_utf8_lossy(&h.value).into_owned();
        let place = Place::Header {
            index: out.len() + 1,
        };
        if h.folded {
            warnings.push(Warning {
                place: Some(place.label()),
                diagnostic: folded_header(&text),
            });
        }
        out.push(PolicySource {
            place,
            disposition,
            list: crate::csp::parse::parse_owned(&text),
            text,
            ignored: None,
        });
    }
    out
}

fn folded_header(text: &str) -> Diagnostic {
    let backslash = text.contains("\\ ");
    let message = if backslash {
        "this header was sent across several lines, each ending in `\\`: browsers join the \
         lines with a space, so every `\\` becomes the name of an unknown directive that swallows \
         the directive after it. nginx sends a `\\` + newline inside a quoted value as is \
         (NGX201)"
    } else {
        "this header was sent across several lines (obsolete line folding): browsers join them \
         with a space, some proxies reject the response"
    };
    Diagnostic::warning("PRB808", message).with_help(
        "Write the value on one line in the server configuration; `csppatch <config> --vendor \
         ...` does that for nginx when it patches the value.",
    )
}

/// The content type's essence, lower-case (`text/html`).
fn content_type(page: &Page) -> Option<String> {
    let value = page.header_values("content-type").last()?;
    let text = String::from_utf8_lossy(value);
    Some(
        text.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

fn note(warnings: &mut Vec<Warning>, message: String) {
    warnings.push(Warning {
        place: None,
        diagnostic: Diagnostic::note("PRB805", message),
    });
}

/// CSP `<meta>` tags, read by the crate's HTML dialect as the browser's parser would place
/// them. Only for an HTML body (by Content-Type, or sniffed when there is none).
fn meta_policies(page: &Page, warnings: &mut Vec<Warning>) -> Vec<PolicySource> {
    let body = &page.body;
    let html = match content_type(page) {
        Some(t) => matches!(t.as_str(), "text/html" | "application/xhtml+xml"),
        None => body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'<'),
    };
    if !html {
        if !body.is_empty() {
            let what = content_type(page).unwrap_or_else(|| "no Content-Type".into());
            note(
                warnings,
                format!("the body is not HTML ({what}): no <meta> policies were looked for"),
            );
        }
        return Vec::new();
    }
    if let Some(encoding) = page
        .header_values("content-encoding")
        .map(|v| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
        .find(|e| !e.is_empty() && e != "identity")
    {
        note(
            warnings,
            format!("the body is {encoding}-encoded although csppatch asked for identity: no <meta> policies were read"),
        );
        return Vec::new();
    }
    if !page.body_complete {
        note(
            warnings,
            format!(
                "only the first {} bytes of the body were read: a CSP <meta> after them (it would \
                 have to be in <head>) is not seen",
                body.len()
            ),
        );
    }
    let scan = Html.find_served(Path::new(page.final_url.as_str()), body);
    let mut out = Vec::new();
    for site in scan.sites {
        // The tag's `<` is the last one before its content attribute (a `<` inside an earlier
        // quoted attribute value of the same tag would fool this; the line is only a label).
        let tag = body[..site.span.start]
            .iter()
            .rposition(|&b| b == b'<')
            .unwrap_or(site.span.start);
        let line = line_col(body, tag).0;
        let place = Place::Meta {
            index: out.len() + 1,
            line,
        };
        // The dialect refuses to patch a Report-Only meta and one in <body> because browsers
        // ignore them; a content that is not UTF-8 it refuses for its own reasons, but the
        // browser decodes it with the page's encoding and applies it.
        let ignored = match &site.refusal {
            Some(r) if site.disposition == Disposition::ReportOnly => Some(r.clone()),
            Some(r) if site.context.contains("<body>") => Some(r.clone()),
            Some(r) => {
                warnings.push(Warning {
                    place: Some(place.label()),
                    diagnostic: Diagnostic::note(
                        "PRB809",
                        format!("{r}: evaluated with U+FFFD in place of the bytes csppatch could not decode"),
                    ),
                });
                None
            }
            None => None,
        };
        let text = site.value.text.clone();
        let mut list = crate::csp::parse::parse_owned(&text);
        for p in &mut list.policies {
            p.directives
                .retain(|d| !crate::csp::directives::info(&d.name).is_some_and(|i| i.meta_ignored));
        }
        out.push(PolicySource {
            place,
            disposition: site.disposition,
            text,
            ignored,
            list,
        });
    }
    for d in scan.diagnostics {
        let place = d.location.as_ref().map(|l| format!("meta line {}", l.line));
        warnings.push(Warning {
            place,
            diagnostic: Diagnostic {
                location: None,
                ..d
            },
        });
    }
    out
}

fn verdict(
    requirement: &Requirement,
    origin: &str,
    policies: &[PolicySource],
    warnings: &mut Vec<Warning>,
) -> Verdict {
    let requests = requests_for(requirement, origin);
    let mut v = Verdict {
        requirement: requirement.clone(),
        checked: !requests.is_empty(),
        blocked_by: Vec::new(),
        reported_by: Vec::new(),
        legacy_blocked_by: Vec::new(),
    };
    if requests.is_empty() {
        warnings.push(Warning {
            place: None,
            diagnostic: Diagnostic::note(
                "PRB806",
                format!(
                    "`{} {}` ({}) was not checked: no single request of a page can test it",
                    requirement.directive, requirement.source, requirement.vendor
                ),
            ),
        });
    }
    // Where each (list, policy, position) already has blocks, so that a block is compared
    // only with those of its own policy (with 10,000 policies, a search of the whole list for
    // each was quadratic).
    let mut seen: std::collections::HashMap<(u8, usize, usize), Vec<usize>> =
        std::collections::HashMap::new();
    for request in &requests {
        for (index, source) in policies.iter().enumerate() {
            let role = source.role();
            if role == Role::Ignored {
                continue;
            }
            let list = &source.list;
            let count = list.enforced().count();
            for (k, policy) in list.enforced().enumerate() {
                let position = (count > 1).then_some((k + 1, count));
                let block_for = |browser| Block {
                    policy: index,
                    list_position: position,
                    ..explain::explain(list, policy, request, browser)
                };
                let (target, which, browser) = if !policy_allows(policy, request, Browser::Csp3) {
                    match role {
                        Role::Enforced => (&mut v.blocked_by, 0, Browser::Csp3),
                        _ => (&mut v.reported_by, 1, Browser::Csp3),
                    }
                } else if role == Role::Enforced
                    && !policy_allows(policy, request, Browser::NoElemAttr)
                {
                    (&mut v.legacy_blocked_by, 2, Browser::NoElemAttr)
                } else {
                    continue;
                };
                let block = block_for(browser);
                let same = seen.entry((which, index, k)).or_default();
                if !same.iter().any(|&i| target[i] == block) {
                    same.push(target.len());
                    target.push(block);
                }
            }
        }
    }
    if let Some(note) = spec_differs(requirement, policies, &requests) {
        warnings.push(note);
    }
    if v.blocked_by.is_empty() && !v.legacy_blocked_by.is_empty() {
        warnings.push(Warning {
            place: Some(policies[v.legacy_blocked_by[0].policy].place.label()),
            diagnostic: Diagnostic::warning(
                "PRB804",
                format!(
                    "`{} {}` ({}) is allowed only through `{}`: browsers without it (Safari \
                     before 15.4, Firefox before 108) still block it",
                    requirement.directive,
                    requirement.source,
                    requirement.vendor,
                    v.legacy_blocked_by[0].effective
                ),
            ),
        });
    }
    v
}

/// PRB810 when the CSP3 text would give a requirement the other verdict than the browsers
/// (see `csp::matching`): the verdict stays the browsers', the note names the difference.
fn spec_differs(
    requirement: &Requirement,
    policies: &[PolicySource],
    requests: &[crate::csp::eval::Request],
) -> Option<Warning> {
    let enforced = || {
        policies
            .iter()
            .filter(|p| p.role() == Role::Enforced)
            .flat_map(|p| p.list.enforced())
    };
    let allowed = |reading: Option<Reading>| {
        requests.iter().all(|r| {
            enforced().all(|policy| match reading {
                None => policy_allows(policy, r, Browser::Csp3),
                Some(reading) => policy_allows_by(policy, r, Browser::Csp3, reading),
            })
        })
    };
    let browsers = allowed(None);
    if requests.is_empty() || browsers == allowed(Some(Reading::Spec)) {
        return None;
    }
    let (now, text) = if browsers {
        ("allowed", "block")
    } else {
        ("blocked", "allow")
    };
    Some(Warning {
        place: None,
        diagnostic: Diagnostic::note(
            "PRB810",
            format!(
                "`{} {}` ({}) is {now} as Chromium and Firefox read the policy; the letter of \
                 the CSP3 text would {text} it, and browsers decide",
                requirement.directive, requirement.source, requirement.vendor
            ),
        ),
    })
}

#[cfg(test)]
mod tests;
