//! The subcommands besides the patch run ([`crate::pipeline::run`]) as library functions with
//! typed results: `main.rs` turns arguments into these inputs, prints what they return with
//! the renderers next to them, and maps the exit code.

pub mod audit;
pub mod merge;
pub mod patch;
pub mod probe;
pub mod remove;
pub mod rules;
pub mod vendors;

use std::path::PathBuf;

use crate::csp::Requirement;
use crate::diag::Diagnostic;
use crate::vendors::{Catalog, Selection};

/// The vendor options every subcommand that adds a vendor takes.
#[derive(Debug, Clone, Default)]
pub struct VendorChoice {
    /// Preset names; a comma-separated list counts as several.
    pub vendors: Vec<String>,
    pub region: Option<String>,
    pub custom_domain: Option<String>,
    pub nonce: bool,
    /// Ad-hoc `'DIRECTIVE SOURCE...'` requirements.
    pub allow: Vec<String>,
    pub vendors_files: Vec<PathBuf>,
    pub allow_insecure: bool,
}

/// The requirements of a vendor choice, with the notes about them.
#[derive(Debug, Clone)]
pub struct Requirements {
    pub requirements: Vec<Requirement>,
    pub notes: Vec<Diagnostic>,
}

/// The most sources one run adds (E062): a bound on the merge, whose checks compare each new
/// source with the policy's (README, "Limits").
pub const MAX_REQUIREMENTS: usize = 1000;

impl VendorChoice {
    /// The vendors' requirements, or the diagnostics that explain why they cannot be had.
    pub fn requirements(&self) -> Result<Requirements, Vec<Diagnostic>> {
        let (catalog, mut notes) = catalog(&self.vendors_files)?;
        let selection = Selection {
            vendors: self
                .vendors
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
            region: self.region.clone(),
            custom_domain: self.custom_domain.clone(),
            nonce: self.nonce,
            allow: self.allow.clone(),
            allow_insecure: self.allow_insecure,
        };
        let resolved = catalog.requirements(&selection)?;
        notes.extend(resolved.diagnostics);
        if resolved.requirements.is_empty() {
            return Err(vec![Diagnostic::error("VND720", "nothing to add: pass --vendor NAME (see `csppatch vendors`) or --allow 'DIRECTIVE SOURCE...'")]);
        }
        if resolved.requirements.len() > MAX_REQUIREMENTS {
            return Err(vec![Diagnostic::error(
                "E062",
                format!(
                    "{} sources to add: csppatch adds at most {MAX_REQUIREMENTS} in one run \
                     (each new source is checked against every source of the policy, so the \
                     work grows with the square of their number)",
                    resolved.requirements.len()
                ),
            )
            .with_help("split the vendors or --allow lists over several runs, or allow a wildcard or scheme the vendor documents instead of each host")]);
        }
        Ok(Requirements {
            requirements: resolved.requirements,
            notes,
        })
    }

    /// The same choice as command-line options, for a `csppatch` command to suggest.
    pub fn to_flags(&self) -> String {
        let mut flags = Vec::new();
        let mut push =
            |flag: &str, value: &str| flags.push(format!("{flag} {}", shell_word(value)));
        for v in &self.vendors {
            push("--vendor", v);
        }
        if let Some(r) = &self.region {
            push("--region", r);
        }
        if let Some(d) = &self.custom_domain {
            push("--custom-domain", d);
        }
        for a in &self.allow {
            push("--allow", a);
        }
        for f in &self.vendors_files {
            push("--vendors-file", &f.display().to_string());
        }
        if self.nonce {
            flags.push("--nonce".to_string());
        }
        if self.allow_insecure {
            flags.push("--allow-insecure".to_string());
        }
        flags.join(" ")
    }
}

/// The built-in presets plus those of every `--vendors-file`, with the notes loading gave.
pub fn catalog(files: &[PathBuf]) -> Result<(Catalog, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut catalog = Catalog::builtin();
    let mut notes = Vec::new();
    for f in files {
        notes.extend(catalog.load_file(f)?);
    }
    Ok((catalog, notes))
}

/// `value` as one POSIX shell word.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/=@+%".contains(&b));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_shell_words() {
        let choice = VendorChoice {
            vendors: vec!["crisp".into()],
            allow: vec!["script-src https://x.example".into()],
            nonce: true,
            ..Default::default()
        };
        assert_eq!(
            choice.to_flags(),
            "--vendor crisp --allow 'script-src https://x.example' --nonce"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
