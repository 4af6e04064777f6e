//! The command line as users and scripts see it: subcommands, output formats, exit codes.

use crate::common;

use std::process::Output;

fn run(args: &[&str]) -> Output {
    common::csppatch()
        .args(args)
        .output()
        .expect("run csppatch")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn merge_prints_one_line_and_creates_connect_src_from_default_src() {
    let out = run(&["merge", "--vendor", "muserelay", "default-src 'self'"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Hand-derived: each missing directive starts from default-src's 'self'; workers pinned
    // to 'self' because script-src now exists.
    assert_eq!(
        stdout(&out),
        "default-src 'self'; worker-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'\n"
    );
}

#[test]
fn merge_json_has_policy_added_and_warnings() {
    let out = run(&[
        "merge",
        "--vendor",
        "muserelay",
        "--format",
        "json",
        "default-src 'self'; script-src 'self' 'nonce-r4nd0m' 'strict-dynamic'",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = common::json::parse_checked("merge", &out.stdout);
    assert!(doc["policy"]
        .as_str()
        .unwrap()
        .contains("connect-src 'self' https://muserelay.com wss://muserelay.com"));
    let added = doc["added"].as_array().unwrap();
    assert!(added
        .iter()
        .any(|a| a["directive"] == "connect-src" && a["source"] == "wss://muserelay.com"));
    // Merge document version 2: every diagnostic under `diagnostics`, as in the others.
    assert_eq!(doc["schema_version"], 2);
    let warnings = doc["diagnostics"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w["code"] == "CSP101"),
        "strict-dynamic: {warnings:?}"
    );
}

#[test]
fn merge_refuses_a_hash_that_would_disable_unsafe_inline() {
    let policy = "default-src 'self'; script-src 'self' 'unsafe-inline'";
    let out = run(&["merge", "--allow", "script-src 'sha256-AAAA'", policy]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[CSP103]"), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim_end(),
        policy,
        "the policy is printed unchanged"
    );
}

#[test]
fn insecure_sources_need_allow_insecure() {
    let out = run(&[
        "merge",
        "--allow",
        "connect-src ws://localhost:3000",
        "default-src 'self'",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`ws://localhost:3000` is not a valid CSP source: ws: is unencrypted; pass --allow-insecure"),
        "{}",
        stderr(&out)
    );
    let ok = run(&[
        "merge",
        "--allow-insecure",
        "--allow",
        "connect-src ws://localhost:3000",
        "default-src 'self'",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("connect-src 'self' ws://localhost:3000"));
}

#[test]
fn unknown_vendor_suggests_the_closest() {
    let out = run(&["merge", "--vendor", "musrelay", "default-src 'self'"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown vendor `musrelay`; did you mean `muserelay`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_user_vendor_file_with_an_invalid_wildcard_is_rejected_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("vendors.toml");
    std::fs::write(&f, "name = \"mywidget\"\ntitle = \"My widget\"\nverified = true\n\n[sources]\nconnect-src = [\"https://*.ingest.*.sentry.io\"]\n").unwrap();
    let out = run(&[
        "merge",
        "--vendors-file",
        f.to_str().unwrap(),
        "--vendor",
        "mywidget",
        "default-src 'self'",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("vendors.toml:6:16") && err.contains("leftmost label"),
        "{err}"
    );
}

#[test]
fn vendors_lists_every_preset_with_its_source() {
    let out = run(&["vendors", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = common::json::parse_checked("vendors", &out.stdout);
    let list = doc["vendors"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|v| v["name"].as_str().unwrap()).collect();
    for required in [
        "muserelay",
        "ocelot",
        "ortto",
        "intercom",
        "crisp",
        "zendesk",
        "helpscout",
        "gtm",
        "hcaptcha",
        "turnstile",
        "front",
        "customerio",
    ] {
        assert!(names.contains(&required), "{required} in {names:?}");
    }
    let ocelot = list.iter().find(|v| v["name"] == "ocelot").unwrap();
    assert_eq!(
        ocelot["source_url"],
        "https://support.ocelotbot.com/support/solutions/articles/64000260125"
    );
    let text = stdout(&run(&["vendors"]));
    assert!(
        text.contains("https://support.ocelotbot.com/support/solutions/articles/64000260125"),
        "{text}"
    );
}

#[test]
fn rules_explains_a_code_and_refuses_an_unknown_one() {
    let out = run(&["rules", "ngx202"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for part in [
        "NGX202",
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "Use instead:",
    ] {
        assert!(text.contains(part), "{text}");
    }
    let unknown = run(&["rules", "XYZ999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no rule XYZ999; `csppatch rules` lists them"),
        "{}",
        stderr(&unknown)
    );
    assert!(stdout(&unknown).is_empty(), "{}", stdout(&unknown));
}

#[test]
fn usage_errors_exit_2() {
    // Each refusal by its reason, not only its exit code: a usage error that exits 2 for
    // another reason would pass an exit-code check.
    for (args, reason) in [
        (
            &[][..],
            "the following required arguments were not provided:\n  <PATH>...",
        ),
        (
            &["x.conf", "--dry-run", "--check", "--vendor", "muserelay"][..],
            "the argument '--dry-run' cannot be used with '--check'",
        ),
        (
            &["nowhere.conf", "--vendor", "muserelay"][..],
            "nowhere.conf: No such file or directory",
        ),
        (
            &["examples/nginx"][..],
            "nothing to add: pass --vendor NAME (see `csppatch vendors`) or --allow",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(reason),
            "{args:?}: `{reason}` in\n{}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn help_explains_modes_exit_codes_and_examples() {
    let out = run(&["--help"]);
    let text = stdout(&out);
    for part in [
        "--dry-run",
        "--check",
        "--validate",
        "Exit codes",
        "csppatch /etc/nginx/sites-enabled --vendor muserelay --dry-run",
        "merge",
        "vendors",
    ] {
        assert!(text.contains(part), "{part} in --help:\n{text}");
    }
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let mut child = common::csppatch()
        .args(["rules"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before csppatch writes (as `| head -0` would): every write then
    // fails with EPIPE, on which `println!` panics.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}
