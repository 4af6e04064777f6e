//! `APA3xx`: how mod_headers' tables and actions change which policy a browser receives.
//!
//! mod_headers keeps two response tables (`header_inout_cmd`): `Header always` entries go to
//! `err_headers_out`, sent with every response; the others to `headers_out`, sent with
//! 2xx/3xx responses. On a 2xx response httpd sends both. Entries run in configuration
//! order, the main server first, then nested sections (`merge_headers_config` appends the
//! inner section's entries after the outer one's).

use std::path::Path;

use crate::diag::{line_col, Diagnostic};
use crate::site::Site;

use super::header::{spelled, Action, Table};
use super::sections::Document;
use super::{location, CspHeader};

pub(crate) fn check(
    path: &Path,
    src: &[u8],
    config: &Document,
    csp: &[CspHeader<'_>],
    sites: &[Site],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let line = |offset: usize| line_col(src, offset).0;
    let at = |offset: usize| location(path, src, offset);
    let senders: Vec<&CspHeader<'_>> = csp.iter().filter(|h| h.site.is_some()).collect();

    // APA302: both tables send a policy to the same requests.
    for a in senders.iter().filter(|h| h.header.table == Table::Always) {
        let others: Vec<&CspHeader<'_>> = senders
            .iter()
            .copied()
            .filter(|b| {
                b.header.table == Table::OnSuccess
                    && b.disposition == a.disposition
                    && overlap(config, &a.chain, &b.chain)
            })
            .collect();
        if let Some(b) = others.first() {
            out.push(
                Diagnostic::note(
                    "APA302",
                    format!(
                        "`{}` (line {}) and `{}` ({}) both send a {}: on a 2xx response \
                         httpd sends both tables, browsers enforce both policies, and csppatch \
                         patches both",
                        a.header.written(),
                        line(a.start),
                        b.header.described(),
                        lines_of(&others, &line),
                        a.disposition.header_name()
                    ),
                )
                .at(at(a.start))
                .with_help("keep one of them: `Header always set` also covers error responses"),
            );
        }
    }

    for h in csp {
        let name = h.disposition.header_name();
        match h.header.action {
            a if a.adds_policy() => {
                let effect = if a == Action::Add {
                    format!(
                        "sends a second {name} header when one is already set by another Header \
                         line, the application or a proxied backend"
                    )
                } else {
                    format!(
                        "joins this value with `, ` to a {name} already set by another Header \
                         line, the application or a proxied backend, and browsers read the \
                         result as two policies"
                    )
                };
                out.push(
                    Diagnostic::warning(
                        "APA303",
                        format!(
                            "`{}` {effect}; browsers enforce every policy, so a source allowed in \
                             only one of them stays blocked",
                            h.header.written()
                        ),
                    )
                    .at(at(h.header.action_word.span.start))
                    .with_help(format!(
                        "use `{}` so that exactly one policy is sent",
                        spelled(h.header.table, "set")
                    )),
                )
            }
            Action::SetIfEmpty => out.push(
                Diagnostic::note(
                    "APA304",
                    format!(
                        "`{}` sends this policy only when the response has no {name} yet in the \
                         `{}` table: when the application or a backend sends its own, that one \
                         goes out unpatched",
                        h.header.written(),
                        h.header.table.keyword()
                    ),
                )
                .at(at(h.header.action_word.span.start)),
            ),
            Action::Edit | Action::EditAll => out.push(edit(config, h, csp, &line, &at)),
            Action::Unset => out.extend(unset(config, h, csp, &line, &at)),
            Action::Echo => {}
            _ => {}
        }
    }
    out.extend(echo(config, src, path));
    out.extend(super::proxy::notes(path, src, config, csp));

    // APA307: `.htaccess` needs AllowOverride FileInfo.
    if let (true, Some(first)) = (super::is_htaccess(path), sites.first()) {
        out.push(
            Diagnostic::note(
                "APA307",
                "`Header` in .htaccess works only where the directory's AllowOverride includes \
                 FileInfo (or All); elsewhere every request below it fails with 500 (Header not \
                 allowed here), and `apache2 -t` does not read .htaccess files",
            )
            .at(at(first.span.start))
            .with_help(
                "check `AllowOverride FileInfo` for this directory in the server configuration",
            ),
        );
    }

    // APA310: a conditional section left open.
    if let Some(i) = config.unclosed_conditional {
        let s = &config.sections[i];
        out.push(
            Diagnostic::warning(
                "APA310",
                format!(
                    "<{}> is not closed at the end of the file: httpd accepts this only while its \
                     condition holds, and otherwise stops (Expected </{}> before end of \
                     configuration)",
                    s.name, s.name
                ),
            )
            .at(at(s.open))
            .with_help(format!("add `</{}>`", s.name)),
        );
    }
    out
}

/// May two scopes apply to the same request? Nested scopes do; so do sibling sections
/// (`<Location />` and `<Location /embed>` both match `/embed`), except two different
/// `<VirtualHost>`s, which serve different requests.
fn overlap(config: &Document, a: &[usize], b: &[usize]) -> bool {
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((&x, &y)) => !(is_vhost(config, x) && is_vhost(config, y)),
        None => true,
    }
}

fn is_vhost(config: &Document, section: usize) -> bool {
    config.sections[section]
        .name
        .eq_ignore_ascii_case("VirtualHost")
}

/// Does `later` run after `earlier` for the requests both apply to? A nested section's
/// entries run after its parent's; otherwise configuration order decides.
fn runs_after(config: &Document, later: &CspHeader<'_>, earlier: &CspHeader<'_>) -> bool {
    let nested =
        |inner: &[usize], outer: &[usize]| inner.len() > outer.len() && inner.starts_with(outer);
    overlap(config, &later.chain, &earlier.chain)
        && if nested(&later.chain, &earlier.chain) {
            true
        } else if nested(&earlier.chain, &later.chain) {
            false
        } else {
            later.start > earlier.start
        }
}

/// `line 3` or `lines 3, 7`.
fn lines_of(sites: &[&CspHeader<'_>], line: &dyn Fn(usize) -> usize) -> String {
    let numbers: Vec<String> = sites.iter().map(|s| line(s.start).to_string()).collect();
    let word = if numbers.len() == 1 { "line" } else { "lines" };
    format!("{word} {}", numbers.join(", "))
}

fn edit(
    config: &Document,
    h: &CspHeader<'_>,
    csp: &[CspHeader<'_>],
    line: &dyn Fn(usize) -> usize,
    at: &dyn Fn(usize) -> crate::diag::Location,
) -> Diagnostic {
    let edited: Vec<&CspHeader<'_>> = csp
        .iter()
        .filter(|s| {
            s.site.is_some()
                && s.header.table == h.header.table
                && s.disposition == h.disposition
                && runs_after(config, h, s)
        })
        .collect();
    let regex = h.header.value.map(|w| w.text()).unwrap_or_default();
    let subs = h.header.replacement.map(|w| w.text()).unwrap_or_default();
    let target = if edited.is_empty() {
        format!(
            "the {} in the `{}` table (set elsewhere: another file, the application or a backend)",
            h.disposition.header_name(),
            h.header.table.keyword()
        )
    } else {
        format!(
            "the {} set at {}",
            h.disposition.header_name(),
            lines_of(&edited, line)
        )
    };
    Diagnostic::warning(
        "APA305",
        format!(
            "`Header {}` rewrites {target}: the patched value goes through `{regex}` -> `{subs}` \
             too and may be edited again",
            h.header.action_word.text()
        ),
    )
    .at(at(h.start))
    .with_help(
        "check the regular expression against the patched policy, or fold the edit into the value",
    )
}

fn unset(
    config: &Document,
    h: &CspHeader<'_>,
    csp: &[CspHeader<'_>],
    line: &dyn Fn(usize) -> usize,
    at: &dyn Fn(usize) -> crate::diag::Location,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let name = h.disposition.header_name();
    let table = h.header.table;
    let senders = csp
        .iter()
        .filter(|s| s.site.is_some() && s.disposition == h.disposition);
    let removed: Vec<&CspHeader<'_>> = senders
        .clone()
        .filter(|s| s.header.table == table && runs_after(config, h, s))
        .collect();
    let other: Vec<&CspHeader<'_>> = senders
        .filter(|s| s.header.table != table && overlap(config, &s.chain, &h.chain))
        .collect();
    let conditional = if h.header.condition.is_some() {
        " when its condition holds"
    } else {
        ""
    };
    if !removed.is_empty() {
        out.push(
            Diagnostic::warning(
                "APA306",
                format!(
                    "`{}` removes the {name} set at {}{conditional}, for the requests it \
                     applies to: patching that value changes nothing there",
                    h.header.written(),
                    lines_of(&removed, line)
                ),
            )
            .at(at(h.start)),
        );
    }
    if !other.is_empty() {
        let other_table = if table == Table::Always {
            Table::OnSuccess
        } else {
            Table::Always
        };
        out.push(
            Diagnostic::note(
                "APA311",
                format!(
                    "`{}` only clears the `{}` table: the {name} from `{}` at {} is still \
                     sent",
                    h.header.written(),
                    table.keyword(),
                    other[0].header.written(),
                    lines_of(&other, line)
                ),
            )
            .at(at(h.start))
            .with_help(format!(
                "use `{}` as well to remove that one",
                spelled(other_table, "unset")
            )),
        );
    }
    out
}

/// APA309: `Header echo REGEX` whose regular expression names the CSP header. The check is
/// textual: a pattern that matches the name without spelling it is not caught.
fn echo(config: &Document, src: &[u8], path: &Path) -> Vec<Diagnostic> {
    config
        .directives
        .iter()
        .filter(|d| d.name.is("Header"))
        .filter_map(|d| {
            let h = super::header::parse(&d.args, d.name.span.start).ok()?;
            let pattern = String::from_utf8_lossy(&h.name).to_ascii_lowercase();
            (h.action == Action::Echo && pattern.contains("content-security-policy")).then(|| {
                Diagnostic::note(
                    "APA309",
                    "`Header echo` copies a request's Content-Security-Policy header into the \
                     response: a request carrying one gets a second policy, which csppatch \
                     cannot patch",
                )
                .at(location(path, src, d.name.span.start))
                .with_help("remove the line")
            })
        })
        .collect()
}
