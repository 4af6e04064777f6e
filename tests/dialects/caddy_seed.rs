//! The MuseRelay vendor's own Caddyfile snippet (seed-snippets/muserelay.Caddyfile): its
//! backslash-continued value is sent with stray backslashes; csppatch repairs it, and the
//! repaired value, written by `encode_value`, is sent as one clean line.
use crate::common;

use std::path::Path;

use common::caddy::{validate, Setup};
use csppatch::dialect::DialectKind;

fn seed() -> Vec<u8> {
    std::fs::read(common::seed("muserelay.Caddyfile")).expect("seed snippet")
}

#[test]
fn the_seed_is_found_repaired_and_linted() {
    if !common::have_seeds() {
        return;
    }
    let src = seed();
    let scan = DialectKind::Caddy
        .dialect()
        .find(Path::new("muserelay.Caddyfile"), &src)
        .expect("parses");
    assert_eq!(scan.sites.len(), 1);
    let site = &scan.sites[0];
    assert_eq!(site.context, "site yoursite.com");
    let repair = site.repaired.as_ref().expect("repaired");
    assert_eq!(repair.text, common::widget::MUSERELAY_SEED_POLICY);
    assert_eq!(repair.code, "CDY402");
    assert!(site.value.text.starts_with("default-src 'self'; \\ "));
    let codes: Vec<_> = scan.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["CDY402"]);
    let loc = scan.diagnostics[0].location.as_ref().unwrap();
    assert_eq!((loc.line, loc.col), (2, 57), "the first line break");
}

/// The seed with only its site address changed, so that Caddy serves it here.
fn on_port(src: &[u8], address: &str) -> Vec<u8> {
    let text = String::from_utf8(src.to_vec()).expect("UTF-8 seed");
    assert!(text.starts_with("yoursite.com {"));
    text.replacen("yoursite.com", address, 1).into_bytes()
}

#[test]
fn caddy_sends_the_stray_backslash_before_and_one_clean_line_after() {
    if !common::have_seeds() || !common::have(common::caddy::BIN) {
        return;
    }
    let dialect = DialectKind::Caddy.dialect();

    let setup = Setup::new();
    let before = on_port(&seed(), &setup.address());
    let scan = dialect.find(Path::new("Caddyfile"), &before).unwrap();
    let site = &scan.sites[0];
    let server = setup.serve(&before).expect("caddy serves the seed");
    let sent = server.get("/").csp();
    assert_eq!(sent, vec![site.value.text.clone()], "decoded as sent");
    assert_eq!(sent[0].matches('\\').count(), 4, "four stray backslashes");
    drop(server);

    let setup = Setup::new().h2c();
    let before = on_port(&seed(), &setup.address());
    let site = dialect.find(Path::new("Caddyfile"), &before).unwrap().sites[0].clone();
    let raw = dialect
        .encode_value(&site, &before, site.policy_text())
        .expect("encodes");
    let after = [&before[..site.span.start], &raw, &before[site.span.end..]].concat();
    assert_eq!(after[..site.span.start], before[..site.span.start]);
    assert_eq!(
        after[site.span.start + raw.len()..],
        before[site.span.end..]
    );
    let path = setup.caddyfile(&after);
    validate(&path).expect("caddy validate accepts the repaired file");
    let server = setup.serve(&after).expect("caddy serves the repaired file");
    assert_eq!(
        server.get("/").csp(),
        vec![common::widget::MUSERELAY_SEED_POLICY.to_string()]
    );
    if common::have("curl") {
        assert_eq!(
            common::caddy::get_h2(&server, "/", "content-security-policy"),
            vec![common::widget::MUSERELAY_SEED_POLICY.to_string()]
        );
    }
}
