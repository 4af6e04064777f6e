//! csppatch: let a third-party widget through a site's Content-Security-Policy by editing the
//! server configuration in place.
//!
//! One pipeline, one direction: find → decode → merge → encode → splice → diff → validate →
//! commit. [`run`] is the whole of it; `main.rs` only turns arguments into a [`Config`].

pub mod commit;
pub mod csp;
pub mod diag;
pub mod dialect;
pub mod edit;
mod pipeline;
pub mod probe;
pub mod report;
pub mod rules;
pub mod scan;
pub mod site;
pub mod splice;
pub mod template;
pub mod validate;
pub mod vendors;

use std::path::PathBuf;

pub use pipeline::run;

/// Write the files, only show the diff, or show it and fail when something would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Write,
    DryRun,
    Check,
}

/// Everything a patch run needs, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub paths: Vec<PathBuf>,
    pub requirements: Vec<csp::Requirement>,
    pub scan: scan::ScanOptions,
    pub mode: Mode,
    pub validate: bool,
    pub validate_cmd: Option<String>,
}

/// Exit codes of the command-line contract (DESIGN.md).
pub mod exit {
    /// Done, or nothing to do.
    pub const OK: u8 = 0;
    /// `--check` found files that would change.
    pub const CHANGES: u8 = 1;
    /// Bad input: usage, unparsable file, invalid source, unsafe request.
    pub const BAD_INPUT: u8 = 2;
    /// Validation failed and nothing was written.
    pub const INVALID: u8 = 3;
}

use rules::Rule;

/// Codes of the pipeline itself: paths, linking, writing, validation.
pub static RULES: &[Rule] = &[
    Rule {
        code: "E002",
        name: "unreadable-path",
        what: "A path on the command line, an include target or `--conf-root` cannot be read.",
        why: "csppatch must read every file of a configuration before it changes any of them.",
        example: "csppatch /etc/nginx/site-enabled  (typo)\n\nUse instead:\ncsppatch /etc/nginx/sites-enabled",
    },
    Rule {
        code: "E003",
        name: "unknown-dialect",
        what: "A file named on the command line is neither nginx, Apache, Caddy, PHP nor HTML by its name or content.",
        why: "Editing a file in the wrong syntax would break it.",
        example: "csppatch site.cfg\n\nUse instead:\ncsppatch --dialect nginx site.cfg",
    },
    Rule {
        code: "E004",
        name: "walk-error",
        what: "A directory could not be walked completely (permissions, a symlink loop).",
        why: "Files csppatch cannot see keep their old policy.",
        example: "csppatch /etc/nginx  (as a user who cannot read /etc/nginx/private)\n\nUse instead:\nsudo csppatch /etc/nginx",
    },
    Rule {
        code: "E005",
        name: "file-too-large",
        what: "A named file is larger than 16 MiB and was skipped.",
        why: "Configuration files are small; a huge file is a log or a dump and is not edited.",
        example: "csppatch /var/log/nginx/access.log\n\nUse instead:\ncsppatch /etc/nginx",
    },
    Rule {
        code: "E006",
        name: "include-not-found",
        what: "An include without wildcards matches no file.",
        why: "A CSP in the missing file is not seen; the server itself would refuse to start.",
        example: "include snippets/csp.conf;  (no such file under the nginx.conf directory)\n\nUse instead:\ncsppatch --conf-root /etc/nginx/nginx.conf /etc/nginx/sites-enabled",
    },
    Rule {
        code: "E010",
        name: "undefined-csp-variable",
        what: "A CSP header takes its value from a variable that no file csppatch read defines.",
        why: "The policy lives elsewhere, so csppatch cannot make it allow the vendor.",
        example: "add_header Content-Security-Policy $csp always;  (the `map` is in nginx.conf)\n\nUse instead:\ncsppatch --conf-root /etc/nginx/nginx.conf /etc/nginx/sites-enabled",
    },
    Rule {
        code: "E011",
        name: "csp-outside-paths",
        what: "A CSP in a file outside the given paths (the main config, or a file it includes) also applies to them; it was not patched.",
        why: "Browsers enforce every policy they receive: if that policy blocks the vendor, the widget stays blocked.",
        example: "csppatch /etc/nginx/sites-enabled  (nginx.conf's http block also sends a CSP)\n\nUse instead:\ncsppatch /etc/nginx",
    },
    Rule {
        code: "E012",
        name: "no-csp",
        what: "No Content-Security-Policy was found in the files read.",
        why: "Nothing blocks the vendor; csppatch never invents a policy, so nothing is changed.",
        example: "csppatch ./site  (no CSP header or meta tag anywhere)\n\nUse instead:\nnothing: the widget is not blocked by a CSP",
    },
    Rule {
        code: "E013",
        name: "site-refused",
        what: "A CSP value cannot be patched safely (built from variables, an environment placeholder, a change that would fall inside a variable part).",
        why: "csppatch only writes a value it can prove the server will send as merged.",
        example: "header Content-Security-Policy {$CSP}\n\nUse instead:\nadd the vendor's sources to the CSP environment variable where it is set",
    },
    Rule {
        code: "E014",
        name: "patch-self-check",
        what: "After patching, csppatch read the file back and the server would not send the merged policy. This is a csppatch bug; nothing is written.",
        why: "A write that cannot be proven right is not made.",
        example: "(please report the file and the command line)\n\nUse instead:\nedit the value by hand this once",
    },
    Rule {
        code: "E015",
        name: "csp-variable-outside-paths",
        what: "A `map`/`set` value outside the given paths is patched because a CSP header inside them takes its value from it.",
        why: "That value is the policy of the sites you named; leaving it would leave the vendor blocked. The note says which file changes beyond the ones you named.",
        example: "csppatch /etc/nginx/sites-enabled  (the map is in /etc/nginx/conf.d/csp.conf)\n\nUse instead:\nnothing: this is a note; pass /etc/nginx to name every file",
    },
    Rule {
        code: "E020",
        name: "validation-failed",
        what: "The server's own validator rejected the patched configuration (or already rejected it before the change).",
        why: "A configuration the server refuses would take the site down on the next reload.",
        example: "nginx -t: \"too long parameter\"\n\nUse instead:\nfix what the validator says, or split the policy as the message suggests",
    },
    Rule {
        code: "E021",
        name: "write-failed",
        what: "A file could not be written, or changed on disk since csppatch read it; files already written were restored.",
        why: "A half-written configuration is worse than none.",
        example: "(another deploy wrote sites-available/example.conf meanwhile)\n\nUse instead:\nrun csppatch again",
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_has_a_rule() {
        for r in crate::RULES {
            assert!(crate::rules::find(r.code).is_some());
        }
    }
}
