//! `csppatch vendors [--json]`: what presets exist and what they need to be told.

use super::load::{Origin, Vendor, CUSTOM_DOMAIN_PARAM};

/// One vendor as `csppatch vendors --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VendorInfo {
    pub name: String,
    pub title: String,
    pub source_url: Option<String>,
    /// False: the whole list comes from third-party copies of the vendor's page.
    pub verified: bool,
    /// Sources of a verified vendor that were only found in third-party copies.
    pub unverified_sources: Vec<String>,
    /// Region names in file order; empty when the vendor has no regional variants.
    pub regions: Vec<String>,
    pub default_region: Option<String>,
    /// Parameters the vendor takes (only `custom-domain` exists).
    pub params: Vec<ParamInfo>,
    /// The vendor documents a nonce mode.
    pub nonce_mode: bool,
    pub nonce_notes: Option<String>,
    pub notes: Option<String>,
    pub origin: Origin,
}

/// A parameter, e.g. `custom-domain` (given with `--custom-domain`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParamInfo {
    pub name: String,
    pub description: String,
}

impl VendorInfo {
    pub fn of(v: &Vendor) -> VendorInfo {
        VendorInfo {
            name: v.name.clone(),
            title: v.title.clone(),
            source_url: v.source_url.clone(),
            verified: v.verified,
            unverified_sources: v
                .sources
                .iter()
                .filter(|e| e.unverified)
                .map(|e| format!("{} {}", e.directive, e.source))
                .collect(),
            regions: v.regions.iter().map(|r| r.name.clone()).collect(),
            default_region: v.default_region.clone(),
            params: v
                .custom_domain_description()
                .map(|d| ParamInfo {
                    name: CUSTOM_DOMAIN_PARAM.to_string(),
                    description: d.to_string(),
                })
                .into_iter()
                .collect(),
            nonce_mode: v.has_nonce_mode(),
            nonce_notes: v.nonce_notes().map(str::to_string),
            notes: v.notes.clone(),
            origin: v.origin.clone(),
        }
    }
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
                        if Some(r) == v.default_region.as_ref() {
                            format!("{r}*")
                        } else {
                            r.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let mut options: Vec<&str> = v.params.iter().map(|p| p.name.as_str()).collect();
            if v.nonce_mode {
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
            } else if !v.unverified_sources.is_empty() {
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
        "             nonce: the vendor documents a nonce mode, where the site's nonce on the\n",
        "             vendor's script tag takes the place of its script-src hosts.\n",
        "[unverified] the list (or, when partly, some sources) comes from third-party copies\n",
        "             of the vendor's page, not from the vendor: check it before relying on it.\n",
        "Every source and note: csppatch vendors --json\n",
    ));
    out
}
