//! The tests' one HTTP client: a GET over HTTP/1.0 to 127.0.0.1 (no chunking, the server
//! closes), with the response head kept byte for byte, so that a test sees each header value
//! exactly as the server sent it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response as received: status, headers in order (names as sent, values as raw bytes),
/// the raw head and the body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Status line and header lines, each ending in CRLF, without the blank line.
    pub head: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of header `name` (case-insensitive), in the order received.
    pub fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// [`Response::header_values`] as text.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.header_values(name)
            .into_iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// Every `Content-Security-Policy` value, in the order received.
    pub fn csp(&self) -> Vec<String> {
        self.values("content-security-policy")
    }

    /// Every CSP and CSP-Report-Only value in the order received, with its header name in
    /// lower case.
    pub fn policies(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .filter(|(n, _)| n.starts_with("content-security-policy"))
            .map(|(n, v)| (n, String::from_utf8_lossy(v).into_owned()))
            .collect()
    }
}

/// GET http://127.0.0.1:`port``path` with `Host: host`.
pub fn get(port: u16, path: &str, host: &str) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    // Generous: a debug build of the servers' neighbours shares 2 cores with other tests.
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    // One write: php -S rejects a request line that arrives in pieces ("Malformed HTTP
    // request"), and `write!` on a TcpStream writes each formatted piece separately.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

/// A raw response (head, blank line, body) as a [`Response`].
pub fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no end of headers"))?;
    let head = raw[..end + 2].to_vec();
    let status = head
        .split(|&b| b == b'\r')
        .next()
        .and_then(|line| {
            String::from_utf8_lossy(line)
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Ok(Response {
        status,
        headers: split_headers(&head),
        head,
        body: raw[end + 4..].to_vec(),
    })
}

/// The header fields of a raw head, each value exactly as sent.
///
/// Every server the tests run (nginx, httpd, Caddy, php -S) ends each header line with CRLF
/// and writes `Name: value`. So the head is cut at CRLF only (a bare LF is part of a value:
/// nginx sends a value's raw line breaks as the file has them), and a line starts a field
/// when it begins with a token, a colon and a space or tab (or ends there). The value is
/// what follows that one space: any further white space is the value's own (httpd sends
/// h5bp's continued value with its leading spaces, and the decode oracle must see them). A
/// line that starts no field (it starts with white space, or is `https://...` at column 0
/// of a value split by a CRLF inside it) continues the previous value, joined with the CRLF
/// it was cut at.
pub fn split_headers(head: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < head.len() {
        if &head[i..i + 2] == b"\r\n" {
            lines.push(&head[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if start < head.len() {
        lines.push(&head[start..]);
    }
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // The first line is the status line.
    for line in lines.into_iter().skip(1) {
        match field_start(line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = match value.first() {
                    Some(b' ' | b'\t') => &value[1..],
                    _ => value,
                };
                out.push((
                    String::from_utf8_lossy(&line[..colon]).into_owned(),
                    value.to_vec(),
                ));
            }
            None => {
                if let Some(last) = out.last_mut() {
                    last.1.extend_from_slice(b"\r\n");
                    last.1.extend_from_slice(line);
                }
            }
        }
    }
    out
}

/// The colon's offset when `line` starts a header field: `token ":"` then SP, HT or the end.
fn field_start(line: &[u8]) -> Option<usize> {
    let colon = line.iter().position(|&b| b == b':')?;
    let token = &line[..colon];
    let is_tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    let after = line.get(colon + 1);
    (colon > 0 && token.iter().all(is_tchar) && matches!(after, None | Some(b' ' | b'\t')))
        .then_some(colon)
}
