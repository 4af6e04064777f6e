//! The Python tools some tests drive (ansible-playbook, pre-commit, python3 with jinja2 and
//! crossplane), from the virtualenv `scripts/test-deps.sh` makes at `.venv/`. `scripts/test.sh`
//! puts its bin/ first on PATH; commands made here also find it under a bare `cargo test`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's virtualenv bin/ directory.
pub fn venv_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin")
}

/// PATH with the virtualenv and the csppatch built for these tests in front.
pub fn path() -> OsString {
    let mut dirs = vec![venv_bin()];
    if let Some(bin_dir) = Path::new(env!("CARGO_BIN_EXE_csppatch")).parent() {
        dirs.push(bin_dir.to_path_buf());
    }
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).expect("PATH entries without ':'")
}

/// `tool` as found on [`path`], or `None`.
pub fn find(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&path())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether `tool` is there; see [`super::available`] for when it is not.
#[must_use]
pub fn have(tool: &str) -> bool {
    super::available(
        find(tool).is_some(),
        &format!("`{tool}` is not installed (scripts/test-deps.sh makes .venv/ with it)"),
    )
}

/// A command running `tool` with [`path`] as PATH (so what it starts finds csppatch too).
pub fn command(tool: &str) -> Command {
    let mut c = Command::new(find(tool).unwrap_or_else(|| PathBuf::from(tool)));
    c.env("PATH", path());
    c
}

/// `ansible-playbook PLAYBOOK -i INVENTORY`, run in `tmp` with a HOME and temp directories of
/// its own, the repository's ansible.cfg (it loads the collection in place) and the JSON
/// stdout callback of tests/support/ansible_callback (one document on stdout).
pub fn ansible_playbook(tmp: &Path, playbook: &Path, inventory: &Path) -> Command {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).expect("a HOME for ansible");
    let mut c = command("ansible-playbook");
    c.arg(playbook)
        .arg("-i")
        .arg(inventory)
        .current_dir(tmp)
        .env("HOME", &home)
        .env("ANSIBLE_CONFIG", repo.join("ansible/ansible.cfg"))
        .env("ANSIBLE_STDOUT_CALLBACK", "json_report")
        .env(
            "ANSIBLE_CALLBACK_PLUGINS",
            repo.join("tests/support/ansible_callback"),
        )
        .env("ANSIBLE_LOCAL_TEMP", home.join("local"))
        .env("ANSIBLE_REMOTE_TEMP", home.join("remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0");
    c
}
