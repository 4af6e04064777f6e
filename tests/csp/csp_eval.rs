//! Our reading of the CSP3 text (`Reading::Spec`) against Servo's content-security-policy crate
//! (0.5) as an independent oracle: they must agree everywhere except where Servo departs from
//! the specification. Each known disagreement has its own test below, with the spec text that
//! decides it (https://www.w3.org/TR/CSP3/, index.bs of w3c/webappsec-csp).
use crate::csp_support;

use csp_support::{probes, servo_allows, servo_deviates, PAGE};
use csppatch::csp::eval::{allows_by, Browser, Check, Destination, Reading, Request};
use csppatch::csp::parse::parse;

/// Our reading of the CSP3 text, the one Servo follows (the browsers' differences are measured
/// in tests/e2e/probe_browsers.rs).
fn allows(policy: &str, r: &Request) -> bool {
    allows_by(&parse(policy), r, Browser::Csp3, Reading::Spec)
}

const POLICIES: &[&str] = &[
    "default-src 'self'",
    "default-src 'none'",
    "default-src *",
    "default-src 'self'; script-src 'self' https://cdn.example; style-src 'self' 'unsafe-inline'",
    "script-src 'nonce-abc123' 'strict-dynamic' https:; object-src 'none'",
    "script-src 'self'; script-src-elem https://vendor.example/widget/; script-src-attr 'none'",
    "script-src https://*.vendor.example; worker-src blob:; child-src 'self'",
    "default-src 'self'; connect-src https: wss://rt.vendor.example; img-src * data: blob:",
    "img-src 'none' https://cdn.example; font-src; media-src mediastream: http://legacy.example",
    "style-src 'self' 'nonce-abc123'; style-src-attr 'unsafe-inline'; style-src-elem 'sha256-x='",
    "default-src 'self' 'unsafe-eval', script-src 'self' https://vendor.example:*",
    "frame-src https://vendor.example:8443; child-src 'none'; form-action 'self'; base-uri 'none'",
    "script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' 'unsafe-hashes'; style-src 'unsafe-hashes' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='",
    "default-src https://vendor.example/widget/x.js; script-src-elem 'self' https://vendor.example",
];

#[test]
fn agrees_with_servo_except_documented_deviations() {
    let mut compared = 0;
    for origin in [PAGE, "http://site.example"] {
        for policy in POLICIES {
            for r in probes(origin) {
                if servo_deviates(policy, &r) {
                    continue;
                }
                if let Some(servo) = servo_allows(policy, &r) {
                    compared += 1;
                    assert_eq!(
                        allows(policy, &r),
                        servo,
                        "{policy:?} on {origin}: {:?}",
                        r.check
                    );
                }
            }
        }
    }
    assert!(compared > 10_000, "only {compared} comparisons");
}

fn load(d: Destination, url: &str) -> Request {
    Request::load(d, url, PAGE).unwrap()
}

fn servo(policy: &str, r: &Request) -> bool {
    servo_allows(policy, r).unwrap()
}

/// §6.7.2.8 step 4.2: "origin's host is the same as url's host, origin's port and url's port
/// are either the same or the default ports for their respective schemes, and ... url's scheme
/// is "https" or "wss"". A URL's port is null for its scheme's default port, so an https page's
/// 'self' matches wss://same-host. Servo compares `url.port()` (None) with the origin's numeric
/// 443 and misses it.
#[test]
fn self_matches_same_host_websocket_servo_does_not() {
    let ws = load(Destination::Connect, "wss://site.example/socket");
    assert!(allows("connect-src 'self'", &ws));
    assert!(!servo("connect-src 'self'", &ws));
    // The same socket on an explicit port that is not the origin's does not match.
    assert!(!allows(
        "connect-src 'self'",
        &load(Destination::Connect, "wss://site.example:8443/s")
    ));
}

/// Same step: an http page's 'self' allows https on the same host (the upgrade).
#[test]
fn self_allows_the_https_upgrade_servo_does_not() {
    let r = Request::load(
        Destination::Image,
        "https://site.example/a.png",
        "http://site.example",
    )
    .unwrap();
    assert!(allows("img-src 'self'", &r));
    assert!(!servo("img-src 'self'", &r));
}

/// §6.7.2.9 step 1.3: "A is an ASCII case-insensitive match for "ws", and B is ... "wss",
/// "http", or "https"". Servo's scheme_part_match only upgrades ws to wss.
#[test]
fn ws_scheme_matches_http_and_https_servo_does_not() {
    let r = load(Destination::Connect, "https://api.example/");
    assert!(allows("connect-src ws:", &r));
    assert!(!servo("connect-src ws:", &r));
}

/// §2.2.1 step 2.2: "If token is an empty string, or if token is not an ASCII string,
/// continue": the whole directive is dropped (Firefox: "ignoringNonAsciiToken"). Servo keeps it.
#[test]
fn non_ascii_directive_is_dropped_servo_keeps_it() {
    let r = load(Destination::Script, "https://site.example/a.js");
    let policy = "script-src ‘self’";
    assert!(allows(policy, &r), "no script-src left: unrestricted");
    assert!(!servo(policy, &r));
}

/// §6.7.2.8 step 1: `*` matches "an HTTP(S) scheme" or the page's scheme. Servo (like Chromium
/// behind a flag) also matches ftp.
#[test]
fn star_does_not_match_ftp_servo_does() {
    let r = load(Destination::Image, "ftp://files.example/a.png");
    assert!(!allows("img-src *", &r));
    assert!(servo("img-src *", &r));
}

/// §6.7.2.10 step 1: "If host is not a domain, return "Does Not Match"": a host-source never
/// matches an IP address. Servo makes an exception for 127.0.0.1.
#[test]
fn host_sources_never_match_ip_addresses_servo_allows_loopback() {
    let r = load(Destination::Image, "https://127.0.0.1/a.png");
    assert!(!allows("img-src https://127.0.0.1", &r));
    assert!(servo("img-src https://127.0.0.1", &r));
    assert!(
        allows("img-src *", &r),
        "`*` (step 1) has no host condition"
    );
}

/// §4.4 EnsureCSPDoesNotBlockStringCompilation runs over every policy: one that blocks is
/// enough. Servo's `CspList::is_js_evaluation_allowed` keeps only the last policy's answer.
#[test]
fn eval_needs_every_policy_servo_keeps_the_last() {
    let policy = "script-src 'self', script-src 'unsafe-eval'";
    let e = Request::eval(PAGE).unwrap();
    assert!(!allows(policy, &e));
    let list = content_security_policy::CspList::parse(
        policy,
        content_security_policy::PolicySource::Header,
        content_security_policy::PolicyDisposition::Enforce,
    );
    assert_eq!(
        list.is_js_evaluation_allowed(),
        content_security_policy::CheckResult::Allowed
    );
    // The per-policy oracle in csp_support asks Servo one policy at a time and agrees with us.
    assert!(!servo(policy, &e));
}

/// The "Changes from Level 2" note says `http://example.com:80` matches
/// https://example.com:443, but the normative §6.7.2.11 compares the port-part with the URL's
/// port or, when null, with the URL scheme's default port (443), so it does not match. We and
/// Servo follow the algorithm; Chromium implements the note (csp_source.cc `SourceAllowPort`), so
/// `source::covers` treats port 80 as also covering 443 in its Chromium reading.
#[test]
fn port_80_does_not_upgrade_to_443_by_the_algorithm() {
    let r = load(Destination::Image, "https://example.com/a.png");
    assert!(!allows("img-src http://example.com:80", &r));
    assert!(!servo("img-src http://example.com:80", &r));
    assert!(
        allows("img-src http://example.com", &r),
        "no port: the URL's default port"
    );
}

/// §6.7.2.8 step 4.1 compares origins, and the URL Standard gives blob:https://site.example/…
/// the origin https://site.example: by the letter of the spec, 'self' matches same-origin blob
/// URLs, and Servo agrees. Chromium and Firefox do not (they require `blob:`), which is why
/// `source::covers` never counts 'self' as covering `blob:`.
#[test]
fn self_and_blob_urls_follow_the_url_standard_origin() {
    let r = load(Destination::Worker, "blob:https://site.example/0b5e");
    assert!(allows("worker-src 'self'", &r));
    assert!(servo("worker-src 'self'", &r));
    let other = load(Destination::Worker, "blob:https://other.example/0b5e");
    assert!(!allows("worker-src 'self'", &other));
}

#[test]
fn websocket_probes_through_https_agree() {
    // Where Servo's 'self' bug would bite, the same-origin connection is probed through https.
    let r = load(Destination::Connect, "https://site.example/api");
    for policy in [
        "connect-src 'self'",
        "default-src 'self'; connect-src https://x.example",
    ] {
        assert_eq!(allows(policy, &r), servo(policy, &r), "{policy}");
    }
    assert!(matches!(r.check, Check::Load { .. }));
}
