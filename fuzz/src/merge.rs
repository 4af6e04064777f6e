//! The merge target: `csp::merge` on a generated policy list and vendor requirements.
//!
//! The input is structured (`arbitrary`): policies and requirements are built from the
//! directive names and source shapes real headers use, with a raw string as one choice
//! everywhere, so that the fuzzer reaches the fallback, pin and copy rules instead of
//! spending its time on text the parser drops.
//!
//! Checked (README "How the merge decides"): no panic; the edits give the text; after the
//! merge each vendor URL is allowed for the request type the vendor asked for (unless the
//! merge refused with the reason); every other (request type, URL) pair has exactly the
//! verdict it had before, in CSP3 browsers and in browsers without -elem/-attr, on URLs
//! derived from the input's own sources; a second merge changes nothing.

use arbitrary::Arbitrary;
use csppatch::csp::eval::{self, Browser, Check, Destination, InlineKind, Origin, Request};
use csppatch::csp::matching::url_matches_expression;
use csppatch::csp::merge::apply;
use csppatch::csp::parse::{parse, PolicyList};
use csppatch::csp::plan::Class;
use csppatch::csp::source::{HashAlgorithm, Source};
use csppatch::csp::targets::{targets, Targets};
use csppatch::csp::Delivery;
use csppatch::csp::{merge, self_check, MergeOptions, MergeOutcome, Requirement};
use csppatch::diag::Severity;

const DIRECTIVES: &[&str] = &[
    "default-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "img-src",
    "connect-src",
    "font-src",
    "frame-src",
    "child-src",
    "worker-src",
    "media-src",
    "object-src",
    "manifest-src",
    "form-action",
    "base-uri",
    "frame-ancestors",
    "upgrade-insecure-requests",
    "report-uri",
    "sandbox",
    "prefetch-src",
    "navigate-to",
    "require-trusted-types-for",
    "x-unknown",
];

const KEYWORDS: &[&str] = &[
    "'self'",
    "'none'",
    "*",
    "https:",
    "http:",
    "data:",
    "blob:",
    "wss:",
    "ws:",
    "mediastream:",
    "filesystem:",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'wasm-unsafe-eval'",
    "'strict-dynamic'",
    "'unsafe-hashes'",
    "'report-sample'",
    "'nonce-abc123'",
    "'nonce-vendor9'",
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "<customdomain>",
    "'SELF'",
    "self",
    "'none' 'self'",
];

const SCHEMES: &[Option<&str>] = &[
    None,
    Some("https"),
    Some("http"),
    Some("wss"),
    Some("ws"),
    Some("HTTPS"),
];
const HOSTS: &[&str] = &[
    "vendor.example",
    "cdn.vendor.example",
    "*.vendor.example",
    "*",
    "site.example",
    "cdn.example",
    "*.example",
    "127.0.0.1",
    "[::1]",
    "xn--bcher-kva.example",
    "example.",
    "VENDOR.example",
];
const PORTS: &[&str] = &["", ":443", ":8443", ":*", ":80", ":0"];
const PATHS: &[&str] = &[
    "",
    "/",
    "/widget/",
    "/widget/x.js",
    "/./../",
    "/a%2Fb",
    "/W",
];

#[derive(Arbitrary, Debug)]
pub enum Name {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub struct Host {
    scheme: u8,
    host: u8,
    port: u8,
    path: u8,
}

#[derive(Arbitrary, Debug)]
pub enum Src {
    Keyword(u8),
    Host(Host),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub struct DirectiveIn {
    name: Name,
    shout: bool,
    sources: Vec<Src>,
}

#[derive(Arbitrary, Debug)]
pub struct PolicyIn {
    directives: Vec<DirectiveIn>,
    separator: u8,
    trailer: u8,
}

#[derive(Arbitrary, Debug)]
pub struct RequirementIn {
    directive: Name,
    source: Src,
}

#[derive(Arbitrary, Debug)]
pub enum ListIn {
    Built {
        policies: Vec<PolicyIn>,
        tight_commas: bool,
    },
    /// A header value as found in a file.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
pub struct Input {
    list: ListIn,
    requirements: Vec<RequirementIn>,
    http_page: bool,
    meta: bool,
}

fn pick<'a>(table: &[&'a str], i: u8) -> &'a str {
    table[i as usize % table.len()]
}

fn name(n: &Name) -> String {
    match n {
        Name::Known(i) => pick(DIRECTIVES, *i).to_string(),
        Name::Raw(s) => s.clone(),
    }
}

fn source(s: &Src) -> String {
    match s {
        Src::Keyword(i) => pick(KEYWORDS, *i).to_string(),
        Src::Host(h) => {
            let scheme = SCHEMES[h.scheme as usize % SCHEMES.len()]
                .map(|s| format!("{s}://"))
                .unwrap_or_default();
            format!(
                "{scheme}{}{}{}",
                pick(HOSTS, h.host),
                pick(PORTS, h.port),
                pick(PATHS, h.path)
            )
        }
        Src::Raw(s) => s.clone(),
    }
}

impl Input {
    pub fn policy_list(&self) -> String {
        let (policies, tight) = match &self.list {
            ListIn::Raw(s) => return s.clone(),
            ListIn::Built {
                policies,
                tight_commas,
            } => (policies, *tight_commas),
        };
        let texts: Vec<String> = policies
            .iter()
            .take(3)
            .map(|p| {
                let sep = pick(&["; ", ";", " ; ", ";\n  ", "; ;"], p.separator);
                let trailer = pick(&["", ";", " ", "; "], p.trailer);
                let ds: Vec<String> = p
                    .directives
                    .iter()
                    .take(8)
                    .map(|d| {
                        let mut n = name(&d.name);
                        if d.shout {
                            n = n.to_ascii_uppercase();
                        }
                        for s in d.sources.iter().take(6) {
                            n.push(' ');
                            n.push_str(&source(s));
                        }
                        n
                    })
                    .collect();
                format!("{}{trailer}", ds.join(sep))
            })
            .collect();
        texts.join(if tight { "," } else { ", " })
    }

    pub fn requirements(&self) -> Vec<Requirement> {
        self.requirements
            .iter()
            .take(5)
            .enumerate()
            .map(|(i, r)| {
                Requirement::new(&name(&r.directive), &source(&r.source), &format!("v{i}"))
            })
            .collect()
    }
}

/// URLs every merge is probed with, besides those derived from the input.
const FIXED_URLS: &[&str] = &[
    "https://site.example/p",
    "http://site.example/p",
    "wss://site.example/ws",
    "https://evil.example/x",
    "http://evil.example/x",
    "wss://evil.example/x",
    "data:text/plain,x",
    "blob:https://site.example/0b5e",
    "mediastream:x",
];
const MAX_URLS: usize = 40;

/// The probe URLs: the fixed ones, then for every source of the input and every requirement a
/// URL it matches, and its neighbours (other scheme, other port, other path, a subdomain, the
/// parent domain): where a wrong merge would show.
fn urls(list: &PolicyList, requirements: &[Requirement], origin: &Origin) -> Vec<url::Url> {
    let mut texts: Vec<String> = FIXED_URLS.iter().map(|s| s.to_string()).collect();
    let sources = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter_map(|t| t.source.as_ref().ok().cloned())
        .chain(
            requirements
                .iter()
                .filter_map(|r| Source::parse(r.source.trim()).ok()),
        );
    for s in sources {
        let Some(u) = eval::example_url(&s, origin) else {
            continue;
        };
        texts.push(u.clone());
        if let Ok(parsed) = url::Url::parse(&u) {
            let mut v = parsed.clone();
            let other = match parsed.scheme() {
                "https" => "http",
                "http" => "https",
                "wss" => "ws",
                "ws" => "wss",
                _ => "https",
            };
            if v.set_scheme(other).is_ok() {
                texts.push(v.to_string());
            }
            let mut v = parsed.clone();
            if v.set_port(Some(8443)).is_ok() {
                texts.push(v.to_string());
            }
            let mut v = parsed.clone();
            v.set_path("/other/y.js");
            texts.push(v.to_string());
            if let Some(host) = parsed.host_str() {
                let mut v = parsed.clone();
                if v.set_host(Some(&format!("x.{host}"))).is_ok() {
                    texts.push(v.to_string());
                }
                if let Some((_, parent)) = host.split_once('.') {
                    let mut v = parsed.clone();
                    if parent.contains('.') && v.set_host(Some(parent)).is_ok() {
                        texts.push(v.to_string());
                    }
                }
            }
        }
    }
    let mut out: Vec<url::Url> = Vec::new();
    for t in texts {
        if let Ok(u) = url::Url::parse(&t) {
            if !out.contains(&u) {
                out.push(u);
            }
        }
        if out.len() >= MAX_URLS {
            break;
        }
    }
    out
}

/// Every probe request: each URL for each destination (scripts parser-inserted or not, with
/// the input's nonces), each inline kind with and without nonce and hash, eval and wasm.
fn probes(list: &PolicyList, requirements: &[Requirement], origin: &Origin) -> Vec<Request> {
    let mut nonces: Vec<String> = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter_map(|t| match &t.source {
            Ok(Source::Nonce(n)) => Some(n.clone()),
            _ => None,
        })
        .chain(
            requirements
                .iter()
                .filter_map(|r| match Source::parse(r.source.trim()) {
                    Ok(Source::Nonce(n)) => Some(n),
                    _ => None,
                }),
        )
        .collect();
    nonces.sort();
    nonces.dedup();
    nonces.truncate(3);
    let hashes: Vec<(HashAlgorithm, String)> = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter_map(|t| match &t.source {
            Ok(Source::Hash(a, v)) => Some((*a, v.clone())),
            _ => None,
        })
        .chain(
            requirements
                .iter()
                .filter_map(|r| match Source::parse(r.source.trim()) {
                    Ok(Source::Hash(a, v)) => Some((a, v)),
                    _ => None,
                }),
        )
        .take(2)
        .collect();
    let with = |check: Check, nonce: Option<&String>, parser_inserted: bool| Request {
        check,
        origin: origin.clone(),
        nonce: nonce.cloned(),
        parser_inserted,
        content_hash: None,
    };
    let mut out = Vec::new();
    let destinations = Destination::FETCH.iter().copied().chain([
        Destination::FormAction,
        Destination::BaseUri,
        Destination::FrameAncestor,
    ]);
    let urls = urls(list, requirements, origin);
    for d in destinations {
        for url in &urls {
            let load = || Check::Load {
                destination: d,
                url: url.clone(),
            };
            out.push(with(load(), None, d == Destination::Script));
            if d == Destination::Script {
                out.push(with(load(), None, false));
            }
            if matches!(d, Destination::Script | Destination::Style) {
                for n in &nonces {
                    out.push(with(load(), Some(n), d == Destination::Script));
                }
            }
        }
    }
    for k in InlineKind::ALL {
        out.push(with(Check::Inline(k), None, true));
        for n in &nonces {
            out.push(with(Check::Inline(k), Some(n), true));
        }
        for (a, v) in &hashes {
            let mut r = with(Check::Inline(k), None, true);
            r.content_hash = Some((*a, v.clone()));
            out.push(r);
        }
    }
    out.push(with(Check::Eval, None, false));
    out.push(with(Check::WasmEval, None, false));
    out
}

/// Is a verdict change of `request` one the requirements ask for? (The same rule as the
/// property tests' `explained`, with the requirement normalised the way `merge` reads it.)
fn explained(request: &Request, requirements: &[Requirement]) -> bool {
    requirements.iter().any(|req| {
        let Ok(source) = Source::parse(req.source.trim()) else {
            return false;
        };
        let directive = req.directive.trim().to_ascii_lowercase();
        let Ok(t) = targets(&directive, &source) else {
            return false;
        };
        match &request.check {
            Check::Load { destination, url } => {
                let wanted = match &t {
                    Targets::Classes(c) => c.contains(&Class::Load(*destination)),
                    Targets::NoFallback(name) => *name == destination.effective_directive(),
                };
                let matched = if source.matches_urls() {
                    url_matches_expression(url, &source, &request.origin, 0)
                } else {
                    matches!(&source, Source::Nonce(n) if Some(n) == request.nonce.as_ref())
                };
                wanted && matched
            }
            Check::Inline(k) => {
                let wanted = matches!(&t, Targets::Classes(c) if c.contains(&Class::Inline(*k)));
                let matched = match &source {
                    Source::Nonce(n) => Some(n) == request.nonce.as_ref(),
                    Source::Hash(a, v) => request.content_hash.as_ref() == Some(&(*a, v.clone())),
                    _ => true,
                };
                wanted && matched
            }
            Check::Eval | Check::WasmEval => {
                matches!(&t, Targets::Classes(c) if c.contains(&Class::Eval))
            }
        }
    })
}

fn caveat(outcome: &MergeOutcome, requirement: usize, code: &str) -> bool {
    outcome
        .caveats
        .iter()
        .any(|c| c.requirement == requirement && c.code == code)
}

/// A vendor source that passes `parse_vendor_source` but matches no URL, not even the one
/// the self-check probes it with (`https://127.0.0.1`: IP addresses never match, CSP3
/// §6.7.2.7; `https://a.example/./../`): the merge adds it and the self-check then finds the
/// vendor still blocked. Issue 12 lists these to be refused up front; until then the fuzzer
/// leaves them out so that it keeps looking for other bugs (the regression test
/// `an_ip_vendor_source_is_refused_up_front` reproduces it).
fn unmatchable(req: &Requirement, origin: &Origin) -> bool {
    let Ok(source) = csppatch::csp::source::parse_vendor_source(req.source.trim(), true) else {
        return false; // refused by the merge with a diagnostic
    };
    if !source.matches_urls() {
        return false;
    }
    match eval::example_url(&source, origin).map(|u| url::Url::parse(&u)) {
        Some(Ok(url)) => !url_matches_expression(&url, &source, origin, 0),
        _ => true,
    }
}

pub fn check(input: &Input) {
    let text = input.policy_list();
    let origin_text = if input.http_page {
        "http://site.example"
    } else {
        "https://site.example"
    };
    let origin = Origin::parse(origin_text).expect("a fixed origin");
    let mut requirements = input.requirements();
    requirements.retain(|r| !unmatchable(r, &origin));
    let delivery = if input.meta {
        Delivery::Meta
    } else {
        Delivery::Header
    };
    let options = MergeOptions { delivery };
    let outcome = merge(&text, &requirements, &options);
    let context = || {
        format!(
            "\ninput:  {text:?}\nreqs:   {requirements:?}\norigin: {origin_text}\noutput: {:?}\nedits:  {:?}\ndiags:  {:?}",
            outcome.text,
            outcome.edits,
            outcome.diagnostics.iter().map(|d| (d.code, &d.message)).collect::<Vec<_>>()
        )
    };
    for pair in outcome.edits.windows(2) {
        assert!(
            pair[0].range.end <= pair[1].range.start,
            "overlapping edits{}",
            context()
        );
    }
    assert_eq!(
        apply(&text, &outcome.edits),
        outcome.text,
        "edits do not give text{}",
        context()
    );

    let unexplained = self_check(&outcome, &requirements, origin_text);
    assert!(
        unexplained.is_empty(),
        "self_check: {unexplained:?}{}",
        context()
    );

    let before = parse(&text);
    let after = parse(&outcome.text);
    let refused = outcome
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    if !refused {
        for (i, req) in requirements.iter().enumerate() {
            for r in eval::requests_for(req, origin_text) {
                let script_load = matches!(
                    r.check,
                    Check::Load {
                        destination: Destination::Script,
                        ..
                    }
                );
                let inline = matches!(r.check, Check::Inline(_));
                if (script_load && caveat(&outcome, i, "CSP101"))
                    || (inline && caveat(&outcome, i, "CSP105"))
                {
                    continue;
                }
                assert!(
                    eval::allows_in(&after, &r, Browser::Csp3),
                    "{req:?} still blocked: {:?}{}",
                    r.check,
                    context()
                );
            }
        }
    }
    for r in probes(&before, &requirements, &origin) {
        for browser in Browser::ALL {
            let (b, a) = (
                eval::allows_in(&before, &r, browser),
                eval::allows_in(&after, &r, browser),
            );
            if b != a {
                assert!(
                    !b && a && explained(&r, &requirements),
                    "{browser:?} verdict {b} -> {a} for {:?} nonce={:?} parser_inserted={} hash={:?}{}",
                    r.check,
                    r.nonce,
                    r.parser_inserted,
                    r.content_hash,
                    context()
                );
            }
        }
    }
    let again = merge(&outcome.text, &requirements, &options);
    assert!(
        again.edits.is_empty(),
        "a second merge edits {:?}{}",
        again.edits,
        context()
    );
}
