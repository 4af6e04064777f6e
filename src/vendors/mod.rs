//! Vendor presets as data (one TOML file per vendor, embedded at build time) and the loader.

use crate::rules::Rule;

pub static RULES: &[Rule] = &[];
