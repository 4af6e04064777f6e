//! Running `csppatch probe` from tests.

use std::process::Output;

use serde_json::Value;

/// The policy of a site that allowed MuseRelay by hand and forgot the WebSocket: every
/// MuseRelay requirement passes except `connect-src wss://muserelay.com` (`https://` does not
/// cover `wss:`, CSP3 §6.7.2.9; `'self'` is http://127.0.0.1:PORT, another host).
pub const FORGOT_WSS: &str = "default-src 'self'; script-src 'self' https://muserelay.com; connect-src 'self' https://muserelay.com; img-src 'self' https://muserelay.com data:; style-src 'self' https://muserelay.com 'unsafe-inline'";

pub fn probe(args: &[&str]) -> Output {
    super::csppatch()
        .arg("probe")
        .args(args)
        .output()
        .expect("run csppatch probe")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The probe document on stdout, valid against schemas/probe.schema.json.
pub fn json(o: &Output) -> Value {
    if let Err(e) = serde_json::from_slice::<Value>(&o.stdout) {
        panic!("{e}: {}\n{}", stdout(o), stderr(o));
    }
    super::json::parse_checked("probe", &o.stdout)
}
