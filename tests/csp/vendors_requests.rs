//! Every built-in preset against the requests its widget is known to make (the `[[request]]`
//! tables, each from the vendor's documentation or embed code): merged into
//! `default-src 'self'` (and, in nonce mode, into a strict policy with a nonce), every request
//! of every region and option must be allowed, by csppatch's evaluator and by Servo's
//! content-security-policy crate; every source must be there for a request or a documented
//! reason; every preset names its page. The Chromium sample is tests/e2e/vendors_browser.rs.
use crate::csp_support::Servo;
use csppatch::csp::eval::{allows, Destination, Request};
use csppatch::csp::Delivery;
use csppatch::csp::{merge, MergeOptions};
use csppatch::diag::Severity;
use csppatch::vendors::requests::{Case, KnownRequest, SAMPLE_CUSTOM_DOMAIN, SAMPLE_SITE};
use csppatch::vendors::{render, Catalog, Vendor};

/// The site's own nonce in the strict policy.
const NONCE: &str = "c3BwYXRjaHRlc3Rub25jZQ";

/// The policies a case is merged into: `default-src 'self'`, or for the nonce mode Google's
/// strict CSP (the shape Intercom, Help Scout, Zendesk and Ortto Level 3 document).
fn base_policy(case: &Case) -> String {
    if case.nonce {
        format!("default-src 'self'; script-src 'nonce-{NONCE}' 'strict-dynamic'; object-src 'none'; base-uri 'none'")
    } else {
        "default-src 'self'".to_string()
    }
}

/// The merged policy for one case of `v`, or why there is none.
fn merged(catalog: &Catalog, v: &Vendor, case: &Case) -> Result<String, String> {
    let resolved = catalog
        .requirements(&case.selection(&v.name))
        .map_err(|e| format!("{e:?}"))?;
    let base = base_policy(case);
    let out = merge(
        &base,
        &resolved.requirements,
        &MergeOptions {
            delivery: Delivery::Header,
        },
    );
    let errors: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        Ok(out.text)
    } else {
        Err(format!("the merge into {base:?} refused: {errors:?}"))
    }
}

fn custom_domain(case: &Case) -> &str {
    case.custom_domain
        .as_deref()
        .unwrap_or(SAMPLE_CUSTOM_DOMAIN)
}

fn eval_request(r: &KnownRequest, case: &Case) -> Request {
    r.eval_request(
        SAMPLE_SITE,
        custom_domain(case),
        case.nonce.then_some(NONCE),
    )
    .unwrap_or_else(|e| panic!("{r:?}: {e}"))
}

/// The core check: in every case of every preset, each request that happens in that case is
/// allowed by the merged policy, in csppatch's evaluator and in Servo's. All failures are
/// collected, so one run shows every preset that blocks its own widget.
#[test]
fn every_request_of_every_preset_is_allowed_once_merged() {
    let catalog = Catalog::builtin();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut servo_checked = 0;
    for v in catalog.vendors() {
        for case in v.cases() {
            let policy = match merged(&catalog, v, &case) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{} [{}]: {e}", v.name, case.label()));
                    continue;
                }
            };
            let servo = Servo::new(&policy);
            for r in v.requests.iter().filter(|r| r.applies(&case.variant())) {
                let request = eval_request(r, &case);
                checked += 1;
                if !allows(&policy, &request) {
                    failures.push(format!(
                        "{} [{}]: {} {} is blocked by csppatch's evaluator under\n    {policy}",
                        v.name,
                        case.label(),
                        r.directive,
                        r.label()
                    ));
                }
                if servo.deviates(&request) {
                    continue;
                }
                // None: Servo cannot express the check (form-action).
                if let Some(verdict) = servo.allows(&request) {
                    servo_checked += 1;
                    if !verdict {
                        failures.push(format!(
                            "{} [{}]: {} {} is blocked by Servo under\n    {policy}",
                            v.name,
                            case.label(),
                            r.directive,
                            r.label()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} request checks failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(checked > 400, "only {checked} request checks");
    assert!(servo_checked > 350, "only {servo_checked} checked by Servo");
}

/// The merged policies are not wide open: a host nobody named stays blocked for each kind of
/// load, so the check above can fail.
#[test]
fn an_unrelated_host_stays_blocked_in_every_merged_policy() {
    let catalog = Catalog::builtin();
    for v in catalog.vendors() {
        for case in v.cases() {
            let policy = merged(&catalog, v, &case).unwrap();
            for d in [
                Destination::Script,
                Destination::Style,
                Destination::Image,
                Destination::Font,
                Destination::Connect,
                Destination::Frame,
                Destination::Media,
            ] {
                let r = Request::load(d, "https://evil.example/x", SAMPLE_SITE).unwrap();
                assert!(
                    !allows(&policy, &r),
                    "{} [{}]: {d:?} evil.example allowed by {policy}",
                    v.name,
                    case.label()
                );
            }
        }
    }
}

/// Each source a preset adds, in each case, lets through at least one known request of that
/// case, or has a documented reason: nothing is added that nobody can say why.
#[test]
fn every_source_is_there_for_a_request_or_a_documented_reason() {
    let catalog = Catalog::builtin();
    let mut unexplained = Vec::new();
    for v in catalog.vendors() {
        for case in v.cases() {
            let resolved = catalog.requirements(&case.selection(&v.name)).unwrap();
            for req in &resolved.requirements {
                let by_request = v
                    .requests
                    .iter()
                    .filter(|r| r.applies(&case.variant()))
                    .any(|r| r.needs(&req.directive, &req.source));
                let by_reason = v.reasons.iter().any(|r| {
                    r.directive == req.directive
                        && r.source == req.source
                        && r.applies(case.region.as_deref())
                });
                if !by_request && !by_reason {
                    unexplained.push(format!(
                        "{} [{}]: {} {}",
                        v.name,
                        case.label(),
                        req.directive,
                        req.source
                    ));
                }
            }
        }
        // And `csppatch vendors NAME` says so for each source.
        let text = render(&catalog, Some(&v.name), false).unwrap();
        if text.contains("(no known request or documented reason)") {
            unexplained.push(format!(
                "{}: csppatch vendors shows an unexplained source",
                v.name
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "sources no known request needs and no [[reason]] explains:\n  {}",
        unexplained.join("\n  ")
    );
}

#[test]
fn every_preset_names_its_page() {
    for v in Catalog::builtin().vendors() {
        let url = v
            .source_url
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no source_url", v.name));
        assert!(url.starts_with("https://"), "{}: {url}", v.name);
        assert!(!v.requests.is_empty(), "{} lists no request", v.name);
    }
}

/// The defect the request tables exist to catch, kept as a fact: a path source ending in `/`
/// matches only URLs under it, so `release/` does not allow reCAPTCHA's `releases/` script.
#[test]
fn a_path_source_does_not_match_a_sibling_path() {
    let script = Request::load(
        Destination::Script,
        "https://www.gstatic.com/recaptcha/releases/v1/recaptcha__en.js",
        SAMPLE_SITE,
    )
    .unwrap();
    let old = "script-src https://www.gstatic.com/recaptcha/release/";
    assert!(!allows(old, &script));
    assert_eq!(Servo::new(old).allows(&script), Some(false));
    let faq = "script-src https://www.gstatic.com/recaptcha/";
    assert!(allows(faq, &script));
    assert_eq!(Servo::new(faq).allows(&script), Some(true));
}
