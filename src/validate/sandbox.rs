//! A private mount namespace in which the patched files are bind-mounted over the real ones
//! (`unshare --mount`), so that a validator reads the patched configuration at its real paths
//! and names the real paths in its messages, while the real files stay untouched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Can this process make a private mount namespace? Tried once. `CSPPATCH_NO_NAMESPACE=1`
/// forces the write-validate-restore path (what a machine without namespaces gets), so that
/// path is tested too.
pub fn available() -> bool {
    namespace_flags().is_some()
}

/// The `unshare` flags that give this process a private mount namespace: `--mount` as root,
/// else a user namespace mapping the user to root (unprivileged user namespaces), else none.
fn namespace_flags() -> Option<&'static [&'static str]> {
    const AS_ROOT: &[&str] = &["--mount", "--propagation", "private"];
    const AS_USER: &[&str] = &[
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
    ];
    static FLAGS: std::sync::OnceLock<Option<&'static [&'static str]>> = std::sync::OnceLock::new();
    *FLAGS.get_or_init(|| {
        if std::env::var_os("CSPPATCH_NO_NAMESPACE").is_some_and(|v| v == "1") {
            return None;
        }
        [AS_ROOT, AS_USER].into_iter().find(|flags| {
            Command::new("unshare")
                .args(flags.iter())
                .arg("true")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// The patched bytes of each file, staged in a scratch directory, and the real path each one
/// is mounted over.
pub struct Sandbox {
    _scratch: tempfile::TempDir,
    mounts: Vec<(PathBuf, PathBuf)>,
}

impl Sandbox {
    /// Stage `files` (real path, patched bytes). `Err` says why they could not be (no scratch
    /// directory, a full disk): a reason, never a validation failure.
    pub fn stage<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a [u8])>,
    ) -> Result<Sandbox, String> {
        let scratch = tempfile::tempdir().map_err(|e| {
            format!(
                "cannot make a scratch directory for the patched copies in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
        let mut mounts = Vec::new();
        for (n, (real, bytes)) in files.into_iter().enumerate() {
            let copy = scratch.path().join(n.to_string());
            stage_copy(&copy, real, bytes).map_err(|e| {
                format!(
                    "cannot stage the patched {} in {}: {e}",
                    crate::diag::quoted(real),
                    scratch.path().display()
                )
            })?;
            mounts.push((copy, real.to_path_buf()));
        }
        Ok(Sandbox {
            _scratch: scratch,
            mounts,
        })
    }

    /// `argv` run inside a private mount namespace with every staged copy mounted.
    pub fn command(&self, argv: &[String]) -> Command {
        let mut c = Command::new("unshare");
        c.args(namespace_flags().unwrap_or(&["--mount", "--propagation", "private"]));
        c.args(["--", "sh", "-c", MOUNT_SCRIPT, "sh"]);
        c.arg(self.mounts.len().to_string());
        for (from, to) in &self.mounts {
            c.arg(from).arg(to);
        }
        c.args(argv);
        c
    }
}

/// Write the patched copy of `real` as the validator must see it: created 0600 (the scratch
/// directory is 0700 too), then given the real file's owner and mode, so that a validator
/// that checks them (php-fpm pools, a server dropping privileges) sees what it will see
/// after the write, and nobody else can read a private file's patched bytes meanwhile.
fn stage_copy(copy: &Path, real: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let meta = std::fs::metadata(real)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(copy)?;
    f.write_all(bytes)?;
    std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()))?;
    // After the owner: a change of owner clears the set-id bits.
    f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    Ok(())
}

/// `sh -c` script: `N from1 to1 ... fromN toN cmd args...`.
const MOUNT_SCRIPT: &str = r#"set -e
n=$1; shift
while [ "$n" -gt 0 ]; do mount --bind "$1" "$2"; shift 2; n=$((n-1)); done
exec "$@""#;
