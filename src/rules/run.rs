//! The codes of the run itself (`E0xx`): reading paths, linking files, patching, validating
//! and writing. They are emitted by `scan.rs`, `pipeline.rs` and `commit.rs`.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "E001",
        name: "usage",
        what: "The command line is not valid: an unknown option or subcommand, a missing argument, a value an option does not take, or (`csppatch rules CODE`) a code no rule has. With `--format json` it is the one error of the document; in text clap prints it.",
        why: "Guessing what a mistyped command meant could patch the wrong files.",
        example: "csppatch merge --vendr crisp \"default-src 'self'\"\n\nUse instead:\ncsppatch merge --vendor crisp \"default-src 'self'\"",
    },
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
        what: "A file named on the command line is neither nginx, Apache, Caddy, PHP nor HTML by its name or content. An error; with --skip-unknown the file is skipped, with a warning when it mentions Content-Security-Policy.",
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
        what: "A file is larger than 16 MiB (counted as it is read, not by its reported size) \
               and was not read. An error when it mentions Content-Security-Policy or an \
               include brings it in (the run then writes nothing and --check fails); a warning \
               for a large file met while walking a directory.",
        why: "Configuration files are small; reading without a bound lets one huge file \
              exhaust memory, and skipping a policy quietly would report \"nothing to change\".",
        example: "csppatch /etc/nginx  (conf.d/blocklist.conf is 40 MiB and sets a CSP)\n\n\
                  Use instead:\nmove the CSP into a small file of its own, or --exclude the large file",
    },
    Rule {
        code: "E006",
        name: "include-not-found",
        what: "An include without wildcards matches no file.",
        why: "A CSP in the missing file is not seen; the server itself would refuse to start.",
        example: "include snippets/csp.conf;  (no such file under the nginx.conf directory)\n\nUse instead:\ncsppatch --conf-root /etc/nginx/nginx.conf /etc/nginx/sites-enabled",
    },
    Rule {
        code: "E007",
        name: "not-a-regular-file",
        what: "A path named, included or set with --conf-root is a FIFO, a device or a socket \
               (maybe behind a symlink): it is never opened. An error when named or included, \
               a warning when met while walking a directory.",
        why: "Reading /dev/zero never ends and a FIFO blocks forever; httpd itself refuses \
              such an include as \"not a regular file\".",
        example: "conf-enabled/evil.conf -> /dev/zero\n\nUse instead:\nremove the link, or point it at a regular file",
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
        what: "No Content-Security-Policy was found in the files read, and nothing was left unchecked: no file names the header where csppatch cannot read it (E041), no include was missing (E006), no CSP outside the paths applies (E011), some file was read (E042).",
        why: "Nothing blocks the vendor; csppatch never invents a policy, so nothing is changed.",
        example: "csppatch ./site  (no CSP header or meta tag anywhere)\n\nUse instead:\nnothing: the widget is not blocked by a CSP",
    },
    Rule {
        code: "E013",
        name: "site-refused",
        what: "A CSP value cannot be patched safely (built from variables, an environment placeholder, a change that would fall inside a variable part, a missing `;` that puts a directive name among another directive's sources: the help shows the corrected text).",
        why: "csppatch only writes a value it can prove the server will send as merged.",
        example: "header Content-Security-Policy {$CSP}\n\nUse instead:\nadd the vendor's sources to the CSP environment variable where it is set",
    },
    Rule {
        code: "E014",
        name: "patch-self-check",
        what: "csppatch proves each patch twice and one proof failed: the merged policy, evaluated as a CSP3 browser would, still blocks a vendor request, or the patched file read back would not make the server send the merged policy. This is a csppatch bug; nothing is written.",
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
        what: "The server's own validator rejected the patched configuration. Nothing was \
               written, or (without a private mount namespace, where csppatch must write \
               first) every file written was restored.",
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
    Rule {
        code: "E022",
        name: "invalid-before-patch",
        what: "With --validate, the server's own validator already rejects the configuration \
               before csppatch changes it.",
        why: "The failure is not the patch's, and a validator that fails either way cannot \
              tell whether the patched configuration is right: nothing is written.",
        example: "nginx -t: unknown directive \"proxy_pas\" in /etc/nginx/sites-enabled/app:12\n\n\
                  Use instead:\nfix the configuration until `nginx -t` passes, then run csppatch again",
    },
    Rule {
        code: "E023",
        name: "validator-unavailable",
        what: "--validate was asked for but the validator cannot be run: the server's binary \
               (nginx, apache2 or httpd, caddy, php) is not installed where csppatch looks, or \
               the files the check needs could not be set up, or it did not finish on the \
               unpatched configuration within the deadline (`CSPPATCH_VALIDATE_TIMEOUT`).",
        why: "Without the server's own verdict csppatch does not write: exit 3, nothing written.",
        example: "csppatch --validate /srv/conf/nginx  (on a machine without nginx)\n\n\
                  Use instead:\ninstall the server, or name it: --validate-cmd '/opt/nginx/sbin/nginx -t'",
    },
    Rule {
        code: "E024",
        name: "no-validator",
        what: "Note: with --validate, the changed files have no server validator (HTML pages); \
               each patched value was read back and checked instead.",
        why: "There is no `nginx -t` for a <meta> tag: the read-back check is the whole proof, \
              and the note says that no server program looked at the files.",
        example: "csppatch --validate --vendor muserelay site/index.html\n\n\
                  Use instead:\nnothing: this is a note; check the page in a browser if in doubt",
    },
    Rule {
        code: "E025",
        name: "validation-skipped",
        what: "--validate with --dry-run or --check where no private mount namespace is \
               available (not root, user namespaces disabled): the validator can only check \
               files at their real paths, which these modes never write.",
        why: "The diff is shown but nobody checked that the server accepts it; a later write \
              with --validate still validates.",
        example: "csppatch --validate --dry-run /etc/nginx  (as a user, with user namespaces off)\n\n\
                  Use instead:\nsudo csppatch --validate --dry-run /etc/nginx",
    },
    Rule {
        code: "E026",
        name: "restore-failed",
        what: "The server's validator rejected the patched configuration, and restoring the \
               original bytes failed for some files: they are still patched. The message names \
               them.",
        why: "Those files hold a configuration the server refuses: the next reload fails until \
              they are restored by hand.",
        example: "(the disk filled up between the write and the restore)\n\n\
                  Use instead:\nrestore the named files from backup or version control, then run csppatch again",
    },
    Rule {
        code: "E027",
        name: "hard-linked-file",
        what: "A file to patch has several hard links. By default nothing is written (an error; \
               a warning with --dry-run or --check). `--hard-links split` replaces the named file \
               by a new one, crash-safe, and the other names keep the old bytes; `--hard-links \
               in-place` writes the file itself, so every name changes, but a kill or a power \
               cut mid-write can leave it corrupt. A note says which was done.",
        why: "Both ways of writing a hard-linked file lose something: the link, or crash safety. \
              csppatch never picks one silently.",
        example: "csppatch /etc/nginx  (sites-enabled/app is a hard link to sites-available/app)\n\n\
                  Use instead:\nmake sites-enabled/app a symlink, or pass --hard-links split",
    },
];
