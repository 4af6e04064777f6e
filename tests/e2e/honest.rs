//! Issue 7 §2 and §3 on fixture trees modelled on real configurations (each fixture names the
//! public file it models): locked policies left as they are (E040) unless --include-locked, a
//! missing `;` refused with the corrected text, CSP mentions csppatch cannot read (E041), no
//! configuration file at all (E042), Trusted Types (CSP123), and the `--check` exit codes:
//! never 0 where a CSP was seen but not read. Then real nginx and headless Chromium: the
//! vendor allowed on the page, still blocked under the locked policy, whose header is
//! byte-identical.

use std::fs;

use crate::common;
use crate::common::nginx;
use crate::common::tree::Tree;
use crate::common::widget::{self, MUSERELAY_LOADS};

/// Each fixture with its `--check` exit code: 1 for a change to make or something not
/// checked, 0 when only locked policies remain, 2 for a refusal.
const FIXTURES: &[(&str, i32)] = &[
    ("apache-locked", 1),
    ("apache-superseded", 1),
    ("caddy-locked", 1),
    // A Kubernetes Ingress snippet and a shell heredoc that send a CSP (E065), prose that
    // quotes one (not a warning), a web manifest read as nginx by content before (NGX001
    // stopped the run; modelled on cjmalloy/jasper-ui src/manifest.webmanifest).
    ("embedded-ingress", 1),
    ("nginx-locked", 1),
    ("no-config", 1),
    ("php-download", 0),
    ("php-meta", 1),
    ("php-meta-opaque", 1),
    ("php-unread", 1),
    ("semicolon", 2),
    ("trusted-types", 1),
];

#[test]
fn fixtures_snapshot_and_check_exit_codes() {
    for &(name, code) in FIXTURES {
        let tree = Tree::fixture("honest", name);
        let run = tree.run(&[name, "--vendor", "muserelay", "--check", "--color", "never"]);
        assert_eq!(run.code, Some(code), "{name}: {}", run.stderr);
        tree.assert_untouched();
        common::snapshots("honest").bind(|| {
            insta::assert_snapshot!(name, tree.snapshot(&run));
        });
    }
}

#[test]
fn locked_policies_stay_byte_identical_unless_included() {
    for name in [
        "apache-locked",
        "caddy-locked",
        "nginx-locked",
        "php-download",
    ] {
        let tree = Tree::fixture("honest", name);
        let run = tree.run(&[name, "--vendor", "muserelay"]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("warning[E040]"),
            "{name}: {}",
            run.stderr
        );
        // One line changes at most (the page policy); every line holding a locked policy
        // is byte-identical.
        let locked = |line: &str| line.contains("'none'") || line.contains("'unsafe-inline'");
        for f in tree.files() {
            let rel = f.to_str().unwrap().to_string();
            let before = String::from_utf8_lossy(tree.original(&rel)).into_owned();
            let after = tree.text(&rel);
            assert_eq!(before.lines().count(), after.lines().count());
            assert!(
                name == "php-download" || before.lines().any(locked),
                "{name}: the fixture has locked lines"
            );
            let changed: Vec<&str> = before
                .lines()
                .zip(after.lines())
                .filter(|(b, a)| b != a)
                .map(|(b, _)| b)
                .collect();
            assert!(changed.len() <= 1, "{name}: {changed:?}");
            assert!(!changed.iter().any(|l| locked(l)), "{name}: {changed:?}");
        }
        if name != "php-download" {
            assert_eq!(
                tree.assert_only_values_changed(),
                1,
                "{name}: the page policy"
            );
        } else {
            tree.assert_untouched();
        }

        // --include-locked opens them too.
        let tree = Tree::fixture("honest", name);
        let run = tree.run(&[name, "--vendor", "muserelay", "--include-locked"]);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("E040"), "{name}: {}", run.stderr);
        let text: String = tree
            .files()
            .iter()
            .map(|f| tree.text(f.to_str().unwrap()))
            .collect();
        assert!(
            text.matches("https://muserelay.com").count() >= 2,
            "{name}: every policy patched: {text}"
        );
    }
}

#[test]
fn check_fails_where_a_csp_was_seen_but_not_read() {
    // A CSP csppatch cannot read and none it can: no all-clear, and --check is not a pass.
    let tree = Tree::fixture("honest", "php-unread");
    let run = tree.run(&["php-unread", "--vendor", "muserelay", "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        !run.stderr.contains("nothing blocks the vendor"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("SecurityHeaders.php:8:34: warning[E041]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("SecurityHeaders.php:12:33: warning[E041]"),
        "{}",
        run.stderr
    );
    // Without --check the run changes nothing and still says what was not checked.
    let run = tree.run(&["php-unread", "--vendor", "muserelay"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("NOT checked: 2 CSP not readable"),
        "{}",
        run.stderr
    );

    // Nothing read at all: a warning, not "nothing blocks the vendor".
    let tree = Tree::fixture("honest", "no-config");
    let run = tree.run(&["no-config", "--vendor", "muserelay", "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning[E042]: 0 configuration files under no-config"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("nothing blocks the vendor"),
        "{}",
        run.stderr
    );
    // Named with its dialect, the file is read and patched.
    let run = tree.run(&[
        "no-config/htaccess.txt",
        "--dialect",
        "apache",
        "--vendor",
        "muserelay",
        "--check",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("check: changes needed"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_all_clear_is_still_said_when_it_is_true() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("site.conf"),
        "server {\n    listen 80;\n    # Content-Security-Policy: none here\n    location / { root /srv; }\n}\n",
    )
    .unwrap();
    let out = common::csppatch()
        .args(["site.conf", "--vendor", "muserelay", "--check"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "note[E012]: no Content-Security-Policy found in 1 file: nothing blocks the vendor"
        ),
        "{err}"
    );
}

/// The page policy and the locked policies of one nginx server, served for real.
fn locked_server_body(www: &std::path::Path) -> String {
    format!(
        "        root {};\n        add_header Content-Security-Policy \"default-src 'self'; img-src 'self' data:\" always;\n        location / {{ try_files $uri $uri/ =404; }}\n        location ~* \\.svg$ {{\n            add_header Content-Security-Policy \"script-src 'none'\" always;\n        }}\n        location /user_uploads {{\n            add_header Content-Security-Policy \"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self';\" always;\n        }}\n",
        www.display()
    )
}

#[test]
fn nginx_serves_the_vendor_on_the_page_and_keeps_the_locked_policies() {
    if !common::have("nginx") || !common::have("chromium") {
        println!("skipped: nginx or chromium missing");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    widget::write_site(&www, MUSERELAY_LOADS);
    widget::write_site(&www.join("user_uploads"), MUSERELAY_LOADS);
    fs::write(
        www.join("image.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    let conf = tmp.path().join("server.conf");
    fs::write(&conf, locked_server_body(&www)).unwrap();
    let before_bytes = fs::read(&conf).unwrap();

    let before = nginx::serve(&before_bytes).unwrap();
    let page_before = widget::violations(&format!("http://127.0.0.1:{}/", before.port));
    let svg_before = before.header_values("/image.svg", "content-security-policy");
    drop(before);

    let out = common::csppatch()
        .args(["--dialect", "nginx", "--vendor", "muserelay"])
        .arg(&conf)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("warning[E040]").count(), 2, "{err}");

    let after_bytes = fs::read(&conf).unwrap();
    let server = nginx::serve(&after_bytes).unwrap();
    let page = widget::violations(&format!("http://127.0.0.1:{}/", server.port));
    widget::assert_muserelay_patched(&page_before, &page);
    // Under the upload policy the vendor stays blocked, as before the patch.
    let uploads = widget::violations(&format!("http://127.0.0.1:{}/user_uploads/", server.port));
    assert!(
        !widget::blocked(&uploads, "muserelay.com").is_empty(),
        "{uploads:?}"
    );
    // The svg response carries the same bytes.
    let svg = server.header_values("/image.svg", "content-security-policy");
    assert_eq!(svg, svg_before);
    assert_eq!(svg, vec![b"script-src 'none'".to_vec()]);
    // And the file: only the page value changed.
    let (b, a) = (
        String::from_utf8_lossy(&before_bytes),
        String::from_utf8_lossy(&after_bytes),
    );
    let locked = |t: &str| t.lines().skip(2).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(locked(&b), locked(&a));
}

#[test]
fn apache_sends_only_the_last_header_set_and_that_is_the_one_patched() {
    if !common::have("apache2") {
        println!("skipped: apache2 missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csp = dir.path().join("csp.conf");
    fs::write(
        &csp,
        "Header set Content-Security-Policy \"default-src 'none'\"\nHeader set Content-Security-Policy \"script-src 'self'\"\n",
    )
    .unwrap();
    let out = common::csppatch()
        .args(["--dialect", "apache", "--vendor", "muserelay"])
        .arg(&csp)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(":1:36: warning[E043]: never sent"), "{err}");
    let patched = fs::read_to_string(&csp).unwrap();
    assert!(patched.starts_with("Header set Content-Security-Policy \"default-src 'none'\"\n"));

    let tree = common::apache::Tree::new(&format!("Include \"{}\"\n", csp.display()), &[]);
    tree.configtest().expect("apache2 -t");
    let httpd = tree.start();
    let r = httpd.get("/");
    assert_eq!(r.status, 200, "{}", httpd.log());
    assert_eq!(
        r.values("content-security-policy"),
        vec!["script-src 'self' https://muserelay.com; worker-src 'self'".to_string()],
        "only the last `Header set` is sent, and it is the patched one"
    );
}

#[test]
fn php_page_template_meta_is_patched_and_php_serves_it_to_chromium() {
    if !common::have("php") || !common::have("chromium") {
        println!("skipped: php or chromium missing");
        return;
    }
    // The pi-hole shape: PHP code, then the page with a literal CSP meta, PHP tags in
    // attribute values around it (opaque to csppatch, run by php -S).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    widget::write_site(root, MUSERELAY_LOADS);
    let page = widget::page(MUSERELAY_LOADS).replace(
        "<head>",
        "<head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; img-src 'self' data:\">",
    );
    let php = format!(
        "<?php\n$theme = 'dark';\n?>\n{}",
        page.replace("<body>", "<body class=\"<?php echo $theme; ?>\">")
    );
    fs::write(root.join("index.php"), &php).unwrap();
    let url = |port: u16| format!("http://127.0.0.1:{port}/index.php");

    let server = common::php::start(root, None, &[]);
    let before = widget::violations(&url(server.port));
    drop(server);
    assert!(
        !widget::blocked(&before, "muserelay.com").is_empty(),
        "{before:?}"
    );

    let out = common::csppatch()
        .args(["index.php", "--vendor", "muserelay"])
        .current_dir(root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("index.php:6: Content-Security-Policy (<meta> in <head>"),
        "{err}"
    );
    let after_php = fs::read_to_string(root.join("index.php")).unwrap();
    // Only the meta's value changed: every other line, PHP tags included, is as it was.
    let (old, _) = one_changed_line(&php, &after_php);
    assert!(old.contains("http-equiv"), "{old}");
    common::php::lint(&root.join("index.php")).expect("php -l");

    let server = common::php::start(root, None, &[]);
    let after = widget::violations(&url(server.port));
    widget::assert_muserelay_patched(&before, &after);
}

/// headers-more's `more_set_headers`, measured here with real nginx: of two for one header in
/// a block only the last is sent; one filtered by `-s`/`-t` does not replace an earlier one
/// for the other responses; a location's own `more_set_headers` replaces the server's, an
/// `add_header` is sent beside it. The first of the pair is never sent: E043, left as it is.
/// (The shape of sofmeright/DD-UI's README nginx example: a `form-action` and a
/// `frame-ancestors` policy set one after the other in a server block.)
#[test]
fn nginx_sends_only_the_last_more_set_headers_and_that_is_the_one_patched() {
    const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so";
    if !common::have("nginx")
        || !common::available(
            std::path::Path::new(MODULE).exists(),
            "nginx's headers-more module is not installed",
        )
    {
        println!("skipped: nginx or its headers-more module missing");
        return;
    }
    let body = "\
more_set_headers \"Content-Security-Policy: script-src 'self'\";
more_set_headers \"Content-Security-Policy: default-src 'self'\";
location /filtered {
    more_set_headers \"Content-Security-Policy: img-src 'self'\";
    more_set_headers -s 404 \"Content-Security-Policy: style-src 'self'\";
    return 200 \"f\";
}
location /both {
    add_header Content-Security-Policy \"font-src 'self'\" always;
    return 200 \"b\";
}
location / {
    return 200 \"p\";
}
";
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.conf");
    fs::write(&site, body).unwrap();
    let out = common::csppatch()
        .args([
            "--dialect",
            "nginx",
            "--vendor",
            "muserelay",
            "--color",
            "never",
        ])
        .arg(&site)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let e043: Vec<&str> = err.lines().filter(|l| l.contains("[E043]")).collect();
    assert_eq!(e043.len(), 1, "{err}");
    assert!(
        e043[0].contains(
            "site.conf:1:18: warning[E043]: never sent: the `more_set_headers` of line 2"
        ),
        "{err}"
    );
    let patched = fs::read_to_string(&site).unwrap();
    // The replaced line is byte-identical; every other site got the vendor.
    assert!(
        patched.starts_with(body.lines().next().unwrap()),
        "{patched}"
    );
    for want in [
        "more_set_headers \"Content-Security-Policy: default-src 'self'; worker-src 'self'; script-src 'self' https://muserelay.com;",
        "more_set_headers \"Content-Security-Policy: img-src 'self' https://muserelay.com data:\";",
        "more_set_headers -s 404 \"Content-Security-Policy: style-src 'self' https://muserelay.com 'unsafe-inline'\";",
    ] {
        assert!(patched.contains(want), "{want}\n{patched}");
    }
    // Outside the values, nothing changed.
    let strip = |t: &str| {
        t.lines()
            .map(|l| l.split('"').step_by(2).collect::<Vec<_>>().join("\""))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(body), strip(&patched));

    // What nginx sends, after the patch.
    let server = nginx::start(|d, port| {
        let mut conf = format!("load_module {MODULE};\n").into_bytes();
        conf.extend(nginx::wrap_server(d, port, patched.as_bytes()));
        conf
    })
    .expect("nginx with the patched site");
    let csp = |path: &str| server.csp(path);
    let root = csp("/");
    assert_eq!(root.len(), 1, "only the last more_set_headers: {root:?}");
    assert!(
        root[0].starts_with(
            "default-src 'self'; worker-src 'self'; script-src 'self' https://muserelay.com"
        ),
        "{root:?}"
    );
    // `-s 404` replaces the header only on a 404: a 200 gets the unfiltered one.
    let filtered = csp("/filtered");
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert!(
        filtered[0].starts_with("img-src 'self' https://muserelay.com"),
        "{filtered:?}"
    );
    // The location's add_header is sent beside the server's more_set_headers (a `font-src`
    // alone blocks no script: it needs nothing and is as it was).
    let mut both = csp("/both");
    both.sort();
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(
        both[0].contains("script-src 'self' https://muserelay.com"),
        "{both:?}"
    );
    assert_eq!(both[1], "font-src 'self'");
}

/// A framework's header array, outside any `wp_headers` filter: `$headers['Content-Security-
/// Policy'] = "..."` in a method that builds a response (the shape of a small PHP app's
/// `withSecurityHeaders()`, the Response object written out with `header()`), and a
/// download handler's `default-src 'none'` for SVG files beside it. The literal is what is
/// sent, so it is patched (it was E041, "cannot read", before); the SVG policy forbids scripts
/// and is left as it is (E040); php -S serves the page and Chromium runs the widget.
#[test]
fn php_header_array_of_a_response_is_patched_and_served() {
    if !common::have("php") || !common::have("chromium") {
        println!("skipped: php or chromium missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    widget::write_site(root, MUSERELAY_LOADS);
    let page = widget::page(MUSERELAY_LOADS);
    fs::write(root.join("page.html"), &page).unwrap();
    let app = "<?php
final class App
{
    public function withSecurityHeaders(array $response): array
    {
        $headers = $response['headers'] + ['X-Content-Type-Options' => 'nosniff'];
        if (empty($_GET['debug'])) {
            $headers['Content-Security-Policy'] = \"default-src 'self'; img-src 'self' data:\";
        }
        return ['headers' => $headers, 'body' => $response['body']];
    }

    public function brandingHeaders(string $mime): array
    {
        $headers = ['Content-Type' => $mime];
        if ($mime === 'image/svg+xml') {
            $headers['Content-Security-Policy'] = \"default-src 'none'\";
        }
        return $headers;
    }
}

$app = new App();
if (($_GET['file'] ?? '') === 'logo.svg') {
    $out = ['headers' => $app->brandingHeaders('image/svg+xml'), 'body' => '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'];
} else {
    $out = $app->withSecurityHeaders(['headers' => [], 'body' => file_get_contents(__DIR__ . '/page.html')]);
}
foreach ($out['headers'] as $name => $value) {
    header($name . ': ' . $value);
}
echo $out['body'];
";
    fs::write(root.join("index.php"), app).unwrap();
    let url = |port: u16| format!("http://127.0.0.1:{port}/index.php");
    let server = common::php::start(root, None, &[]);
    let before = widget::violations(&url(server.port));
    let svg_before = server.header_values("/index.php?file=logo.svg", "content-security-policy");
    drop(server);
    assert!(
        !widget::blocked(&before, "muserelay.com").is_empty(),
        "{before:?}"
    );
    assert_eq!(svg_before, vec![b"default-src 'none'".to_vec()]);

    let out = common::csppatch()
        .args(["index.php", "--vendor", "muserelay", "--color", "never"])
        .current_dir(root)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("E041"), "{err}");
    assert!(
        err.contains("index.php:8: Content-Security-Policy (App::withSecurityHeaders()"),
        "{err}"
    );
    assert!(err.contains("index.php:17:51: warning[E040]"), "{err}");
    let after = fs::read_to_string(root.join("index.php")).unwrap();
    let (old, _) = one_changed_line(app, &after);
    assert!(
        old.contains("img-src 'self' data:"),
        "only the page policy's line: {old}"
    );
    common::php::lint(&root.join("index.php")).expect("php -l");

    let server = common::php::start(root, None, &[]);
    let after_v = widget::violations(&url(server.port));
    widget::assert_muserelay_patched(&before, &after_v);
    assert_eq!(
        server.header_values("/index.php?file=logo.svg", "content-security-policy"),
        svg_before
    );
}

/// The one line that differs between `before` and `after` (as (old, new)), which must have
/// the same number of lines.
fn one_changed_line<'a>(before: &'a str, after: &'a str) -> (&'a str, &'a str) {
    assert_eq!(before.lines().count(), after.lines().count(), "{after}");
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    changed[0]
}
