//! Which directive names a vendor requirement may use, and "did you mean" for the rest.

/// Directives a vendor may ask sources for: the directives a request is checked against
/// (CSP3 §6.8.1 "Get the effective directive for request", plus the navigation/document
/// directives that take a source list). `default-src` and `child-src` are absent on purpose:
/// they are only fallbacks, and csppatch never widens them (DESIGN.md "Merge rules").
pub const VENDOR_DIRECTIVES: &[&str] = &[
    "base-uri",
    "connect-src",
    "font-src",
    "form-action",
    "frame-ancestors",
    "frame-src",
    "img-src",
    "manifest-src",
    "media-src",
    "object-src",
    "script-src",
    "script-src-attr",
    "script-src-elem",
    "style-src",
    "style-src-attr",
    "style-src-elem",
    "worker-src",
];

/// Real directive names that still cannot carry a vendor requirement, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "default-src",
        "csppatch never widens default-src: every fetch directive falls back to it, so one \
         vendor host there would be allowed for scripts, frames, fonts... alike; name the \
         directive the vendor's requests really use (script-src, connect-src, img-src...)",
    ),
    (
        "child-src",
        "csppatch never widens child-src: frame-src and worker-src fall back to it; use \
         frame-src for frames and worker-src for workers",
    ),
    (
        "prefetch-src",
        "prefetch-src was removed from CSP3 and browsers ignore it",
    ),
    (
        "navigate-to",
        "navigate-to was removed from CSP3 and browsers ignore it",
    ),
    (
        "plugin-types",
        "plugin-types was removed from CSP3 and takes MIME types, not sources",
    ),
    (
        "report-uri",
        "report-uri names where violation reports go; it is not a vendor requirement",
    ),
    (
        "report-to",
        "report-to names a reporting endpoint group; it is not a vendor requirement",
    ),
    ("sandbox", "sandbox takes sandbox flags, not sources"),
    (
        "upgrade-insecure-requests",
        "upgrade-insecure-requests takes no sources",
    ),
    (
        "block-all-mixed-content",
        "block-all-mixed-content is deprecated and takes no sources",
    ),
    (
        "require-trusted-types-for",
        "require-trusted-types-for takes `'script'`, not sources",
    ),
    (
        "trusted-types",
        "trusted-types takes policy names, not sources",
    ),
    ("webrtc", "webrtc takes `'allow'` or `'block'`, not sources"),
];

/// Why `name` (already lower-cased) cannot be a vendor directive, or `None` when it can.
pub fn check(name: &str) -> Option<String> {
    if VENDOR_DIRECTIVES.contains(&name) {
        return None;
    }
    if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
        return Some(format!("`{name}` cannot take a vendor source: {why}"));
    }
    let hint = closest(name, VENDOR_DIRECTIVES.iter().copied())
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    Some(format!(
        "`{name}` is not a CSP directive; {hint}vendor sources go under one of: {}",
        VENDOR_DIRECTIVES.join(", ")
    ))
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo
/// (at most a third of the word's length, and at least 1).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn accepts_effective_directives_only() {
        assert_eq!(check("connect-src"), None);
        assert!(check("default-src").unwrap().contains("never widens"));
        assert!(check("child-src").unwrap().contains("frame-src"));
        let typo = check("scirpt-src").unwrap();
        assert!(typo.contains("did you mean `script-src`"), "{typo}");
        let nonsense = check("widgets").unwrap();
        assert!(!nonsense.contains("did you mean"), "{nonsense}");
    }
}
