//! Apache's `Header set` replaces the header (and so does nginx headers-more's
//! `more_set_headers`, see `dialect/nginx/sites.rs`): of several `Header set Content-Security-Policy`
//! lines in the same scope and table, only the last is sent (campulse-demo.unistra.fr.conf
//! sets it three times in a row). Patching an earlier one would change nothing the browser
//! sees, and calling it locked or patched would be untrue, so it is reported as never sent
//! (E043) and left as it is (README, "Never a false all-clear").

use crate::dialect::DialectKind;
use crate::site::{FileScan, Site};
use crate::splice::SiteRef;

/// What replaces a site: the offset of the directive and how to name it in E043.
pub struct Replacer {
    pub offset: usize,
    pub what: &'static str,
}

/// For each of `sites` (one file's, in file order, with where each is in `scan`), what
/// replaces it, if anything: a later Apache `Header set` in the same scope and table, or
/// (recorded by the nginx scan, `FileScan::replaced`) a later `more_set_headers` in the
/// same block.
pub fn superseded(
    dialect: DialectKind,
    scan: Option<&FileScan>,
    sites: &[(&Site, &SiteRef)],
) -> Vec<Option<Replacer>> {
    let mut out: Vec<Option<Replacer>> = sites.iter().map(|_| None).collect();
    if dialect == DialectKind::Nginx {
        let Some(scan) = scan else { return out };
        for (i, (_, which)) in sites.iter().enumerate() {
            let SiteRef::Direct(si) = which else { continue };
            if let Some(&(_, offset)) = scan.replaced.iter().find(|(r, _)| r == si) {
                out[i] = Some(Replacer {
                    offset,
                    what: "`more_set_headers`",
                });
            }
        }
        return out;
    }
    if dialect != DialectKind::Apache {
        return out;
    }
    for (i, (a, _)) in sites.iter().enumerate() {
        if !replaces(&a.context) {
            continue;
        }
        out[i] = sites
            .iter()
            .skip(i + 1)
            .filter(|(b, _)| b.context == a.context && b.disposition == a.disposition)
            .map(|(b, _)| Replacer {
                offset: b.span.start,
                what: "`Header set`",
            })
            .next_back();
    }
    out
}

/// A context whose header action is an unconditional `set` (`... > Header set (onsuccess
/// table)`, `Header always set`): a later one in the same scope and table replaces it.
fn replaces(context: &str) -> bool {
    let last = context.rsplit(" > ").next().unwrap_or(context);
    let words: Vec<&str> = last.split_whitespace().collect();
    let unconditional = !last.contains(", ");
    unconditional
        && words.first() == Some(&"Header")
        && words.iter().skip(1).take(2).any(|w| *w == "set")
}

#[cfg(test)]
mod tests {
    use super::replaces;

    #[test]
    fn set_replaces_append_does_not() {
        assert!(replaces(
            "<VirtualHost *:443> > Header set (onsuccess table)"
        ));
        assert!(replaces("Header always set"));
        assert!(!replaces("Header append (onsuccess table)"));
        assert!(!replaces("Header set (onsuccess table), if env=HTML"));
    }
}
