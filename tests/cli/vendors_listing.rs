//! `csppatch vendors [NAME] [--json]`: the listing text and JSON.
use crate::common;

use std::path::Path;

use csppatch::vendors::{listing_text, render, Catalog};

fn json(catalog: &Catalog, name: Option<&str>) -> serde_json::Value {
    let listing = render(catalog, name, true).unwrap();
    // Valid as `csppatch vendors --json` prints it, with its diagnostics and exit code.
    common::json::check("vendors", &csppatch::render::json::vendors(&listing, &[]));
    serde_json::from_str(&listing).unwrap()
}

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
    let catalog = Catalog::builtin();
    let doc = json(&catalog, None);
    assert_eq!(doc["schema_version"], 1);
    let vendors = doc["vendors"].as_array().unwrap();
    assert_eq!(vendors.len(), catalog.vendors().len());
    let ortto = vendors.iter().find(|v| v["name"] == "ortto").unwrap();
    let regions: Vec<&str> = ortto["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["us", "eu", "au"]);
    assert_eq!(ortto["regions"][0]["is_default"], true);
    assert_eq!(ortto["default_region"], "us");
    assert!(ortto["custom_domain"]["description"]
        .as_str()
        .unwrap()
        .contains("tracking domain"));
    assert_eq!(
        ortto["custom_domain"]["replace"].as_array().unwrap().len(),
        4
    );
    assert!(ortto["nonce"]["notes"]
        .as_str()
        .unwrap()
        .contains("Level 3"));
    assert_eq!(ortto["origin"], serde_json::json!({"kind": "builtin"}));
    // Every source of every vendor is in the document, once, in its region.
    for v in catalog.vendors() {
        let info = vendors
            .iter()
            .find(|i| i["name"] == v.name.as_str())
            .unwrap();
        let mut listed: Vec<(String, String)> = info["sources"]
            .as_array()
            .unwrap()
            .iter()
            .chain(
                info["regions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|r| r["sources"].as_array().unwrap()),
            )
            .map(|s| {
                (
                    s["directive"].as_str().unwrap().to_string(),
                    s["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut expected: Vec<(String, String)> = v
            .all_sources()
            .map(|(d, s)| (d.to_string(), s.to_string()))
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "{}", v.name);
        assert_eq!(
            info["requests"].as_array().unwrap().len(),
            v.requests.len(),
            "{}",
            v.name
        );
    }
}

#[test]
fn one_vendor_in_full_and_an_unknown_name() {
    let catalog = Catalog::builtin();
    let doc = json(&catalog, Some("Recaptcha"));
    assert_eq!(
        doc["vendors"].as_array().unwrap().len(),
        1,
        "names are case-insensitive"
    );
    let e = render(&catalog, Some("recapcha"), false).unwrap_err();
    assert_eq!(e.code, "VND710");
    assert!(
        e.message.contains("did you mean `recaptcha`?"),
        "{}",
        e.message
    );
    assert!(render(&catalog, Some("nothing-like-it"), true).is_err());
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
    let json = json(&catalog, None);
    let intercom = json["vendors"]
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

/// `csppatch vendors NAME` for every built-in: reviewed snapshots, one per preset.
#[test]
fn each_preset_in_full() {
    let catalog = Catalog::builtin();
    for v in catalog.vendors() {
        let text = render(&catalog, Some(&v.name), false).unwrap();
        assert!(text.starts_with(&format!("{}: {}\n", v.name, v.title)));
        assert!(
            text.lines().all(|l| !l.ends_with(' ')),
            "{}: no trailing space",
            v.name
        );
        common::snapshots("vendors")
            .bind(|| insta::assert_snapshot!(format!("vendor-{}", v.name), text));
    }
    let json = json(&catalog, Some("recaptcha"));
    common::snapshots("vendors")
        .bind(|| insta::assert_json_snapshot!("vendor-recaptcha-json", json));
}

#[test]
fn the_command_shows_one_vendor_and_refuses_an_unknown_one_with_a_suggestion() {
    let out = common::csppatch()
        .args(["vendors", "intercom"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("wss://nexus-websocket-a.intercom.io\n      <- "),
        "{text}"
    );

    let out = common::csppatch()
        .args(["vendors", "intercomm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("VND710") && err.contains("did you mean `intercom`?"),
        "{err}"
    );

    let out = common::csppatch()
        .args(["vendors", "recaptcha", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = common::json::parse_checked("vendors", &out.stdout);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["vendors"][0]["name"], "recaptcha");
}
