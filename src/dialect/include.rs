//! Include expansion as the servers do it, for [`Dialect::expand_include`](super::Dialect):
//! a glob matched by the server's rules for dotfiles, and a directory read whole.

use std::path::{Path, PathBuf};

/// Whether a wildcard matches a name that starts with a dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dotfiles {
    /// glob(3) without `GLOB_PERIOD` (nginx's `ngx_open_glob`) and `apr_fnmatch` with
    /// `APR_FNM_PERIOD` (httpd's wildcard `Include`): `*` never matches `.site.conf.swp`.
    Skip,
    /// Go's `filepath.Glob` (Caddy's `import`): `*` matches a leading dot too.
    Match,
}

/// Does the path hold a wildcard?
pub fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The paths `path` names: every match of a glob, sorted, or the path itself when it exists.
/// Directories are kept (the caller decides what a directory means).
pub fn glob_matches(path: &Path, dotfiles: Dotfiles) -> Vec<PathBuf> {
    let text = path.to_string_lossy();
    let mut out: Vec<PathBuf> = if has_glob(&text) {
        let options = glob::MatchOptions {
            require_literal_leading_dot: dotfiles == Dotfiles::Skip,
            ..glob::MatchOptions::new()
        };
        glob::glob_with(&text, options)
            .map(|g| g.filter_map(Result::ok).collect())
            .unwrap_or_default()
    } else if path.exists() {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    };
    out.sort();
    out
}

/// [`glob_matches`] that are regular files (nginx and Caddy read files only).
pub fn glob_files(path: &Path, dotfiles: Dotfiles) -> Vec<PathBuf> {
    let mut out = glob_matches(path, dotfiles);
    out.retain(|p| p.is_file());
    out
}

/// Every file below `dir`, sorted by name at each level, dotfiles included (httpd's
/// `Include dir/` reads every entry but `.` and `..`, recursively).
pub fn directory_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}
