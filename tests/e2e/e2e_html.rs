//! HTML `<meta>` end to end: the csppatch binary on copies of page trees (static pages and
//! server-side templates), then real nginx on 127.0.0.1 serving the patched pages as static
//! files and headless Chromium loading a page that tries the vendor's widget: the policy the
//! browser enforces from the meta tag is what is checked.

use crate::common;

use common::server::Server;
use common::tree::{fixture_names, Run, Tally, Tree};
use common::widget::{self, PROBE_JS};

const VENDOR: &[&str] = &["--vendor", "muserelay", "--color", "never"];

/// The multi-line meta of the `meta-missing` fixture (the seed without wss and img-src).
const MISSING_META: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"
    default-src 'self';
    script-src 'self' https://muserelay.com 'unsafe-inline';
    connect-src 'self' https://muserelay.com;
    style-src 'self' https://muserelay.com 'unsafe-inline';
\">
";

fn run(tree: &Tree, extra: &[&str]) -> Run {
    let mut args = vec![tree.name.as_str()];
    args.extend_from_slice(VENDOR);
    args.extend_from_slice(extra);
    tree.run(&args)
}

/// The MuseRelay document's meta snippet, verbatim, in the probe page of `meta-missing`.
fn seed_page() -> Tree {
    let page = String::from_utf8(
        std::fs::read(common::tree::fixture_dir("html", "meta-missing").join("index.html"))
            .unwrap(),
    )
    .unwrap();
    assert!(page.contains(MISSING_META));
    let seed =
        String::from_utf8(std::fs::read(common::seed("muserelay-meta.html")).unwrap()).unwrap();
    let page = page.replace(MISSING_META, &seed);
    Tree::from_files(
        "muserelay-meta",
        &[("index.html".into(), page.into_bytes())],
    )
}

/// nginx serving the tree's root as static files, with the probe script next to the pages.
fn serve(tree: &Tree) -> Server {
    std::fs::write(tree.path("csp-probe.js"), PROBE_JS).unwrap();
    let body = format!(
        "        root {};\n        index index.html;\n        types {{ text/html html htm; text/javascript js; }}\n",
        tree.root().display()
    );
    common::nginx::serve(body.as_bytes()).expect("nginx starts")
}

/// What Chromium blocked on the tree's index.html served by nginx; nginx sends no CSP header,
/// so the meta tag is the whole policy.
fn violations(tree: &Tree) -> Vec<String> {
    let server = serve(tree);
    let r = server.get("/");
    assert_eq!(r.status, 200, "{}", server.log());
    assert!(
        r.csp().is_empty(),
        "nginx sends no CSP header: {:?}",
        r.csp()
    );
    assert_eq!(
        r.body,
        tree.read("index.html"),
        "nginx serves the file as written"
    );
    server.violations("/")
}

#[test]
fn muserelay_meta_seed_already_allows_the_widget_and_is_left_alone() {
    if !common::have_seeds() || !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tree = seed_page();
    let v = violations(&tree);
    assert!(
        widget::blocked(&v, "muserelay.com").is_empty(),
        "the seed lets the widget through: {v:?}"
    );
    assert_eq!(widget::blocked(&v, "evil.example").len(), 3, "{v:?}");

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no diff");
    assert!(
        out.stderr
            .contains("1 file read, 1 CSP site, 0 sources added in 0 files (nothing to change)"),
        "{}",
        out.stderr
    );
    tree.assert_untouched();
}

#[test]
fn muserelay_meta_missing_pieces_keeps_one_directive_per_line() {
    if !common::have("nginx") || !common::have("chromium") {
        return;
    }
    let tree = Tree::fixture("html", "meta-missing");
    let before = violations(&tree);
    for needle in [
        "connect-src wss://muserelay.com",
        "img-src https://muserelay.com",
    ] {
        assert!(
            before.iter().any(|x| x.starts_with(needle)),
            "before: `{needle}` blocked, saw {before:?}"
        );
    }

    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let original = String::from_utf8(tree.original("index.html").to_vec()).unwrap();
    // wss joins its directive's line; img-src gets a line of its own, indented like the others,
    // before the line that closes the attribute.
    let expected = original.replace(
        MISSING_META,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"
    default-src 'self';
    script-src 'self' https://muserelay.com 'unsafe-inline';
    connect-src 'self' https://muserelay.com wss://muserelay.com;
    style-src 'self' https://muserelay.com 'unsafe-inline';
    img-src 'self' https://muserelay.com data:;
\">
",
    );
    assert_ne!(expected, original);
    assert_eq!(tree.text("index.html"), expected);
    assert_eq!(tree.assert_only_values_changed(), 1);
    tree.assert_diff_reproduces_written_files(&out);

    let after = violations(&tree);
    widget::assert_muserelay_patched(&before, &after);

    let again = run(&tree, &["--check"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.is_empty(), "idempotent");
}

#[test]
fn templates_are_patched_only_around_their_template_tags() {
    let tree = Tree::fixture("html", "templates-literal");
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        !out.stderr.contains("CSP112"),
        "template tags are not invalid sources: {}",
        out.stderr
    );
    assert_eq!(
        tree.text("base.html.twig").lines().nth(4),
        Some("    <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; script-src 'self' 'nonce-{{ csp_nonce }}' https://muserelay.com; worker-src 'self'; img-src 'self' {{ cdn_url }} https://muserelay.com data:; connect-src 'self' https://muserelay.com wss://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'\">")
    );
    assert_eq!(
        tree.text("layout.html.erb").lines().nth(3),
        Some("  <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; img-src 'self' https://<%= ENV['ASSET_HOST'] %> https://muserelay.com data:; connect-src 'self' https://muserelay.com wss://muserelay.com; worker-src 'self'; script-src 'self' https://muserelay.com; style-src 'self' https://muserelay.com 'unsafe-inline'\">")
    );
    for (file, tags) in [
        ("base.html.twig", &["{{ csp_nonce }}", "{{ cdn_url }}"][..]),
        ("layout.html.erb", &["<%= ENV['ASSET_HOST'] %>"][..]),
    ] {
        let (old, new) = (
            String::from_utf8(tree.original(file).to_vec()).unwrap(),
            tree.text(file),
        );
        for tag in tags {
            assert_eq!(
                old.matches(tag).count(),
                new.matches(tag).count(),
                "{file}: {tag} neither copied nor lost"
            );
        }
        assert!(
            !new.contains("&#123;") && !new.contains("&lt;%"),
            "{file}: no escaped template tag"
        );
    }
    assert_eq!(tree.assert_only_values_changed(), 2);
    tree.assert_diff_reproduces_written_files(&out);
}

#[test]
fn fix_copied_template_nonce_is_refused_not_escaped() {
    // worker-src pinned to script-src 'self' 'nonce-{{ csp_nonce }}': the copy used to be
    // written as 'nonce-&#123;&#123; csp_nonce }}', so the template rendered the literal text
    // `{{ csp_nonce }}` into the new directive (a host source `csp_nonce` among others).
    let tree = Tree::fixture("html", "template-nonce-copy");
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("template-nonce-copy/base.html.twig:4:56: error[E013]: cannot patch this Content-Security-Policy: the new `worker-src` would copy `'nonce-{{` from `script-src 'self' 'nonce-{{ csp_nonce }}'`"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    tree.assert_untouched();
}

#[test]
fn a_tree_of_pages_is_patched_page_by_page_and_comments_stay() {
    let tree = Tree::fixture("html", "site-tree");
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("csppatch: 5 files read, 4 CSP sites, 16 sources added in 3 files (written)"),
        "{}",
        out.stderr
    );
    let mut changed: Vec<String> = tree
        .changed()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        ["blog/post.htm", "docs/guide/index.html", "index.html"]
    );
    // The commented-out meta is text to the browser and to csppatch.
    let comment = "<!-- Old policy, kept for reference:\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\n-->\n";
    assert!(tree.text("index.html").contains(comment));
    assert_eq!(tree.assert_only_values_changed(), 3);
    tree.assert_diff_reproduces_written_files(&out);
}

#[test]
fn report_only_and_body_metas_are_ignored_with_the_reason_and_do_not_stop_the_rest() {
    // Browsers ignore both, so neither blocks the vendor: a warning each, nothing to patch.
    let tree = Tree::fixture("html", "report-only");
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("report-only/index.html:3:1: warning[HTM602]: browsers ignore a Report-Only policy in a <meta>"), "{}", out.stderr);
    assert!(
        out.stderr.contains("no Content-Security-Policy found"),
        "{}",
        out.stderr
    );
    tree.assert_untouched();

    // The head's meta is patched; the body's (ignored) meta is left as it is.
    let tree = Tree::fixture("html", "body-meta");
    let before = String::from_utf8(tree.read("index.html")).unwrap();
    let out = run(&tree, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("body-meta/index.html:8:1: warning[HTM601]: this CSP meta ends up in <body>, where browsers ignore it"), "{}", out.stderr);
    let after = String::from_utf8(tree.read("index.html")).unwrap();
    let expected = before.replace(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; worker-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com wss://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'\">",
    );
    assert_ne!(expected, before);
    assert_eq!(after, expected, "only the head meta changed");
}

#[test]
fn frame_ancestors_cannot_be_allowed_by_a_meta() {
    let tree = Tree::fixture("html", "frame-ancestors");
    let out = tree.run(&[
        &tree.name,
        "--allow",
        "frame-ancestors https://x.example",
        "--color",
        "never",
    ]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("frame-ancestors/index.html:3:52: error[CSP122]: --allow needs `frame-ancestors`, which browsers ignore in a <meta> policy: it cannot be allowed by editing the meta tag"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    tree.assert_untouched();
}

#[test]
fn validate_with_a_rejecting_validator_leaves_every_page_as_it_was() {
    // HTML has no server validator: --validate says so and relies on the read-back.
    let tree = Tree::fixture("html", "site-tree");
    let out = run(&tree, &["--validate", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("note[E024]: no validator for these files (HTML): each patched value was read back and checked instead"), "{}", out.stderr);
    tree.assert_untouched();

    if !common::have_namespace() {
        return;
    }
    // A site's own check (here: no WebSockets in a page's policy, partials aside), run on the
    // patched pages at their real paths: it passes before the patch and rejects after.
    let root = std::fs::canonicalize(tree.root()).unwrap();
    let cmd = format!(
        "if grep -rl --exclude-dir=partials 'wss://' {r}; then echo 'page-policy: WebSockets are not allowed' >&2; exit 1; fi",
        r = root.display()
    );
    let out = run(&tree, &["--validate-cmd", &cmd]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let stderr = out.stderr_stable(&tree);
    for line in [
        "validate (after): ".to_string() + &tree.stable(&cmd) + " FAILED",
        "    <tmp>/site-tree/blog/post.htm".into(),
        "    <tmp>/site-tree/docs/guide/index.html".into(),
        "    <tmp>/site-tree/index.html".into(),
        "    page-policy: WebSockets are not allowed".into(),
        "(validation failed: nothing written)".into(),
    ] {
        assert!(stderr.contains(&line), "`{line}` in:\n{stderr}");
    }
    assert!(
        stderr.contains(&format!("validate (before): {} ok", tree.stable(&cmd))),
        "{stderr}"
    );
    tree.assert_untouched();
}

#[test]
fn every_fixture_snapshot_bytes_outside_values_and_diff_applies() {
    if !common::have_seeds() {
        return;
    }
    let mut trees: Vec<Tree> = fixture_names("html")
        .iter()
        .map(|n| Tree::fixture("html", n))
        .collect();
    trees.push(seed_page());
    let mut tally = Tally::default();
    for tree in &trees {
        let out = match tree.name.as_str() {
            "frame-ancestors" => tree.run(&[
                &tree.name,
                "--allow",
                "frame-ancestors https://x.example",
                "--color",
                "never",
            ]),
            _ => run(tree, &[]),
        };
        common::snapshots("e2e-html")
            .bind(|| insta::assert_snapshot!(tree.name.clone(), tree.snapshot(&out)));
        if tally.check(tree, &out) {}
    }
    eprintln!("{} fixtures: {tally:?}", trees.len());
    assert_eq!(
        tally,
        Tally {
            patched: 6,
            unchanged: 2,
            refused: 2
        }
    );
}

/// A Blade view (issue 7 §3): read as HTML with template tags, so `@if(...)` before the meta
/// is no body text (no HTM601, no false "nothing blocks the vendor") and the meta's literal
/// content is patched around `{{ $cspNonce }}`. Blade needs Laravel to render, so the test
/// proves what it can without it: only bytes inside the content value change, the nonce
/// expression is kept whole, and the view rendered by hand (each tag replaced by what Blade
/// would print) and served by nginx lets Chromium load the vendor under the meta's policy,
/// where the unpatched one blocked it.
#[test]
fn blade_view_meta_is_patched_around_its_tags_and_chromium_enforces_it() {
    let view = "layouts/app.blade.php";
    let src = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vars/blade/app.blade.php"),
    )
    .unwrap();
    let tree = Tree::from_files("blade", &[(view.into(), src.clone())]);
    let r = run(&tree, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("HTM601"), "{}", r.stderr);
    let after = tree.read(view);
    let (old, new) = (
        String::from_utf8(src).unwrap(),
        String::from_utf8(after).unwrap(),
    );
    let open = "content=\"default-src";
    let at = old.find(open).unwrap() + "content=\"".len();
    let close_old = at + old[at..].find('"').unwrap();
    let close_new = at + new[at..].find('"').unwrap();
    assert_eq!(old[..at], new[..at], "bytes before the value unchanged");
    assert_eq!(
        old[close_old..],
        new[close_new..],
        "bytes after the value unchanged"
    );
    assert!(
        new[at..close_new].contains("'nonce-{{ $cspNonce }}'"),
        "{new}"
    );
    if !(common::have("nginx") && common::have("chromium")) {
        eprintln!("skipped the browser check: nginx or chromium is not installed");
        return;
    }
    let probe = widget::page(common::widget::MUSERELAY_LOADS);
    let plan = &probe[probe.find("<script type").unwrap()..probe.find("</head>").unwrap()];
    let render = |blade: &str| {
        blade
            .replace("{{ $cspNonce }}", "bm9uY2U")
            .replace("{{ str_replace('_', '-', app()->getLocale()) }}", "en")
            .replace("@if(config('app.debug'))", "")
            .replace("@endif", "")
            .replace("@yield('title', 'Home')", "Home")
            .replace("@stack('head')", plan)
            .replace(
                "@yield('content')",
                "<script src=\"/csp-probe.js\"></script>",
            )
    };
    let page = |blade: &str| {
        let html = render(blade);
        let html = &html[html.find("<!doctype").unwrap()..];
        assert!(!html.contains("{{") && !html.contains('@'), "{html}");
        Tree::from_files(
            "rendered",
            &[("index.html".into(), html.as_bytes().to_vec())],
        )
    };
    let before = violations(&page(&old));
    assert!(
        !widget::blocked(&before, "muserelay.com").is_empty(),
        "{before:?}"
    );
    let after = violations(&page(&new));
    widget::assert_muserelay_patched(&before, &after);
}
