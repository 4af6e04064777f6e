//! Apache end to end: the csppatch binary on temporary copies of whole configuration trees
//! (the vendor's own `.htaccess`, a Debian `/etc/apache2`, a Red Hat `/etc/httpd`, h5bp's
//! boilerplate), then real httpd on 127.0.0.1 serving the patched files themselves, and
//! headless Chromium loading a page that tries the vendor's widget: the policy the browser
//! receives and enforces is what is checked; and `--validate` with apache2 -t and with a
//! `--validate-cmd`. Exit codes, snapshots and byte-level checks: `e2e_apache_files.rs`.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use common::apache::e2e::{
    changed, directives, expect_exit, expected, seed, seed_without_websocket, state, stderr,
    stdout, Work,
};
use common::apache::{base_config, open_up};
use common::server::Server;
use common::widget::{self, Load, MUSERELAY_LOADS};

/// Every request of Ocelot's support article, with the directive Chromium reports it under.
const OCELOT: &[(Load, &str, &str)] = &[
    (
        Load::Script,
        "https://ai.ocelotbot.com/widget.js",
        "script-src-elem",
    ),
    (
        Load::Connect,
        "https://ai.ocelotbot.com/api/session",
        "connect-src",
    ),
    (
        Load::WebSocket,
        "wss://ai.ocelotbot.com/socket",
        "connect-src",
    ),
    (Load::Frame, "https://embed.ocelotbot.com/chat", "frame-src"),
    (Load::Img, "https://id.ocelotbot.com/avatar.png", "img-src"),
    (
        Load::Font,
        "https://fonts.gstatic.com/s/inter.woff2",
        "font-src",
    ),
    (
        Load::Style,
        "https://fonts.googleapis.com/css2?family=Inter",
        "style-src-elem",
    ),
    (
        Load::Style,
        "https://ai.ocelotbot.com/widget.css",
        "style-src-elem",
    ),
];

const EVIL_LOADS: &[(Load, &str)] = &[
    (Load::Script, "https://evil.example/x.js"),
    (Load::Connect, "https://evil.example/collect"),
    (Load::Frame, "https://evil.example/frame"),
    (Load::Img, "https://evil.example/pixel.gif"),
];

const OCELOT_HOSTS: &[&str] = &["ocelotbot.com", "fonts.gstatic.com", "fonts.googleapis.com"];

/// What httpd sends for the MuseRelay seed: each `\`-newline removed, the next line's
/// indentation kept (`ap_cfg_getline`), so `; \<LF>    ` becomes `;` and five spaces.
const SEED_SENT: &str = "default-src 'self';     script-src 'self' https://muserelay.com 'unsafe-inline';     connect-src 'self' https://muserelay.com wss://muserelay.com;     img-src 'self' https://muserelay.com data:;     style-src 'self' https://muserelay.com 'unsafe-inline';";

fn ocelot_loads() -> Vec<(Load, &'static str)> {
    OCELOT
        .iter()
        .map(|&(l, u, _)| (l, u))
        .chain(EVIL_LOADS.iter().copied())
        .collect()
}

/// The violations that name any of `hosts`.
fn blocked_of<'a>(v: &'a [String], hosts: &[&str]) -> Vec<&'a String> {
    v.iter()
        .filter(|x| hosts.iter().any(|h| x.contains(h)))
        .collect()
}

fn assert_vendor_passes(v: &[String], hosts: &[&str], evil: usize) {
    assert!(
        blocked_of(v, hosts).is_empty(),
        "the vendor is allowed, saw {v:?}"
    );
    assert_eq!(
        widget::blocked(v, "evil.example").len(),
        evil,
        "everything else stays blocked: {v:?}"
    );
}

/// httpd serving `www/`, whose `.htaccess` may set headers (`AllowOverride FileInfo`), as
/// MuseRelay's document assumes.
fn htaccess_server(work: &Work, port: u16) -> Server {
    let dir = work.dir();
    fs::create_dir_all(dir.join("logs")).unwrap();
    let conf = base_config(dir, port)
        + &format!(
            "<Directory \"{}/www\">\n    AllowOverride FileInfo\n</Directory>\n",
            dir.display()
        );
    fs::write(dir.join("httpd.conf"), conf).unwrap();
    open_up(dir);
    common::apache::start(
        dir,
        &dir.join("httpd.conf"),
        port,
        dir.join("logs/error.log"),
    )
}

#[test]
fn muserelay_htaccess_seed_is_left_alone_and_its_missing_websocket_is_added_in_its_layout() {
    if !common::have_seeds() || !common::have("apache2") || !common::have("chromium") {
        return;
    }
    let port = common::free_port();
    let work = Work::htaccess(&seed());
    let htaccess = work.tree().join(".htaccess");
    widget::write_site(&work.tree(), MUSERELAY_LOADS);
    let server = htaccess_server(&work, port);

    // As published: httpd joins the continuation lines, so the widget already works.
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    assert_eq!(r.values("content-security-policy"), vec![SEED_SENT]);
    let v = server.violations("/");
    assert_vendor_passes(&v, &["muserelay.com"], 3);

    let before = state(&work.tree());
    let out = work.run(&["www", "--vendor", "muserelay"]);
    expect_exit(&out, 0);
    assert_eq!(stdout(&out), "", "no diff");
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
    assert!(
        changed(&before, &state(&work.tree())).is_empty(),
        "nothing rewritten"
    );

    // Without the WebSocket source, Chromium blocks the WebSocket and only it.
    fs::write(&htaccess, seed_without_websocket()).unwrap();
    let v = server.violations("/");
    let blocked = blocked_of(&v, &["muserelay.com"]);
    assert_eq!(blocked.len(), 1, "{v:?}");
    assert!(
        blocked[0].starts_with("connect-src wss://muserelay.com"),
        "{v:?}"
    );

    let out = work.run(&["www", "--vendor", "muserelay"]);
    expect_exit(&out, 0);
    assert!(
        stdout(&out)
            .contains("+    connect-src 'self' https://muserelay.com wss://muserelay.com; \\\n"),
        "{}",
        stdout(&out)
    );
    // Hand-derived: the source goes back after the last one of connect-src, on its own
    // continuation line; the file is the vendor's document again, byte for byte.
    assert_eq!(fs::read_to_string(&htaccess).unwrap(), seed());
    assert_eq!(
        server.get("/").values("content-security-policy"),
        vec![SEED_SENT]
    );
    let v = server.violations("/");
    assert_vendor_passes(&v, &["muserelay.com"], 3);
}

/// httpd serving a materialized Debian tree as `apache2ctl` would, on its own `Listen`.
fn debian_server(work: &Work, port: u16) -> Server {
    let tree = work.tree();
    open_up(work.dir());
    common::apache::start(
        &tree,
        &tree.join("apache2.conf"),
        port,
        tree.join("log/error.log"),
    )
}

#[test]
fn debian_tree_is_patched_through_the_sites_enabled_link_and_httpd_lets_ocelot_through() {
    if !common::have("apache2") || !common::have("chromium") {
        return;
    }
    let port = common::free_port();
    let work = Work::fixture("debian", port);
    work.server_dirs(&["run", "lock", "log"]);
    widget::write_site(&work.tree().join("www"), &ocelot_loads());

    {
        let server = debian_server(&work, port);
        let v = server.violations("/");
        for (_, url, directive) in OCELOT {
            let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            assert!(
                v.iter()
                    .any(|x| x.starts_with(&format!("{directive} {origin}"))),
                "before: {url} blocked under {directive}, saw {v:?}"
            );
        }
    }

    let before = state(&work.tree());
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--dry-run"]);
    expect_exit(&out, 0);
    let diff = stdout(&out);
    assert!(
        diff.starts_with(
            "--- a/tree/sites-available/shop.conf\n+++ b/tree/sites-available/shop.conf\n"
        ),
        "{diff}"
    );
    // apache2.conf, found above the link's target, and everything it includes relative to
    // ServerRoot (its directory: Debian's has no ServerRoot line): 5 .load, 2 module .conf,
    // ports.conf, security.conf, and shop.conf.
    assert!(stderr(&out).contains("11 files read"), "{}", stderr(&out));
    assert!(
        changed(&before, &state(&work.tree())).is_empty(),
        "--dry-run writes nothing"
    );

    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot"]);
    expect_exit(&out, 0);
    assert_eq!(stdout(&out), diff, "the diff written is the one shown");
    let link = work.tree().join("sites-enabled/shop.conf");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).unwrap(),
        Path::new("../sites-available/shop.conf")
    );
    assert_eq!(
        changed(&before, &state(&work.tree())),
        vec![PathBuf::from("sites-available/shop.conf")],
        "only the link's target is rewritten"
    );

    let server = debian_server(&work, port);
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    let sent = r.values("content-security-policy");
    assert_eq!(sent.len(), 2, "security.conf's and the vhost's: {sent:?}");
    assert!(
        sent.contains(&"frame-ancestors 'self';".to_string()),
        "{sent:?}"
    );
    let vhost = sent.iter().find(|p| p.contains("default-src")).unwrap();
    assert_eq!(
        directives(vhost),
        expected(
            "default-src 'self'; script-src 'self' https://ai.ocelotbot.com;
             style-src 'self' https://ai.ocelotbot.com https://fonts.googleapis.com 'unsafe-inline';
             img-src 'self' data: https://id.ocelotbot.com; frame-ancestors 'none';
             connect-src 'self' https://ai.ocelotbot.com wss://ai.ocelotbot.com;
             font-src 'self' https://fonts.gstatic.com; frame-src 'self' https://embed.ocelotbot.com;
             worker-src 'self'"
        )
    );
    let v = server.violations("/");
    assert_vendor_passes(&v, OCELOT_HOSTS, EVIL_LOADS.len());
}

#[test]
fn h5bp_policy_with_continuations_and_an_expr_condition_is_sent_as_merged() {
    if !common::have_corpus() || !common::have("apache2") {
        return;
    }
    let work = Work::h5bp();
    let csp_conf = work
        .tree()
        .join("h5bp/security/content-security-policy.conf");
    let out = work.run(&["tree", "--vendor", "ocelot", "--format", "json"]);
    expect_exit(&out, 0);
    let report = common::json::parse_checked("patch", &out.stdout);
    assert_eq!(
        report["sites"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    let merged = report["sites"][0]["after"].as_str().unwrap().to_string();
    // h5bp's policy, with each Ocelot directive created from default-src 'self' and
    // worker-src pinned to what workers had (script-src now exists to fall back to).
    assert_eq!(
        directives(&merged),
        expected(
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none';
             object-src 'none'; upgrade-insecure-requests;
             script-src 'self' https://ai.ocelotbot.com; worker-src 'self';
             connect-src 'self' https://ai.ocelotbot.com wss://ai.ocelotbot.com;
             font-src 'self' https://fonts.gstatic.com; frame-src 'self' https://embed.ocelotbot.com;
             img-src 'self' https://id.ocelotbot.com;
             style-src 'self' https://ai.ocelotbot.com https://fonts.googleapis.com 'unsafe-inline'"
        )
    );
    // The continuation layout goes on: eight spaces of indentation after each `;`.
    let h5bp_sent = "        default-src 'self';        base-uri 'none';        form-action 'self';        frame-ancestors 'none';        object-src 'none';        upgrade-insecure-requests;        ";
    assert!(merged.starts_with(h5bp_sent), "{merged:?}");
    assert!(merged.ends_with(";        "), "{merged:?}");

    let tree = common::apache::Tree::new(
        &format!("Include \"{}\"\n", csp_conf.display()),
        &[("www/robots.txt", b"User-agent: *\n")],
    );
    tree.configtest()
        .expect("apache2 -t accepts the patched file");
    let httpd = tree.start();
    let r = httpd.get("/");
    assert_eq!(r.status, 200, "{}", httpd.log());
    assert_eq!(r.values("content-type"), vec!["text/html"]);
    assert_eq!(r.values("content-security-policy"), vec![merged]);
    // The expr= condition is untouched: a text/plain response still gets no policy.
    let r = httpd.get("/robots.txt");
    assert_eq!(r.values("content-type"), vec!["text/plain"]);
    assert!(r.values("content-security-policy").is_empty());
}

#[test]
fn always_and_onsuccess_policies_are_both_patched_and_both_let_the_vendor_through() {
    if !common::have("apache2") || !common::have("chromium") {
        return;
    }
    let port = common::free_port();
    let work = Work::fixture("two-tables", port);
    let tree = work.tree();
    work.server_dirs(&["logs"]);
    widget::write_site(&tree.join("www"), MUSERELAY_LOADS);
    fs::write(
        tree.join("httpd.conf"),
        base_config(&tree, port) + "IncludeOptional sites/*.conf\n",
    )
    .unwrap();

    let out = work.run(&["tree/sites", "--vendor", "muserelay"]);
    expect_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("note[APA302]"), "{err}");
    assert!(
        err.contains("tree/sites/shop.conf:5: Content-Security-Policy")
            && err.contains("tree/sites/shop.conf:9: Content-Security-Policy"),
        "both sites patched: {err}"
    );

    open_up(work.dir());
    let server = common::apache::start(
        &tree,
        &tree.join("httpd.conf"),
        port,
        tree.join("logs/error.log"),
    );
    let always = expected(
        "default-src 'self'; img-src 'self' data: https://muserelay.com;
         script-src 'self' https://muserelay.com; worker-src 'self';
         connect-src 'self' https://muserelay.com wss://muserelay.com;
         style-src 'self' https://muserelay.com 'unsafe-inline'",
    );
    let onsuccess = expected(
        "script-src 'self' https://muserelay.com; worker-src 'self';
         connect-src 'self' https://muserelay.com wss://muserelay.com; frame-ancestors 'none'",
    );
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    let mut sent: Vec<_> = r
        .values("content-security-policy")
        .iter()
        .map(|p| directives(p))
        .collect();
    sent.sort();
    let mut both = vec![onsuccess, always.clone()];
    both.sort();
    assert_eq!(sent, both, "a 200 carries both tables");
    let r = server.get("/missing");
    assert_eq!(r.status, 404);
    let sent: Vec<_> = r
        .values("content-security-policy")
        .iter()
        .map(|p| directives(p))
        .collect();
    assert_eq!(
        sent,
        vec![always],
        "an error carries the `always` table only"
    );

    // Chromium reports a violation per policy that blocks: script and fetch are blocked by
    // both, the image by the `always` policy only (the other has no img-src or default-src).
    let mut v = server.violations("/");
    assert!(blocked_of(&v, &["muserelay.com"]).is_empty(), "{v:?}");
    v.sort();
    assert_eq!(
        v,
        [
            "connect-src https://evil.example/collect",
            "connect-src https://evil.example/collect",
            "img-src https://evil.example/pixel.gif",
            "script-src-elem https://evil.example/x.js",
            "script-src-elem https://evil.example/x.js",
        ]
    );
}

#[test]
fn validate_runs_apache2_t_on_the_debian_tree_before_and_after() {
    if !common::have("apache2") {
        return;
    }
    let work = Work::fixture("debian", 8080);
    work.server_dirs(&["run", "lock", "log", "www"]);
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--validate"]);
    expect_exit(&out, 0);
    let err = stderr(&out);
    let tree = fs::canonicalize(work.tree()).unwrap().display().to_string();
    for stage in ["before", "after"] {
        let line = format!("validate ({stage}): ");
        let line = err
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(
            line.contains(&format!("apache2 -t -f {tree}/apache2.conf -d {tree}"))
                && line.ends_with(" ok"),
            "{line}"
        );
    }
    let patched = fs::read_to_string(work.tree().join("sites-available/shop.conf")).unwrap();
    assert!(patched.contains("https://embed.ocelotbot.com"), "{patched}");
}

#[test]
fn validate_refuses_a_configuration_that_already_fails() {
    if !common::have("apache2") {
        return;
    }
    let work = Work::fixture("rhel-broken", 8080);
    work.server_dirs(&["run", "logs", "www"]);
    let before = state(&work.tree());
    let out = work.run(&["tree/conf.d", "--vendor", "ocelot", "--validate"]);
    expect_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("already fails on the unpatched configuration"),
        "{err}"
    );
    assert!(err.contains("validate (before): "), "{err}");
    assert!(
        err.contains(&format!(
            "Syntax error on line 5 of {}/conf.d/ssl.conf:",
            fs::canonicalize(work.tree()).unwrap().display()
        )) && err.contains("Invalid command 'SSLEngine'"),
        "httpd's own message: {err}"
    );
    assert!(!err.contains("validate (after)"), "{err}");
    assert!(
        changed(&before, &state(&work.tree())).is_empty(),
        "nothing written"
    );
}

#[test]
fn validate_cmd_reads_the_patched_file_at_its_real_path_and_its_refusal_writes_nothing() {
    let work = Work::fixture("debian", 8080);
    let link = work.tree().join("sites-enabled/shop.conf");
    // Passes on the file as it is, fails once it names the vendor: only a validator that
    // reads the patched bytes at the real path (through the link) can fail.
    let cmd = format!(
        "if grep -q ocelotbot.com '{l}'; then echo \"{l}: names ocelotbot.com, refused by the test\"; exit 1; fi",
        l = link.display()
    );
    let before = state(&work.tree());
    let out = work.run(&[
        "tree/sites-enabled",
        "--vendor",
        "ocelot",
        "--validate-cmd",
        &cmd,
    ]);
    expect_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("validate (before): {cmd} ok")),
        "{err}"
    );
    assert!(
        err.contains(&format!("validate (after): {cmd} FAILED")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "    {}: names ocelotbot.com, refused by the test",
            link.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("rejects the patched configuration; nothing was written"),
        "{err}"
    );
    let after = state(&work.tree());
    if csppatch::validate::sandbox::available() {
        assert!(
            changed(&before, &after).is_empty(),
            "nothing even rewritten"
        );
    } else {
        // Written, validated, restored: the same bytes in new files.
        let bytes = |s: &std::collections::BTreeMap<PathBuf, common::apache::e2e::Stamp>| {
            s.iter()
                .map(|(p, s)| (p.clone(), s.bytes.clone(), s.link.clone()))
                .collect::<Vec<_>>()
        };
        assert!(bytes(&before) == bytes(&after), "every file byte-identical");
    }
}
