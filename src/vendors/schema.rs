//! The vendor file format, as read by serde before any validation.
//!
//! One file describes one vendor (the built-ins in `src/vendors/presets/`), or several as a
//! `[[vendor]]` array of tables (handy for `--vendors-file`); each vendor has the same keys.
//! Unknown keys are errors, so a typo never silently drops a requirement.
//!
//! ```toml
//! name = "acme-chat"                       # required; lower-case letters, digits and `-`
//! title = "Acme chat widget"               # required; shown by `csppatch vendors`
//! source_url = "https://acme.example/csp"  # where the vendor publishes its CSP requirements
//! verified = true                          # default true; false = copied from third parties
//! notes = "..."                            # optional; why the list looks the way it does
//! default_region = "us"                    # required when there are [regions]
//!
//! [sources]                                # directive = [sources], needed in every region
//! script-src = ["https://cdn.acme.example"]
//! connect-src = ["https://api.acme.example", "wss://rt.acme.example"]
//!
//! [unverified_sources]                     # optional; same shape; used, with a warning
//! img-src = ["https://img.acme.example"]
//!
//! [regions.us]                             # added to [sources] for that region only
//! connect-src = ["https://us.api.acme.example"]
//! [regions.eu]
//! connect-src = ["https://eu.api.acme.example"]
//! [regions.eu.unverified_sources]          # optional; a region's own unverified sources
//! img-src = ["https://img.eu.acme.example"]
//!
//! [params.custom-domain]                   # optional; the only parameter: --custom-domain
//! description = "Your Acme tracking domain"
//! replace = [                              # with --custom-domain, each `source` listed under
//!   # `directive` is replaced by `with`, where `<customdomain>` stands for the given host
//!   { directive = "script-src", source = "https://cdn.acme.example", with = "<customdomain>" },
//! ]
//!
//! [nonce]                                  # optional; the vendor documents a nonce mode
//! notes = "Put your CSP nonce on the Acme script tag"
//!
//! [[request]]                              # a request the widget is known to make
//! directive = "script-src"                 # the directive it is checked against
//! url = "https://cdn.acme.example/widget.js?key=<key>"
//! loaded_by = "page"                       # "page": the site's own tag; default "widget"
//! snippet = "https://acme.example/install" # where it is written: `snippet` (the vendor's
//! docs = "https://acme.example/csp"        # embed code), `docs` (its documentation) and/or
//!                                          # `observed` (third-party material: unverified)
//! [[request]]                              # `urls = [...]`: several requests that share
//! directive = "connect-src"                # the directive, conditions and pages
//! urls = ["https://api.acme.example/<path>", "wss://rt.acme.example/<path>"]
//! docs = "https://acme.example/csp"
//!
//! [[request]]
//! directive = "style-src"
//! inline = "style"                         # not a URL: script, script-attribute, style,
//! docs = "https://acme.example/csp"        # style-attribute or eval
//! region = "eu"                            # optional: only in that region
//! when = "custom-domain"                   # optional: custom-domain, no-custom-domain,
//!                                          # nonce or no-nonce
//!
//! [[reason]]                               # a source kept for a documented reason, not a
//! directive = "img-src"                    # known request
//! source = "'self'"
//! why = "The vendor's page lists it"
//! docs = "https://acme.example/csp"
//! ```
//!
//! TOML puts every bare key after a `[table]` header into that table, so the top-level keys
//! (`name` ... `default_region`) come first.
//!
//! Directive names are those a request is checked against (`script-src`, `connect-src`,
//! `frame-src`, ... never `default-src` or `child-src`: see [`super::directive`]). Sources are
//! CSP source expressions with keywords quoted (`'unsafe-inline'`); `http:` and `ws:` are
//! refused unless `--allow-insecure` is given.
//!
//! In nonce mode the site already puts its nonce on the vendor's script tag, so the vendor's
//! host and scheme sources, `'self'` and `'unsafe-inline'` under `script-src` and
//! `script-src-elem` are not added; `'unsafe-eval'` and hashes still are, and so is every
//! other directive.
//!
//! Requests are what the preset is tested against (README, "Development"): every one must be
//! allowed once the preset is merged, and every source must be needed by a request or a
//! `[[reason]]`. In a request URL `<site>` stands for the page's own origin, `<customdomain>`
//! for the `--custom-domain` host, and any other `<word>` for a value the vendor does not
//! publish (an app id, a version, a path).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use toml::Spanned;

/// A file holding several vendors: `[[vendor]]` tables.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorListDoc {
    pub vendor: Vec<VendorDoc>,
}

/// One vendor, as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorDoc {
    pub name: Spanned<String>,
    pub title: Spanned<String>,
    pub source_url: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub verified: bool,
    pub notes: Option<String>,
    #[serde(default)]
    pub sources: DirectiveTable,
    #[serde(default)]
    pub unverified_sources: DirectiveTable,
    pub default_region: Option<Spanned<String>>,
    #[serde(default)]
    pub regions: OrderedMap<RegionDoc>,
    #[serde(default)]
    pub params: OrderedMap<ParamDoc>,
    pub nonce: Option<NonceDoc>,
    #[serde(default, rename = "request")]
    pub requests: Vec<Spanned<RequestDoc>>,
    #[serde(default, rename = "reason")]
    pub reasons: Vec<Spanned<ReasonDoc>>,
}

/// `[[request]]`: a request the vendor's widget is known to make.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDoc {
    pub directive: Spanned<String>,
    pub url: Option<Spanned<String>>,
    /// Several URLs with the same directive, conditions and pages (one request each).
    pub urls: Option<Vec<Spanned<String>>>,
    pub inline: Option<Spanned<String>>,
    pub loaded_by: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub when: Option<Spanned<String>>,
    pub docs: Option<Spanned<String>>,
    pub snippet: Option<Spanned<String>>,
    pub observed: Option<Spanned<String>>,
    pub note: Option<String>,
}

/// `[[reason]]`: a source kept for a documented reason rather than a known request.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonDoc {
    pub directive: Spanned<String>,
    pub source: Spanned<String>,
    pub why: String,
    pub docs: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
}

/// `[regions.NAME]`: `directive = [sources]` lines, plus an optional `unverified_sources`
/// table of the same shape.
#[derive(Debug, Default)]
pub struct RegionDoc {
    pub sources: DirectiveTable,
    pub unverified: DirectiveTable,
}

/// The key of a region's own unverified sources.
pub const UNVERIFIED_KEY: &str = "unverified_sources";

impl<'de> Deserialize<'de> for RegionDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RegionVisitor;
        impl<'de> Visitor<'de> for RegionVisitor {
            type Value = RegionDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of `directive = [sources]` lines")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut region = RegionDoc::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    // One key is a table, the others lists: decided by the key, so that each
                    // value keeps its spans (an untagged enum would buffer them away).
                    if key.get_ref() == UNVERIFIED_KEY {
                        let table: DirectiveTable = map.next_value()?;
                        region.unverified.0.extend(table.0);
                    } else {
                        region.sources.0.push((key, map.next_value()?));
                    }
                }
                Ok(region)
            }
        }
        deserializer.deserialize_map(RegionVisitor)
    }
}

fn yes() -> bool {
    true
}

/// `[params.custom-domain]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDoc {
    pub description: String,
    pub replace: Vec<Spanned<ReplaceDoc>>,
}

/// One `{ directive, source, with }` of a parameter.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceDoc {
    pub directive: Spanned<String>,
    pub source: Spanned<String>,
    pub with: Spanned<String>,
}

/// `[nonce]`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonceDoc {
    pub notes: Option<String>,
}

/// `directive = ["source", ...]` lines, in file order.
pub type DirectiveTable = OrderedMap<Vec<Spanned<String>>>;

/// A TOML table with spanned keys, kept in file order (serde's maps would sort or hash it,
/// and the order is the vendor's own, which users compare against its documentation).
#[derive(Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}
