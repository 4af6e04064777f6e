//! Output a newcomer understands: `--quiet`, identical changes grouped on large runs, "did you
//! mean" for a subcommand typed where a PATH goes, a diagnostic's line and caret.

use crate::common;

use std::path::Path;
use std::process::Output;

fn run(args: &[&str], cwd: &Path) -> Output {
    common::csppatch()
        .args(args)
        .current_dir(cwd)
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run csppatch")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A vhost with a CSP, modelled on the per-site server blocks of Debian's
/// /etc/nginx/sites-available/default, with the CSP `add_header` h5bp/server-configs-nginx
/// recommends; `location /api/` has an add_header of its own, which drops the CSP there
/// (NGX202, a warning).
fn vhost(n: usize) -> String {
    format!(
        "server {{\n    listen 80;\n    server_name shop{n}.example.com;\n    add_header Content-Security-Policy \"default-src 'self'; script-src 'self'\" always;\n    location /api/ {{\n        add_header X-Api 1;\n    }}\n}}\n"
    )
}

fn sites(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sites")).unwrap();
    for i in 0..n {
        std::fs::write(dir.path().join(format!("sites/s{i:02}.conf")), vhost(i)).unwrap();
    }
    dir
}

#[test]
fn quiet_prints_errors_and_the_summary_only() {
    let dir = sites(2);
    let loud = run(&["sites", "--vendor", "muserelay", "--dry-run"], dir.path());
    assert_eq!(loud.status.code(), Some(0), "{}", text(&loud.stderr));
    assert!(text(&loud.stdout).contains("+++ b/sites/s00.conf"));
    assert!(
        text(&loud.stderr).contains(": warning[NGX202]"),
        "{}",
        text(&loud.stderr)
    );

    let quiet = run(
        &["sites", "--vendor", "muserelay", "--dry-run", "--quiet"],
        dir.path(),
    );
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(text(&quiet.stdout), "", "no diff under --quiet");
    let err = text(&quiet.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("csppatch: 2 files read"), "{err}");
    // The summary is the loud run's last line.
    assert_eq!(text(&loud.stderr).lines().last(), err.lines().last());

    // An error is still shown, and so is the summary.
    let quiet = run(&["nope", "--vendor", "muserelay", "-q"], dir.path());
    assert_eq!(quiet.status.code(), Some(2));
    let err = text(&quiet.stderr);
    assert!(err.contains("error[E002]") && err.contains("nope"), "{err}");
    assert!(!err.contains("warning["), "{err}");
    assert!(err.ends_with("(errors: nothing written)\n"), "{err}");
}

#[test]
fn identical_changes_in_many_sites_are_grouped() {
    let dir = sites(8);
    let out = run(&["sites", "--vendor", "muserelay", "--dry-run"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("8 sites: Content-Security-Policy, the same change in each\n"),
        "{err}"
    );
    assert!(
        err.contains("  at sites/s00.conf:4 (server shop0.example.com)\n"),
        "{err}"
    );
    assert!(
        err.contains("  and 5 more (--format json lists every site)\n"),
        "{err}"
    );
    // Listed once, not eight times.
    assert_eq!(err.matches("+ https://muserelay.com").count(), 1, "{err}");
    // Every diff is still printed.
    assert_eq!(text(&out.stdout).matches("+++ b/").count(), 8);

    // Below the threshold each site has its own lines.
    let dir = sites(2);
    let err = text(&run(&["sites", "--vendor", "muserelay", "--dry-run"], dir.path()).stderr);
    assert!(
        err.contains("sites/s00.conf:4: Content-Security-Policy (server shop0.example.com)\n"),
        "{err}"
    );
    assert_eq!(err.matches("+ https://muserelay.com").count(), 2, "{err}");
}

#[test]
fn a_subcommand_where_a_path_goes_gets_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    for (typed, meant) in [("vendor", "vendors"), ("merg", "merge"), ("rule", "rules")] {
        let out = run(&[typed, "--vendor", "muserelay"], dir.path());
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "error[E002]: {typed}: no such file or directory, and no subcommand `{typed}`"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("= help: did you mean `csppatch {meant}`?")),
            "{err}"
        );
    }
    // A real file of that name is patched as a file: no did-you-mean.
    std::fs::write(dir.path().join("vendor"), vhost(0)).unwrap();
    let out = run(
        &[
            "vendor",
            "--vendor",
            "muserelay",
            "--dialect",
            "nginx",
            "--dry-run",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("did you mean"));
}

#[test]
fn the_subcommands_checked_for_typos_are_those_help_lists() {
    let out = run(&["--help"], Path::new("."));
    let help = text(&out.stdout);
    let listed: Vec<&str> = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        // A command's line, not the wrapped rest of its description.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    let mut known = csppatch::commands::patch::SUBCOMMANDS.to_vec();
    known.sort();
    let mut listed = listed;
    listed.sort();
    assert_eq!(listed, known);
}

#[test]
fn a_diagnostic_shows_its_line_and_a_caret_under_the_column() {
    let dir = sites(1);
    let err = text(&run(&["sites", "--vendor", "muserelay", "--dry-run"], dir.path()).stderr);
    // Hand-written from the fixture: line 5 is `location /api/ {`, its `l` at column 5.
    let want = "sites/s00.conf:5:5: warning[NGX202]: `location /api/` has its own add_header";
    let at = err.find(want).expect(&err);
    let block: Vec<&str> = err[at..].lines().take(4).collect();
    assert_eq!(block[1], "        location /api/ {", "{err}");
    assert_eq!(block[2], "        ^", "{err}");
    assert!(
        block[3].starts_with("    = help: repeat the Content-Security-Policy add_header"),
        "{err}"
    );
}
