//! The requests a vendor's widget is known to make (`[[request]]`), the documented reasons for
//! sources no request explains (`[[reason]]`), and the questions asked of them: which apply
//! to a selection, and which of a preset's sources lets each one through.
//!
//! A request is checked with csppatch's own evaluator ([`crate::csp::eval`]), against the
//! policy as merged: that is what proves a preset lets its widget through, and what
//! `csppatch vendors NAME` shows beside each source.

use std::ops::Range;

use super::directive;
use super::load::{Doc, INVALID_REQUEST};
use super::schema::{ReasonDoc, RequestDoc};
use crate::csp::eval::{self, Destination, InlineKind, Request};
use crate::diag::{Diagnostic, Location};
use toml::Spanned;

/// The page origin requests are made from when a check needs one (`<site>` in a request URL).
pub const SAMPLE_SITE: &str = "https://site.example";
/// The host put in for `<customdomain>` when no `--custom-domain` is given.
pub const SAMPLE_CUSTOM_DOMAIN: &str = "track.example.com";
/// What any other `<word>` of a request URL becomes: one label, valid in a host and a path.
const SAMPLE_VALUE: &str = "sample";

/// What the widget needs: a URL loaded for the request's directive, or an inline behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Url(String),
    Inline(InlineNeed),
}

/// The non-URL needs a source list can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineNeed {
    /// An inline `<script>` element (a snippet pasted into the page).
    Script,
    /// An event handler attribute.
    ScriptAttribute,
    /// An inline `<style>` element (styles the widget writes into the page).
    Style,
    /// A `style=` attribute.
    StyleAttribute,
    /// `eval()` or `new Function()`.
    Eval,
}

impl InlineNeed {
    pub const NAMES: &'static [&'static str] = &[
        "script",
        "script-attribute",
        "style",
        "style-attribute",
        "eval",
    ];

    fn parse(name: &str) -> Option<InlineNeed> {
        Some(match name {
            "script" => InlineNeed::Script,
            "script-attribute" => InlineNeed::ScriptAttribute,
            "style" => InlineNeed::Style,
            "style-attribute" => InlineNeed::StyleAttribute,
            "eval" => InlineNeed::Eval,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            InlineNeed::Script => "script",
            InlineNeed::ScriptAttribute => "script-attribute",
            InlineNeed::Style => "style",
            InlineNeed::StyleAttribute => "style-attribute",
            InlineNeed::Eval => "eval",
        }
    }

    /// The directives that decide this behaviour (CSP3 §6.8.2, §4.4).
    fn directives(self) -> &'static [&'static str] {
        match self {
            InlineNeed::Script => &["script-src", "script-src-elem"],
            InlineNeed::ScriptAttribute => &["script-src", "script-src-attr"],
            InlineNeed::Style => &["style-src", "style-src-elem"],
            InlineNeed::StyleAttribute => &["style-src", "style-src-attr"],
            InlineNeed::Eval => &["script-src"],
        }
    }
}

/// Who makes the request. It matters in nonce mode: the site's own tags carry its nonce, and
/// what the vendor's script adds is allowed by `'strict-dynamic'`, not by the nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedBy {
    /// The site's HTML (the embed snippet's `<script>`, an inline snippet).
    Page,
    /// The vendor's code, once running.
    Widget,
}

/// A condition on the selection, for requests that only happen with an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    CustomDomain,
    NoCustomDomain,
    Nonce,
    NoNonce,
}

impl When {
    pub const NAMES: &'static [&'static str] =
        &["custom-domain", "no-custom-domain", "nonce", "no-nonce"];

    fn parse(name: &str) -> Option<When> {
        Some(match name {
            "custom-domain" => When::CustomDomain,
            "no-custom-domain" => When::NoCustomDomain,
            "nonce" => When::Nonce,
            "no-nonce" => When::NoNonce,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        When::NAMES[self as usize]
    }
}

/// Where a request (or a reason) is written down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The vendor's documentation (its CSP page, usually).
    pub docs: Option<String>,
    /// The vendor's published embed code or SDK.
    pub snippet: Option<String>,
    /// Third-party material (a console error quoted in an issue, a public project's code):
    /// evidence, not the vendor's word.
    pub observed: Option<String>,
}

impl Provenance {
    /// `(kind, url)` pairs in a fixed order.
    pub fn pages(&self) -> Vec<(&'static str, &str)> {
        [
            ("docs", &self.docs),
            ("snippet", &self.snippet),
            ("observed", &self.observed),
        ]
        .into_iter()
        .filter_map(|(k, u)| u.as_deref().map(|u| (k, u)))
        .collect()
    }

    /// Only third-party material says so.
    pub fn is_unverified(&self) -> bool {
        self.docs.is_none() && self.snippet.is_none()
    }
}

/// One `[[request]]`.
#[derive(Debug, Clone)]
pub struct KnownRequest {
    pub directive: String,
    pub need: Need,
    pub loaded_by: LoadedBy,
    /// `None`: in every region.
    pub region: Option<String>,
    pub when: Option<When>,
    pub from: Provenance,
    pub note: Option<String>,
    pub at: Location,
}

/// One `[[reason]]`.
#[derive(Debug, Clone)]
pub struct Reason {
    pub directive: String,
    pub source: String,
    pub why: String,
    pub docs: Option<String>,
    pub region: Option<String>,
    pub at: Location,
}

/// The selection a question is asked about: the region in effect (`None` when the vendor has
/// none), and the options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant<'a> {
    pub region: Option<&'a str>,
    pub custom_domain: Option<&'a str>,
    pub nonce: bool,
}

impl KnownRequest {
    /// Does the widget make this request in `variant`?
    pub fn applies(&self, variant: &Variant) -> bool {
        let region = self.region.is_none() || self.region.as_deref() == variant.region;
        let when = match self.when {
            None => true,
            Some(When::CustomDomain) => variant.custom_domain.is_some(),
            Some(When::NoCustomDomain) => variant.custom_domain.is_none(),
            Some(When::Nonce) => variant.nonce,
            Some(When::NoNonce) => !variant.nonce,
        };
        region && when
    }

    /// The request URL with its placeholders filled in: `<site>` is `site`, `<customdomain>`
    /// is `custom_domain`, any other `<word>` a sample value. `None` for an inline need.
    pub fn url(&self, site: &str, custom_domain: &str) -> Option<String> {
        match &self.need {
            Need::Url(u) => Some(fill(u, site, custom_domain)),
            Need::Inline(_) => None,
        }
    }

    /// The request as csppatch's evaluator checks it, from a page of origin `site`. With
    /// `nonce` (the site's nonce, in nonce mode) the site's own script tags carry it, and
    /// scripts the widget adds are not parser-inserted (so `'strict-dynamic'` allows them).
    pub fn eval_request(
        &self,
        site: &str,
        custom_domain: &str,
        nonce: Option<&str>,
    ) -> Result<Request, String> {
        let by_page = self.loaded_by == LoadedBy::Page;
        match &self.need {
            Need::Url(u) => {
                let destination = destination(&self.directive)
                    .ok_or_else(|| format!("{} is not checked against URLs", self.directive))?;
                let r = Request::load(destination, &fill(u, site, custom_domain), site)?;
                Ok(match (destination, nonce, by_page) {
                    (Destination::Script, Some(n), true) => r.with_nonce(n),
                    (Destination::Script, _, false) => r.not_parser_inserted(),
                    _ => r,
                })
            }
            Need::Inline(need) => {
                let kind = match need {
                    InlineNeed::Script => InlineKind::Script,
                    InlineNeed::ScriptAttribute => InlineKind::ScriptAttribute,
                    InlineNeed::Style => InlineKind::Style,
                    InlineNeed::StyleAttribute => InlineKind::StyleAttribute,
                    InlineNeed::Eval => return Request::eval(site),
                };
                let r = Request::inline(kind, site)?;
                Ok(match nonce {
                    Some(n)
                        if by_page && matches!(kind, InlineKind::Script | InlineKind::Style) =>
                    {
                        r.with_nonce(n)
                    }
                    _ => r,
                })
            }
        }
    }

    /// Does `source`, written under `directive`, let this request through on its own? This
    /// is what `csppatch vendors NAME` shows: the requests each source is there for.
    pub fn needs(&self, directive: &str, source: &str) -> bool {
        if directive != self.directive {
            return false;
        }
        let policy = format!("{directive} {source}");
        self.eval_request(SAMPLE_SITE, SAMPLE_CUSTOM_DOMAIN, None)
            .is_ok_and(|r| eval::allows(&policy, &r))
    }

    /// How the request is written in listings: the URL as published, or `inline style`.
    pub fn label(&self) -> String {
        match &self.need {
            Need::Url(u) => u.clone(),
            Need::Inline(InlineNeed::Eval) => "eval() / new Function()".to_string(),
            Need::Inline(k) => format!("inline {}", k.name()),
        }
    }
}

impl Reason {
    pub fn applies(&self, region: Option<&str>) -> bool {
        self.region.is_none() || self.region.as_deref() == region
    }
}

/// Fill a request URL's placeholders (see [`KnownRequest::url`]).
fn fill(url: &str, site: &str, custom_domain: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(match &rest[open + 1..open + close] {
            "site" => site,
            "customdomain" => custom_domain,
            _ => SAMPLE_VALUE,
        });
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The destination whose effective directive falls back to `directive` (CSP3 §6.8.1): the
/// kind of load a `[[request]]` under it is.
pub fn destination(directive: &str) -> Option<Destination> {
    Some(match directive {
        "script-src" | "script-src-elem" => Destination::Script,
        "style-src" | "style-src-elem" => Destination::Style,
        "img-src" => Destination::Image,
        "font-src" => Destination::Font,
        "connect-src" => Destination::Connect,
        "frame-src" => Destination::Frame,
        "worker-src" => Destination::Worker,
        "media-src" => Destination::Media,
        "manifest-src" => Destination::Manifest,
        "object-src" => Destination::Object,
        "form-action" => Destination::FormAction,
        "base-uri" => Destination::BaseUri,
        "frame-ancestors" => Destination::FrameAncestor,
        _ => return None,
    })
}

/// Validate the `[[request]]` tables of vendor `vendor`, whose regions are `regions`.
pub(super) fn requests(
    doc: &Doc,
    vendor: &str,
    docs: &[Spanned<RequestDoc>],
    regions: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<KnownRequest> {
    let mut out = Vec::new();
    for spanned in docs {
        let at = doc.at(spanned.span());
        let r = spanned.get_ref();
        let mut bad = |span: Range<usize>, why: String| {
            errors.push(doc.error(
                INVALID_REQUEST,
                span,
                format!("{vendor}: [[request]]: {why}"),
            ));
        };
        let directive = r.directive.get_ref().to_ascii_lowercase();
        if let Some(why) = directive::check(&directive) {
            bad(r.directive.span(), why);
            continue;
        }
        let need = match (&r.url, &r.inline) {
            (Some(url), None) => match check_url(url.get_ref(), &directive) {
                Ok(()) => Need::Url(url.get_ref().clone()),
                Err(why) => {
                    bad(url.span(), why);
                    continue;
                }
            },
            (None, Some(inline)) => match InlineNeed::parse(inline.get_ref()) {
                Some(k) if k.directives().contains(&directive.as_str()) => Need::Inline(k),
                Some(k) => {
                    bad(
                        inline.span(),
                        format!(
                            "inline {} is decided by {}, not {directive}",
                            k.name(),
                            k.directives().join(" or ")
                        ),
                    );
                    continue;
                }
                None => {
                    bad(
                        inline.span(),
                        format!(
                            "`{}` is not an inline need; write one of {}",
                            inline.get_ref(),
                            InlineNeed::NAMES.join(", ")
                        ),
                    );
                    continue;
                }
            },
            _ => {
                bad(
                    spanned.span(),
                    "give exactly one of `url` (a request URL) and `inline` (script, style, eval...)"
                        .into(),
                );
                continue;
            }
        };
        let loaded_by = match r
            .loaded_by
            .as_ref()
            .map(|l| (l.get_ref().as_str(), l.span()))
        {
            None | Some(("widget", _)) => LoadedBy::Widget,
            Some(("page", _)) => LoadedBy::Page,
            Some((other, span)) => {
                bad(
                    span,
                    format!(
                        "loaded_by `{other}`: write \"page\" (the site's own tag) or \"widget\""
                    ),
                );
                continue;
            }
        };
        let region = match &r.region {
            Some(reg) if !regions.contains(&reg.get_ref().as_str()) => {
                bad(
                    reg.span(),
                    format!(
                        "region `{}` is not one of the vendor's regions ({})",
                        reg.get_ref(),
                        if regions.is_empty() {
                            "it has none".to_string()
                        } else {
                            regions.join(", ")
                        }
                    ),
                );
                continue;
            }
            other => other.as_ref().map(|r| r.get_ref().clone()),
        };
        let when = match &r.when {
            None => None,
            Some(w) => match When::parse(w.get_ref()) {
                Some(w) => Some(w),
                None => {
                    bad(
                        w.span(),
                        format!(
                            "when `{}`: write one of {}",
                            w.get_ref(),
                            When::NAMES.join(", ")
                        ),
                    );
                    continue;
                }
            },
        };
        let Some(from) = provenance(&mut bad, spanned.span(), [&r.docs, &r.snippet, &r.observed])
        else {
            continue;
        };
        out.push(KnownRequest {
            directive,
            need,
            loaded_by,
            region,
            when,
            from,
            note: r.note.clone(),
            at,
        });
    }
    out
}

/// Validate the `[[reason]]` tables.
pub(super) fn reasons(
    doc: &Doc,
    vendor: &str,
    docs: &[Spanned<ReasonDoc>],
    regions: &[&str],
    listed: &dyn Fn(&str, &str) -> bool,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    for spanned in docs {
        let r = spanned.get_ref();
        let mut bad = |span: Range<usize>, why: String| {
            errors.push(doc.error(
                INVALID_REQUEST,
                span,
                format!("{vendor}: [[reason]]: {why}"),
            ));
        };
        let directive = r.directive.get_ref().to_ascii_lowercase();
        if let Some(why) = directive::check(&directive) {
            bad(r.directive.span(), why);
            continue;
        }
        if !listed(&directive, r.source.get_ref()) {
            bad(
                r.source.span(),
                format!(
                    "`{}` is not listed under {directive}, so there is nothing to explain",
                    r.source.get_ref()
                ),
            );
            continue;
        }
        if r.why.trim().is_empty() {
            bad(spanned.span(), "`why` is empty".into());
            continue;
        }
        if let Some(reg) = &r.region {
            if !regions.contains(&reg.get_ref().as_str()) {
                bad(
                    reg.span(),
                    format!(
                        "region `{}` is not one of the vendor's regions",
                        reg.get_ref()
                    ),
                );
                continue;
            }
        }
        let Some(from) = provenance(&mut bad, spanned.span(), [&r.docs, &None, &None]) else {
            continue;
        };
        out.push(Reason {
            directive,
            source: r.source.get_ref().clone(),
            why: r.why.clone(),
            docs: from.docs,
            region: r.region.as_ref().map(|r| r.get_ref().clone()),
            at: doc.at(spanned.span()),
        });
    }
    out
}

/// The `docs`, `snippet` and `observed` pages: at least one, each an http(s) URL.
fn provenance(
    bad: &mut impl FnMut(Range<usize>, String),
    whole: Range<usize>,
    pages: [&Option<Spanned<String>>; 3],
) -> Option<Provenance> {
    let mut ok = true;
    for page in pages.iter().copied().flatten() {
        let url = page.get_ref();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bad(page.span(), format!("`{url}` is not an http(s) URL"));
            ok = false;
        }
    }
    if pages.iter().all(|p| p.is_none()) {
        bad(
            whole,
            "say where it is written: `docs` (the vendor's documentation), `snippet` (its embed code) or `observed` (third-party material)"
                .into(),
        );
        return None;
    }
    let get = |p: &Option<Spanned<String>>| p.as_ref().map(|s| s.get_ref().clone());
    ok.then(|| Provenance {
        docs: get(pages[0]),
        snippet: get(pages[1]),
        observed: get(pages[2]),
    })
}

/// A request URL must parse once its placeholders are filled, and be a load its directive
/// checks.
fn check_url(url: &str, directive: &str) -> Result<(), String> {
    if destination(directive).is_none() {
        return Err(format!(
            "{directive} decides inline behaviour only; write `inline = \"...\"` instead of a URL"
        ));
    }
    let filled = fill(url, SAMPLE_SITE, SAMPLE_CUSTOM_DOMAIN);
    let parsed = url::Url::parse(&filled).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if matches!(parsed.scheme(), "http" | "ws") {
        return Err(format!(
            "`{url}` is unencrypted; widgets on https pages load over https:// and wss://"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "https://<sub>.x.example/<path>?k=<key>",
                SAMPLE_SITE,
                "t.example"
            ),
            "https://sample.x.example/sample?k=sample"
        );
        assert_eq!(
            fill("<site>/a", "https://site.example", "t.example"),
            "https://site.example/a"
        );
        assert_eq!(
            fill("https://<customdomain>/x", SAMPLE_SITE, "t.example"),
            "https://t.example/x"
        );
        assert_eq!(
            fill("https://a.example/<open", SAMPLE_SITE, "t"),
            "https://a.example/<open"
        );
    }

    #[test]
    fn when_names_round_trip() {
        for name in When::NAMES {
            assert_eq!(When::parse(name).unwrap().name(), *name);
        }
    }
}
