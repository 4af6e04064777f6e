//! Writing a value back: the inverse of [`super::format`] and [`super::words`].
//!
//! A byte goes through two decoders on its way to the header: `ap_getword_conf` (in quotes,
//! `\\` and `\<quote>` are escapes) and then mod_headers' format string (`%%`, and `\\`, `\n`,
//! `\r`, `\t`). So `%` is written `%%`, a backslash `\\\\`, the quote `\"`. Line breaks
//! cannot be written at all (see APA301).
//!
//! Every result is checked by reading the patched file again with [`super::scan`]: what is
//! returned decodes to exactly the requested text, or nothing is returned.

use std::path::Path;

use crate::site::Site;

use super::lexer::is_space;

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

/// The value's text as it decodes from `candidate` (the whole file, patched), with the text
/// of its opaque parts.
fn reread(site: &Site, candidate: &[u8]) -> Option<(String, Vec<String>)> {
    let scan = super::scan(Path::new(""), candidate).ok()?;
    let found = scan
        .sites
        .into_iter()
        .find(|s| s.span.start == site.span.start)?;
    let opaque = found
        .value
        .opaque
        .iter()
        .map(|r| found.value.text[r.clone()].to_string())
        .collect();
    Some((found.value.text, opaque))
}

fn spliced(src: &[u8], range: std::ops::Range<usize>, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + bytes.len());
    out.extend_from_slice(&src[..range.start]);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&src[range.end..]);
    out
}

fn opaque_parts(site: &Site) -> Vec<(String, std::ops::Range<usize>)> {
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
    match reread(site, &spliced(src, site.span.clone(), &out)) {
        Some((text, opaque)) if text == value && opaque == expected_opaque => Ok(out),
        Some((text, _)) => Err(format!(
            "cannot write this value exactly: httpd would send {text:?} (a `${{...}}` that httpd \
             would expand?)"
        )),
        None => Err("cannot write this value: the patched line would not parse".into()),
    }
}

/// `fragment` escaped for insertion at file offset `at` inside the site's raw value, checked
/// to decode to the old text with `fragment` inserted where `at` points.
pub fn fragment(site: &Site, src: &[u8], at: usize, fragment: &str) -> Option<Vec<u8>> {
    if at < site.span.start || at > site.span.end {
        return None;
    }
    let positions: Vec<usize> = (0..=site.value.text.len())
        .filter(|&p| site.value.text.is_char_boundary(p))
        .filter(|&p| site.value.raw_insertion_point(p) == Some(at))
        .collect();
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
        reread(site, &spliced(src, at..at, bytes)).is_some_and(|(text, opaque)| {
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
