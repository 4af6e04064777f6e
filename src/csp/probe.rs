//! Probes: concrete requests for a vendor requirement, so that a merge result can be checked
//! with [`super::eval::allows()`] ("is the vendor really allowed now?").

use super::eval::{Check, Destination, InlineKind, Origin, Request};
use super::plan::Class;
use super::source::{Keyword, Port, Source};
use super::targets::{targets, Targets};

/// A concrete URL that `source` allows, for probing: the vendor host itself (a `*.` wildcard
/// becomes a `sub.` label, `:*` becomes port 8443), `data:text/plain,csppatch` for `data:`,
/// a blob URL of the page for `blob:`, the page itself for `'self'`. `None` for sources that
/// match no URL (keywords, nonces, hashes).
pub fn example_url(source: &Source, origin: &Origin) -> Option<String> {
    let page = origin.serialize();
    if source.is_star() {
        return Some("https://any-host.example/".to_string());
    }
    Some(match source {
        Source::Keyword(Keyword::SelfOrigin) => format!("{page}/"),
        Source::Scheme(s) => match s.to_ascii_lowercase().as_str() {
            "data" => "data:text/plain,csppatch".to_string(),
            "blob" => format!("blob:{page}/4f0a7c2e-csppatch"),
            "filesystem" => format!("filesystem:{page}/temporary/csppatch"),
            scheme @ ("http" | "https" | "ws" | "wss" | "ftp") => {
                format!("{scheme}://any-host.example/")
            }
            scheme => format!("{scheme}:csppatch"),
        },
        Source::Host(h) => {
            let scheme = h
                .scheme
                .as_deref()
                .unwrap_or(&origin.scheme)
                .to_ascii_lowercase();
            let host = match h.host.as_str() {
                "*" => "any-host.example".to_string(),
                wild if wild.starts_with("*.") => format!("sub{}", &wild[1..]),
                plain => plain.to_string(),
            };
            let port = match h.port {
                Some(Port::Number(n)) => format!(":{n}"),
                Some(Port::Any) => ":8443".to_string(),
                None => String::new(),
            };
            let path = h.path.clone().unwrap_or_else(|| "/".to_string());
            format!("{scheme}://{host}{port}{path}")
        }
        _ => return None,
    })
}

/// The requests a vendor requirement is about, from a page of `origin`: what csppatch checks
/// with [`super::eval::allows()`] after a merge. Empty for a requirement that is not usable (see
/// `merge::merge`'s diagnostics) or that cannot be probed (SRI hashes on loads,
/// `'unsafe-hashes'`, hashes for attributes).
pub fn requests_for(requirement: &super::merge::Requirement, origin: &str) -> Vec<Request> {
    let Ok(page) = Origin::parse(origin) else {
        return Vec::new();
    };
    let Ok(source) = Source::parse(requirement.source.trim()) else {
        return Vec::new();
    };
    let directive = requirement.directive.trim().to_ascii_lowercase();
    let classes = match targets(&directive, &source) {
        Ok(Targets::Classes(c)) => c,
        Ok(Targets::NoFallback(name)) => {
            let destination = match name {
                "form-action" => Destination::FormAction,
                "base-uri" => Destination::BaseUri,
                _ => Destination::FrameAncestor,
            };
            return example_url(&source, &page)
                .and_then(|u| Request::load(destination, &u, origin).ok())
                .into_iter()
                .collect();
        }
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    for class in classes {
        let request = match (class, &source) {
            (Class::Load(d), s) if s.matches_urls() => {
                example_url(s, &page).and_then(|u| Request::load(d, &u, origin).ok())
            }
            (Class::Load(d @ (Destination::Script | Destination::Style)), Source::Nonce(n)) => {
                Request::load(d, "https://any-host.example/csppatch", origin)
                    .ok()
                    .map(|r| r.with_nonce(n))
            }
            (Class::Inline(k), Source::Keyword(Keyword::UnsafeInline)) => {
                Request::inline(k, origin).ok()
            }
            (Class::Inline(k @ (InlineKind::Script | InlineKind::Style)), Source::Nonce(n)) => {
                Request::inline(k, origin).ok().map(|r| r.with_nonce(n))
            }
            // A hash allows attributes only next to 'unsafe-hashes' (§6.7.3.3 step 4): not probed.
            (Class::Inline(k @ (InlineKind::Script | InlineKind::Style)), Source::Hash(alg, v)) => {
                Request::inline(k, origin)
                    .ok()
                    .map(|r| r.with_content_hash(*alg, v))
            }
            (Class::Eval, Source::Keyword(Keyword::UnsafeEval)) => Request::eval(origin).ok(),
            (Class::Eval, Source::Keyword(Keyword::WasmUnsafeEval)) => {
                Request::eval(origin).ok().map(|r| Request {
                    check: Check::WasmEval,
                    ..r
                })
            }
            _ => None,
        };
        out.extend(request);
    }
    out
}
