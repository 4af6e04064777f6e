//! The servers' own validators (`nginx -t`, `apache2 -t`, `caddy validate`, `php -l`), run
//! against the configuration before and after the patch.
//!
//! - which validators a run needs: this module, asking each changed file's dialect;
//! - [`runner`]: one run, in its own process group, bounded by one deadline;
//! - [`sandbox`]: the patched files bind-mounted over the real ones in a private mount
//!   namespace, so the validator sees the patched tree at its real paths before any real
//!   file changes. Where no namespace can be made, the pipeline writes, validates and
//!   restores instead.

pub mod runner;
pub mod sandbox;

use std::process::Command;
use std::time::Duration;

use crate::dialect::DialectKind;
use crate::scan::{config_file, FileSet};
use crate::validator::Validator;

pub use runner::Checked;
pub use sandbox::Sandbox;

/// The validators for the configurations the changed files belong to, as each file's dialect
/// builds them. `custom` is `--validate-cmd`, run once with `sh -c`.
pub fn plan(
    set: &FileSet,
    changed: &[usize],
    custom: Option<&str>,
) -> Result<Vec<Validator>, String> {
    if let Some(cmd) = custom {
        let mut v = Validator::new(vec!["sh".into(), "-c".into(), cmd.into()]);
        v.label = cmd.to_string();
        return Ok(vec![v]);
    }
    let mut out = Vec::new();
    // A template is checked as rendered (src/template/render.rs), not at its own path.
    for &i in changed {
        let f = &set.files[i];
        let Some(t) = &f.template else { continue };
        out.push(crate::template::render::check(
            &f.path, &f.target, f.dialect, t,
        )?);
    }
    let changed: Vec<usize> = changed
        .iter()
        .copied()
        .filter(|&i| set.files[i].template.is_none())
        .collect();
    let changed = changed.as_slice();
    let mut dialects: Vec<DialectKind> = changed.iter().map(|&i| set.files[i].dialect).collect();
    dialects.sort();
    dialects.dedup();
    for kind in dialects {
        let dialect = kind.dialect();
        let of_kind = || {
            changed
                .iter()
                .copied()
                .filter(|&c| set.files[c].dialect == kind)
        };
        for c in of_kind() {
            out.extend(dialect.validate_changed_file(&config_file(&set.files[c]))?);
        }
        // Every main config the changed files belong to, then the files no main config
        // reaches: one run over every such file of the run (not only the changed ones: an
        // upstream or a snippet they use may live in another), and one for each that is a
        // whole main config of its own (nginx: a top-level `http`/`events`).
        for &(k, r) in &set.roots {
            if k == kind && of_kind().any(|c| set.files[c].roots.contains(&r)) {
                out.extend(dialect.validate_main_config(&config_file(&set.files[r]))?);
            }
        }
        if !of_kind().any(|c| set.files[c].roots.is_empty()) {
            continue;
        }
        let lone = (0..set.files.len()).filter(|&i| {
            let f = &set.files[i];
            f.dialect == kind && f.in_scope && f.roots.is_empty() && !included_by_another(set, i)
        });
        let (whole, parts): (Vec<usize>, Vec<usize>) =
            lone.partition(|&i| dialect.is_whole_config(&set.files[i].src));
        for w in whole {
            out.extend(dialect.validate_main_config(&config_file(&set.files[w]))?);
        }
        if !parts.is_empty() {
            let files: Vec<_> = parts.iter().map(|&i| config_file(&set.files[i])).collect();
            out.extend(dialect.validate_lone_files(&files)?);
        }
    }
    Ok(out)
}

/// Is file `i` included by another file of the run? (Then the includer's wrapper or root
/// brings it in; including it again would define its blocks twice.)
fn included_by_another(set: &FileSet, i: usize) -> bool {
    set.files
        .iter()
        .enumerate()
        .any(|(j, f)| j != i && f.included.iter().flatten().any(|&k| k == i))
}

/// Run `v` on the configuration as it is on disk, or, with `sandbox`, with the patched files
/// mounted over the real ones.
pub fn check(v: &Validator, sandbox: Option<&Sandbox>) -> Checked {
    let mut cmd = match sandbox {
        Some(s) => s.command(&v.argv),
        None => {
            let mut c = Command::new(&v.argv[0]);
            c.args(&v.argv[1..]);
            c
        }
    };
    cmd.envs(v.env.iter().map(|(k, val)| (k, val)));
    if let Some(d) = &v.cwd {
        cmd.current_dir(d);
    }
    runner::run(cmd, &v.label, timeout())
}

/// How long one validator run may take, its children included: 120 s (nginx -t on a large
/// tree takes a second or two), or `CSPPATCH_VALIDATE_TIMEOUT` seconds.
fn timeout() -> Duration {
    let secs = std::env::var("CSPPATCH_VALIDATE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mounts_show_the_patched_file_at_the_real_path() {
        let here = sandbox::available();
        if !crate::test_support::available(here, "no private mount namespace here") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        std::fs::write(&real, b"old").unwrap();
        let v = Validator::new(vec!["cat".into(), real.display().to_string()]);
        let sandbox = Sandbox::stage([(real.as_path(), b"new".as_slice())]).unwrap();
        let out = check(&v, Some(&sandbox));
        assert!(out.ok, "{}", out.output);
        assert_eq!(out.output, "new");
        assert_eq!(
            std::fs::read(&real).unwrap(),
            b"old",
            "the real file is untouched"
        );
    }

    #[test]
    fn the_staged_copy_has_the_real_file_s_owner_and_mode() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if !crate::test_support::available(sandbox::available(), "no private mount namespace here")
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("functions.php");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let meta = std::fs::metadata(&real).unwrap();
        let v = Validator::new(vec![
            "stat".into(),
            "-c".into(),
            "%a %u %g".into(),
            real.display().to_string(),
        ]);
        let sandbox = Sandbox::stage([(real.as_path(), b"new".as_slice())]).unwrap();
        let out = check(&v, Some(&sandbox));
        assert!(out.ok, "{}", out.output);
        assert_eq!(
            out.output.trim(),
            format!("600 {} {}", meta.uid(), meta.gid())
        );
    }
}
