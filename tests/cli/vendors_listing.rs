//! `csppatch vendors [--json]`: the listing text and JSON.
use crate::common;

use std::path::Path;

use csppatch::vendors::{listing_text, Catalog};

#[test]
fn listing_text_of_the_builtins() {
    let text = listing_text(&Catalog::builtin().list());
    // Every preset is listed once, unverified ones say so on their own line.
    for v in Catalog::builtin().vendors() {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(v.name.as_str()))
            .unwrap_or_else(|| panic!("{} is not listed", v.name));
        assert_eq!(line.contains("[unverified]"), !v.verified, "{line}");
        assert!(!line.ends_with(' '), "no trailing space: {line:?}");
    }
    common::snapshots("vendors").bind(|| insta::assert_snapshot!("listing-text", text));
}

#[test]
fn listing_json_of_the_builtins() {
    let json = serde_json::to_value(Catalog::builtin().list()).unwrap();
    let ortto = json
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "ortto")
        .unwrap();
    assert_eq!(ortto["regions"], serde_json::json!(["us", "eu", "au"]));
    assert_eq!(ortto["default_region"], "us");
    assert_eq!(ortto["params"][0]["name"], "custom-domain");
    assert!(ortto["nonce_notes"].as_str().unwrap().contains("Level 3"));
    assert_eq!(ortto["nonce_mode"], true);
    assert_eq!(ortto["origin"], serde_json::json!({"kind": "builtin"}));
    common::snapshots("vendors").bind(|| insta::assert_json_snapshot!("listing-json", json));
}

#[test]
fn listing_shows_user_vendors_and_where_they_come_from() {
    let mut catalog = Catalog::builtin();
    catalog
        .load_str(
            Path::new("my-vendors.toml"),
            "name = \"intercom\"\ntitle = \"Intercom (our list)\"\nverified = false\n[sources]\nscript-src = [\"https://widget.intercom.io\"]\n",
        )
        .unwrap();
    let text = listing_text(&catalog.list());
    let line = text.lines().find(|l| l.starts_with("intercom ")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>().join(" "),
        "intercom - - Intercom (our list) [unverified] (from my-vendors.toml)"
    );
    let json = serde_json::to_value(catalog.list()).unwrap();
    let intercom = json
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "intercom")
        .unwrap();
    assert_eq!(
        intercom["origin"],
        serde_json::json!({"kind": "file", "path": "my-vendors.toml"})
    );
}
