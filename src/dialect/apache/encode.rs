//! Writing a value back: the inverse of [`super::format`] and [`super::words`].
//!
//! A byte goes through two decoders on its way to the header: `ap_getword_conf` (in quotes,
//! `\\` and `\<quote>` are escapes) and then mod_headers' format string (`%%`, and `\\`, `\n`,
//! `\r`, `\t`). So `%` is written `%%`, a backslash `\\\\`, the quote `\"`. Line breaks
//! cannot be written at all (see APA301).
//!
//! Every result is checked by reading the patched file again with [`super::scan`]: what is
//! returned decodes to exactly the requested text, or nothing is returned.

use std::ops::Range;
use std::path::Path;

use crate::csp::TextEdit;
use crate::site::{Decoded, Site};

use super::lexer::{self, is_space};

/// The quote that opens the site's raw value, if any.
fn quote_of(site: &Site, src: &[u8]) -> Option<u8> {
    src.get(site.span.start)
        .copied()
        .filter(|b| matches!(b, b'"' | b'\''))
}

fn escape_into(out: &mut Vec<u8>, ch: char, quote: Option<u8>) -> Result<(), String> {
    match ch {
        '\n' | '\r' | '\0' => {
            return Err(format!(
                "{ch:?} cannot be written in an httpd configuration value: mod_headers would \
                 send a line break, which httpd refuses (APA301)"
            ))
        }
        '%' => out.extend_from_slice(b"%%"),
        '\\' => out.extend_from_slice(br"\\\\"),
        c if quote.is_some_and(|q| c == char::from(q)) => {
            out.push(b'\\');
            out.push(c as u8);
        }
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Ok(())
}

/// The value's text as it decodes from the file `src` with `range` replaced by `bytes`, and
/// the text of its opaque parts; `None` when the patched file has no site there, or does not
/// parse.
///
/// Only the site's logical line is read again when the patch leaves it one line ending where
/// it ended: every other line then reads as before, so the whole file parses as before (the
/// site came from `src` read without an error), and [`super::scan`] of the whole patched file
/// would find exactly what [`super::header_line_value`] finds on that line. Debug builds
/// check that against the whole file's read.
fn reread(
    site: &Site,
    src: &[u8],
    range: Range<usize>,
    bytes: &[u8],
) -> Option<(String, Vec<String>)> {
    let local = reread_line(site, src, range.clone(), bytes);
    #[cfg(debug_assertions)]
    if let Some(local) = &local {
        debug_assert_eq!(
            local,
            &reread_file(site, &spliced(src, range.clone(), bytes)),
            "the line read alone and the whole file disagree"
        );
    }
    local.unwrap_or_else(|| reread_file(site, &spliced(src, range, bytes)))
}

/// [`reread`] from the site's line alone; `None`: only the whole file can tell.
fn reread_line(
    site: &Site,
    src: &[u8],
    range: Range<usize>,
    bytes: &[u8],
) -> Option<Option<(String, Vec<String>)>> {
    let (line, terminated) = lexer::line_around(src, site.span.start);
    if range.start < line.start || range.end > line.end || range.start > range.end {
        return None;
    }
    let mut patched = Vec::with_capacity(line.len() + bytes.len());
    patched.extend_from_slice(&src[line.start..range.start]);
    patched.extend_from_slice(bytes);
    patched.extend_from_slice(&src[range.end..line.end]);
    let read = lexer::one_line(&patched, line.start, terminated)?;
    let found = super::header_line_value(&read).ok()?;
    Some(
        found
            .filter(|(start, _)| *start == site.span.start)
            .map(|(_, value)| texts(value)),
    )
}

/// [`reread`] from the whole patched file.
fn reread_file(site: &Site, candidate: &[u8]) -> Option<(String, Vec<String>)> {
    let scan = super::scan(Path::new(""), candidate).ok()?;
    let found = scan
        .sites
        .into_iter()
        .find(|s| s.span.start == site.span.start)?;
    Some(texts(found.value))
}

/// A value's text and the text of its opaque parts.
fn texts(value: Decoded) -> (String, Vec<String>) {
    let opaque = value
        .opaque
        .iter()
        .map(|r| value.text[r.clone()].to_string())
        .collect();
    (value.text, opaque)
}

fn spliced(src: &[u8], range: Range<usize>, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + bytes.len());
    out.extend_from_slice(&src[..range.start]);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&src[range.end..]);
    out
}

fn opaque_parts(site: &Site) -> Vec<(String, Range<usize>)> {
    site.value
        .opaque
        .iter()
        .filter_map(|r| {
            let raw = site.value.raw(r.start)?;
            Some((site.value.text[r.clone()].to_string(), raw))
        })
        .collect()
}

/// The raw bytes replacing `site.span` so that httpd sends `value`, on one logical line, in
/// the site's quoting style (a bare word that would need quotes gets double quotes). Text
/// equal to one of the site's opaque parts (`%{VAR}e`, `${VAR}`) is written as it was.
pub fn value(site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
    let original = quote_of(site, src);
    // A bare word ending in a backslash would continue the line (`ap_cfg_getline`).
    let needs_quotes = value.is_empty()
        || value.bytes().any(is_space)
        || value.starts_with(['"', '\''])
        || value.ends_with('\\');
    let quote = original.or(needs_quotes.then_some(b'"'));
    let parts = opaque_parts(site);
    let mut out = Vec::with_capacity(value.len() + 2);
    out.extend(quote);
    let mut expected_opaque = Vec::new();
    let mut rest = value;
    while let Some(ch) = rest.chars().next() {
        if let Some((text, raw)) = parts
            .iter()
            .find(|(text, _)| rest.starts_with(text.as_str()))
        {
            out.extend_from_slice(&src[raw.clone()]);
            expected_opaque.push(text.clone());
            rest = &rest[text.len()..];
            continue;
        }
        escape_into(&mut out, ch, quote)?;
        rest = &rest[ch.len_utf8()..];
    }
    out.extend(quote);
    match reread(site, src, site.span.clone(), &out) {
        Some((text, opaque)) if text == value && opaque == expected_opaque => Ok(out),
        Some((text, _)) => Err(format!(
            "cannot write this value exactly: httpd would send {text:?} (a `${{...}}` that httpd \
             would expand?)"
        )),
        None => Err("cannot write this value: the patched line would not parse".into()),
    }
}

/// The text positions (character boundaries) whose insertion point
/// ([`Decoded::raw_insertion_point`]) is the file offset `at`. The same function, from each
/// byte's raw range looked up once instead of three times per position.
fn insertion_positions(site: &Site, at: usize) -> Vec<usize> {
    let text = &site.value.text;
    let raws: Vec<Option<Range<usize>>> = (0..text.len()).map(|i| site.value.raw(i)).collect();
    // `raw` of a position past the text is `None`.
    let raw = |i: usize| raws.get(i).cloned().flatten();
    let point = |p: usize| {
        let inside_unit = p > 0 && matches!((raw(p - 1), raw(p)), (Some(b), Some(a)) if b == a);
        if inside_unit {
            None
        } else if p == 0 {
            raw(0).map(|r| r.start)
        } else {
            raw(p - 1).map(|r| r.end)
        }
    };
    let positions: Vec<usize> = (0..=text.len())
        .filter(|&p| text.is_char_boundary(p) && point(p) == Some(at))
        .collect();
    debug_assert_eq!(
        positions,
        (0..=text.len())
            .filter(|&p| text.is_char_boundary(p))
            .filter(|&p| site.value.raw_insertion_point(p) == Some(at))
            .collect::<Vec<_>>()
    );
    positions
}

/// `fragment` escaped for insertion at file offset `at` inside the site's raw value, checked
/// to decode to the old text with `fragment` inserted where `at` points.
pub fn fragment(site: &Site, src: &[u8], at: usize, fragment: &str) -> Option<Vec<u8>> {
    if at < site.span.start || at > site.span.end {
        return None;
    }
    let positions = insertion_positions(site, at);
    if positions.is_empty() {
        return None;
    }
    let quote = quote_of(site, src);
    if quote.is_none() && (fragment.bytes().any(is_space) || fragment.is_empty()) {
        return None;
    }
    let mut escaped = Vec::with_capacity(fragment.len());
    for ch in fragment.chars() {
        escape_into(&mut escaped, ch, quote).ok()?;
    }
    // After a `%` that ended the value (mod_headers sends a trailing `%` as is), the
    // fragment would turn it into a format tag: write it `%%` by adding a `%`.
    let mut candidates = vec![escaped.clone()];
    if at > 0 && src[at - 1] == b'%' {
        candidates.push([b"%".as_slice(), &escaped].concat());
    }
    // The fragment adds no run-time part: a `${VAR}` in it would be expanded by httpd.
    let old_opaque: Vec<String> = opaque_parts(site).into_iter().map(|(t, _)| t).collect();
    candidates.into_iter().find(|bytes| {
        reread(site, src, at..at, bytes).is_some_and(|(text, opaque)| {
            opaque == old_opaque
                && positions.iter().any(|&p| {
                    let old = &site.value.text;
                    text.len() == old.len() + fragment.len()
                        && text.starts_with(&old[..p])
                        && text[p..].starts_with(fragment)
                        && text.ends_with(&old[p..])
                })
        })
    })
}

/// [`fragment`] for each of a value's edits (each with the file bytes it replaces), proven
/// with one read of the line patched with them all instead of one read per edit; when that
/// read does not prove them, the edits one by one. Debug builds check that both give the
/// same bytes.
pub fn fragments(
    site: &Site,
    src: &[u8],
    edits: &[(Range<usize>, &TextEdit)],
) -> Option<Vec<Vec<u8>>> {
    crate::dialect::fragments_at_once_or_one_by_one(
        edits,
        |at, text| fragment(site, src, at, text),
        || fragments_at_once(site, src, edits),
    )
}

/// The edits escaped as [`fragment`] escapes them, when the site's line patched with all of
/// them reads back as the old text with every edit made and the same opaque parts. `None`
/// for what only [`fragment`] handles: edits out of order or sharing a point, a bare word
/// that would need quotes, a `%` just before an edit.
fn fragments_at_once(
    site: &Site,
    src: &[u8],
    edits: &[(Range<usize>, &TextEdit)],
) -> Option<Vec<Vec<u8>>> {
    let quote = quote_of(site, src);
    let old = &site.value.text;
    let mut escaped = Vec::with_capacity(edits.len());
    let mut expected = String::with_capacity(old.len() + 64);
    let mut patched = Vec::with_capacity(site.span.len() + 64);
    let (mut raw_at, mut text_at) = (site.span.start, 0);
    for (i, (raw, e)) in edits.iter().enumerate() {
        let in_order = if i == 0 {
            raw.start >= raw_at && e.range.start >= text_at
        } else {
            raw.start > raw_at && e.range.start > text_at
        };
        if !in_order || raw.end < raw.start || raw.end > site.span.end {
            return None;
        }
        if quote.is_none() && (e.text.is_empty() || e.text.bytes().any(is_space)) {
            return None;
        }
        if raw.start > 0 && src[raw.start - 1] == b'%' {
            return None;
        }
        let mut bytes = Vec::with_capacity(e.text.len());
        for ch in e.text.chars() {
            escape_into(&mut bytes, ch, quote).ok()?;
        }
        expected.push_str(old.get(text_at..e.range.start)?);
        expected.push_str(&e.text);
        patched.extend_from_slice(&src[raw_at..raw.start]);
        patched.extend_from_slice(&bytes);
        escaped.push(bytes);
        (raw_at, text_at) = (raw.end, e.range.end);
    }
    expected.push_str(old.get(text_at..)?);
    patched.extend_from_slice(&src[raw_at..site.span.end]);
    let old_opaque: Vec<String> = opaque_parts(site).into_iter().map(|(t, _)| t).collect();
    let (text, opaque) = reread(site, src, site.span.clone(), &patched)?;
    (text == expected && opaque == old_opaque).then_some(escaped)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn site(src: &[u8]) -> Site {
        super::super::scan(Path::new("s.conf"), src).unwrap().sites.remove(0)
    }

    /// A bare value ending its physical line: a fragment ending in a backslash there would
    /// continue the line into the next one (a different file structure, read whole).
    #[test]
    fn a_fragment_that_would_continue_the_line_is_refused() {
        for next in ["# after\n", "Header set X y\n", "</VirtualHost>\n"] {
            let src = format!("<VirtualHost *:80>\nHeader set Content-Security-Policy x\n{next}");
            let src = if next.starts_with("</") {
                src
            } else {
                format!("{src}</VirtualHost>\n")
            };
            let s = site(src.as_bytes());
            assert_eq!(fragment(&s, src.as_bytes(), s.span.end, "a\\"), None, "{next}");
            // Elsewhere in the word the same fragment is written.
            assert!(fragment(&s, src.as_bytes(), s.span.start, "a\\").is_some());
        }
    }

    /// A value's edits proven by one read of the patched line give the bytes each edit
    /// proven alone gives; what only one edit at a time can write still gets written.
    #[test]
    fn edits_proven_at_once_are_the_edits_proven_one_by_one() {
        let src = b"Header set Content-Security-Policy \"script-src 'self'; img-src data:\"\n";
        let s = site(src);
        let at = |p: usize| at_of(&s, p);
        let edit = |p: usize, text: &str| TextEdit {
            range: p..p,
            text: text.into(),
        };
        let (a, b) = (edit(17, " https://a.example"), edit(s.value.text.len(), "; x \"%"));
        let edits = [(at(17)..at(17), &a), (at(b.range.start)..at(b.range.start), &b)];
        let once = fragments_at_once(&s, src, &edits).unwrap();
        assert_eq!(once, [b" https://a.example".to_vec(), br#"; x \"%%"#.to_vec()]);
        assert_eq!(fragments(&s, src, &edits).unwrap(), once);
        // Out of order, or two at one point: only one at a time says.
        let swapped = [edits[1].clone(), edits[0].clone()];
        assert_eq!(fragments_at_once(&s, src, &swapped), None);
        // After a `%` that ends the value, the edit is written `%%`-first, one at a time.
        let src = b"Header set Content-Security-Policy \"img-src a%\"\n";
        let s = site(src);
        let end = s.value.text.len();
        let c = edit(end, " b");
        let edits = [(at_of(&s, end)..at_of(&s, end), &c)];
        assert_eq!(fragments_at_once(&s, src, &edits), None);
        assert_eq!(fragments(&s, src, &edits).unwrap(), [b"% b".to_vec()]);
    }

    fn at_of(s: &Site, p: usize) -> usize {
        s.value.raw_insertion_point(p).unwrap()
    }

    /// The logical line re-read alone spans its continuation lines.
    #[test]
    fn a_value_on_continuation_lines_is_re_read_whole() {
        let src = b"Header set Content-Security-Policy \"a; \\\n    b 'self'\"\nHeader set X y\n";
        let s = site(src);
        let at = s.value.raw_insertion_point(s.value.text.len()).unwrap();
        let bytes = fragment(&s, src, at, " c%d").unwrap();
        assert_eq!(bytes, b" c%%d");
        let v = value(&s, src, "a; b 'self'; c \"q\"").unwrap();
        assert_eq!(v, br#""a; b 'self'; c \"q\"""#);
    }
}
