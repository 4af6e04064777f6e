//! GET a page and read its response the way a browser does.
//!
//! A small HTTP/1.1 client (one request per connection, `Connection: close`) over std's
//! `TcpStream` and rustls, rather than an HTTP client crate: those (ureq, hyper by default,
//! anything built on `httparse` and `http::HeaderValue`) reject a response whose header value
//! holds a raw line break, and that is what nginx sends for a vendor's own snippet that
//! continues the quoted CSP with `\` + newline. Browsers accept it and fold the line, so the
//! probe must too: the response head is read as Chromium's `HttpUtil::AssembleRawHeaders` and
//! `HttpResponseHeaders::Parse` read it (lines end at CR or LF; a line starting with a space or
//! tab continues the previous header, joined with one space; lines without a token name and a
//! colon are dropped).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::{Host, Position, Url};

use super::head::{bad_input, parse_head};
use crate::diag::Diagnostic;

pub use super::head::{parse_header_arg, parse_url, Header};

/// Chromium's limit for a response head (`kMaxHeaderBufSize`, 256 KiB).
const MAX_HEAD: usize = 256 * 1024;

/// The longest chunk-size line (with its extensions) or chunk end read: a longer one is cut
/// there and fails as a bad chunk size, in bounded memory.
const MAX_CHUNK_LINE: u64 = 16 * 1024;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Extra request headers (`Cookie`, `Authorization`...), sent to the first URL's origin
    /// only: a redirect to another origin drops them, as curl does without
    /// `--location-trusted`.
    pub headers: Vec<(String, String)>,
    /// For the whole exchange, redirects included.
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Bytes of body kept; the rest is not read (a CSP meta must be in `<head>`).
    pub max_body: usize,
    /// A PEM file of CA certificates to trust besides the built-in Mozilla roots (curl's
    /// `--cacert`): a staging site with an internal CA.
    pub ca_file: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            max_redirects: 5,
            max_body: 8 * 1024 * 1024,
            ca_file: None,
        }
    }
}

/// One redirect followed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
    /// The `Location` header as sent.
    pub location: String,
}

/// The final response.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: Url,
    pub final_url: Url,
    pub status: u16,
    pub reason: String,
    pub redirects: Vec<Hop>,
    /// Every header of the final response, in the order received.
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// False when the body was cut at `max_body` or the connection closed early.
    pub body_complete: bool,
    /// Names of `--header`s not sent to the final URL (another origin).
    pub dropped_headers: Vec<String>,
}

impl Page {
    /// Every value of header `name` (ASCII case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }
}

/// A fetch that failed on the network, TLS or the server's answer (`PRB800` is a request that
/// is unusable itself, `PRB803` too many redirects).
fn failed(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error("PRB801", message)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// GET `url`, following up to `max_redirects` redirects.
pub fn fetch(url: &Url, options: &FetchOptions) -> Result<Page, Diagnostic> {
    let tls = tls_config(options.ca_file.as_deref())?;
    let deadline = Instant::now() + options.timeout;
    let mut current = url.clone();
    let mut redirects = Vec::new();
    loop {
        let trusted = same_origin(&current, url);
        let extra: &[(String, String)] = if trusted { &options.headers } else { &[] };
        let mut exchange = Exchange::open(&current, &tls, deadline, options.timeout)?;
        exchange.send(&current, extra)?;
        let (status, reason, headers) = exchange.read_head()?;
        let location = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("location"))
            .map(|h| String::from_utf8_lossy(&h.value).into_owned());
        if let (301 | 302 | 303 | 307 | 308, Some(location)) = (status, location) {
            if redirects.len() == options.max_redirects {
                return Err(Diagnostic::error(
                    "PRB803",
                    format!(
                        "{url}: more than {} redirects (the last one, from {current}, to \
                         `{location}`)",
                        options.max_redirects
                    ),
                ));
            }
            let next = current.join(&location).map_err(|e| {
                failed(format!(
                    "{current} redirects to `{location}`, which is not a URL: {e}"
                ))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(failed(format!(
                    "{current} redirects to `{next}`, which is not an http(s) page"
                )));
            }
            redirects.push(Hop {
                url: current.to_string(),
                status,
                location,
            });
            current = next;
            continue;
        }
        let (body, body_complete) = exchange.read_body(status, &headers, options.max_body)?;
        let dropped_headers = if trusted {
            Vec::new()
        } else {
            options.headers.iter().map(|(n, _)| n.clone()).collect()
        };
        return Ok(Page {
            url: url.clone(),
            final_url: current,
            status,
            reason,
            redirects,
            headers,
            body,
            body_complete,
            dropped_headers,
        });
    }
}

/// The connection under the probe's one deadline: each read and write system call gets what
/// is left of it as its socket timeout, and none starts once it has passed. A socket timeout
/// alone bounds one call, not a `read_until` of many, nor a TLS handshake of many: a server
/// trickling a byte a second kept such a loop going past any `--timeout`.
struct Timed {
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    fn left(&self) -> std::io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the --timeout deadline passed",
            ));
        }
        Ok(left)
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

enum Stream {
    Plain(Timed),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Timed>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// One request and its response on one connection.
struct Exchange {
    reader: BufReader<Stream>,
    url: Url,
    deadline: Instant,
    timeout: Duration,
}

/// The addresses of `url`'s host, looked up within the deadline: the system resolver has no
/// timeout of its own, so it runs on a thread that is left behind if it does not answer.
fn resolve(
    url: &Url,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<std::net::SocketAddr>, Diagnostic> {
    let host = url.host_str().unwrap_or_default().to_string();
    if !matches!(url.host(), Some(Host::Domain(_))) {
        return url
            .socket_addrs(|| None)
            .map_err(|e| failed(format!("cannot resolve `{host}`: {e}")));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let lookup = url.clone();
    std::thread::spawn(move || {
        let _ = tx.send(lookup.socket_addrs(|| None));
    });
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(found) => found.map_err(|e| failed(format!("cannot resolve `{host}`: {e}"))),
        Err(_) => Err(failed(format!(
            "cannot resolve `{host}` within {}s (--timeout)",
            timeout.as_secs()
        ))),
    }
}

/// The roots are Mozilla's (webpki-roots), compiled in: the same on every machine, whatever
/// the system store holds; `ca_file` adds to them.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, Diagnostic> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| bad_input(format!("--cacert {}: {e}", path.display())))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| bad_input(format!("--cacert {}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| bad_input(format!("--cacert {}: {e}", path.display())))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad_input(format!(
                "--cacert {}: no PEM certificate in it",
                path.display()
            )));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Only HTTP/1.1 is spoken here: a server must not pick h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl Exchange {
    fn open(
        url: &Url,
        tls: &Arc<rustls::ClientConfig>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Exchange, Diagnostic> {
        let host = url.host_str().unwrap_or_default();
        let addrs = resolve(url, deadline, timeout)?;
        let mut last = None;
        let mut tcp = None;
        for addr in &addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match TcpStream::connect_timeout(addr, left) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some((addr, e)),
            }
        }
        let name = |addr: &std::net::SocketAddr| {
            if addr.ip().to_string() == host.trim_matches(['[', ']']) {
                addr.to_string()
            } else {
                format!("{addr} ({host})")
            }
        };
        let tcp = tcp.ok_or_else(|| match last {
            Some((addr, e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                failed(format!(
                "cannot connect to {}: connection refused, nothing listens there (is the server \
                 running, is the port right?)",
                name(addr)
            ))
            }
            Some((addr, e)) => failed(format!("cannot connect to {}: {e}", name(addr))),
            None => failed(format!(
                "cannot connect to `{host}`: no address, or the {}s timeout passed",
                timeout.as_secs()
            )),
        })?;
        let _ = tcp.set_nodelay(true);
        let tcp = Timed { tcp, deadline };
        let stream = if url.scheme() == "https" {
            let name = match url.host() {
                Some(Host::Domain(d)) => rustls::pki_types::ServerName::try_from(d.to_string())
                    .map_err(|e| bad_input(format!("`{d}` is not a TLS server name: {e}")))?,
                Some(Host::Ipv4(a)) => rustls::pki_types::ServerName::from(std::net::IpAddr::V4(a)),
                Some(Host::Ipv6(a)) => rustls::pki_types::ServerName::from(std::net::IpAddr::V6(a)),
                None => return Err(bad_input(format!("`{url}` has no host"))),
            };
            let conn = rustls::ClientConnection::new(tls.clone(), name)
                .map_err(|e| failed(format!("TLS setup for {host}: {e}")))?;
            Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Exchange {
            reader: BufReader::with_capacity(64 * 1024, stream),
            url: url.clone(),
            deadline,
            timeout,
        })
    }

    /// Stop before a step once the deadline has passed (each system call is bounded by
    /// [`Timed`] as well).
    fn arm(&self) -> Result<(), Diagnostic> {
        if self
            .deadline
            .saturating_duration_since(Instant::now())
            .is_zero()
        {
            return Err(self.timed_out());
        }
        Ok(())
    }

    fn timed_out(&self) -> Diagnostic {
        failed(format!(
            "{}: no complete answer within {}s (--timeout)",
            self.url,
            self.timeout.as_secs()
        ))
    }

    /// An I/O error as the user can act on it: TLS failures named as such.
    fn io_error(&self, what: &str, e: std::io::Error) -> Diagnostic {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            return self.timed_out();
        }
        let host = self.url.host_str().unwrap_or_default();
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            let hint = if matches!(tls, rustls::Error::InvalidMessage(_)) {
                " (does the server speak plain HTTP on this port? try http://)"
            } else {
                ""
            };
            return failed(format!("TLS with {host} failed: {tls}{hint}"));
        }
        failed(format!("{}: {what}: {e}", self.url))
    }

    fn send(&mut self, url: &Url, extra: &[(String, String)]) -> Result<(), Diagnostic> {
        let target = &url[Position::BeforePath..Position::AfterQuery];
        let host = &url[Position::BeforeHost..Position::AfterPort];
        let given = |n: &str| extra.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        let mut request = format!("GET {target} HTTP/1.1\r\n");
        let defaults = [
            ("Host", host.to_string()),
            (
                "User-Agent",
                concat!("csppatch/", env!("CARGO_PKG_VERSION"), " (probe)").to_string(),
            ),
            (
                "Accept",
                "text/html,application/xhtml+xml,*/*;q=0.8".to_string(),
            ),
            // Nothing to decompress: the body is read for <meta> tags only.
            ("Accept-Encoding", "identity".to_string()),
        ];
        for (name, value) in defaults.iter().filter(|(n, _)| !given(n)) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        for (name, value) in extra {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        self.arm()?;
        let stream = self.reader.get_mut();
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| self.io_error("sending the request", e))
    }

    /// The status, reason and headers of the final (non-1xx) response head.
    fn read_head(&mut self) -> Result<(u16, String, Vec<Header>), Diagnostic> {
        loop {
            let mut head = Vec::new();
            loop {
                self.arm()?;
                let before = head.len();
                // Never more than the limit and one byte: a server that sends a header line
                // without end must not fill the memory before the check below.
                let room = (MAX_HEAD + 1 - before) as u64;
                let n = (&mut self.reader)
                    .take(room)
                    .read_until(b'\n', &mut head)
                    .map_err(|e| self.io_error("reading the response", e))?;
                if n == 0 {
                    return Err(failed(format!(
                        "{}: the server closed the connection without a complete response",
                        self.url
                    )));
                }
                if head.len() > MAX_HEAD {
                    return Err(failed(format!(
                        "{}: the response headers exceed 256 KiB",
                        self.url
                    )));
                }
                // Chromium's LocateEndOfHeaders: an empty line, "\n\n" or "\n\r\n".
                let line = &head[before..];
                if before > 0 && (line == b"\n" || line == b"\r\n") {
                    break;
                }
            }
            let (status, reason, headers) =
                parse_head(&head).map_err(|e| failed(format!("{}: {e}", self.url)))?;
            // 1xx (100 Continue, 103 Early Hints) come before the response itself.
            if !(100..200).contains(&status) {
                return Ok((status, reason, headers));
            }
        }
    }

    /// The body, as far as `max` bytes, and whether it is complete.
    fn read_body(
        &mut self,
        status: u16,
        headers: &[Header],
        max: usize,
    ) -> Result<(Vec<u8>, bool), Diagnostic> {
        if status == 204 || status == 304 {
            return Ok((Vec::new(), true));
        }
        let value = |n: &str| {
            headers
                .iter()
                .rev()
                .find(|h| h.name.eq_ignore_ascii_case(n))
                .map(|h| String::from_utf8_lossy(&h.value).to_ascii_lowercase())
        };
        let chunked = value("transfer-encoding")
            .is_some_and(|te| te.rsplit(',').next().is_some_and(|c| c.trim() == "chunked"));
        if chunked {
            return self.read_chunked(max);
        }
        let length = value("content-length").and_then(|l| l.trim().parse::<usize>().ok());
        let want = length.map_or(max, |l| l.min(max));
        let mut body = Vec::new();
        let complete = self.read_up_to(&mut body, want)?;
        Ok((body, complete && length.is_none_or(|l| l <= max)))
    }

    /// Append up to `n` bytes; false when the connection ended first (for a body without
    /// length, the end of the connection is the end of the body: true then).
    fn read_up_to(&mut self, out: &mut Vec<u8>, n: usize) -> Result<bool, Diagnostic> {
        let mut buf = [0u8; 16 * 1024];
        while out.len() < n {
            self.arm()?;
            let want = (n - out.len()).min(buf.len());
            match self.reader.read(&mut buf[..want]) {
                Ok(0) => return Ok(false),
                Ok(k) => out.extend_from_slice(&buf[..k]),
                // A TLS peer that closes without close_notify: browsers take what came.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(e) => return Err(self.io_error("reading the body", e)),
            }
        }
        Ok(true)
    }

    /// RFC 9112 §7.1 chunked coding; extensions and trailers are skipped.
    fn read_chunked(&mut self, max: usize) -> Result<(Vec<u8>, bool), Diagnostic> {
        let mut body = Vec::new();
        loop {
            let mut line = Vec::new();
            self.arm()?;
            (&mut self.reader)
                .take(MAX_CHUNK_LINE)
                .read_until(b'\n', &mut line)
                .map_err(|e| self.io_error("reading the body", e))?;
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or("").trim();
            if line.is_empty() {
                return Ok((body, false));
            }
            let Ok(size) = usize::from_str_radix(size, 16) else {
                return Err(failed(format!(
                    "{}: bad chunk size `{}` in a chunked body",
                    self.url,
                    size.escape_debug()
                )));
            };
            if size == 0 {
                return Ok((body, true));
            }
            let room = max - body.len();
            let upto = body.len() + size.min(room);
            if !self.read_up_to(&mut body, upto)? {
                return Ok((body, false));
            }
            if size > room {
                return Ok((body, false));
            }
            let mut crlf = Vec::new();
            (&mut self.reader)
                .take(MAX_CHUNK_LINE)
                .read_until(b'\n', &mut crlf)
                .map_err(|e| self.io_error("reading the body", e))?;
        }
    }
}
