//! How csppatch names its temporary files, so that the writer that makes them and the scanner
//! that must never read them (a killed run may leave one behind) agree.

use std::path::Path;

/// The suffix of every temporary file csppatch writes next to a configuration file.
pub const SUFFIX: &str = ".csppatch-tmp";

/// The prefix of the temporary file that replaces `name`: hidden, and named after it.
pub fn prefix(name: &str) -> String {
    format!(".{name}.")
}

/// Is `path` a temporary file of csppatch's own?
pub fn is_temp(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(SUFFIX))
}
