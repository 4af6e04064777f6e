//! The syntax of HTTP heads: a response head read as browsers read it, and the URL and
//! `--header`s the user gives.
//!
//! Chromium's `HttpUtil::AssembleRawHeaders` and `HttpResponseHeaders::Parse` are mirrored:
//! lines end at CR or LF; a line that starts with a space or tab continues the previous header
//! line, joined with one space (obs-fold, which nginx produces from a `\` + newline inside a
//! quoted value); lines without a token name and a colon are dropped.

use url::Url;

use crate::diag::Diagnostic;

/// One response header, as the browser reads it (continuation lines folded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
    /// Sent across several lines (obs-fold): nginx sends a `\` + newline of a quoted value so.
    pub folded: bool,
}

pub(super) fn bad_input(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error("PRB800", message)
}

/// A URL csppatch can fetch: http or https, with a host.
pub fn parse_url(text: &str) -> Result<Url, Diagnostic> {
    let url = Url::parse(text).map_err(|e| {
        let hint = if !text.contains("://") {
            format!(" (did you mean https://{text} ?)")
        } else {
            String::new()
        };
        bad_input(format!("`{text}` is not a URL: {e}{hint}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad_input(format!(
            "`{text}`: only http:// and https:// pages can be probed"
        )));
    }
    Ok(url)
}

/// Parse `Name: value` as given to `--header`.
pub fn parse_header_arg(arg: &str) -> Result<(String, String), Diagnostic> {
    let Some((name, value)) = arg.split_once(':') else {
        return Err(bad_input(format!(
            "--header `{arg}`: expected `Name: value`"
        )));
    };
    let name = name.trim();
    if !is_token(name.as_bytes()) {
        return Err(bad_input(format!(
            "--header `{arg}`: `{name}` is not a header name"
        )));
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(bad_input(format!(
            "--header `{name}`: a value cannot contain a line break"
        )));
    }
    // The exchange is one request per connection, framed by csppatch.
    if ["connection", "content-length", "transfer-encoding"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
    {
        return Err(bad_input(format!(
            "--header `{name}` cannot be set: csppatch frames the request itself"
        )));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// RFC 9110 `token`.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_lws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_lws(mut s: &[u8]) -> &[u8] {
    while s.first().is_some_and(|&b| is_lws(b)) {
        s = &s[1..];
    }
    while s.last().is_some_and(|&b| is_lws(b)) {
        s = &s[..s.len() - 1];
    }
    s
}

/// The status code, reason phrase and headers of a response head, read as Chromium reads it
/// (`HttpUtil::AssembleRawHeaders`, `HttpResponseHeaders::Parse`).
pub fn parse_head(head: &[u8]) -> Result<(u16, String, Vec<Header>), String> {
    // Lines are the non-empty runs between CR and LF bytes: a lone CR ends a line too.
    let mut lines = head
        .split(|&b| b == b'\r' || b == b'\n')
        .filter(|l| !l.is_empty());
    let status_line = lines.next().unwrap_or_default();
    let text = String::from_utf8_lossy(status_line);
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(format!(
            "the answer is not HTTP (it starts with `{}`)",
            text.chars().take(40).collect::<String>().escape_debug()
        ));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| format!("bad status line `{}`", text.escape_debug()))?;
    let reason = parts.next().unwrap_or_default().trim().to_string();
    // Assemble: a line that starts with LWS continues the previous header line.
    let mut assembled: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut continuable = false;
    for line in lines {
        if continuable && is_lws(line[0]) {
            // `continuable` means the previous line was pushed.
            let (last, folded) = assembled.last_mut().expect("a continuable line was pushed");
            last.push(b' ');
            last.extend_from_slice(trim_lws(line));
            *folded = true;
            continue;
        }
        let colon = line.iter().position(|&b| b == b':');
        continuable = colon.is_some_and(|c| c > 0 && !is_lws(line[0]));
        assembled.push((line.to_vec(), false));
    }
    let headers = assembled
        .iter()
        .filter_map(|(line, folded)| {
            let colon = line.iter().position(|&b| b == b':')?;
            // A name that starts with LWS is a continuation nothing could be joined to.
            if colon == 0 || is_lws(line[0]) {
                return None;
            }
            let name = trim_lws(&line[..colon]);
            is_token(name).then(|| Header {
                name: String::from_utf8_lossy(name).into_owned(),
                value: trim_lws(&line[colon + 1..]).to_vec(),
                folded: *folded,
            })
        })
        .collect();
    Ok((status, reason, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(head: &[u8], name: &str) -> Vec<String> {
        parse_head(head)
            .unwrap()
            .2
            .into_iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(&h.value).into_owned())
            .collect()
    }

    #[test]
    fn nginx_backslash_newline_is_folded_like_chromium() {
        // What nginx sends for `add_header ... "default-src 'self'; \<LF>    script-src x;"`.
        let head = b"HTTP/1.1 200 OK\r\nContent-Security-Policy: default-src 'self'; \\\n    script-src x; \\\n  img-src y\r\nX-A: 1\r\n\r\n";
        assert_eq!(
            values(head, "content-security-policy"),
            vec!["default-src 'self'; \\ script-src x; \\ img-src y"]
        );
        let (_, _, headers) = parse_head(head).unwrap();
        assert_eq!(
            headers.iter().map(|h| h.folded).collect::<Vec<_>>(),
            vec![true, false]
        );
        assert_eq!(values(head, "x-a"), vec!["1"]);
    }

    #[test]
    fn status_repeated_headers_and_odd_lines() {
        let head = b"HTTP/1.0 404 Not Found\nA: 1\r\nbad line\r\n: empty name\r\na b: spaced name\r\nA:2 \r\n\r\n";
        let (status, reason, headers) = parse_head(head).unwrap();
        assert_eq!((status, reason.as_str()), (404, "Not Found"));
        let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["A", "A"],
            "lines without a token name are dropped"
        );
        assert_eq!(values(head, "a"), vec!["1", "2"]);
    }

    #[test]
    fn a_lone_cr_ends_a_line_and_the_first_line_never_continues() {
        let head = b"HTTP/1.1 200 OK\r\n  X: folded into nothing\r\nA: 1\rB: 2\r\n\r\n";
        assert_eq!(values(head, "a"), vec!["1"]);
        assert_eq!(values(head, "b"), vec!["2"]);
        assert!(values(head, "x").is_empty(), "{:?}", parse_head(head));
    }

    #[test]
    fn not_http() {
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }

    #[test]
    fn header_arguments() {
        assert_eq!(
            parse_header_arg("Cookie: a=b; c=d").unwrap(),
            ("Cookie".to_string(), "a=b; c=d".to_string())
        );
        assert!(parse_header_arg("no colon").is_err());
        assert!(parse_header_arg("Bad Name: x").is_err());
        assert!(parse_header_arg("Connection: keep-alive").is_err());
    }

    #[test]
    fn urls() {
        assert!(parse_url("https://example.com/a?b#c").is_ok());
        assert!(parse_url("ftp://example.com/").is_err());
        let e = parse_url("example.com").unwrap_err();
        assert!(e.message.contains("https://example.com"), "{}", e.message);
    }
}
