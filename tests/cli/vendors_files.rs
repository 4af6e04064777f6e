//! User vendor files (`--vendors-file`): what loads, and every way one is refused, each error
//! at `file:line:col` with a message a user can act on.
use crate::common;

use std::path::Path;

use csppatch::diag::{Diagnostic, Severity};
use csppatch::vendors::{Catalog, Origin, Selection};

/// `path:line:col: message`, the way a user reads it.
fn located(d: &Diagnostic) -> String {
    match &d.location {
        Some(l) => format!("{l}: {}", d.message),
        None => d.message.clone(),
    }
}

fn load(text: &str) -> Result<(Catalog, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut catalog = Catalog::builtin();
    let notes = catalog.load_str(Path::new("vendors.toml"), text)?;
    Ok((catalog, notes))
}

fn load_err(text: &str) -> Vec<Diagnostic> {
    match load(text) {
        Ok(_) => panic!("should be refused:\n{text}"),
        Err(e) => e,
    }
}

fn one_error(text: &str) -> Diagnostic {
    let mut errors = load_err(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

#[test]
fn zendesk_sentry_wildcard_is_refused_with_its_place() {
    let text = r#"name = "zendesk"
title = "Zendesk Web Widget, as the page lists it"
source_url = "https://developer.zendesk.com/documentation/zendesk-web-widget-sdks/sdks/web/csp"

[sources]
script-src = ["https://*.zdassets.com"]
connect-src = ["https://*.zdassets.com", "https://*.ingest.*.sentry.io"]
"#;
    let e = one_error(text);
    assert_eq!(e.code, "VND702");
    assert_eq!(e.severity, Severity::Error);
    // Line 7; the second string's opening quote is column 42
    // (`connect-src = [` is 15 bytes, `"https://*.zdassets.com"` 24, `, ` 2).
    assert_eq!(
        located(&e),
        "vendors.toml:7:42: zendesk: connect-src: `https://*.ingest.*.sentry.io` is not a valid CSP source: a wildcard is only allowed as the leftmost label (`*.example.com`)"
    );
    assert!(e.help.unwrap().contains("list each host"));
}

#[test]
fn a_misspelt_directive_is_refused_with_a_suggestion() {
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\n[sources]\nscirpt-src = [\"https://cdn.acme.example\"]\n");
    assert_eq!(e.code, "VND703");
    assert!(
        located(&e).starts_with("vendors.toml:4:1: acme: `scirpt-src` is not a CSP directive; did you mean `script-src`?"),
        "{}",
        located(&e)
    );
}

#[test]
fn default_src_and_child_src_are_refused() {
    let e = one_error(
        "name = \"acme\"\ntitle = \"Acme\"\n[sources]\ndefault-src = [\"https://acme.example\"]\n",
    );
    assert_eq!(e.code, "VND703");
    assert!(
        e.message.contains("never widens default-src"),
        "{}",
        e.message
    );
    let e = one_error(
        "name = \"acme\"\ntitle = \"Acme\"\n[sources]\nchild-src = [\"https://acme.example\"]\n",
    );
    assert!(
        e.message.contains("use frame-src for frames"),
        "{}",
        e.message
    );
}

#[test]
fn an_unquoted_keyword_is_refused() {
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\n[sources]\nimg-src = [\"self\"]\n");
    assert_eq!(e.code, "VND702");
    assert_eq!(
        located(&e),
        "vendors.toml:4:12: acme: img-src: `self` is not a valid CSP source: a keyword must be quoted: 'self'"
    );
}

#[test]
fn http_and_ws_sources_are_refused_unless_allow_insecure() {
    let text = "name = \"dev-chat\"\ntitle = \"Dev chat\"\n[sources]\nconnect-src = [\"https://chat.example.com\", \"ws://localhost:3000\"]\nimg-src = [\"http:\"]\n";
    // The file is well-formed; whether http:/ws: may be used is decided per run.
    let (catalog, _) = load(text).unwrap();
    let sel = Selection {
        vendors: vec!["dev-chat".into()],
        ..Selection::default()
    };
    let errors = catalog.requirements(&sel).unwrap_err();
    let shown: Vec<String> = errors.iter().map(located).collect();
    assert_eq!(
        shown,
        [
            "vendors.toml:4:44: dev-chat: connect-src: `ws://localhost:3000` is not a valid CSP source: ws: is unencrypted; pass --allow-insecure if you really mean it",
            "vendors.toml:5:12: dev-chat: img-src: `http:` is not a valid CSP source: http: is unencrypted; pass --allow-insecure if you really mean it",
        ]
    );
    let ok = catalog
        .requirements(&Selection {
            allow_insecure: true,
            ..sel
        })
        .unwrap();
    assert_eq!(ok.requirements.len(), 3);
}

#[test]
fn sources_that_are_not_requirements_are_refused() {
    for (source, why) in [
        ("'none'", "allows nothing"),
        ("'strict-dynamic'", "ignore every host"),
        ("'nonce-abc123'", "new in every response"),
        ("'report-sample'", "only changes violation reports"),
    ] {
        let e = one_error(&format!(
            "name = \"acme\"\ntitle = \"Acme\"\n[sources]\nscript-src = [\"{source}\"]\n"
        ));
        assert_eq!(e.code, "VND704", "{source}");
        assert!(e.message.contains(why), "{}", e.message);
        assert_eq!(e.location.unwrap().line, 4);
    }
    // A hash is a legitimate vendor requirement (an inline snippet's hash).
    load("name = \"acme\"\ntitle = \"Acme\"\n[sources]\nscript-src = [\"'sha256-AbC+/='\"]\n")
        .unwrap();
}

#[test]
fn unknown_keys_and_bad_toml_are_located() {
    let e = one_error(
        "name = \"acme\"\ntitle = \"Acme\"\nverifed = false\n[sources]\nimg-src = [\"data:\"]\n",
    );
    assert_eq!(e.code, "VND701");
    assert!(
        located(&e).starts_with("vendors.toml:3:1: unknown field `verifed`, expected one of"),
        "{}",
        located(&e)
    );
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\n[source]\nimg-src = [\"data:\"]\n");
    assert!(
        located(&e).starts_with("vendors.toml:3:2: unknown field `source`"),
        "{}",
        located(&e)
    );
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\n[sources]\nimg-src = [\"data:\"\n");
    assert_eq!(e.code, "VND701");
    // toml notices the missing `]` at the end of the file.
    assert_eq!(located(&e), "vendors.toml:5:1: invalid array\nexpected `]`");
    let e = one_error("name = \"acme\"\n[sources]\nimg-src = \"data:\"\n");
    assert!(
        e.message.contains("missing field `title`") || e.message.contains("invalid type"),
        "{}",
        e.message
    );
}

#[test]
fn region_tables_must_be_consistent() {
    let no_default = "name = \"acme\"\ntitle = \"Acme\"\n[sources]\nimg-src = [\"data:\"]\n[regions.us]\n[regions.eu]\nconnect-src = [\"https://eu.acme.example\"]\n";
    let e = one_error(no_default);
    assert_eq!(e.code, "VND707");
    assert_eq!(
        located(&e),
        "vendors.toml:1:8: acme: the vendor has regions (us, eu) but no default_region; add e.g. `default_region = \"us\"` before the first table"
    );
    let wrong_default = no_default.replace(
        "title = \"Acme\"\n",
        "title = \"Acme\"\ndefault_region = \"au\"\n",
    );
    let e = one_error(&wrong_default);
    assert_eq!(
        located(&e),
        "vendors.toml:3:18: acme: default_region `au` is not one of the regions (us, eu)"
    );
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\ndefault_region = \"us\"\n[sources]\nimg-src = [\"data:\"]\n");
    assert!(
        e.message.contains("no [regions.<name>] table"),
        "{}",
        e.message
    );
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\ndefault_region = \"US\"\n[sources]\nimg-src = [\"data:\"]\n[regions.US]\n");
    assert_eq!(e.code, "VND707");
}

#[test]
fn custom_domain_parameters_are_checked() {
    let base = "name = \"acme\"\ntitle = \"Acme\"\n[sources]\nscript-src = [\"https://cdn.acme.example/\"]\n";
    let e = one_error(&format!(
        "{base}[params.custom-domain]\ndescription = \"d\"\nreplace = [{{ directive = \"script-src\", source = \"https://cdn.acme.example\", with = \"<customdomain>\" }}]\n"
    ));
    assert_eq!(e.code, "VND708");
    assert!(
        e.message
            .contains("`https://cdn.acme.example` is not listed under script-src"),
        "{}",
        e.message
    );
    assert_eq!(e.location.unwrap().line, 7);
    let e = one_error(&format!(
        "{base}[params.custom-domain]\ndescription = \"d\"\nreplace = [{{ directive = \"script-src\", source = \"https://cdn.acme.example/\", with = \"https://cdn.example.com\" }}]\n"
    ));
    assert!(
        e.message.contains("does not contain `<customdomain>`"),
        "{}",
        e.message
    );
    let e = one_error(&format!(
        "{base}[params.custom-domain]\ndescription = \"d\"\nreplace = [{{ directive = \"script-src\", source = \"https://cdn.acme.example/\", with = \"https://x.*.<customdomain>\" }}]\n"
    ));
    assert!(e.message.contains("leftmost label"), "{}", e.message);
    let e = one_error(&format!(
        "{base}[params.tenant]\ndescription = \"d\"\nreplace = []\n"
    ));
    assert!(
        e.message.contains("unknown parameter `tenant`"),
        "{}",
        e.message
    );
}

#[test]
fn empty_lists_and_empty_vendors_are_refused() {
    let e = one_error(
        "name = \"acme\"\ntitle = \"Acme\"\n[sources]\nimg-src = [\"data:\"]\nscript-src = []\n",
    );
    assert_eq!((e.code, e.location.unwrap().line), ("VND709", 5));
    let e = one_error("name = \"acme\"\ntitle = \"Acme\"\n");
    assert!(e.message.contains("lists no sources"), "{}", e.message);
}

#[test]
fn every_error_of_a_file_is_reported_and_nothing_is_loaded() {
    let text = "name = \"Acme Chat\"\ntitle = \"\"\n[sources]\nimg-src = [\"self\", \"https://ok.example\"]\nframe-srcs = [\"https://x.example\"]\n";
    let errors = load_err(text);
    let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
    assert_eq!(codes, ["VND706", "VND706", "VND702", "VND703"]);
    let shown: Vec<String> = errors.iter().map(located).collect();
    common::snapshots("vendors").bind(|| insta::assert_snapshot!("file-errors", shown.join("\n")));
}

#[test]
fn a_vendor_list_file_loads_several_vendors() {
    let text = "[[vendor]]\nname = \"a-chat\"\ntitle = \"A\"\n[vendor.sources]\nscript-src = [\"https://a.example\"]\n\n[[vendor]]\nname = \"b-chat\"\ntitle = \"B\"\nverified = false\n[vendor.sources]\nconnect-src = [\"wss://b.example\"]\n";
    let (catalog, notes) = load(text).unwrap();
    assert!(notes.is_empty());
    assert_eq!(
        catalog.get("a-chat").unwrap().origin,
        Origin::File("vendors.toml".into())
    );
    assert!(!catalog.get("b-chat").unwrap().verified);

    let twice = "[[vendor]]\nname = \"a-chat\"\ntitle = \"A\"\n[vendor.sources]\nscript-src = [\"https://a.example\"]\n\n[[vendor]]\nname = \"a-chat\"\ntitle = \"A again\"\n[vendor.sources]\nscript-src = [\"https://a.example\"]\n";
    let e = one_error(twice);
    assert_eq!(
        located(&e),
        "vendors.toml:8:8: vendor `a-chat` is defined twice in this file"
    );
}

#[test]
fn a_user_vendor_replaces_a_builtin_with_a_note_and_a_second_file_cannot_redefine_it() {
    let mine = "name = \"intercom\"\ntitle = \"Intercom, our list\"\n[sources]\nscript-src = [\"https://widget.intercom.io\"]\n";
    let (mut catalog, notes) = load(mine).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].code, "VND717");
    assert_eq!(notes[0].severity, Severity::Note);
    assert_eq!(
        located(&notes[0]),
        "vendors.toml:1:8: vendor `intercom` replaces the built-in preset of that name"
    );
    let sel = Selection {
        vendors: vec!["intercom".into()],
        ..Selection::default()
    };
    assert_eq!(catalog.requirements(&sel).unwrap().requirements.len(), 1);

    let errors = catalog.load_str(Path::new("other.toml"), mine).unwrap_err();
    assert_eq!(
        located(&errors[0]),
        "other.toml:1:8: vendor `intercom` is already defined at vendors.toml:1:8"
    );
}

#[test]
fn files_that_cannot_be_read() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut catalog = Catalog::builtin();
    let missing = dir.path().join("nope.toml");
    let e = catalog.load_file(&missing).unwrap_err();
    assert_eq!(e[0].code, "VND719");
    assert!(e[0].message.contains("nope.toml"), "{}", e[0].message);

    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"name = \"acme\"\ntitle = \"Caf\xe9\"\n").unwrap();
    let e = catalog.load_file(&latin1).unwrap_err();
    assert_eq!(e[0].code, "VND701");
    let at = e[0].location.as_ref().unwrap();
    assert_eq!((at.line, at.col), (2, 13));
}

#[test]
fn the_documented_example_file_loads_and_resolves() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/vendors/example.toml");
    let mut catalog = Catalog::builtin();
    assert!(catalog.load_file(&path).unwrap().is_empty());
    let v = catalog.get("acme-chat").unwrap();
    assert!(v.has_custom_domain() && v.has_nonce_mode());
    assert_eq!(v.region_names(), ["us", "eu"]);
    // Its `urls` table is two requests.
    assert_eq!(v.requests.len(), 4);
    assert_eq!(v.reasons.len(), 1);
    let resolved = catalog
        .requirements(&Selection {
            vendors: vec!["acme-chat".into()],
            region: Some("eu".into()),
            custom_domain: Some("chat.example.com".into()),
            ..Selection::default()
        })
        .unwrap();
    let pairs: Vec<String> = resolved
        .requirements
        .iter()
        .map(|r| format!("{} {}", r.directive, r.source))
        .collect();
    assert_eq!(
        pairs,
        [
            "script-src https://chat.example.com",
            "connect-src https://api.acme.example",
            "connect-src wss://realtime.acme.example",
            "img-src https://cdn.acme.example",
            "img-src data:",
            "style-src 'unsafe-inline'",
            "font-src https://fonts.acme.example",
            "connect-src https://eu.api.acme.example",
        ]
    );
    assert_eq!(resolved.diagnostics.len(), 1);
    assert!(resolved.diagnostics[0]
        .message
        .contains("font-src https://fonts.acme.example"));
}

/// A vendor file with one `[[request]]` or `[[reason]]` after the given lines.
fn with_tables(extra: &str) -> String {
    format!(
        "name = \"acme\"\ntitle = \"Acme\"\n[regions.us]\nscript-src = [\"https://cdn.acme.example\"]\n[regions.eu]\nscript-src = [\"https://eu.acme.example\"]\n[regions.eu.unverified_sources]\nimg-src = [\"https://img.eu.acme.example\"]\n{extra}"
    )
    .replacen("title = \"Acme\"\n", "title = \"Acme\"\ndefault_region = \"us\"\n", 1)
}

#[test]
fn requests_and_reasons_load_with_their_places() {
    let text = with_tables(
        "[[request]]\ndirective = \"script-src\"\nurl = \"https://cdn.acme.example/w.js?k=<key>\"\nloaded_by = \"page\"\nregion = \"us\"\nsnippet = \"https://acme.example/install\"\n\
         [[request]]\ndirective = \"script-src\"\ninline = \"eval\"\nobserved = \"https://issues.example/1\"\n\
         [[reason]]\ndirective = \"img-src\"\nsource = \"https://img.eu.acme.example\"\nwhy = \"The page lists it\"\nregion = \"eu\"\ndocs = \"https://acme.example/csp\"\n",
    );
    let (catalog, _) = load(&text).unwrap_or_else(|e| panic!("{e:#?}"));
    let v = catalog.get("acme").unwrap();
    assert_eq!(v.requests.len(), 2);
    assert_eq!(v.requests[0].at.to_string(), "vendors.toml:10:1");
    assert!(v.requests[1].from.is_unverified());
    assert_eq!(v.reasons[0].region.as_deref(), Some("eu"));
    // The region's unverified source is used, with a warning.
    let eu = catalog
        .requirements(&Selection {
            vendors: vec!["acme".into()],
            region: Some("eu".into()),
            ..Selection::default()
        })
        .unwrap();
    assert!(eu
        .requirements
        .iter()
        .any(|r| r.source == "https://img.eu.acme.example"));
    assert!(eu
        .diagnostics
        .iter()
        .any(|d| d.code == "VND716" && d.message.contains("img-src https://img.eu.acme.example")));
}

#[test]
fn malformed_requests_and_reasons_are_refused_each_at_its_place() {
    let cases: &[(&str, &str)] = &[
        (
            "[[request]]\ndirective = \"script-src\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:10:1: acme: [[request]]: give exactly one of `url`",
        ),
        (
            "[[request]]\ndirective = \"script-src\"\nurl = \"cdn.acme.example/w.js\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:12:7: acme: [[request]]: `cdn.acme.example/w.js` is not a URL",
        ),
        (
            "[[request]]\ndirective = \"img-src\"\ninline = \"style\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:12:10: acme: [[request]]: inline style is decided by style-src or style-src-elem, not img-src",
        ),
        (
            "[[request]]\ndirective = \"script-src\"\nurl = \"https://cdn.acme.example/w.js\"\nregion = \"au\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:13:10: acme: [[request]]: region `au` is not one of the vendor's regions (us, eu)",
        ),
        (
            "[[request]]\ndirective = \"script-src\"\nurl = \"https://cdn.acme.example/w.js\"\nwhen = \"sometimes\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:13:8: acme: [[request]]: when `sometimes`: write one of custom-domain",
        ),
        (
            "[[request]]\ndirective = \"script-src\"\nurl = \"https://cdn.acme.example/w.js\"\n",
            "vendors.toml:10:1: acme: [[request]]: say where it is written",
        ),
        (
            "[[request]]\ndirective = \"connect-src\"\nurl = \"ws://rt.acme.example/\"\ndocs = \"https://acme.example/csp\"\n",
            "vendors.toml:12:7: acme: [[request]]: `ws://rt.acme.example/` is unencrypted",
        ),
        (
            "[[reason]]\ndirective = \"img-src\"\nsource = \"data:\"\nwhy = \"x\"\n",
            "vendors.toml:12:10: acme: [[reason]]: `data:` is not listed under img-src",
        ),
    ];
    for (extra, expected) in cases {
        let e = one_error(&with_tables(extra));
        assert_eq!(e.code, "VND721", "{extra}");
        assert!(
            located(&e).starts_with(expected),
            "{extra}\ngot:  {}\nwant: {expected}",
            located(&e)
        );
    }
}

#[test]
fn a_source_no_url_can_match_is_refused_at_its_place() {
    // Issue 12: `1` and a dot-segment path are valid CSP3 grammar, but the URL parser rewrites
    // every URL (`https://1/` is `https://0.0.0.1/`, `/./../` is `/`), so no URL matches them:
    // E060 at the string, before any file is planned (they used to end as E014).
    let text = r#"name = "acme"
title = "Acme"
source_url = "https://acme.example/csp"

[sources]
img-src = ["https://cdn.acme.example/./../", "1"]
"#;
    let errors = load_err(text);
    let located: Vec<String> = errors.iter().map(located).collect();
    assert_eq!(
        errors.iter().map(|e| e.code).collect::<Vec<_>>(),
        ["E060", "E060"],
        "{located:#?}"
    );
    assert!(
        located[0].starts_with("vendors.toml:6:12: acme: img-src: `https://cdn.acme.example/./../` matches no URL: the path has the dot segment `.`"),
        "{}",
        located[0]
    );
    assert!(
        located[1].starts_with("vendors.toml:6:46: acme: img-src: `1` matches no URL: browsers read the host `1` as the IPv4 address 0.0.0.1"),
        "{}",
        located[1]
    );
}

#[test]
fn allow_with_a_source_no_url_can_match_fails_before_planning() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.conf");
    let body = "server {\n    listen 80;\n    add_header Content-Security-Policy \"img-src 'self'\" always;\n}\n";
    std::fs::write(&conf, body).unwrap();
    for (source, why) in [
        ("1", "the IPv4 address 0.0.0.1"),
        ("https://a.example/./../", "dot segment"),
        ("https://0x7f.1", "the IPv4 address 127.0.0.1"),
    ] {
        let out = common::csppatch()
            .arg(&conf)
            .args(["--allow", &format!("img-src {source}")])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{source}: {err}");
        assert!(err.contains("error[E060]"), "{source}: {err}");
        assert!(
            err.contains(&format!("--allow 'img-src {source}'")),
            "{source}: {err}"
        );
        assert!(err.contains(why), "{source}: {err}");
        assert!(!err.contains("E014"), "{source}: {err}");
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), body);
    }
    // An IPv4 address as browsers write it is a source Chromium and Firefox match: patched.
    let out = common::csppatch()
        .arg(&conf)
        .args(["--allow", "img-src https://127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("img-src 'self' https://127.0.0.1\""));
}
