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
    pub regions: OrderedMap<DirectiveTable>,
    #[serde(default)]
    pub params: OrderedMap<ParamDoc>,
    pub nonce: Option<NonceDoc>,
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
