//! A FastCGI application for tests (what PHP-FPM is to httpd's `proxy:fcgi://`): a small
//! Python responder on 127.0.0.1 whose every response carries a header line of its own.

use std::process::Command;

use super::free_port;
use super::server::Server;

/// Answers each request (one per connection) with status 200, `header` and a short body.
const RESPONDER: &str = r#"
import socket, struct, sys, threading
def rec(t, rid, body):
    return struct.pack("!BBHHBx", 1, t, rid, len(body), 0) + body
def serve(c, header):
    buf = b""
    while True:
        while len(buf) < 8:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        _, t, rid, ln, pad = struct.unpack("!BBHHBx", buf[:8])
        while len(buf) < 8 + ln + pad:
            buf += c.recv(4096)
        buf = buf[8 + ln + pad:]
        if t == 5 and ln == 0:  # the end of STDIN: answer
            out = b"Status: 200 OK\r\nContent-Type: text/html\r\n" + header + b"\r\n\r\napp\n"
            c.sendall(rec(6, rid, out) + rec(6, rid, b"") + rec(3, rid, b"\0" * 8))
            c.close()
            return
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, sys.argv[2].encode()), daemon=True).start()
"#;

/// The responder on a free port, sending `header` (`Name: value`) with every response.
pub fn start(header: &str) -> Server {
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(RESPONDER)
        .arg(port.to_string())
        .arg(header);
    Server::start("fastcgi responder", cmd, port, Vec::new()).unwrap_or_else(|e| panic!("{e}"))
}
