//! PHP values held in a variable assigned from a literal (README, "Values built from
//! variables"): the change goes into the assigned literal, and `php -S` with headless
//! Chromium shows the vendor allowed and nothing else changed. Fixtures:
//! tests/fixtures/vars/php (each names the public file it models).

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::widget::{self, MUSERELAY_LOADS};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vars/php")
        .join(name)
}

fn csppatch(file: &Path) -> std::process::Output {
    common::csppatch()
        .arg(file)
        .args(["--vendor", "muserelay", "--color", "never"])
        .output()
        .expect("run csppatch")
}

/// Fixture `name` copied as `as_name` into a fresh directory and csppatch run on it with
/// `args` (`--vendor muserelay` when empty): the copy, its bytes before, and what the run said.
struct Copied {
    tmp: tempfile::TempDir,
    file: PathBuf,
    before: Vec<u8>,
    code: Option<i32>,
    stderr: String,
}

fn patch_copy(name: &str, as_name: &str, args: &[&str]) -> Copied {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(as_name);
    fs::copy(fixture(name), &file).unwrap();
    let before = fs::read(&file).unwrap();
    let out = if args.is_empty() {
        csppatch(&file)
    } else {
        common::csppatch()
            .arg(&file)
            .args(args)
            .args(["--color", "never"])
            .output()
            .expect("run csppatch")
    };
    Copied {
        tmp,
        file,
        before,
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_assigned_literal_is_patched_and_php_sends_it() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("index.php");
    let mut src = fs::read(fixture("literal-variable.php")).unwrap();
    let code_len = src.len();
    src.extend_from_slice(widget::page(MUSERELAY_LOADS).as_bytes());
    fs::write(&index, &src).unwrap();
    fs::write(tmp.path().join("csp-probe.js"), widget::PROBE_JS).unwrap();
    let serve = common::have("php") && common::have("chromium");
    let before = serve.then(|| {
        let server = common::php::start(tmp.path(), None, &[]);
        widget::violations(&format!("http://127.0.0.1:{}/", server.port))
    });
    let out = csppatch(&index);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let after = fs::read(&index).unwrap();
    let dir = format!("{}/", tmp.path().display());
    common::snapshots("vars").bind(|| {
        insta::assert_snapshot!(
            "php_literal_variable",
            format!(
                "----- stderr\n{}----- code after\n{}",
                stderr.replace(&dir, ""),
                String::from_utf8_lossy(&after[..after.len() - (src.len() - code_len)])
            )
        )
    });
    // Only line 4 (the literal) changed, and only by text inserted between its quotes.
    let old: Vec<&[u8]> = src.split(|&b| b == b'\n').collect();
    let new: Vec<&[u8]> = after.split(|&b| b == b'\n').collect();
    assert_eq!(old.len(), new.len());
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        if i == 3 {
            let open = o.iter().position(|&b| b == b'"').unwrap() + 1;
            let close = o.len() - 2; // `";`
            assert!(n.starts_with(&o[..open]) && n.ends_with(&o[close..]) && n.len() > o.len());
            let mut rest = n[open..n.len() - 2].iter();
            assert!(
                o[open..close].iter().all(|c| rest.any(|x| x == c)),
                "only insertions inside the literal"
            );
        } else {
            assert_eq!(o, n, "line {} unchanged", i + 1);
        }
    }
    if let Some(before) = before {
        assert!(
            !widget::blocked(&before, "muserelay.com").is_empty(),
            "{before:?}"
        );
        let server = common::php::start(tmp.path(), None, &[]);
        let csp = server.csp("/");
        assert_eq!(csp, vec!["default-src 'none'; script-src 'self' 'unsafe-eval' https://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'; img-src 'self' https://muserelay.com data:; connect-src 'self' https://muserelay.com wss://muserelay.com; worker-src 'self'".to_string()]);
        let after = widget::violations(&format!("http://127.0.0.1:{}/", server.port));
        widget::assert_muserelay_patched(&before, &after);
    }
}

#[test]
fn a_literal_read_by_another_header_is_refused_by_name() {
    // The same literal sent as the enforced and the Report-Only policy: changing it for one
    // changes the other too.
    let Copied {
        tmp: _tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy("read-twice.php", "headers.php", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("headers.php:5:")
            && stderr.contains("E013")
            && stderr.contains("`$CSP` (line 4)"),
        "file, line and variable named: {stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), before);
}

#[test]
fn a_literal_read_by_its_obsolete_twin_header_is_patched_and_both_are_sent_alike() {
    // eustasy/puff-server sends `$CSP` as Content-Security-Policy and as the obsolete
    // X-Content-Security-Policy: the twin takes the same policy, so the literal is patched.
    let Copied {
        tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy("obsolete-twin.php", "index.php", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("index.php:5:") && stderr.contains("written into `$CSP` (line 4)"),
        "the header's line, and the literal the change went into: {stderr}"
    );
    let after = fs::read(&file).unwrap();
    let (old, new) = (
        String::from_utf8_lossy(&before).into_owned(),
        String::from_utf8_lossy(&after).into_owned(),
    );
    for (i, (o, n)) in old.lines().zip(new.lines()).enumerate() {
        if i != 3 {
            assert_eq!(o, n, "line {} unchanged", i + 1);
        }
    }
    assert!(new
        .lines()
        .nth(3)
        .unwrap()
        .contains("https://muserelay.com"));
    if !common::have("php") {
        return;
    }
    let server = common::php::start(tmp.path(), None, &[]);
    let csp = server.csp("/");
    assert_eq!(csp.len(), 1, "{csp:?}");
    assert!(
        csp[0].starts_with("default-src 'self'; script-src 'self' https://muserelay.com;"),
        "{csp:?}"
    );
    let twin = server.header_values("/", "X-Content-Security-Policy");
    assert_eq!(
        twin,
        vec![csp[0].as_bytes().to_vec()],
        "the twin is sent alike"
    );
}

#[test]
fn a_literal_read_by_other_code_is_refused_by_name() {
    let Copied {
        tmp: _tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy("read-elsewhere.php", "headers.php", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("headers.php:5:")
            && stderr.contains("E013")
            && stderr.contains("`$CSP` (line 4)"),
        "file, line and variable named: {stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), before);
}

/// Everything but PHP's string literals, as PHP's own tokenizer reads the file: equal before
/// and after means only bytes inside literals changed.
fn code_outside_literals(file: &Path) -> String {
    let out = std::process::Command::new("php")
        .args(["-n", "-d", "extension=tokenizer", "-r"])
        .arg(
            "foreach (token_get_all(file_get_contents($argv[1])) as $t) { \
             if (is_array($t) && in_array($t[0], [T_CONSTANT_ENCAPSED_STRING, T_ENCAPSED_AND_WHITESPACE])) { echo '<lit>'; continue; } \
             echo is_array($t) ? $t[1] : $t; }",
        )
        .arg(file)
        .output()
        .expect("php");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Old is `new` with some bytes taken out: csppatch only inserted.
fn only_insertions(old: &[u8], new: &[u8]) -> bool {
    let mut rest = new.iter();
    old.iter().all(|c| rest.any(|x| x == c))
}

/// Issue 7 §1 on PHP: an array of literals joined with join() and sent through Symfony's
/// `$response->headers->set()` (Snipe-IT), a `const` of concatenated literals, a `.=` chain
/// interpolated as `"{$csp}"`: each patched in its literals only (PHP's tokenizer sees the
/// same code outside them), `php -l` clean, and `php -S` sends the policy csppatch reported.
/// The expected headers are written by hand from the merge rules (README, "How the merge
/// decides"): MuseRelay's sources added, worker-src pinned where script-src would widen it.
#[test]
fn arrays_constants_and_chains_are_patched_in_their_literals_and_php_sends_them() {
    let cases: &[(&str, &str)] = &[
        (
            "policy-array.php",
            "default-src 'self';style-src 'self' 'unsafe-inline' https://muserelay.com;\
             script-src 'self' 'unsafe-inline' https://muserelay.com;\
             connect-src 'self' https://muserelay.com wss://muserelay.com;object-src 'none';\
             font-src 'self' data:;img-src 'self' data: gravatar.com https://muserelay.com;\
             worker-src 'self'",
        ),
        (
            "constant.php",
            "default-src 'self'; script-src 'self' https://connect.facebook.net https://muserelay.com; \
             img-src 'self' data: https://www.facebook.com https://muserelay.com; \
             connect-src 'self' https://www.facebook.com https://muserelay.com wss://muserelay.com; \
             frame-ancestors 'none'; object-src 'none'; worker-src 'self' https://connect.facebook.net; \
             style-src 'self' https://muserelay.com 'unsafe-inline'",
        ),
        (
            "append-chain.php",
            "default-src 'self'; script-src 'self' https://www.googletagmanager.com https://muserelay.com; \
             style-src 'self' 'unsafe-inline' https://muserelay.com; img-src 'self' data: https://muserelay.com; \
             upgrade-insecure-requests; worker-src 'self' https://www.googletagmanager.com; \
             connect-src 'self' https://muserelay.com wss://muserelay.com;",
        ),
    ];
    let have_php = common::have("php");
    for (name, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let index = tmp.path().join("index.php");
        let mut src = fs::read(fixture(name)).unwrap();
        src.extend_from_slice(widget::page(MUSERELAY_LOADS).as_bytes());
        fs::write(&index, &src).unwrap();
        fs::write(tmp.path().join("csp-probe.js"), widget::PROBE_JS).unwrap();
        let code_before = have_php.then(|| code_outside_literals(&index));
        let out = csppatch(&index);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let after = fs::read(&index).unwrap();
        assert_ne!(after, src, "{name}: patched");
        assert!(only_insertions(&src, &after), "{name}: only insertions");
        let Some(code_before) = code_before else {
            eprintln!("skipped the php checks of {name}: php is not installed");
            continue;
        };
        assert_eq!(
            code_outside_literals(&index),
            code_before,
            "{name}: only bytes inside string literals changed"
        );
        common::php::lint(&index).unwrap_or_else(|e| panic!("{name}: {e}"));
        let server = common::php::start(tmp.path(), None, &[]);
        assert_eq!(server.csp("/"), vec![expected.to_string()], "{name}");
        if *name == "policy-array.php" && common::have("chromium") {
            let after = widget::violations(&format!("http://127.0.0.1:{}/", server.port));
            assert!(
                widget::blocked(&after, "muserelay.com").is_empty(),
                "{name}: the vendor is allowed: {after:?}"
            );
        }
    }
}

/// A directive added on some requests only (`if (...) { $cspDirectives[] = ...; }`): the
/// policy has a variant without the element and one with it (README, "Values built from
/// variables"); each is merged, the changes go into the unconditional elements, and `php -S`
/// sends, on both kinds of request, a policy under which headless Chromium loads the vendor.
/// The expected headers are written by hand from the merge rules: MuseRelay's sources in the
/// first script-src (a second one, the conditional element's, is ignored by browsers), the new
/// directives at the end of the last unconditional element, which both variants hold.
#[test]
fn a_list_appended_to_on_some_requests_is_patched_so_that_each_variant_allows_the_vendor() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("index.php");
    let mut src = fs::read(fixture("conditional-append.php")).unwrap();
    src.extend_from_slice(widget::page(MUSERELAY_LOADS).as_bytes());
    fs::write(&index, &src).unwrap();
    fs::write(tmp.path().join("csp-probe.js"), widget::PROBE_JS).unwrap();
    let have_php = common::have("php");
    let code_before = have_php.then(|| code_outside_literals(&index));
    let browse = have_php && common::have("chromium");
    let before = browse.then(|| {
        let server = common::php::start(tmp.path(), None, &[]);
        let url = |q: &str| format!("http://127.0.0.1:{}/{q}", server.port);
        (
            widget::violations(&url("")),
            widget::violations(&url("?cdn=1")),
        )
    });
    let out = csppatch(&index);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("on requests where line 12 does not run")
            && stderr.contains("on requests where line 12 runs"),
        "both variants reported: {stderr}"
    );
    let after = fs::read(&index).unwrap();
    assert!(only_insertions(&src, &after));
    let old: Vec<&[u8]> = src.split(|&b| b == b'\n').collect();
    let new: Vec<&[u8]> = after.split(|&b| b == b'\n').collect();
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        if i != 7 && i != 8 {
            assert_eq!(
                o,
                n,
                "line {} unchanged (the conditional element too)",
                i + 1
            );
        }
    }
    let Some(code_before) = code_before else {
        eprintln!("skipped the php checks: php is not installed");
        return;
    };
    assert_eq!(code_outside_literals(&index), code_before);
    common::php::lint(&index).unwrap();
    let server = common::php::start(tmp.path(), None, &[]);
    let without = "default-src 'self'; script-src 'self' https://muserelay.com; object-src 'none'; \
                   worker-src 'self'; connect-src 'self' https://muserelay.com wss://muserelay.com; \
                   img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'";
    assert_eq!(server.csp("/"), vec![without.to_string()]);
    assert_eq!(
        server.csp("/?cdn=1"),
        vec![format!(
            "{without}; script-src 'self' https://cdn.example.net"
        )]
    );
    if let Some((plain, cdn)) = before {
        let url = |q: &str| format!("http://127.0.0.1:{}/{q}", server.port);
        for (before, q) in [(plain, ""), (cdn, "?cdn=1")] {
            assert!(
                !widget::blocked(&before, "muserelay.com").is_empty(),
                "{q}: {before:?}"
            );
            widget::assert_muserelay_patched(&before, &widget::violations(&url(q)));
        }
    }
}

/// A frame-src sent on some requests only, and a vendor frame: the requests without it need a
/// frame-src created, which on the requests with it would come first and shadow the player's.
/// No way of writing the change keeps both variants as they should be: the header is refused,
/// naming the lines the variants differ by, and nothing is written.
#[test]
fn variants_that_need_conflicting_changes_are_refused_naming_the_lines() {
    let Copied {
        tmp: _tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy(
        "conditional-frame-src.php",
        "headers.php",
        &["--allow", "frame-src https://widget.example.com"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("headers.php:9:")
            && stderr.contains("E013")
            && stderr.contains("on requests where line 7 does not run")
            && stderr.contains("on requests where line 7 runs"),
        "file, line and the variants' line named: {stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), before);
}

/// Issue 7 §1 on PHP, values the file computes: a method whose one `return` is an implode()
/// of literals (Socly's SecurityHeadersMiddleware), a keyed array joined by a foreach loop
/// (Kanboard's Response::csp()), and sprintf() with a literal format whose `%s` are variables
/// of the file. Each is patched in its literals only (PHP's tokenizer sees
/// the same code outside them), `php -l` clean, `php -S` sends the policy, and headless
/// Chromium loads the vendor under it. The expected headers are written by hand from the
/// merge rules (README, "How the merge decides"): MuseRelay's sources added where their
/// directive's text is (the element, the `%s` argument, the format), connect-src created from
/// default-src, worker-src pinned to what script-src allowed.
#[test]
fn function_returns_and_sprintf_arguments_are_patched_where_they_are_written() {
    let cases: &[(&str, &str)] = &[
        (
            "method-return.php",
            "default-src 'self'; script-src 'self' https://muserelay.com; \
             style-src 'self' 'unsafe-inline' https://muserelay.com; \
             img-src 'self' data: https://muserelay.com; \
             connect-src 'self' https://muserelay.com wss://muserelay.com; worker-src 'self'",
        ),
        (
            "keyed-loop.php",
            "default-src 'self'; script-src 'self' https://muserelay.com; \
             img-src 'self' data: https://muserelay.com; \
             connect-src 'self' https://muserelay.com wss://muserelay.com; worker-src 'self'; \
             style-src 'self' https://muserelay.com 'unsafe-inline';",
        ),
        (
            "sprintf-args.php",
            "default-src 'self'; script-src 'self' https://www.googletagmanager.com https://muserelay.com; \
             img-src 'self' data: https://muserelay.com; style-src 'self' 'unsafe-inline' https://muserelay.com; \
             worker-src 'self' https://www.googletagmanager.com; \
             connect-src 'self' https://muserelay.com wss://muserelay.com",
        ),
    ];
    let have_php = common::have("php");
    for (name, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let index = tmp.path().join("index.php");
        let mut src = fs::read(fixture(name)).unwrap();
        src.extend_from_slice(widget::page(MUSERELAY_LOADS).as_bytes());
        fs::write(&index, &src).unwrap();
        fs::write(tmp.path().join("csp-probe.js"), widget::PROBE_JS).unwrap();
        let code_before = have_php.then(|| code_outside_literals(&index));
        let before = (have_php && common::have("chromium")).then(|| {
            let server = common::php::start(tmp.path(), None, &[]);
            widget::violations(&format!("http://127.0.0.1:{}/", server.port))
        });
        let out = csppatch(&index);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        let after = fs::read(&index).unwrap();
        assert_ne!(after, src, "{name}: patched");
        assert!(only_insertions(&src, &after), "{name}: only insertions");
        let Some(code_before) = code_before else {
            eprintln!("skipped the php checks of {name}: php is not installed");
            continue;
        };
        assert_eq!(
            code_outside_literals(&index),
            code_before,
            "{name}: only bytes inside string literals changed"
        );
        common::php::lint(&index).unwrap_or_else(|e| panic!("{name}: {e}"));
        let server = common::php::start(tmp.path(), None, &[]);
        assert_eq!(server.csp("/"), vec![expected.to_string()], "{name}");
        if let Some(before) = before {
            assert!(
                !widget::blocked(&before, "muserelay.com").is_empty(),
                "{name}: blocked before: {before:?}"
            );
            let after = widget::violations(&format!("http://127.0.0.1:{}/", server.port));
            widget::assert_muserelay_patched(&before, &after);
        }
    }
}

/// A function with a `return` per branch: its value is only known at run time, so the header
/// is refused, naming the function, the line it is defined on and its returns' lines.
#[test]
fn a_function_with_two_returns_is_refused_naming_it_and_its_lines() {
    let Copied {
        tmp: _tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy("two-returns.php", "headers.php", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("headers.php:12:")
            && stderr.contains("E013")
            && stderr.contains("`csp_header()` (line 4), which has 2 `return`s (lines 7, 9)"),
        "file, line, function and its returns named: {stderr}"
    );
    assert_eq!(fs::read(&file).unwrap(), before);
}

/// A variant that already allows the vendor needs nothing and keeps what it enforces: only
/// the other variant's conditional `script-src-elem` gains the source, and `php -S` sends the
/// vendor allowed on both kinds of request (written by hand: script-src already lists it).
#[test]
fn a_variant_that_already_allows_the_vendor_is_left_as_it_is() {
    let Copied {
        tmp,
        file,
        before,
        code,
        stderr,
    } = patch_copy(
        "conditional-elem.php",
        "index.php",
        &["--allow", "script-src https://widget.example.com"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read(&file).unwrap();
    assert_ne!(after, before, "the conditional element is patched");
    let (old, new) = (
        String::from_utf8_lossy(&before),
        String::from_utf8_lossy(&after),
    );
    for (i, (o, n)) in old.lines().zip(new.lines()).enumerate() {
        if i == 5 {
            assert_eq!(
                n,
                "    $p[] = \"script-src-elem 'self' https://widget.example.com\";"
            );
        } else {
            assert_eq!(o, n, "line {} unchanged", i + 1);
        }
    }
    if !common::have("php") {
        return;
    }
    common::php::lint(&file).unwrap();
    let server = common::php::start(tmp.path(), None, &[]);
    assert_eq!(
        server.csp("/"),
        vec!["default-src 'self'; script-src 'self' https://widget.example.com".to_string()]
    );
    assert_eq!(
        server.csp("/?x=1"),
        vec![
            "default-src 'self'; script-src 'self' https://widget.example.com; \
             script-src-elem 'self' https://widget.example.com"
                .to_string()
        ]
    );
}
