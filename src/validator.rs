//! A validator command as a dialect describes it (`nginx -t -c /etc/nginx/nginx.conf`), and
//! the helpers dialects build one with. Running it is `validate`'s business; this module knows
//! nothing of files, scans or processes, so every dialect can use it.

use std::path::{Path, PathBuf};

/// One validator run to make.
#[derive(Debug)]
pub struct Validator {
    /// `nginx -t -c /etc/nginx/nginx.conf`, as shown to the user.
    pub label: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    /// Wrapper configs and a scratch HOME; removed when the validator is dropped.
    scratch: Vec<tempfile::TempDir>,
}

impl Validator {
    /// Run `argv` as it is; the label is the command line.
    pub fn new(argv: Vec<String>) -> Validator {
        Validator {
            label: argv.join(" "),
            argv,
            env: Vec::new(),
            cwd: None,
            scratch: Vec::new(),
        }
    }

    /// Keep `dir` (wrapper configs, a scratch HOME) until the validator is dropped.
    pub fn keeping(mut self, dir: tempfile::TempDir) -> Validator {
        self.scratch.push(dir);
        self
    }
}

/// A scratch directory for wrapper configs, or the reason there is none (a full or read-only
/// temporary directory: said as it is, never taken for a validation failure).
pub fn scratch_dir() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|e| {
        format!(
            "cannot validate: no scratch directory for the validator in {}: {e}",
            std::env::temp_dir().display()
        )
    })
}

/// A server binary, looked up in PATH and in the sbin directories PATH often lacks; the first
/// of `names` that exists (`apache2`, then `httpd`).
pub fn find_binary(names: &[&str]) -> Result<String, String> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/sbin",
            "/usr/local/sbin",
            "/sbin",
            "/usr/local/nginx/sbin",
        ]
        .map(PathBuf::from),
    );
    for name in names {
        for d in &dirs {
            let p = d.join(name);
            if p.is_file() {
                return Ok(p.display().to_string());
            }
        }
    }
    Err(format!(
        "cannot validate: `{}` is not installed (use --validate-cmd to name the validator)",
        names.first().copied().unwrap_or("?")
    ))
}

/// `path` as a double-quoted word that nginx, Apache and Caddy all read back as the path: a
/// `"` or `\` in it is escaped.
pub fn quoted(path: &Path) -> String {
    format!(
        "\"{}\"",
        path.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

/// A scratch directory for a wrapper config that mirrors the server directory of the file
/// at `target` (the parent of its directory: `sites-enabled/x` mirrors the server root), so
/// the wrapper resolves the same relative includes.
pub fn mirrored_scratch(target: Option<&Path>) -> Result<tempfile::TempDir, String> {
    let scratch = scratch_dir()?;
    if let Some(base) = target.and_then(Path::parent).and_then(Path::parent) {
        mirror_dir(base, scratch.path());
    }
    Ok(scratch)
}

/// Link every entry of `from` into `dir`, so that a wrapper config in `dir` resolves the same
/// relative includes as a config in `from` (a lone vhost's `include snippets/x.conf`).
fn mirror_dir(from: &Path, dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(from) {
        for e in entries.flatten() {
            let _ = std::os::unix::fs::symlink(e.path(), dir.join(e.file_name()));
        }
    }
}
