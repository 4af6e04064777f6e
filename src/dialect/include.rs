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
    // glob yields its matches sorted already (by name at each level, as this sort does):
    // checking costs a comparison a match, sorting 100,000 of them again cost 1% of a run.
    if !out.is_sorted() {
        out.sort();
    }
    out
}

/// [`glob_matches`] that are regular files (nginx and Caddy read files only); a match `known`
/// says is one is not looked at again.
pub fn glob_files(path: &Path, dotfiles: Dotfiles, known: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = glob_matches(path, dotfiles);
    out.retain(|p| known(p) || p.is_file());
    out
}

/// Every file below `dir`, sorted by name at each level, dotfiles included (httpd's
/// `Include dir/` reads every entry but `.` and `..`, recursively).
pub fn directory_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by(by_name)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Directory entries by name, as walkdir's `sort_by_file_name` orders them, without parsing
/// each path for its last component (that made sorting a 100,000-file directory 2% of a
/// run): the entries sorted are one directory's, each path that directory's joined with the
/// entry's name, so their bytes are the same up to the name and order as the names do.
pub fn by_name(a: &walkdir::DirEntry, b: &walkdir::DirEntry) -> std::cmp::Ordering {
    a.path().as_os_str().cmp(b.path().as_os_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `by_name` walks a tree in the order walkdir's own `sort_by_file_name` does, on names
    /// where a path's bytes and its components order differently (`a/…` and `a.d/…`, `a-`
    /// and `a.`), upper case, a dotfile and a name that is not ASCII.
    #[test]
    fn by_name_orders_a_walk_as_sort_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a", "a.d", "a-d", "B", "b/c"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        for f in [
            "a/z", "a.d/y", "a-d/x", "a.conf", "a-conf", "A", ".hidden", "\u{fc}", "b/c/1", "b/0",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let walk = |w: walkdir::WalkDir| -> Vec<PathBuf> {
            w.into_iter().map(|e| e.unwrap().into_path()).collect()
        };
        let theirs = walk(walkdir::WalkDir::new(dir.path()).sort_by_file_name());
        let ours = walk(walkdir::WalkDir::new(dir.path()).sort_by(by_name));
        assert_eq!(ours.len(), 17);
        assert_eq!(ours, theirs);
        // Not the order of the walk unsorted, nor of the paths' bytes.
        let mut bytes = ours.clone();
        bytes.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        assert_ne!(ours, bytes);
    }

    /// Matches come out sorted whichever order the glob gives them.
    #[test]
    fn glob_matches_are_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.conf", "a.conf", "c.conf", "a-b.conf"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let got = glob_matches(&dir.path().join("*.conf"), Dotfiles::Skip);
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a-b.conf", "a.conf", "b.conf", "c.conf"]);
    }
}
