//! The requests a vendor's widget is known to make (`[[request]]`), the documented reasons for
//! sources no request explains (`[[reason]]`), and the questions asked of them: which apply
//! to a selection, and which of a preset's sources lets each one through.
//!
//! A request is checked with csppatch's own evaluator ([`crate::csp::eval`]), against the
//! policy as merged: that is what proves a preset lets its widget through, and what
//! `csppatch vendors NAME` shows beside each source.

use super::load::Vendor;
use super::resolve::Selection;
use crate::csp::eval::{self, Destination, InlineKind, Request};
use crate::diag::Location;

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

    pub(super) fn parse(name: &str) -> Option<InlineNeed> {
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
    pub(super) fn directives(self) -> &'static [&'static str] {
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

    pub(super) fn parse(name: &str) -> Option<When> {
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

/// One way a vendor can be selected: each region (when it has any), with and without its
/// custom domain, with and without its nonce mode. What the preset tests run over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub region: Option<String>,
    pub custom_domain: Option<String>,
    pub nonce: bool,
}

impl Case {
    /// The selection that asks for this case of `vendor`.
    pub fn selection(&self, vendor: &str) -> Selection {
        Selection {
            vendors: vec![vendor.to_string()],
            region: self.region.clone(),
            custom_domain: self.custom_domain.clone(),
            nonce: self.nonce,
            ..Selection::default()
        }
    }

    pub fn variant(&self) -> Variant<'_> {
        Variant {
            region: self.region.as_deref(),
            custom_domain: self.custom_domain.as_deref(),
            nonce: self.nonce,
        }
    }

    /// `region eu, --custom-domain track.example.com, --nonce`, or `default`.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.region {
            parts.push(format!("region {r}"));
        }
        if let Some(d) = &self.custom_domain {
            parts.push(format!("--custom-domain {d}"));
        }
        if self.nonce {
            parts.push("--nonce".to_string());
        }
        if parts.is_empty() {
            "default".to_string()
        } else {
            parts.join(", ")
        }
    }
}

impl Vendor {
    /// Every [`Case`] of this vendor, regions in file order.
    pub fn cases(&self) -> Vec<Case> {
        let regions: Vec<Option<String>> = if self.regions.is_empty() {
            vec![None]
        } else {
            self.regions.iter().map(|r| Some(r.name.clone())).collect()
        };
        let domains: Vec<Option<String>> = if self.has_custom_domain() {
            vec![None, Some(SAMPLE_CUSTOM_DOMAIN.to_string())]
        } else {
            vec![None]
        };
        let nonces: &[bool] = if self.has_nonce_mode() {
            &[false, true]
        } else {
            &[false]
        };
        let mut out = Vec::new();
        for region in &regions {
            for domain in &domains {
                for &nonce in nonces {
                    out.push(Case {
                        region: region.clone(),
                        custom_domain: domain.clone(),
                        nonce,
                    });
                }
            }
        }
        out
    }
}

impl Reason {
    pub fn applies(&self, region: Option<&str>) -> bool {
        self.region.is_none() || self.region.as_deref() == region
    }
}

/// Fill a request URL's placeholders (see [`KnownRequest::url`]).
pub(super) fn fill(url: &str, site: &str, custom_domain: &str) -> String {
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
