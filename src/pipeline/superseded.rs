//! Apache's `Header set` replaces the header: of several `Header set Content-Security-Policy`
//! lines in the same scope and table, only the last is sent (campulse-demo.unistra.fr.conf
//! sets it three times in a row). Patching an earlier one would change nothing the browser
//! sees, and calling it locked or patched would be untrue, so it is reported as never sent
//! (E043) and left as it is (README, "Never a false all-clear").

use crate::dialect::DialectKind;
use crate::site::Site;

/// For each of `sites` (one file's, in file order), the index of the later site that
/// replaces it, if any.
pub fn superseded(dialect: DialectKind, sites: &[&Site]) -> Vec<Option<usize>> {
    let mut out = vec![None; sites.len()];
    if dialect != DialectKind::Apache {
        return out;
    }
    for (i, a) in sites.iter().enumerate() {
        if !replaces(&a.context) {
            continue;
        }
        out[i] = sites
            .iter()
            .enumerate()
            .skip(i + 1)
            .filter(|(_, b)| b.context == a.context && b.disposition == a.disposition)
            .map(|(j, _)| j)
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
