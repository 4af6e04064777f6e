//! `csppatch rules` and `csppatch rules CODE`, run as a user would: every documented code is
//! explained in ruff's three parts, the listing names each once, and a mistyped code gets the
//! nearest one and exit 2.
use crate::common;

use std::process::Output;

fn rules(args: &[&str]) -> Output {
    common::csppatch()
        .arg("rules")
        .args(args)
        .output()
        .expect("csppatch runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_code_is_explained_in_three_parts() {
    for rule in csppatch::rules::all() {
        // Lower case too: users copy codes from JSON or type them by hand.
        let out = rules(&[&rule.code.to_ascii_lowercase()]);
        assert_eq!(out.status.code(), Some(0), "{}", rule.code);
        let shown = text(&out.stdout);
        assert!(
            shown.starts_with(&format!("{} ({})\n", rule.code, rule.name)),
            "{shown}"
        );
        let parts = ["## What it does", "## Why is this bad?", "## Example"];
        let at: Vec<usize> = parts
            .iter()
            .map(|p| shown.find(p).unwrap_or_else(|| panic!("{p} in {shown}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "in order: {shown}");
        assert!(shown[at[2]..].contains("Use instead"), "{shown}");
        assert!(
            shown.contains(rule.what) && shown.contains(rule.why),
            "{shown}"
        );
    }
}

#[test]
fn the_listing_names_every_code_once_and_how_to_read_one() {
    let out = rules(&[]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    let all = csppatch::rules::all();
    let lines: Vec<&str> = listing.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), all.len(), "{listing}");
    for (line, rule) in lines.iter().zip(&all) {
        assert!(
            line.starts_with(&format!("{:<8} {:<36} ", rule.code, rule.name)),
            "{line}"
        );
    }
    assert!(listing.ends_with(
        "\n\n`csppatch rules CODE` explains one: what it does, why, and what to write instead.\n"
    ));
}

#[test]
fn a_mistyped_code_gets_the_nearest_one_and_exit_2() {
    let out = rules(&["NGX22"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error[E001]: no rule NGX22; did you mean `NGX202` (add-header-drops-inherited-csp)? \
         `csppatch rules` lists them\n"
    );
    // A rule's name finds its code.
    let out = rules(&["strict-dynamic-ignores-host"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `CSP101`"),
        "{}",
        text(&out.stderr)
    );
    // Nothing near: no guess.
    let out = rules(&["XYZ999"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error[E001]: no rule XYZ999; `csppatch rules` lists them\n"
    );
}
