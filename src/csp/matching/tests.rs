use super::*;
use crate::csp::parse::parse;

const PAGE: &str = "https://site.example";

fn m_in(reading: Reading, list: &str, url: &str, origin: &str, navigation: bool) -> bool {
    let parsed = parse(&format!("x {list}"));
    let tokens = &parsed.policies[0].directives[0].sources;
    let origin = Origin::parse(origin).unwrap();
    let ctx = Context {
        navigation,
        ..Context::new(&origin)
    };
    list_matches_in(reading, &Url::parse(url).unwrap(), tokens, &ctx)
}

/// The CSP3 text.
fn spec(list: &str, url: &str, origin: &str) -> bool {
    m_in(Reading::Spec, list, url, origin, false)
}

/// Chromium, a subresource.
fn chromium(list: &str, url: &str, origin: &str) -> bool {
    m_in(Reading::Chromium, list, url, origin, false)
}

fn firefox(list: &str, url: &str, origin: &str) -> bool {
    m_in(Reading::Firefox, list, url, origin, false)
}

/// The verdict csppatch gives: every browser.
fn m(list: &str, url: &str, origin: &str) -> bool {
    let parsed = parse(&format!("x {list}"));
    url_matches_list(
        &Url::parse(url).unwrap(),
        &parsed.policies[0].directives[0].sources,
        &Origin::parse(origin).unwrap(),
        0,
    )
}

#[test]
fn spec_star() {
    assert!(spec("*", "https://x.example/a", PAGE));
    assert!(spec("*", "http://x.example/a", PAGE));
    assert!(!spec("*", "wss://x.example/", PAGE));
    assert!(!spec("*", "data:text/plain,x", PAGE));
    assert!(!spec("*", "blob:https://site.example/1", PAGE));
    assert!(
        spec("'self'", "blob:https://site.example/1", PAGE),
        "a blob URL has its creator's origin"
    );
    assert!(!spec("'self'", "blob:https://other.example/1", PAGE));
    assert!(
        spec("*", "http://127.0.0.1/", PAGE),
        "step 1 has no host rule"
    );
}

#[test]
fn spec_self_and_upgrades() {
    assert!(spec("'self'", "https://site.example/x", PAGE));
    assert!(spec("'self'", "wss://site.example/socket", PAGE));
    assert!(!spec("'self'", "ws://site.example/socket", PAGE));
    assert!(!spec("'self'", "http://site.example/", PAGE));
    assert!(spec(
        "'self'",
        "https://site.example/",
        "http://site.example"
    ));
    assert!(spec("'self'", "ws://site.example/", "http://site.example"));
    assert!(!spec("'self'", "https://site.example:8443/", PAGE));
    assert!(spec(
        "'self'",
        "https://site.example:8443/",
        "https://site.example:8443"
    ));
    assert!(!spec("'self'", "https://sub.site.example/", PAGE));
}

#[test]
fn spec_schemes() {
    assert!(spec("https:", "https://a.example/", PAGE));
    assert!(!spec("https:", "wss://a.example/", PAGE));
    assert!(spec("http:", "https://a.example/", PAGE));
    assert!(
        spec("ws:", "https://a.example/", PAGE),
        "ws matches http(s)"
    );
    assert!(
        spec("wss:", "https://a.example/", PAGE),
        "wss matches https"
    );
    assert!(spec("data:", "data:image/png;base64,AA", PAGE));
    assert!(spec("DATA:", "data:image/png;base64,AA", PAGE));
}

#[test]
fn spec_hosts_ports_paths() {
    assert!(spec("a.example", "https://a.example/", PAGE));
    assert!(!spec("a.example", "http://a.example/", PAGE), "page scheme");
    assert!(spec(
        "a.example",
        "http://a.example/",
        "http://site.example"
    ));
    assert!(spec("*.a.example", "https://b.c.a.example/", PAGE));
    assert!(!spec("*.a.example", "https://a.example/", PAGE));
    assert!(spec("https://A.EXAMPLE", "https://a.example/", PAGE));
    assert!(spec("https://a.example:443", "https://a.example/", PAGE));
    assert!(!spec("https://a.example", "https://a.example:8443/", PAGE));
    assert!(spec("https://a.example:*", "https://a.example:8443/", PAGE));
    let js = "https://a.example/js/";
    assert!(spec(js, "https://a.example/js/x.js", PAGE));
    assert!(!spec(js, "https://a.example/css/x.css", PAGE));
    let file = "https://a.example/js/x.js";
    assert!(spec(file, "https://a.example/js/x.js?v=1", PAGE));
    assert!(!spec(file, "https://a.example/js/x.js/", PAGE));
    assert!(spec(
        "https://a.example/a%20b/",
        "https://a.example/a%20b/c",
        PAGE
    ));
    assert!(!spec("https://1.2.3.4", "https://1.2.3.4/", PAGE), "IPs");
    assert!(!spec("http://a.example:80", "https://a.example/", PAGE));
    assert!(spec(
        "http://a.example:8080",
        "https://a.example:8080/",
        PAGE
    ));
}

#[test]
fn none_and_empty() {
    for reading in Reading::ALL {
        let m = |l: &str, u: &str| m_in(reading, l, u, PAGE, false);
        assert!(!m("'none'", "https://a.example/"));
        assert!(!m("", "https://a.example/"));
        assert!(m("'none' https://a.example", "https://a.example/"));
        assert!(!m("<customdomain>", "https://a.example/"));
    }
}

/// The rows of the table in `matching.rs`: where the browsers differ from the text.
#[test]
fn browsers_differ_from_the_text() {
    let blob = "blob:https://site.example/1";
    let fs = "filesystem:https://site.example/temporary/a";
    assert!(spec("'self'", blob, PAGE));
    // The URL Standard gives a filesystem: URL an opaque origin: the text does not match it.
    assert!(!spec("'self'", fs, PAGE));
    for url in [blob, fs] {
        assert!(!chromium("'self'", url, PAGE), "{url}");
        assert!(!firefox("'self'", url, PAGE), "{url}");
        assert!(!m("'self'", url, PAGE), "{url}");
    }
    assert!(m("'self' blob:", blob, PAGE));
    for url in ["ws://x.example/", "wss://x.example/"] {
        assert!(!spec("*", url, PAGE), "{url}");
        assert!(m("*", url, PAGE), "{url}");
    }
    assert!(!m("ws:", "http://a.example/", PAGE));
    assert!(!m("wss:", "https://a.example/", PAGE));
    assert!(m("ws:", "wss://a.example/", PAGE));
    let upgrade = "https://a.example:8080/";
    assert!(!chromium("http://a.example:8080", upgrade, PAGE));
    assert!(firefox("http://a.example:8080", upgrade, PAGE));
    assert!(!m("http://a.example:8080", upgrade, PAGE));
    assert!(m("http://a.example:80", "https://a.example/", PAGE));
    assert!(m("https://1.2.3.4", "https://1.2.3.4/", PAGE));
    assert!(m("*", "https://1.2.3.4/", PAGE));
}

#[test]
fn everyone_agrees() {
    for reading in Reading::ALL {
        let m = |l: &str, u: &str| m_in(reading, l, u, PAGE, false);
        assert!(!m("*", "data:text/plain,x"), "{reading:?}");
        assert!(!m("*", "blob:https://site.example/1"), "{reading:?}");
        assert!(m("'self'", "wss://site.example/s"), "{reading:?}");
        assert!(!m("'self'", "ws://site.example/s"), "{reading:?}");
        assert!(m("http:", "https://a.example/"), "{reading:?}");
        assert!(!m("https:", "http://a.example/"), "{reading:?}");
        assert!(m("a.example", "https://a.example/x"), "{reading:?}");
        assert!(!m("a.example", "https://a.example:8443/"), "{reading:?}");
    }
}

#[test]
fn paths_do_not_count_after_a_redirect() {
    let origin = Origin::parse(PAGE).unwrap();
    let parsed = parse("x https://a.example/js/app.js");
    let list = &parsed.policies[0].directives[0].sources;
    let url = Url::parse("https://a.example/other.js").unwrap();
    for reading in Reading::ALL {
        let first = Context::new(&origin);
        let redirected = Context {
            redirect_count: 1,
            ..first
        };
        assert!(!list_matches_in(reading, &url, list, &first), "{reading:?}");
        assert!(
            list_matches_in(reading, &url, list, &redirected),
            "{reading:?}"
        );
    }
}

#[test]
fn chromium_navigations_read_self_as_a_host_source() {
    let http = "http://site.example:8080";
    // A subresource: the same host and port upgraded to https.
    assert!(m_in(
        Reading::Chromium,
        "'self'",
        "https://site.example:8080/",
        http,
        false
    ));
    // A frame (browser process): http://site.example:8080 as a source, which upgrades only on
    // the default ports.
    assert!(!m_in(
        Reading::Chromium,
        "'self'",
        "https://site.example:8080/",
        http,
        true
    ));
    assert!(m_in(
        Reading::Chromium,
        "'self'",
        "http://site.example:8080/a",
        http,
        true
    ));
}
