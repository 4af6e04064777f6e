//! Tokenizer targets: never panic, never hang, and keep what each tokenizer's module doc
//! promises (the tokens tile the file; every offset points into the input).

use std::ops::Range;

use csppatch::dialect::{apache, caddy, html, nginx, php};

use crate::{assert_tiles, assert_within};

/// `ngx_conf_read_token()`'s mirror: tokens tile the file; an error points into it. The
/// statement parser on top must not panic either.
pub fn nginx(src: &[u8]) {
    match nginx::tokenize(src) {
        Ok(tokens) => assert_tiles(
            "nginx tokens",
            src.len(),
            tokens.iter().map(|t| t.span.clone()),
        ),
        Err(e) => assert!(
            e.offset <= src.len(),
            "nginx error offset {} past {}",
            e.offset,
            src.len()
        ),
    }
    let _ = nginx::parse(src);
}

/// httpd's line reader: tokens tile the file; logical lines tile it too, and each byte of a
/// line's text is the file byte it says it came from.
pub fn apache(src: &[u8]) {
    let tokens = apache::tokenize(src);
    assert_tiles(
        "apache tokens",
        src.len(),
        tokens.iter().map(|t| t.span.clone()),
    );
    let lines = apache::logical_lines(src);
    assert_tiles(
        "apache logical lines",
        src.len(),
        lines.iter().map(|l| l.span.clone()),
    );
    for l in &lines {
        assert_eq!(
            l.text.len(),
            l.at.len(),
            "apache line text/offsets {:?}",
            l.span
        );
        for (b, &at) in l.text.iter().zip(&l.at) {
            assert!(
                l.span.contains(&at),
                "apache offset {at} outside line {:?}",
                l.span
            );
            assert_eq!(src[at], *b, "apache line text at {at}");
        }
        let _ = l.content();
    }
}

/// Caddy's lexer: pieces tile the file, a token piece is its token, every text byte has raw
/// bytes inside the token.
pub fn caddy(src: &[u8]) {
    let lexed = caddy::lexer::lex(src);
    assert_tiles(
        "caddy pieces",
        src.len(),
        lexed.pieces.iter().map(|p| p.span.clone()),
    );
    let mut next = 0;
    for p in &lexed.pieces {
        if let caddy::lexer::PieceKind::Token(i) = p.kind {
            assert_eq!(i, next, "caddy token pieces out of order");
            next += 1;
            assert_eq!(
                lexed.tokens[i].span, p.span,
                "caddy token {i} span vs piece"
            );
        }
    }
    assert_eq!(next, lexed.tokens.len(), "caddy tokens without a piece");
    for t in &lexed.tokens {
        assert_eq!(
            t.text.len(),
            t.raw.len(),
            "caddy token {:?} text/raw",
            t.span
        );
        for r in &t.raw {
            assert_within("caddy raw byte", r, &t.span);
        }
    }
    for j in &lexed.joined {
        assert!(
            j.backslash < j.newline && j.newline < src.len(),
            "caddy joined line {j:?}"
        );
    }
    let mut end = 0;
    for e in caddy::lexer::env_spans(src) {
        assert!(
            e.span.start >= end && e.span.end <= src.len(),
            "caddy env span {:?}",
            e.span
        );
        end = e.span.end;
    }
}

/// Zend's scanner mirror: tokens tile the file; a string's content and parts lie inside it.
pub fn php(src: &[u8]) {
    use php::lexer::{Kind, Part};
    match php::lexer::tokenize(src) {
        Ok(tokens) => {
            assert_tiles(
                "php tokens",
                src.len(),
                tokens.iter().map(|t| t.span.clone()),
            );
            for t in &tokens {
                if let Kind::Str(lit) = &t.kind {
                    assert_within("php string content", &lit.content, &t.span);
                    let mut at = lit.content.start;
                    for part in &lit.parts {
                        let (Part::Text(r) | Part::Interp(r)) = part;
                        assert!(r.start >= at, "php string parts out of order at {r:?}");
                        assert_within("php string part", r, &lit.content);
                        at = r.end;
                    }
                }
            }
        }
        Err(e) => assert!(
            e.offset <= src.len(),
            "php error offset {} past {}",
            e.offset,
            src.len()
        ),
    }
}

/// The WHATWG tokenizer mirror, plain and in template mode: tokens in file order, attribute
/// values inside their tags.
pub fn html(src: &[u8]) {
    for template in [false, true] {
        let mut end = 0;
        for t in html::tokenize(src, template) {
            let span: Range<usize> = match &t {
                html::Token::Start(tag) | html::Token::End(tag) => {
                    for a in &tag.attrs {
                        if let Some(v) = &a.value {
                            assert_within("html attribute value", &v.token, &tag.span);
                            assert_within("html attribute raw", &v.raw, &v.token);
                            for tpl in &v.templates {
                                assert_within("html template in value", tpl, &v.raw);
                            }
                        }
                    }
                    tag.span.clone()
                }
                html::Token::Text(r) | html::Token::RawText(r) | html::Token::Other(r) => r.clone(),
            };
            assert!(
                span.start >= end && span.start <= span.end && span.end <= src.len(),
                "html token {span:?} after {end} (template {template})"
            );
            end = span.end;
        }
    }
}

/// The browser's policy parser: policies tile the text between commas, directives and their
/// tokens are the text they say, and every valid source prints back to itself (the merge
/// writes sources with `Display`).
pub fn csp(text: &str) {
    use csppatch::csp::parse::parse;
    use csppatch::csp::source::Source;
    let list = parse(text);
    let mut at = 0;
    for (i, p) in list.policies.iter().enumerate() {
        assert_eq!(p.index, i);
        assert_eq!(p.span.start, at, "policy {i} start");
        at = p.span.end + 1;
        if i + 1 < list.policies.len() {
            assert_eq!(
                text.as_bytes()[p.span.end],
                b',',
                "policy {i} not ended by a comma"
            );
        }
        for d in &p.directives {
            assert_within("directive", &d.span, &p.span);
            assert_within("directive name", &d.name_span, &d.span);
            assert_eq!(d.name, text[d.name_span.clone()].to_ascii_lowercase());
            for t in &d.sources {
                assert_within("source token", &t.span, &d.span);
                assert_eq!(t.text, &text[t.span.clone()]);
                if let Ok(s) = &t.source {
                    let printed = s.to_string();
                    assert_eq!(
                        Source::parse(&printed).as_ref(),
                        Ok(s),
                        "`{}` prints as `{printed}`",
                        t.text
                    );
                }
            }
        }
    }
    assert_eq!(at, text.len() + 1, "policies end before the text");
    for delivery in [
        csppatch::csp::Delivery::Header,
        csppatch::csp::Delivery::Meta,
    ] {
        let _ = csppatch::csp::lint::check(&list, delivery);
    }
}
