//! Where an edit of a value built from variables is written: into the literal that holds the
//! text it touches (an nginx `set`, Caddy `vars`, a PHP literal), each literal encoded by the
//! dialect's own encoder as a site of its own (README, "How variables are expanded").

use crate::csp::{Created, TextEdit};
use crate::dialect::Dialect;
use crate::edit::Splice;
use crate::site::{Level, Site};

/// The splice for `edit` of `site` (whose value has pieces). `Ok(None)`: it cannot be written
/// in place; `Err`: it must not be written at all (it would change a literal something other
/// than this CSP reads). `around`: nothing is written into a literal that is one of several
/// values of a variable (see `patch_file`). `created`: the merge's new directives, whose
/// copied sources are written as the literals they came from wrote them.
pub fn splice(
    dialect: &dyn Dialect,
    site: &Site,
    src: &[u8],
    edit: &TextEdit,
    around: bool,
    created: &[Created],
) -> Result<Option<Vec<Splice>>, String> {
    // Sources appended to the directive before the point, then new directives: the sources
    // go into the literal that holds the directive, the directives where no variable is.
    if let Some(semi) = edit.text.find(';') {
        if edit.range.is_empty() && !edit.text[..semi].trim().is_empty() {
            let at = edit.range.clone();
            let head = TextEdit {
                range: at.clone(),
                text: edit.text[..semi].to_string(),
            };
            let tail = TextEdit {
                range: at,
                text: edit.text[semi..].to_string(),
            };
            let (Some(a), Some(b)) = (
                one(dialect, site, src, &head, around, created)?,
                one(dialect, site, src, &tail, around, created)?,
            ) else {
                return Ok(None);
            };
            return Ok(Some(vec![a, b]));
        }
    }
    Ok(one(dialect, site, src, edit, around, created)?.map(|s| vec![s]))
}

fn one(
    dialect: &dyn Dialect,
    site: &Site,
    src: &[u8],
    edit: &TextEdit,
    around: bool,
    created: &[Created],
) -> Result<Option<Splice>, String> {
    let value = &site.value;
    if !edit.range.is_empty() {
        let level = value.owner(edit.range.start);
        if around && value.in_variant(level) {
            return Ok(None);
        }
        if edit.range.clone().any(|i| value.owner(i) != level) {
            return Ok(None);
        }
        let Some(raw) = value.raw_range(edit.range.clone()) else {
            return Ok(None);
        };
        if !value.editable(level) {
            return Err(shared(site, level, &value.text[edit.range.clone()]));
        }
        let bytes = dialect.encode_fragment(&site.at_level(level), src, raw.start, &edit.text);
        return Ok(bytes.map(|bytes| Splice { range: raw, bytes }));
    }
    let mut points = value.insertion_points(edit.range.start);
    if edit.text.contains(';') {
        // A new directive belongs to no variable: the outermost literal first.
        points.sort_by_key(|&(level, _)| value.depth(level));
    } else if let Some(home) = sources_literal(value, edit.range.start) {
        points = for_sources(value, points, home);
    }
    let mut blocked = None;
    for (level, at) in points {
        if around && value.in_variant(level) {
            continue;
        }
        if !value.editable(level) {
            blocked.get_or_insert(level);
            continue;
        }
        let (at, text) = if around {
            let moved = past_empty_references(value, level, at);
            let mut text = as_references(value, level, &edit.text);
            if moved != at && !text.starts_with(|c: char| c.is_ascii_whitespace()) {
                // Now after the reference: a space keeps the text out of its name.
                text = format!(" {}", text.trim_end());
            }
            (moved, text)
        } else {
            (at, edit.text.clone())
        };
        let literal = site.at_level(level);
        let copied = match level {
            // The header's own literal is read after every `set` has run: a copied source
            // there may refer to the variables its literal did.
            None => as_written(value, created, edit.range.start, &text),
            Some(_) => None,
        };
        let bytes = copied
            .and_then(|(copy, references)| {
                dialect.encode_copied_fragment(&literal, src, at, &copy, &references)
            })
            .or_else(|| dialect.encode_fragment(&literal, src, at, &text));
        if let Some(bytes) = bytes {
            return Ok(Some(Splice {
                range: at..at,
                bytes,
            }));
        }
    }
    match blocked {
        Some(level) => Err(shared(site, level, edit.text.trim())),
        None => Ok(None),
    }
}

/// The literal that holds the sources of the directive a source inserted at text position
/// `at` is appended to (all of them; its name when it has none): the source belongs there,
/// beside them (README, "Where a change goes"). `None`: no directive ends at `at`.
fn sources_literal(value: &crate::site::Decoded, at: usize) -> Option<Level> {
    let list = crate::csp::parse::parse(&value.text);
    let d = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .rev()
        .find(|d| d.name_span.end <= at && at <= d.span.end)?;
    let range = match (d.sources.first(), d.sources.last()) {
        (Some(first), Some(last)) => first.span.start..last.span.end,
        _ => d.name_span.clone(),
    };
    (!range.is_empty()).then(|| value.holder(range))
}

/// The insertion points of a source in the order they are tried: the literal that holds the
/// directive's sources (`home`), then the literals around it, innermost first, then the rest
/// as before, outermost first, less any literal strictly inside `home` that is itself inside
/// a variable: that variable (`$main_domain` in `http://${main_domain}`) is only a part of
/// another's value, and a source written into it would go wherever else it is used.
fn for_sources(
    value: &crate::site::Decoded,
    points: Vec<(Level, usize)>,
    home: Level,
) -> Vec<(Level, usize)> {
    let around = value.lineage(home);
    let rank = |level: Level| around.iter().position(|l| *l == level);
    let mut first: Vec<(Level, usize)> = points
        .iter()
        .copied()
        .filter(|&(l, _)| rank(l).is_some())
        .collect();
    first.sort_by_key(|&(l, _)| rank(l));
    let mut rest: Vec<(Level, usize)> = points
        .into_iter()
        .filter(|&(l, _)| rank(l).is_none())
        .filter(|&(l, _)| value.depth(l) <= 1 || !value.lineage(l).contains(&home))
        .collect();
    rest.sort_by_key(|&(l, _)| value.depth(l));
    first.extend(rest);
    first
}

/// `text` (new directives, `; worker-src 'self' http://127.0.0.1`, inserted at text position
/// `at`) with each source the merge copied from another directive written as the literal
/// that holds it wrote it (`http://${main_domain}`), and the references that brings in: the
/// copy then keeps the references the user wrote, and sends what they send. `None`: nothing
/// to write differently. The read-back proves the result.
fn as_written(
    value: &crate::site::Decoded,
    created: &[Created],
    at: usize,
    text: &str,
) -> Option<(String, Vec<String>)> {
    if value.pieces.is_empty() || created.is_empty() {
        return None;
    }
    let list = crate::csp::parse::parse(&value.text);
    let k = list
        .policies
        .iter()
        .position(|p| p.span.start <= at && at <= p.span.end)?;
    let policy = &list.policies[k];
    let mut references: Vec<String> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (n, segment) in text.split(';').enumerate() {
        if n > 0 {
            out.push(';');
        }
        let name = segment.split_ascii_whitespace().next().unwrap_or("");
        let from = created
            .iter()
            .filter(|c| c.policy == k && c.directive.eq_ignore_ascii_case(name))
            .find_map(|c| c.copied_from.as_deref())
            .and_then(|from| {
                policy
                    .directives
                    .iter()
                    .find(|d| d.is_effective() && d.name.eq_ignore_ascii_case(from))
            });
        let Some(from) = from else {
            out.push_str(segment);
            continue;
        };
        // The segment's tokens, the white space between them as it is.
        let mut rest = segment;
        let mut first = true;
        while !rest.is_empty() {
            let space = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_whitespace())
                    .len();
            out.push_str(&rest[..space]);
            rest = &rest[space..];
            let len = rest
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            let token = &rest[..len];
            rest = &rest[len..];
            let written = (!first && !token.is_empty())
                .then(|| from.sources.iter().find(|s| s.text == token))
                .flatten()
                .and_then(|s| value.written_as(value.holder(s.span.clone()), s.span.clone()));
            first = false;
            match written {
                Some((w, refs)) if w != token => {
                    out.push_str(&w);
                    for r in refs {
                        if !references.contains(&r) {
                            references.push(r);
                        }
                    }
                }
                _ => out.push_str(token),
            }
        }
    }
    (out != text).then_some((out, references))
}

/// `text` with each run of it that is the whole value of a variable with several values,
/// referred to in literal `level`, written as that reference again (`; worker-src $scriptSrc`
/// for a `worker-src` copied from `script-src $scriptSrc`): every variant then gets its own
/// value there, as its merge asks, from the same bytes. Only where nothing is written into
/// that value (see `patch_file`); the read-back proves the result.
fn as_references(value: &crate::site::Decoded, level: Level, text: &str) -> String {
    let mut out = text.to_string();
    let own = value.level_value(level);
    for i in value.children(level) {
        let piece = &value.pieces[i];
        let copied = value.text[piece.text.clone()].trim();
        if !piece.variant || copied.is_empty() {
            continue;
        }
        let Some(stand_in) = own
            .opaque
            .iter()
            .find(|o| {
                own.raw(o.start)
                    .is_some_and(|r| r.start == piece.reference.start)
            })
            .map(|o| own.text[o.clone()].to_string())
        else {
            continue;
        };
        out = replace_sources(&out, copied, &stand_in);
    }
    out
}

/// `at` (a file offset in literal `level`) moved past the references right after it (white
/// space between) that produce no text in this variant (`$csp_extra` when its `map` value is
/// `""`, a variable no `set` of which runs): the variants in which they hold sources then put a
/// source added around them at the same place, after the reference, and all read back alike.
fn past_empty_references(value: &crate::site::Decoded, level: Level, at: usize) -> usize {
    let own = value.level_value(level);
    let Some(mut i) = (0..own.text.len()).find(|&i| own.raw(i).is_some_and(|r| r.start == at))
    else {
        return at;
    };
    let produced_nothing = |r: &std::ops::Range<usize>| {
        !value
            .pieces
            .iter()
            .any(|p| p.reference == *r && !p.text.is_empty())
            && !value
                .opaque
                .iter()
                .any(|o| value.raw(o.start).is_some_and(|x| x.start == r.start))
    };
    let mut moved = at;
    let bytes = own.text.as_bytes();
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let Some(o) = own.opaque.iter().find(|o| o.start == i) else {
            break;
        };
        let (Some(first), Some(last)) = (own.raw(o.start), own.raw(o.end - 1)) else {
            break;
        };
        let reference = first.start..last.end;
        if !produced_nothing(&reference) {
            break;
        }
        moved = reference.end;
        i = o.end;
    }
    moved
}

/// `text` with every occurrence of `from` that starts and ends at a source boundary (white
/// space, `;`, or the ends) replaced by `to`.
fn replace_sources(text: &str, from: &str, to: &str) -> String {
    let boundary = |c: Option<char>| c.is_none_or(|c| c.is_ascii_whitespace() || c == ';');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before = if i > 0 {
            rest[..i].chars().last()
        } else {
            out.chars().last()
        };
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if boundary(before) && boundary(after) {
            out.push_str(to);
        } else {
            out.push_str(from);
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// The refusal for a change that would land in a literal read elsewhere too.
fn shared(site: &Site, level: Level, what: &str) -> String {
    // The innermost literal that is not editable is the one to name.
    let mut l = level;
    let mut name = None;
    while let Some(i) = l {
        if !site.value.pieces[i].editable {
            name = Some(site.value.pieces[i].describe());
        }
        l = site.value.pieces[i].parent;
    }
    format!(
        "`{what}` would go into {}, which something else in the file reads too: changing it \
         there would change that as well; add it by hand where it belongs",
        name.unwrap_or_else(|| "a variable".into())
    )
}

/// Add a site's splices to the file's, leaving out those another site already makes (two
/// headers built from one `set`, both patched alike: the `set` changes once).
/// `seen` holds the splices of the sites before (a search of the whole list for each splice
/// was quadratic: a `map` of 100,000 policies).
pub fn extend(
    all: &mut Vec<Splice>,
    seen: &mut std::collections::HashSet<Splice>,
    site: Vec<Splice>,
) {
    let before = all.len();
    for s in site {
        if !seen.contains(&s) {
            all.push(s);
        }
    }
    seen.extend(all[before..].iter().cloned());
}

#[cfg(test)]
mod tests {
    use super::replace_sources;

    #[test]
    fn sources_are_replaced_at_their_boundaries_only() {
        assert_eq!(
            replace_sources("; worker-src 'self' a.example", "'self' a.example", "$s"),
            "; worker-src $s"
        );
        assert_eq!(replace_sources("x 'self'b", "'self'", "$s"), "x 'self'b");
        assert_eq!(replace_sources("'self'; 'self'", "'self'", "$s"), "$s; $s");
    }
}
