//! Vendor presets as data (one TOML file per vendor, embedded at build time) and the loader.
//!
//! - [`schema`]: the file format (documented there; `examples/vendors/example.toml`).
//! - [`load`]: file -> validated [`Vendor`], errors at `file:line:col` (`VND70x`).
//! - [`resolve`]: [`Selection`] -> [`Requirement`](crate::csp::Requirement)s (`VND71x`).
//! - [`requests`]: the requests each widget is known to make, and why each source is there.
//! - [`listing`]: `csppatch vendors [NAME] [--json]`.
//!
//! The lead's entry points: [`Catalog::builtin`], [`Catalog::load_file`],
//! [`Catalog::requirements`], [`Catalog::list`], [`render`] (all of `csppatch vendors`).

mod detail;
pub mod directive;
pub mod listing;
pub mod load;
mod request_check;
pub mod requests;
pub mod resolve;
mod rules;
pub mod schema;

use std::path::{Path, PathBuf};

pub use listing::{listing_text, render, ListingDoc, VendorInfo, SCHEMA_VERSION};
pub use load::{Origin, Vendor};
pub use resolve::{parse_allow, Resolved, Selection, ALLOW_VENDOR};
pub use rules::RULES;

use crate::diag::Diagnostic;

/// The built-in presets: `(name, file text)`, one file per vendor in `src/vendors/presets/`.
/// A test checks this list against the directory, so a new file cannot be forgotten here.
pub const PRESETS: &[(&str, &str)] = &[
    ("crisp", include_str!("presets/crisp.toml")),
    ("customerio", include_str!("presets/customerio.toml")),
    ("front", include_str!("presets/front.toml")),
    ("gtm", include_str!("presets/gtm.toml")),
    ("hcaptcha", include_str!("presets/hcaptcha.toml")),
    ("helpscout", include_str!("presets/helpscout.toml")),
    ("intercom", include_str!("presets/intercom.toml")),
    ("muserelay", include_str!("presets/muserelay.toml")),
    ("ocelot", include_str!("presets/ocelot.toml")),
    ("ortto", include_str!("presets/ortto.toml")),
    ("plausible", include_str!("presets/plausible.toml")),
    ("recaptcha", include_str!("presets/recaptcha.toml")),
    ("stripe", include_str!("presets/stripe.toml")),
    ("turnstile", include_str!("presets/turnstile.toml")),
    ("zendesk", include_str!("presets/zendesk.toml")),
];

/// The path messages give for a built-in preset (where it lives in the source tree).
pub fn preset_path(name: &str) -> PathBuf {
    PathBuf::from(format!("src/vendors/presets/{name}.toml"))
}

/// Every vendor csppatch knows: the built-ins, then those of `--vendors-file`s.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Sorted by name; names are unique.
    vendors: Vec<Vendor>,
}

impl Catalog {
    /// The presets embedded in csppatch.
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for (name, text) in PRESETS {
            // The presets are compile-time constants; the test `every_preset_loads` loads
            // each one, so a broken preset fails `cargo test`, never a user's run.
            let vendors = load::parse_vendors(&preset_path(name), text, Origin::Builtin)
                .unwrap_or_else(|e| panic!("built-in preset {name} is invalid: {e:?}"));
            catalog.vendors.extend(vendors);
        }
        catalog.vendors.sort_by(|a, b| a.name.cmp(&b.name));
        catalog
    }

    /// Add the vendors of a `--vendors-file`. A vendor named like a built-in replaces it (a
    /// note says so: a user's own list is deliberate, e.g. a vendor's newer hosts); a vendor
    /// named like one from an earlier file is an error, as one of the two would be ignored.
    /// Nothing is added unless the whole file is valid.
    ///
    /// Ok holds notes; Err every error found, each at `file:line:col`.
    pub fn load_file(&mut self, path: &Path) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        let text = std::fs::read(path).map_err(|e| {
            vec![Diagnostic::error(
                "VND719",
                format!("cannot read vendors file {}: {e}", path.display()),
            )]
        })?;
        let text = String::from_utf8(text).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let (line, col) = crate::diag::line_col(e.as_bytes(), at);
            vec![
                Diagnostic::error("VND701", "the file is not UTF-8 (TOML files must be)").at(
                    crate::diag::Location {
                        path: path.to_path_buf(),
                        line,
                        col,
                    },
                ),
            ]
        })?;
        self.load_str(path, &text)
    }

    /// [`Catalog::load_file`] on text already read; `path` is used in messages.
    pub fn load_str(
        &mut self,
        path: &Path,
        text: &str,
    ) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        let new = load::parse_vendors(path, text, Origin::File(path.to_path_buf()))?;
        let mut notes = Vec::new();
        let mut errors = Vec::new();
        for v in &new {
            match self.get(&v.name) {
                Some(old) if old.origin == Origin::Builtin => notes.push(
                    Diagnostic::note(
                        "VND717",
                        format!(
                            "vendor `{}` replaces the built-in preset of that name",
                            v.name
                        ),
                    )
                    .at(v.at.clone()),
                ),
                Some(old) => errors.push(
                    Diagnostic::error(
                        "VND705",
                        format!("vendor `{}` is already defined at {}", v.name, old.at),
                    )
                    .at(v.at.clone())
                    .with_help("rename one of them, or keep one definition"),
                ),
                None => {}
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for v in new {
            self.vendors.retain(|old| old.name != v.name);
            self.vendors.push(v);
        }
        self.vendors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(notes)
    }

    pub fn get(&self, name: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.name == name)
    }

    /// Every vendor, sorted by name.
    pub fn vendors(&self) -> &[Vendor] {
        &self.vendors
    }

    /// What the merge must add for `selection`, with warnings and notes to show. Err holds
    /// every error (unknown vendor, unknown region, bad --custom-domain or --allow...).
    pub fn requirements(&self, selection: &Selection) -> Result<Resolved, Vec<Diagnostic>> {
        resolve::resolve(&self.vendors, selection)
    }

    /// Every vendor as `csppatch vendors --json` shows it; [`render`] prints the command's
    /// output.
    pub fn list(&self) -> Vec<VendorInfo> {
        self.vendors.iter().map(VendorInfo::of).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads() {
        for (name, text) in PRESETS {
            let vendors = load::parse_vendors(&preset_path(name), text, Origin::Builtin)
                .unwrap_or_else(|e| panic!("{name}: {e:#?}"));
            assert_eq!(vendors.len(), 1, "{name}: one vendor per preset file");
            assert_eq!(vendors[0].name, *name, "the file is named after its vendor");
        }
        assert_eq!(Catalog::builtin().vendors().len(), PRESETS.len());
    }

    #[test]
    fn presets_list_matches_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vendors/presets");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let listed: Vec<String> = PRESETS.iter().map(|(n, _)| format!("{n}.toml")).collect();
        assert_eq!(on_disk, listed);
    }
}
