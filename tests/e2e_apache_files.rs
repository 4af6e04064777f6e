//! Apache end to end, without servers: what csppatch reports and writes on whole
//! configuration trees.

mod common;

use std::fs;

use common::apache::e2e::{expect_exit, stderr, Work};

/// Regression: a CSP outside the given paths that already lets the vendor through (Debian's
/// security.conf, `frame-ancestors 'self'`) was reported as E011 "not patched", with the
/// advice to pass it too, which would change nothing.
#[test]
fn outside_policy_that_already_allows_the_vendor_is_not_reported_as_unpatched() {
    let work = Work::fixture("debian", 8080);
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--dry-run"]);
    expect_exit(&out, 0);
    assert!(!stderr(&out).contains("E011"), "{}", stderr(&out));

    let security = work.tree().join("conf-enabled/security.conf");
    let text = fs::read_to_string(&security).unwrap();
    fs::write(
        &security,
        text.replace("\"frame-ancestors 'self';\"", "\"default-src 'self'\""),
    )
    .unwrap();
    let out = work.run(&["tree/sites-enabled", "--vendor", "ocelot", "--dry-run"]);
    expect_exit(&out, 0);
    assert!(
        stderr(&out).contains("conf-enabled/security.conf:14:36: warning[E011]"),
        "a policy that blocks the vendor is still reported: {}",
        stderr(&out)
    );
}
