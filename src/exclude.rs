//! `--exclude GLOB`: files left out of the walk and of include expansion, so that one file
//! csppatch must not (or cannot) patch does not block a whole tree.
//!
//! A GLOB is matched, gitignore-like, against the file's path, every directory above it, and
//! every trailing part of those: `*.svg.conf` and `uploads.conf` name files at any depth,
//! `legacy` a directory at any depth, `sites-enabled/old-*` files in any `sites-enabled`, and
//! `/etc/nginx/conf.d/uploads.conf` (a leading `/`) one absolute path. `*`, `?` and `[...]`
//! stay within one path component; `**` crosses them. Paths are made absolute first
//! (lexically: `..` is resolved, symlinks are not), and a symlink is also matched by the file
//! behind it (sites-enabled/shop by sites-available/shop).

use std::path::{Component, Path, PathBuf};

/// One `--exclude` pattern.
#[derive(Debug, Clone)]
pub struct Exclude {
    glob: String,
    pattern: glob::Pattern,
    /// A leading `/`: matched against whole absolute paths only.
    anchored: bool,
}

const OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Exclude {
    /// Parse a GLOB as given on the command line (`clap` shows the error as a usage error).
    pub fn new(glob: &str) -> Result<Exclude, String> {
        let anchored = glob.starts_with('/');
        let mut squeezed = glob.to_string();
        while squeezed.contains("//") {
            squeezed = squeezed.replace("//", "/");
        }
        let mut text = squeezed.trim_end_matches('/');
        while let Some(rest) = text.strip_prefix("./") {
            text = rest;
        }
        let text = text.trim_start_matches('/');
        if text.is_empty() || text == "." || text == ".." {
            return Err(format!(
                "`{glob}` names no file (a GLOB is matched against paths, not relative to this directory)"
            ));
        }
        let pattern = glob::Pattern::new(text).map_err(|e| format!("`{glob}`: {e}"))?;
        Ok(Exclude {
            glob: glob.to_string(),
            pattern,
            anchored,
        })
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.glob
    }

    /// Does this pattern match the normal components `parts` of an absolute path (the file
    /// or a directory above it)?
    fn matches_parts(&self, parts: &[String]) -> bool {
        for end in 1..=parts.len() {
            let starts = if self.anchored { 0..1 } else { 0..end };
            for start in starts {
                if self
                    .pattern
                    .matches_with(&parts[start..end].join("/"), OPTIONS)
                {
                    return true;
                }
            }
        }
        false
    }
}

/// Is `path` left out by any of `patterns`? Costs nothing without patterns.
pub fn excluded(patterns: &[Exclude], path: &Path) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let mut candidates = vec![normal_parts(path)];
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        if let Ok(target) = std::fs::canonicalize(path) {
            candidates.push(normal_parts(&target));
        }
    }
    candidates
        .iter()
        .any(|parts| patterns.iter().any(|p| p.matches_parts(parts)))
}

/// The components of `path` made absolute, `.` dropped and `..` applied.
fn normal_parts(path: &Path) -> Vec<String> {
    let abs = crate::edit::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
    let mut parts: Vec<String> = Vec::new();
    for c in abs.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(globs: &[&str], path: &str) -> bool {
        let patterns: Vec<Exclude> = globs.iter().map(|g| Exclude::new(g).unwrap()).collect();
        excluded(&patterns, Path::new(path))
    }

    #[test]
    fn a_name_matches_at_any_depth() {
        assert!(ex(&["uploads.conf"], "/etc/nginx/conf.d/uploads.conf"));
        assert!(ex(&["*.svg.conf"], "/etc/nginx/snippets/icons.svg.conf"));
        assert!(!ex(&["uploads.conf"], "/etc/nginx/conf.d/uploads.conf.bak"));
        assert!(!ex(&["*.svg.conf"], "/etc/nginx/snippets/icons.conf"));
    }

    #[test]
    fn a_directory_name_leaves_out_everything_below_it() {
        assert!(ex(&["legacy"], "/srv/conf/legacy/a.conf"));
        assert!(ex(&["legacy"], "/srv/conf/legacy/deep/b.conf"));
        assert!(!ex(&["legacy"], "/srv/conf/legacy-new/a.conf"));
    }

    #[test]
    fn a_star_stays_in_one_component_and_double_star_crosses() {
        assert!(ex(
            &["sites-enabled/old-*"],
            "/etc/nginx/sites-enabled/old-shop"
        ));
        assert!(!ex(&["sites-*/shop"], "/etc/nginx/sites-enabled/x/shop"));
        assert!(!ex(&["nginx/*.conf"], "/etc/nginx/conf.d/a.conf"));
        assert!(ex(&["nginx/**/*.conf"], "/etc/nginx/conf.d/a.conf"));
    }

    #[test]
    fn a_leading_slash_anchors_at_the_root() {
        assert!(ex(&["/etc/nginx/conf.d"], "/etc/nginx/conf.d/a.conf"));
        assert!(!ex(&["/nginx/conf.d"], "/etc/nginx/conf.d/a.conf"));
        assert!(ex(&["nginx/conf.d"], "/etc/nginx/conf.d/a.conf"));
        assert!(ex(&["/etc/nginx//conf.d/"], "/etc/nginx/conf.d/a.conf"));
    }

    #[test]
    fn relative_paths_are_made_absolute_lexically() {
        let cwd = std::env::current_dir().unwrap();
        let name = cwd.file_name().unwrap().to_string_lossy().into_owned();
        assert!(ex(&[&format!("{name}/x.conf")], "x.conf"));
        assert!(ex(&["./x.conf"], "sub/../x.conf"));
        assert!(!ex(&["sub"], "sub/../x.conf"), "`..` left sub");
    }

    #[test]
    fn bad_globs_are_refused() {
        assert!(Exclude::new("[").is_err());
        assert!(Exclude::new("/").is_err());
        assert!(Exclude::new("./").is_err());
        assert_eq!(Exclude::new("a/").unwrap().as_str(), "a/");
    }
}
