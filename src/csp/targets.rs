//! What a vendor requirement asks for: the request classes (`script-src https://x` means
//! script element loads; `style-src 'unsafe-inline'` inline `<style>` and style attributes;
//! `child-src` frames and workers; `'unsafe-eval'` eval), or a reason it cannot be used.

use super::eval::{Destination, InlineKind};
use super::plan::Class;
use super::source::{Keyword, Source};

/// What a requirement asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// The classes that must allow the source.
    Classes(Vec<Class>),
    /// A source-list directive without fallback (form-action, frame-ancestors, base-uri):
    /// appended to when present, nothing to do when absent.
    NoFallback(&'static str),
}

/// Why a requirement cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    UnknownDirective,
    /// `sandbox`, `report-uri`, `trusted-types`...: not a source list.
    NotSourceList,
    Deprecated(&'static str),
    /// A source csppatch refuses to add (`'strict-dynamic'`, `'none'`), with the reason.
    Refused(&'static str),
    /// A valid pair that no browser check uses (`'unsafe-eval'` under style-src), with why.
    NoEffect(&'static str),
}

fn loads(ds: &[Destination]) -> Vec<Class> {
    ds.iter().map(|d| Class::Load(*d)).collect()
}

fn inlines(ks: &[InlineKind]) -> Vec<Class> {
    ks.iter().map(|k| Class::Inline(*k)).collect()
}

/// The classes a vendor's `directive source` is about.
///
/// A requirement under `default-src` is read as "every fetch type that falls back to
/// default-src", except `object-src` (plugins: no widget needs them and opening them is the
/// worst XSS vector); it never widens default-src itself, which would also open the types the
/// site restricts through default-src only and that the vendor never loads.
pub fn targets(directive: &str, source: &Source) -> Result<Targets, Unusable> {
    use super::directives::{info, Kind};
    use Destination as D;
    use InlineKind as I;
    let info = info(directive).ok_or(Unusable::UnknownDirective)?;
    if let Some(instead) = info.deprecated {
        return Err(Unusable::Deprecated(instead));
    }
    match info.kind {
        Kind::Other => return Err(Unusable::NotSourceList),
        Kind::NoFallback => {
            return if source.matches_urls() {
                Ok(Targets::NoFallback(info.name))
            } else {
                Err(Unusable::NoEffect("this directive only matches URLs"))
            }
        }
        Kind::Fetch => {}
    }
    let all_loads: Vec<D> = D::FETCH
        .iter()
        .copied()
        .filter(|d| *d != D::Object)
        .collect();
    let classes = if source.matches_urls() {
        match directive {
            "default-src" => loads(&all_loads),
            "script-src" | "script-src-elem" => loads(&[D::Script]),
            "style-src" | "style-src-elem" => loads(&[D::Style]),
            "child-src" => loads(&[D::Frame, D::Worker]),
            "script-src-attr" | "style-src-attr" => {
                return Err(Unusable::NoEffect(
                    "attributes load nothing, so URLs do not matter there",
                ))
            }
            other => loads(&[D::FETCH
                .iter()
                .copied()
                .find(|d| d.effective_directive() == other)
                .ok_or(Unusable::UnknownDirective)?]),
        }
    } else {
        let Source::Keyword(k) = source else {
            // A nonce: elements carrying it, and what they load. A hash: that exact code
            // wherever a hash can allow it (inline elements, integrity-checked script loads,
            // and, next to 'unsafe-hashes', attributes and javascript: URLs): the vendor asks
            // for its code to run, and the same code elsewhere is the same opening.
            let (script, style) = if matches!(source, Source::Nonce(_)) {
                (
                    vec![Class::Load(D::Script), Class::Inline(I::Script)],
                    vec![Class::Load(D::Style), Class::Inline(I::Style)],
                )
            } else {
                (
                    vec![
                        Class::Load(D::Script),
                        Class::Inline(I::Script),
                        Class::Inline(I::ScriptAttribute),
                        Class::Inline(I::Navigation),
                    ],
                    vec![Class::Inline(I::Style), Class::Inline(I::StyleAttribute)],
                )
            };
            return Ok(Targets::Classes(match directive {
                "script-src" => script,
                "script-src-elem" => script
                    .into_iter()
                    .filter(|c| *c != Class::Inline(I::ScriptAttribute))
                    .collect(),
                "style-src" => style,
                "style-src-elem" => style
                    .into_iter()
                    .filter(|c| *c != Class::Inline(I::StyleAttribute))
                    .collect(),
                "default-src" => [script, style].concat(),
                "script-src-attr" if matches!(source, Source::Hash(..)) => {
                    inlines(&[I::ScriptAttribute])
                }
                "style-src-attr" if matches!(source, Source::Hash(..)) => {
                    inlines(&[I::StyleAttribute])
                }
                _ => {
                    return Err(Unusable::NoEffect(
                        "nonces and hashes only apply to scripts and styles",
                    ))
                }
            }));
        };
        match (k, directive) {
            (Keyword::StrictDynamic, _) => {
                return Err(Unusable::Refused(
                    "'strict-dynamic' changes how every script of the site is allowed",
                ))
            }
            (Keyword::None, _) => {
                return Err(Unusable::Refused("'none' removes every other source"))
            }
            (Keyword::UnsafeInline, "default-src") => inlines(&I::ALL),
            (Keyword::UnsafeInline, "script-src") => {
                inlines(&[I::Script, I::ScriptAttribute, I::Navigation])
            }
            (Keyword::UnsafeInline, "script-src-elem") => inlines(&[I::Script, I::Navigation]),
            (Keyword::UnsafeInline, "script-src-attr") => inlines(&[I::ScriptAttribute]),
            (Keyword::UnsafeInline, "style-src") => inlines(&[I::Style, I::StyleAttribute]),
            (Keyword::UnsafeInline, "style-src-elem") => inlines(&[I::Style]),
            (Keyword::UnsafeInline, "style-src-attr") => inlines(&[I::StyleAttribute]),
            (Keyword::UnsafeInline, _) => {
                return Err(Unusable::NoEffect(
                    "'unsafe-inline' only applies to scripts and styles",
                ))
            }
            (Keyword::UnsafeEval | Keyword::WasmUnsafeEval, "script-src" | "default-src") => {
                vec![Class::Eval]
            }
            (Keyword::UnsafeEval | Keyword::WasmUnsafeEval, _) => {
                return Err(Unusable::NoEffect(
                    "browsers check eval against script-src (or default-src) only",
                ))
            }
            (Keyword::UnsafeHashes, "script-src" | "script-src-attr") => {
                inlines(&[I::ScriptAttribute, I::Navigation])
            }
            (Keyword::UnsafeHashes, "style-src" | "style-src-attr") => {
                inlines(&[I::StyleAttribute])
            }
            (Keyword::UnsafeHashes, "default-src") => {
                inlines(&[I::ScriptAttribute, I::Navigation, I::StyleAttribute])
            }
            (Keyword::InlineSpeculationRules, "script-src" | "script-src-elem" | "default-src") => {
                inlines(&[I::Script])
            }
            (Keyword::ReportSample, _) => {
                return Err(Unusable::NoEffect(
                    "'report-sample' only changes violation reports",
                ))
            }
            _ => {
                return Err(Unusable::NoEffect(
                    "this keyword does nothing under this directive",
                ))
            }
        }
    };
    Ok(Targets::Classes(classes))
}
