//! A missing `;`: a directive name among another directive's sources
//! (`default-src 'none' img-src 'self'`). Browsers read `img-src` and `'self'` as sources of
//! `default-src`, so the author's `img-src` does not exist. Merging into such a policy would
//! copy the broken list into every new directive (the fallback list is copied), so the site is
//! refused with the text the author evidently meant (README, "What is refused").

use crate::csp::directives::{info, Kind};
use crate::csp::parse;

/// The policy with a `;` put before every directive name that sits among another
/// directive's sources, or `None` when no `;` is missing.
pub fn corrected(text: &str) -> Option<String> {
    let list = parse::parse(text);
    let mut cuts: Vec<usize> = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .flat_map(|d| &d.sources)
        .filter(|t| {
            // Only a word of letters and `-` can be a directive name (checked by the test
            // below): most sources are hosts, and lowercasing each was a tenth of the plan.
            name_like(&t.text) && {
                let lower = t.text.to_ascii_lowercase();
                info(&lower).is_some_and(|k| k.kind != Kind::Other)
            }
        })
        .map(|t| t.span.start)
        .collect();
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(text.len() + cuts.len() * 2);
    let mut last = 0;
    for cut in cuts {
        // Drop the whitespace before the name, then `; `: `'none' img-src` → `'none'; img-src`.
        let before = text[last..cut].trim_end();
        out.push_str(before);
        out.push_str("; ");
        last = cut;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// Could `token` be a directive name: letters and `-` only?
fn name_like(token: &str) -> bool {
    token.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::corrected;

    /// Every directive csppatch knows passes the quick test, in any case.
    #[test]
    fn every_directive_name_is_name_like() {
        for d in crate::csp::directives::KNOWN {
            assert!(super::name_like(d.name), "{}", d.name);
            assert!(super::name_like(&d.name.to_ascii_uppercase()), "{}", d.name);
        }
        assert!(!super::name_like("https://a.example"));
        assert!(!super::name_like("'self'"));
    }

    #[test]
    fn puts_the_missing_semicolon_back() {
        assert_eq!(
            corrected("default-src 'none' img-src 'self'").as_deref(),
            Some("default-src 'none'; img-src 'self'")
        );
        assert_eq!(
            corrected("script-src 'self' style-src 'self' img-src data:;").as_deref(),
            Some("script-src 'self'; style-src 'self'; img-src data:;")
        );
        assert_eq!(corrected("default-src 'self'; img-src 'self'"), None);
        // `sandbox` takes flags, not sources: a flag is never a directive name.
        assert_eq!(corrected("sandbox allow-scripts"), None);
    }
}
