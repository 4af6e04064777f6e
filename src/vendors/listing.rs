//! `csppatch vendors [NAME] [--json]`: what presets exist, every source they add (per region
//! and option), and the requests each source is there for.
//!
//! The JSON document (`--json`) is versioned by `schema_version`; its field names are
//! snake_case throughout.

use super::load::{Origin, Vendor};
use super::requests::{LoadedBy, Need, Variant, When, SAMPLE_CUSTOM_DOMAIN};
use super::resolve::{nonce_makes_redundant, unknown_vendor};
use super::Catalog;
use crate::diag::Diagnostic;

/// The version of the `csppatch vendors --json` document; raised when a field changes meaning
/// or goes away (adding a field does not).
pub const SCHEMA_VERSION: u32 = 1;

/// `csppatch vendors --json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListingDoc {
    pub schema_version: u32,
    pub vendors: Vec<VendorInfo>,
}

/// One vendor, as `csppatch vendors --json` shows it: everything the preset file says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VendorInfo {
    pub name: String,
    pub title: String,
    /// The vendor's page the list comes from.
    pub source_url: Option<String>,
    /// False: the whole list comes from third-party copies of the vendor's page.
    pub verified: bool,
    pub notes: Option<String>,
    pub origin: Origin,
    /// Sources added in every region.
    pub sources: Vec<SourceInfo>,
    /// Region names in file order, each with the sources it adds; empty when the vendor has no
    /// regional variants.
    pub regions: Vec<RegionInfo>,
    pub default_region: Option<String>,
    /// `--custom-domain`: which sources it replaces, and with what.
    pub custom_domain: Option<CustomDomainInfo>,
    /// `--nonce`: the vendor documents a nonce mode.
    pub nonce: Option<NonceInfo>,
    /// The requests the vendor's widget is known to make; `SourceInfo::requests` indexes it.
    pub requests: Vec<RequestInfo>,
    /// Documented reasons for sources no known request explains; `SourceInfo::reasons`
    /// indexes it.
    pub reasons: Vec<ReasonInfo>,
}

/// One source under one directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceInfo {
    pub directive: String,
    pub source: String,
    /// Only found in third-party copies of the vendor's page.
    pub unverified: bool,
    /// Indexes into `VendorInfo::requests`: the requests this source lets through.
    pub requests: Vec<usize>,
    /// Indexes into `VendorInfo::reasons`.
    pub reasons: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionInfo {
    pub name: String,
    pub is_default: bool,
    /// Added to `VendorInfo::sources` in this region.
    pub sources: Vec<SourceInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomDomainInfo {
    pub description: String,
    pub replace: Vec<ReplaceInfo>,
}

/// With `--custom-domain HOST`, `source` under `directive` becomes `with`, `<customdomain>`
/// standing for HOST.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplaceInfo {
    pub directive: String,
    pub source: String,
    pub with: String,
    /// Indexes into `VendorInfo::requests`: the requests `with` lets through.
    pub requests: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NonceInfo {
    pub notes: Option<String>,
    /// Sources (of any region) not added in nonce mode: the site's nonce takes their place.
    pub left_out: Vec<DirectiveSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirectiveSource {
    pub directive: String,
    pub source: String,
}

/// One known request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestInfo {
    pub directive: String,
    /// The URL as published; `<site>` is the page's own origin, `<customdomain>` the
    /// `--custom-domain` host, any other `<word>` a value the vendor does not publish.
    pub url: Option<String>,
    /// Not a URL: `script`, `script-attribute`, `style`, `style-attribute` or `eval`.
    pub inline: Option<String>,
    /// `page` (the site's own tag) or `widget` (the vendor's code).
    pub loaded_by: String,
    /// Only in this region.
    pub region: Option<String>,
    /// Only with this option: `custom-domain`, `no-custom-domain`, `nonce`, `no-nonce`.
    pub when: Option<String>,
    /// Where it is written: the vendor's documentation, its embed code, third-party material.
    pub docs: Option<String>,
    pub snippet: Option<String>,
    pub observed: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReasonInfo {
    pub directive: String,
    pub source: String,
    pub why: String,
    pub docs: Option<String>,
    pub region: Option<String>,
}

impl VendorInfo {
    pub fn of(v: &Vendor) -> VendorInfo {
        let source = |region: Option<&str>, e: &super::load::Entry| SourceInfo {
            directive: e.directive.clone(),
            source: e.source.clone(),
            unverified: e.unverified,
            requests: needed_by(v, region, &e.directive, &e.source),
            reasons: v
                .reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.directive == e.directive && r.source == e.source && r.applies(region)
                })
                .map(|(i, _)| i)
                .collect(),
        };
        let left_out = v
            .sources
            .iter()
            .chain(v.regions.iter().flat_map(|r| r.entries.iter()))
            .filter(|e| nonce_makes_redundant(e))
            .map(|e| DirectiveSource {
                directive: e.directive.clone(),
                source: e.source.clone(),
            })
            .fold(Vec::new(), |mut acc, ds| {
                if !acc.contains(&ds) {
                    acc.push(ds);
                }
                acc
            });
        let mut info = VendorInfo {
            name: v.name.clone(),
            title: v.title.clone(),
            source_url: v.source_url.clone(),
            verified: v.verified,
            notes: v.notes.clone(),
            origin: v.origin.clone(),
            sources: v.sources.iter().map(|e| source(None, e)).collect(),
            regions: v
                .regions
                .iter()
                .map(|r| RegionInfo {
                    name: r.name.clone(),
                    is_default: v.default_region.as_deref() == Some(r.name.as_str()),
                    sources: r.entries.iter().map(|e| source(Some(&r.name), e)).collect(),
                })
                .collect(),
            default_region: v.default_region.clone(),
            custom_domain: v.custom_domain.as_ref().map(|c| CustomDomainInfo {
                description: c.description.clone(),
                replace: c
                    .replace
                    .iter()
                    .map(|r| ReplaceInfo {
                        directive: r.directive.clone(),
                        source: r.source.clone(),
                        with: r.with.clone(),
                        requests: custom_domain_needs(v, &r.directive, &r.with),
                    })
                    .collect(),
            }),
            nonce: v.nonce.as_ref().map(|n| NonceInfo {
                notes: n.notes.clone(),
                left_out,
            }),
            requests: v
                .requests
                .iter()
                .map(|r| RequestInfo {
                    directive: r.directive.clone(),
                    url: match &r.need {
                        Need::Url(u) => Some(u.clone()),
                        Need::Inline(_) => None,
                    },
                    inline: match &r.need {
                        Need::Inline(k) => Some(k.name().to_string()),
                        Need::Url(_) => None,
                    },
                    loaded_by: match r.loaded_by {
                        LoadedBy::Page => "page",
                        LoadedBy::Widget => "widget",
                    }
                    .to_string(),
                    region: r.region.clone(),
                    when: r.when.map(|w| w.name().to_string()),
                    docs: r.from.docs.clone(),
                    snippet: r.from.snippet.clone(),
                    observed: r.from.observed.clone(),
                    note: r.note.clone(),
                })
                .collect(),
            reasons: v
                .reasons
                .iter()
                .map(|r| ReasonInfo {
                    directive: r.directive.clone(),
                    source: r.source.clone(),
                    why: r.why.clone(),
                    docs: r.docs.clone(),
                    region: r.region.clone(),
                })
                .collect(),
        };
        info.prefer_same_scheme();
        info
    }

    /// A wss: source also matches https: URLs (CSP3 §6.7.2.9), and by the letter of the spec
    /// 'self' matches same-origin blob: URLs (browsers do not), so a request would be listed
    /// under sources that are not why it works. Where a source of the request's own scheme
    /// lets it through, the request is listed under that one only: the listing says why each
    /// source is there, not every source that happens to match.
    fn prefer_same_scheme(&mut self) {
        let requests = &self.requests;
        // `https://host` and the scheme source `blob:` both have a scheme; keywords have none.
        let scheme = |text: &str| {
            text.split_once(':')
                .filter(|(s, _)| !s.starts_with('\''))
                .map(|(s, _)| s.to_string())
        };
        let mut all: Vec<&mut SourceInfo> = self
            .sources
            .iter_mut()
            .chain(self.regions.iter_mut().flat_map(|r| r.sources.iter_mut()))
            .collect();
        for (i, r) in requests.iter().enumerate() {
            let Some(url_scheme) = r.url.as_deref().and_then(scheme) else {
                continue;
            };
            let same = |s: &SourceInfo| {
                s.directive == r.directive
                    && s.requests.contains(&i)
                    && scheme(&s.source).as_deref() == Some(url_scheme.as_str())
            };
            if all.iter().any(|s| same(s)) {
                for s in all.iter_mut() {
                    if s.directive == r.directive
                        && scheme(&s.source).as_deref() != Some(url_scheme.as_str())
                    {
                        s.requests.retain(|&j| j != i);
                    }
                }
            }
        }
    }

    /// Some source (in any region) is only found in third-party copies.
    pub fn partly_unverified(&self) -> bool {
        self.sources
            .iter()
            .chain(self.regions.iter().flat_map(|r| r.sources.iter()))
            .any(|s| s.unverified)
    }
}

/// The requests (that can happen in `region`; any region when `None`) which `source` under
/// `directive` lets through, without a custom domain.
fn needed_by(v: &Vendor, region: Option<&str>, directive: &str, source: &str) -> Vec<usize> {
    v.requests
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let in_region = region.is_none() || r.region.is_none() || r.region.as_deref() == region;
            // Requests made only with a custom domain are listed under its replacements.
            let plain = r.when != Some(When::CustomDomain);
            in_region && plain && r.needs(directive, source)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The requests a custom-domain replacement (`with`, holding `<customdomain>`) lets through.
fn custom_domain_needs(v: &Vendor, directive: &str, with: &str) -> Vec<usize> {
    let source = with.replace(super::load::CUSTOM_DOMAIN_PLACEHOLDER, SAMPLE_CUSTOM_DOMAIN);
    v.requests
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let variant = Variant {
                region: r.region.as_deref(),
                custom_domain: Some(SAMPLE_CUSTOM_DOMAIN),
                nonce: false,
            };
            r.applies(&variant) && r.needs(directive, &source)
        })
        .map(|(i, _)| i)
        .collect()
}

/// What `csppatch vendors [NAME] [--json]` prints. An unknown NAME is an error (`VND710`,
/// with the closest name).
pub fn render(catalog: &Catalog, name: Option<&str>, json: bool) -> Result<String, Diagnostic> {
    let vendors: Vec<&Vendor> = match name {
        None => catalog.vendors().iter().collect(),
        Some(n) => {
            let wanted = n.trim().to_ascii_lowercase();
            vec![catalog
                .get(&wanted)
                .ok_or_else(|| unknown_vendor(catalog.vendors(), n))?]
        }
    };
    if json {
        let doc = ListingDoc {
            schema_version: SCHEMA_VERSION,
            vendors: vendors.iter().map(|v| VendorInfo::of(v)).collect(),
        };
        // Plain structs with string keys: serialization cannot fail.
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        return Ok(text);
    }
    Ok(match vendors.as_slice() {
        [one] if name.is_some() => super::detail::vendor_text(one),
        all => listing_text(&all.iter().map(|v| VendorInfo::of(v)).collect::<Vec<_>>()),
    })
}

/// The human listing: one line per vendor, then what the marks mean.
pub fn listing_text(vendors: &[VendorInfo]) -> String {
    let rows: Vec<[String; 4]> = vendors
        .iter()
        .map(|v| {
            let regions = if v.regions.is_empty() {
                "-".to_string()
            } else {
                v.regions
                    .iter()
                    .map(|r| {
                        if r.is_default {
                            format!("{}*", r.name)
                        } else {
                            r.name.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let mut options: Vec<&str> = Vec::new();
            if v.custom_domain.is_some() {
                options.push("custom-domain");
            }
            if v.nonce.is_some() {
                options.push("nonce");
            }
            let options = if options.is_empty() {
                "-".to_string()
            } else {
                options.join(",")
            };
            let mut title = v.title.clone();
            if !v.verified {
                title.push_str(" [unverified]");
            } else if v.partly_unverified() {
                title.push_str(" [partly unverified]");
            }
            if let Origin::File(path) = &v.origin {
                title.push_str(&format!(" (from {})", path.display()));
            }
            [v.name.clone(), regions, options, title]
        })
        .collect();
    let header = [
        "NAME".to_string(),
        "REGIONS".to_string(),
        "OPTIONS".to_string(),
        "DESCRIPTION".to_string(),
    ];
    let width = |i: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[i].len())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    let urls = std::iter::once(None).chain(vendors.iter().map(|v| v.source_url.as_deref()));
    for (row, url) in std::iter::once(&header).chain(rows.iter()).zip(urls) {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
        if let Some(url) = url {
            out.push_str(&format!("{:w$}  {url}\n", "", w = widths[0]));
        }
    }
    out.push_str(concat!(
        "\n",
        "REGIONS      --region picks one; * marks the default.\n",
        "OPTIONS      custom-domain: takes --custom-domain HOST.\n",
        "             nonce: the vendor documents a nonce mode (--nonce), where the site's\n",
        "             nonce on the vendor's script tag takes the place of its script-src hosts.\n",
        "[unverified] the list (or, when partly, some sources) comes from third-party copies\n",
        "             of the vendor's page, not from the vendor: check it before relying on it.\n",
        "One vendor's sources, the requests each is there for, and its notes:\n",
        "  csppatch vendors NAME      (all of it as JSON: csppatch vendors --json)\n",
    ));
    out
}
