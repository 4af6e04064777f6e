//! Patch mode's checks of the command line before the run ([`crate::pipeline::run`]): what
//! clap cannot tell is a mistake because any word is a valid PATH.

use std::path::Path;

use crate::diag::Diagnostic;

/// The subcommands, as `csppatch --help` lists them (a test checks the two agree).
pub const SUBCOMMANDS: &[&str] = &[
    "merge",
    "vendors",
    "rules",
    "probe",
    "remove",
    "audit",
    "completions",
    "man",
];

/// A PATH that does not exist and is a subcommand's name, or close to one (`vendor`,
/// `merg`, `probe` after an option): clap read it as a file because it is no subcommand, or
/// not where a subcommand goes. `E002` (the path cannot be read) with "did you mean".
pub fn mistyped_subcommand(paths: &[impl AsRef<Path>]) -> Option<Diagnostic> {
    paths.iter().find_map(|path| {
        let path = path.as_ref();
        let word = path.to_str()?;
        if word.contains('/') || path.symlink_metadata().is_ok() {
            return None;
        }
        let lower = word.to_ascii_lowercase();
        let (distance, name) = SUBCOMMANDS
            .iter()
            .map(|s| (strsim::damerau_levenshtein(&lower, s), *s))
            .min()?;
        // Two edits is a typo for the long names; one for the short ones (`rule`, `merg`).
        if distance > if name.len() > 5 { 2 } else { 1 } {
            return None;
        }
        let help = if word == name {
            format!(
                "a subcommand comes first: `csppatch {name} ...` (see `csppatch {name} --help`)"
            )
        } else {
            format!("did you mean `csppatch {name}`? (see `csppatch {name} --help`)")
        };
        Some(
            Diagnostic::error(
                "E002",
                format!("{word}: no such file or directory, and no subcommand `{word}`"),
            )
            .with_help(help),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(word: &str) -> Option<String> {
        mistyped_subcommand(&[word]).and_then(|d| d.help)
    }

    #[test]
    fn close_to_a_subcommand() {
        assert!(help("vendor").unwrap().contains("`csppatch vendors`"));
        assert!(help("vendros").unwrap().contains("`csppatch vendors`"));
        assert!(help("merg").unwrap().contains("`csppatch merge`"));
        assert!(help("Probe").unwrap().contains("`csppatch probe`"));
        assert!(help("rule").unwrap().contains("`csppatch rules`"));
        assert!(help("merge").unwrap().contains("comes first"));
    }

    #[test]
    fn not_close_or_not_a_word() {
        assert_eq!(help("nginx"), None);
        assert_eq!(help("sites"), None);
        assert_eq!(help("./vendor"), None);
        assert_eq!(help("mrg"), None, "two edits from a short name");
        // An existing file of that name is a file.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vendor");
        std::fs::write(&file, "").unwrap();
        assert_eq!(mistyped_subcommand(&[&file]).map(|d| d.code), None);
    }
}
