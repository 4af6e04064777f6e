//! Validation of `[[request]]` and `[[reason]]` tables: each error located at `file:line:col`
//! with the code `VND721`.

use std::ops::Range;

use toml::Spanned;

use super::directive;
use super::load::{Doc, INVALID_REQUEST};
use super::requests::{
    destination, fill, InlineNeed, KnownRequest, LoadedBy, Need, Provenance, Reason, When,
    SAMPLE_CUSTOM_DOMAIN, SAMPLE_SITE,
};
use super::schema::{ReasonDoc, RequestDoc};
use crate::diag::Diagnostic;

/// Validate the `[[request]]` tables of vendor `vendor`, whose regions are `regions`.
pub(super) fn requests(
    doc: &Doc,
    vendor: &str,
    docs: &[Spanned<RequestDoc>],
    regions: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<KnownRequest> {
    let mut out = Vec::new();
    for spanned in docs {
        let at = doc.at(spanned.span());
        let r = spanned.get_ref();
        let mut bad = |span: Range<usize>, why: String| {
            errors.push(doc.error(
                INVALID_REQUEST,
                span,
                format!("{vendor}: [[request]]: {why}"),
            ));
        };
        let directive = r.directive.get_ref().to_ascii_lowercase();
        if let Some(why) = directive::check(&directive) {
            bad(r.directive.span(), why);
            continue;
        }
        let mut needs = Vec::new();
        match (&r.url, &r.urls, &r.inline) {
            (Some(url), None, None) => needs.push(url),
            (None, Some(urls), None) if !urls.is_empty() => needs.extend(urls),
            (None, None, Some(inline)) => match InlineNeed::parse(inline.get_ref()) {
                Some(k) if k.directives().contains(&directive.as_str()) => {}
                Some(k) => {
                    bad(
                        inline.span(),
                        format!(
                            "inline {} is decided by {}, not {directive}",
                            k.name(),
                            k.directives().join(" or ")
                        ),
                    );
                    continue;
                }
                None => {
                    bad(
                        inline.span(),
                        format!(
                            "`{}` is not an inline need; write one of {}",
                            inline.get_ref(),
                            InlineNeed::NAMES.join(", ")
                        ),
                    );
                    continue;
                }
            },
            _ => {
                bad(
                    spanned.span(),
                    "give exactly one of `url`, `urls` (request URLs) and `inline` (script, style, eval...)"
                        .into(),
                );
                continue;
            }
        }
        let mut valid = true;
        for url in &needs {
            if let Err(why) = check_url(url.get_ref(), &directive) {
                bad(url.span(), why);
                valid = false;
            }
        }
        if !valid {
            continue;
        }
        let needs: Vec<Need> = match &r.inline {
            Some(inline) => InlineNeed::parse(inline.get_ref())
                .map(Need::Inline)
                .into_iter()
                .collect(),
            None => needs
                .iter()
                .map(|u| Need::Url(u.get_ref().clone()))
                .collect(),
        };
        let loaded_by = match r
            .loaded_by
            .as_ref()
            .map(|l| (l.get_ref().as_str(), l.span()))
        {
            None | Some(("widget", _)) => LoadedBy::Widget,
            Some(("page", _)) => LoadedBy::Page,
            Some((other, span)) => {
                bad(
                    span,
                    format!(
                        "loaded_by `{other}`: write \"page\" (the site's own tag) or \"widget\""
                    ),
                );
                continue;
            }
        };
        let region = match &r.region {
            Some(reg) if !regions.contains(&reg.get_ref().as_str()) => {
                bad(
                    reg.span(),
                    format!(
                        "region `{}` is not one of the vendor's regions ({})",
                        reg.get_ref(),
                        if regions.is_empty() {
                            "it has none".to_string()
                        } else {
                            regions.join(", ")
                        }
                    ),
                );
                continue;
            }
            other => other.as_ref().map(|r| r.get_ref().clone()),
        };
        let when = match &r.when {
            None => None,
            Some(w) => match When::parse(w.get_ref()) {
                Some(w) => Some(w),
                None => {
                    bad(
                        w.span(),
                        format!(
                            "when `{}`: write one of {}",
                            w.get_ref(),
                            When::NAMES.join(", ")
                        ),
                    );
                    continue;
                }
            },
        };
        let Some(from) = provenance(&mut bad, spanned.span(), [&r.docs, &r.snippet, &r.observed])
        else {
            continue;
        };
        for need in needs {
            out.push(KnownRequest {
                directive: directive.clone(),
                need,
                loaded_by,
                region: region.clone(),
                when,
                from: from.clone(),
                note: r.note.clone(),
                at: at.clone(),
            });
        }
    }
    out
}

/// Validate the `[[reason]]` tables.
pub(super) fn reasons(
    doc: &Doc,
    vendor: &str,
    docs: &[Spanned<ReasonDoc>],
    regions: &[&str],
    listed: &dyn Fn(&str, &str) -> bool,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Reason> {
    let mut out = Vec::new();
    for spanned in docs {
        let r = spanned.get_ref();
        let mut bad = |span: Range<usize>, why: String| {
            errors.push(doc.error(
                INVALID_REQUEST,
                span,
                format!("{vendor}: [[reason]]: {why}"),
            ));
        };
        let directive = r.directive.get_ref().to_ascii_lowercase();
        if let Some(why) = directive::check(&directive) {
            bad(r.directive.span(), why);
            continue;
        }
        if !listed(&directive, r.source.get_ref()) {
            bad(
                r.source.span(),
                format!(
                    "`{}` is not listed under {directive}, so there is nothing to explain",
                    r.source.get_ref()
                ),
            );
            continue;
        }
        if r.why.trim().is_empty() {
            bad(spanned.span(), "`why` is empty".into());
            continue;
        }
        if let Some(reg) = &r.region {
            if !regions.contains(&reg.get_ref().as_str()) {
                bad(
                    reg.span(),
                    format!(
                        "region `{}` is not one of the vendor's regions",
                        reg.get_ref()
                    ),
                );
                continue;
            }
        }
        // A reason says why in words; the page is optional (a third-party copy has none worth
        // citing), but when given it must be a URL.
        let from = match &r.docs {
            Some(_) => match provenance(&mut bad, spanned.span(), [&r.docs, &None, &None]) {
                Some(p) => p,
                None => continue,
            },
            None => Provenance::default(),
        };
        out.push(Reason {
            directive,
            source: r.source.get_ref().clone(),
            why: r.why.clone(),
            docs: from.docs,
            region: r.region.as_ref().map(|r| r.get_ref().clone()),
            at: doc.at(spanned.span()),
        });
    }
    out
}

/// The `docs`, `snippet` and `observed` pages: at least one, each an http(s) URL.
fn provenance(
    bad: &mut impl FnMut(Range<usize>, String),
    whole: Range<usize>,
    pages: [&Option<Spanned<String>>; 3],
) -> Option<Provenance> {
    let mut ok = true;
    for page in pages.iter().copied().flatten() {
        let url = page.get_ref();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bad(page.span(), format!("`{url}` is not an http(s) URL"));
            ok = false;
        }
    }
    if pages.iter().all(|p| p.is_none()) {
        bad(
            whole,
            "say where it is written: `docs` (the vendor's documentation), `snippet` (its embed code) or `observed` (third-party material)"
                .into(),
        );
        return None;
    }
    let get = |p: &Option<Spanned<String>>| p.as_ref().map(|s| s.get_ref().clone());
    ok.then(|| Provenance {
        docs: get(pages[0]),
        snippet: get(pages[1]),
        observed: get(pages[2]),
    })
}

/// A request URL must parse once its placeholders are filled, and be a load its directive
/// checks.
fn check_url(url: &str, directive: &str) -> Result<(), String> {
    if destination(directive).is_none() {
        return Err(format!(
            "{directive} decides inline behaviour only; write `inline = \"...\"` instead of a URL"
        ));
    }
    let filled = fill(url, SAMPLE_SITE, SAMPLE_CUSTOM_DOMAIN);
    let parsed = url::Url::parse(&filled).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if matches!(parsed.scheme(), "http" | "ws") {
        return Err(format!(
            "`{url}` is unencrypted; widgets on https pages load over https:// and wss://"
        ));
    }
    Ok(())
}
