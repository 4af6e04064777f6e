//! Vendor files -> validated [`Vendor`]s, with every error located at `file:line:col`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::directive;
use super::request_check;
use super::requests::{KnownRequest, Reason};
use super::schema::{DirectiveTable, ParamDoc, VendorDoc, VendorListDoc};
use crate::csp::source::{matches_no_url, parse_vendor_source, Keyword, Source};
use crate::diag::{Diagnostic, Location};

/// The placeholder a custom-domain replacement writes for the user's host, spelled as in
/// Ortto's published policy (`media-src <customdomain> mediastream:`).
pub const CUSTOM_DOMAIN_PLACEHOLDER: &str = "<customdomain>";
/// The only parameter csppatch knows (`--custom-domain`).
pub const CUSTOM_DOMAIN_PARAM: &str = "custom-domain";
/// Stand-in host used to check that a replacement is a valid source once substituted.
const SAMPLE_HOST: &str = "track.example.com";
/// The code of an invalid `[[request]]` or `[[reason]]` (written here, where the other
/// `VND70x` codes are, so that the rules table's test sees it).
pub(super) const INVALID_REQUEST: &str = "VND721";

/// Where a vendor definition came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "path")]
pub enum Origin {
    /// Embedded in csppatch (`src/vendors/presets/`).
    Builtin,
    /// A `--vendors-file`.
    File(PathBuf),
}

/// A vendor whose every directive and source has been validated.
#[derive(Debug, Clone)]
pub struct Vendor {
    pub name: String,
    pub title: String,
    pub source_url: Option<String>,
    /// False when the list was only found in third-party copies of the vendor's page.
    pub verified: bool,
    pub notes: Option<String>,
    pub origin: Origin,
    pub(crate) sources: Vec<Entry>,
    pub(crate) regions: Vec<Region>,
    pub default_region: Option<String>,
    pub(crate) custom_domain: Option<CustomDomain>,
    pub(crate) nonce: Option<NonceMode>,
    /// The requests its widget is known to make, in file order.
    pub requests: Vec<KnownRequest>,
    /// Sources kept for a documented reason rather than a known request.
    pub reasons: Vec<Reason>,
    /// Where the vendor's `name` is written, for messages about the vendor as a whole.
    pub(crate) at: Location,
}

/// One source under one directive, and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub directive: String,
    pub source: String,
    pub unverified: bool,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub name: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub(crate) struct CustomDomain {
    pub description: String,
    pub replace: Vec<Replacement>,
}

#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    pub directive: String,
    pub source: String,
    /// Contains [`CUSTOM_DOMAIN_PLACEHOLDER`].
    pub with: String,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub(crate) struct NonceMode {
    pub notes: Option<String>,
}

impl Vendor {
    pub fn region_names(&self) -> Vec<&str> {
        self.regions.iter().map(|r| r.name.as_str()).collect()
    }
    pub fn has_custom_domain(&self) -> bool {
        self.custom_domain.is_some()
    }
    pub fn has_nonce_mode(&self) -> bool {
        self.nonce.is_some()
    }
    pub fn nonce_notes(&self) -> Option<&str> {
        self.nonce.as_ref().and_then(|n| n.notes.as_deref())
    }
    pub fn custom_domain_description(&self) -> Option<&str> {
        self.custom_domain.as_ref().map(|c| c.description.as_str())
    }
    /// Every (directive, source) the file lists, in every region, before any selection.
    pub fn all_sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources
            .iter()
            .chain(self.regions.iter().flat_map(|r| r.entries.iter()))
            .map(|e| (e.directive.as_str(), e.source.as_str()))
    }
}

/// The file being read: turns byte spans into locations.
pub(super) struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Doc<'_> {
    pub(super) fn at(&self, span: Range<usize>) -> Location {
        Location::of(self.path, self.text.as_bytes(), span.start)
    }
    pub(super) fn error(
        &self,
        code: &'static str,
        span: Range<usize>,
        message: String,
    ) -> Diagnostic {
        Diagnostic::error(code, message).at(self.at(span))
    }
}

/// Read every vendor in `text` (one vendor, or a `[[vendor]]` list). `path` is only used in
/// messages. All errors are returned, not just the first.
pub fn parse_vendors(
    path: &Path,
    text: &str,
    origin: Origin,
) -> Result<Vec<Vendor>, Vec<Diagnostic>> {
    let doc = Doc { path, text };
    let toml_error = |e: toml::de::Error| {
        doc.error(
            "VND701",
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
        )
        .with_help("see examples/vendors/example.toml for the vendor file format")
    };
    // Only a `[[vendor]]` list has a top-level `vendor` key; a single vendor cannot (unknown
    // keys are refused), so the key decides the shape without guessing.
    let table: toml::Table = toml::from_str(text).map_err(|e| vec![toml_error(e)])?;
    let docs: Vec<VendorDoc> = if table.contains_key("vendor") {
        let list: VendorListDoc = toml::from_str(text).map_err(|e| vec![toml_error(e)])?;
        list.vendor
    } else {
        vec![toml::from_str(text).map_err(|e| vec![toml_error(e)])?]
    };
    if docs.is_empty() {
        return Err(vec![doc.error(
            "VND709",
            0..0,
            "the file defines no vendor".to_string(),
        )]);
    }
    let mut vendors: Vec<Vendor> = Vec::new();
    let mut errors = Vec::new();
    for vendor_doc in docs {
        let name_span = vendor_doc.name.span();
        match validate(&doc, vendor_doc, origin.clone()) {
            Ok(v) => {
                if vendors.iter().any(|seen| seen.name == v.name) {
                    errors.push(doc.error(
                        "VND705",
                        name_span,
                        format!("vendor `{}` is defined twice in this file", v.name),
                    ));
                } else {
                    vendors.push(v);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(vendors)
    } else {
        Err(errors)
    }
}

fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase()
        && !s.ends_with('-')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn validate(doc: &Doc, v: VendorDoc, origin: Origin) -> Result<Vendor, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let name = v.name.get_ref().clone();
    if !is_name(&name) {
        errors.push(doc.error(
            "VND706",
            v.name.span(),
            format!("`{name}` is not a usable vendor name: use lower-case letters, digits and `-`, starting with a letter (it is typed after --vendor)"),
        ));
    }
    if v.title.get_ref().trim().is_empty() {
        errors.push(doc.error(
            "VND706",
            v.title.span(),
            format!("{name}: `title` is empty"),
        ));
    }
    if let Some(url) = &v.source_url {
        if !(url.get_ref().starts_with("https://") || url.get_ref().starts_with("http://")) {
            errors.push(doc.error(
                "VND706",
                url.span(),
                format!(
                    "{name}: source_url `{}` is not an http(s) URL",
                    url.get_ref()
                ),
            ));
        }
    }
    let mut sources = entries(doc, &name, &v.sources, false, &mut errors);
    sources.extend(entries(
        doc,
        &name,
        &v.unverified_sources,
        true,
        &mut errors,
    ));
    let regions: Vec<Region> = v
        .regions
        .0
        .iter()
        .map(|(region, table)| {
            if !is_name(region.get_ref()) {
                errors.push(doc.error(
                    "VND707",
                    region.span(),
                    format!("{name}: `{}` is not a usable region name: use lower-case letters, digits and `-` (it is typed after --region)", region.get_ref()),
                ));
            }
            let mut region_entries = entries(doc, &name, &table.sources, false, &mut errors);
            region_entries.extend(entries(doc, &name, &table.unverified, true, &mut errors));
            Region {
                name: region.get_ref().clone(),
                entries: region_entries,
            }
        })
        .collect();
    let default_region = check_regions(doc, &name, &v, &regions, &mut errors);
    let custom_domain = params(doc, &name, &v.params, &sources, &regions, &mut errors);
    // Judged on what is written, so that a file whose only source is invalid gets one error.
    let written = |t: &DirectiveTable| !t.0.is_empty();
    if !written(&v.sources)
        && !written(&v.unverified_sources)
        && !v
            .regions
            .0
            .iter()
            .any(|(_, t)| written(&t.sources) || written(&t.unverified))
    {
        errors.push(doc.error(
            "VND709",
            v.name.span(),
            format!("{name}: the vendor lists no sources; add a [sources] table"),
        ));
    }
    let region_names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let known = request_check::requests(doc, &name, &v.requests, &region_names, &mut errors);
    let listed = |directive: &str, source: &str| {
        sources
            .iter()
            .chain(regions.iter().flat_map(|r| r.entries.iter()))
            .any(|e| e.directive == directive && e.source == source)
    };
    let reasons =
        request_check::reasons(doc, &name, &v.reasons, &region_names, &listed, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Vendor {
        requests: known,
        reasons,
        at: doc.at(v.name.span()),
        name,
        title: v.title.into_inner(),
        source_url: v.source_url.map(Spanned::into_inner),
        verified: v.verified,
        notes: v.notes,
        origin,
        sources,
        regions,
        default_region,
        custom_domain,
        nonce: v.nonce.map(|n| NonceMode { notes: n.notes }),
    })
}

fn check_regions(
    doc: &Doc,
    name: &str,
    v: &VendorDoc,
    regions: &[Region],
    errors: &mut Vec<Diagnostic>,
) -> Option<String> {
    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    match (&v.default_region, regions.is_empty()) {
        (None, true) => None,
        (Some(d), true) => {
            errors.push(doc.error(
                "VND707",
                d.span(),
                format!("{name}: default_region is set but there is no [regions.<name>] table"),
            ));
            None
        }
        (None, false) => {
            errors.push(doc.error(
                "VND707",
                v.name.span(),
                format!(
                    "{name}: the vendor has regions ({}) but no default_region; add e.g. `default_region = \"{}\"` before the first table",
                    names.join(", "),
                    names[0]
                ),
            ));
            None
        }
        (Some(d), false) => {
            if !names.contains(&d.get_ref().as_str()) {
                errors.push(doc.error(
                    "VND707",
                    d.span(),
                    format!(
                        "{name}: default_region `{}` is not one of the regions ({})",
                        d.get_ref(),
                        names.join(", ")
                    ),
                ));
            }
            Some(d.get_ref().clone())
        }
    }
}

/// Validate one `directive = [sources]` table.
fn entries(
    doc: &Doc,
    vendor: &str,
    table: &DirectiveTable,
    unverified: bool,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for (key, list) in &table.0 {
        let directive = key.get_ref().to_ascii_lowercase();
        if let Some(why) = directive::check(&directive) {
            errors.push(doc.error("VND703", key.span(), format!("{vendor}: {why}")));
            continue;
        }
        if list.is_empty() {
            errors.push(doc.error(
                "VND709",
                key.span(),
                format!(
                    "{vendor}: {directive}: the list is empty; add the sources or remove the line"
                ),
            ));
        }
        for s in list {
            match check_source(s.get_ref(), true) {
                Ok(()) => out.push(Entry {
                    directive: directive.clone(),
                    source: s.get_ref().clone(),
                    unverified,
                    at: doc.at(s.span()),
                }),
                Err((code, why)) => {
                    errors.push(
                        doc.error(code, s.span(), format!("{vendor}: {directive}: {why}"))
                            .with_help(source_help(&why)),
                    );
                }
            }
        }
    }
    out
}

/// Validate one source a vendor or `--allow` asks for. Err is (code, message).
pub(crate) fn check_source(text: &str, allow_insecure: bool) -> Result<(), (&'static str, String)> {
    let source =
        parse_vendor_source(text, allow_insecure).map_err(|e| ("VND702", e.to_string()))?;
    if let Some(why) = matches_no_url(&source) {
        return Err(("E060", format!("`{text}` matches no URL: {why}")));
    }
    let why = match &source {
        Source::Keyword(Keyword::None) => {
            "'none' allows nothing; list what the vendor needs instead"
        }
        Source::Keyword(Keyword::StrictDynamic) => {
            "'strict-dynamic' makes browsers ignore every host in the list: it is a choice for the \
             site's own policy, not a source to add for a vendor (see the vendor's nonce mode)"
        }
        Source::Keyword(Keyword::ReportSample) => {
            "'report-sample' allows nothing; it only changes violation reports"
        }
        Source::Nonce(_) => {
            "a nonce must be new in every response, so a fixed one in a config file defeats it; \
             put the site's nonce on the vendor's script tag and use the nonce mode"
        }
        _ => return Ok(()),
    };
    Err((
        "VND704",
        format!("`{text}` is not a vendor requirement: {why}"),
    ))
}

/// What to do about a source refused for `why`.
pub(crate) fn source_help(why: &str) -> String {
    if why.contains("leftmost label") {
        "CSP cannot match a wildcard in the middle of a host: list each host the vendor really uses instead".into()
    } else if why.contains("unencrypted") {
        "use https:// or wss://; pass --allow-insecure only for a development setup".into()
    } else if why.contains("must be quoted") {
        "write keywords in single quotes inside the TOML string: \"'self'\"".into()
    } else {
        "sources are CSP source expressions: https://host, wss://host, *.host, data:, 'self', 'unsafe-inline', 'sha256-...'".into()
    }
}

/// Validate `[params.*]`; only `custom-domain` exists.
fn params(
    doc: &Doc,
    vendor: &str,
    params: &super::schema::OrderedMap<ParamDoc>,
    sources: &[Entry],
    regions: &[Region],
    errors: &mut Vec<Diagnostic>,
) -> Option<CustomDomain> {
    let mut custom_domain = None;
    for (key, param) in &params.0 {
        if key.get_ref() != CUSTOM_DOMAIN_PARAM {
            errors.push(doc.error(
                "VND708",
                key.span(),
                format!(
                    "{vendor}: unknown parameter `{}`; the only parameter is `{CUSTOM_DOMAIN_PARAM}` (--custom-domain)",
                    key.get_ref()
                ),
            ));
            continue;
        }
        if param.replace.is_empty() {
            errors.push(doc.error(
                "VND708",
                key.span(),
                format!("{vendor}: {CUSTOM_DOMAIN_PARAM}: `replace` is empty, so the parameter would change nothing"),
            ));
        }
        let mut replace = Vec::new();
        for r in &param.replace {
            let r_ref = r.get_ref();
            let directive = r_ref.directive.get_ref().to_ascii_lowercase();
            if let Some(why) = directive::check(&directive) {
                errors.push(doc.error(
                    "VND703",
                    r_ref.directive.span(),
                    format!("{vendor}: {why}"),
                ));
                continue;
            }
            let listed = sources
                .iter()
                .chain(regions.iter().flat_map(|reg| reg.entries.iter()))
                .any(|e| e.directive == directive && e.source == *r_ref.source.get_ref());
            if !listed {
                errors.push(doc.error(
                    "VND708",
                    r_ref.source.span(),
                    format!(
                        "{vendor}: {CUSTOM_DOMAIN_PARAM}: `{}` is not listed under {directive} in [sources] or [regions], so there is nothing to replace",
                        r_ref.source.get_ref()
                    ),
                ));
            }
            let with = r_ref.with.get_ref();
            if !with.contains(CUSTOM_DOMAIN_PLACEHOLDER) {
                errors.push(doc.error(
                    "VND708",
                    r_ref.with.span(),
                    format!("{vendor}: {CUSTOM_DOMAIN_PARAM}: `{with}` does not contain `{CUSTOM_DOMAIN_PLACEHOLDER}`, the place where the host goes"),
                ));
            } else if let Err((_, why)) =
                check_source(&with.replace(CUSTOM_DOMAIN_PLACEHOLDER, SAMPLE_HOST), true)
            {
                errors.push(doc.error(
                    "VND708",
                    r_ref.with.span(),
                    format!("{vendor}: {CUSTOM_DOMAIN_PARAM}: `{with}` with a host in place of {CUSTOM_DOMAIN_PLACEHOLDER}: {why}"),
                ));
            }
            replace.push(Replacement {
                directive,
                source: r_ref.source.get_ref().clone(),
                with: with.clone(),
                at: doc.at(r.span()),
            });
        }
        custom_domain = Some(CustomDomain {
            description: param.description.clone(),
            replace,
        });
    }
    custom_domain
}
