//! The one way tests run a real server (nginx, httpd, Caddy, php -S): the per-server modules
//! write its configuration into a temporary directory and build its command line for a port
//! from [`super::free_port`]; [`Server::start`] starts it with its output in files, waits
//! until 127.0.0.1:PORT accepts connections, and kills it when dropped (then removes the
//! directories it was given to keep). GET through [`super::http`], the CSP it sends, and
//! what headless Chromium blocks on a page it serves are one call each.

use std::any::Any;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::{self, Response};

/// A running server on 127.0.0.1, killed on drop.
pub struct Server {
    pub port: u16,
    name: String,
    /// The `Host` a plain [`Server::get`] sends: what the configuration's site answers to.
    host: String,
    child: Child,
    /// Files that explain a failure: the process's stdout and stderr, then its own logs.
    logs: Vec<PathBuf>,
    /// Declared after `child` only for clarity: `Drop::drop` kills the process first, then
    /// these go (the server's files, the tree it served).
    _keep: Vec<Box<dyn Any>>,
}

impl Server {
    /// Run `cmd` (`name` in messages) and wait until it listens on 127.0.0.1:`port`. Its
    /// stdout and stderr go to files of the server's own; `logs` are more files it writes
    /// (an error log), all shown when it fails.
    pub fn start(
        name: &str,
        mut cmd: Command,
        port: u16,
        logs: Vec<PathBuf>,
    ) -> Result<Server, String> {
        let dir = tempfile::Builder::new()
            .prefix("csppatch-server")
            .tempdir()
            .map_err(|e| format!("temp dir for {name}: {e}"))?;
        let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let file = |p: &PathBuf| std::fs::File::create(p).map_err(|e| format!("{p:?}: {e}"));
        cmd.stdin(Stdio::null())
            .stdout(file(&out)?)
            .stderr(file(&err)?);
        let child = cmd.spawn().map_err(|e| format!("cannot run {name}: {e}"))?;
        let mut server = Server {
            port,
            name: name.to_string(),
            host: "127.0.0.1".into(),
            child,
            logs: [out, err].into_iter().chain(logs).collect(),
            _keep: vec![Box::new(dir)],
        };
        server.wait_listening(port)?;
        Ok(server)
    }

    /// Wait until the server also listens on 127.0.0.1:`port` (a configuration with more than
    /// one site: Caddy opens its listeners one after the other).
    pub fn wait_listening(&mut self, port: u16) -> Result<(), String> {
        // A deadline for starting, not a speed check: a loaded 2-core machine can take a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before listening on 127.0.0.1:{port}:\n{}",
                    self.name,
                    self.log()
                ));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{} did not listen on 127.0.0.1:{port} within 30 s:\n{}",
            self.name,
            self.log()
        ))
    }

    /// Keep `thing` (a temporary directory, the tree served) until the server is stopped.
    pub fn keep(mut self, thing: impl Any) -> Server {
        self._keep.push(Box::new(thing));
        self
    }

    /// The `Host` that [`Server::get`] sends (default `127.0.0.1`).
    pub fn host(mut self, host: &str) -> Server {
        self.host = host.to_string();
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// GET `path`; panics with the server's logs if there is no response.
    pub fn get(&self, path: &str) -> Response {
        self.get_host(path, &self.host)
    }

    /// GET `path` with `Host: host` (name-based virtual hosts).
    pub fn get_host(&self, path: &str, host: &str) -> Response {
        // Caddy accepts on its port a moment before its HTTP server is wired up, and under
        // load the first request can be reset: a few tries, then the real error.
        let mut last = None;
        for _ in 0..5 {
            match http::get(self.port, path, host) {
                Ok(r) => return r,
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "GET {path} from {} on port {}: {:?}\n{}",
            self.name,
            self.port,
            last,
            self.log()
        )
    }

    /// The raw values of header `name` in the response to GET `path`.
    pub fn header_values(&self, path: &str, name: &str) -> Vec<Vec<u8>> {
        self.get(path)
            .header_values(name)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// The `Content-Security-Policy` values sent for `path`.
    pub fn csp(&self, path: &str) -> Vec<String> {
        self.get(path).csp()
    }

    /// A front patched for MuseRelay before an application that sends its own
    /// `script-src 'none'`: each `(path, n)` receives `n` policies, one of them with the
    /// vendor, and the application's beside it where there are two (NGX206, APA312, CDY409).
    pub fn assert_front_and_app_policies(&self, expected: &[(&str, usize)]) {
        for &(path, policies) in expected {
            let csp = self.csp(path);
            assert_eq!(csp.len(), policies, "{path}: {csp:?}");
            assert!(
                csp.iter().any(|p| p.contains("https://muserelay.com")),
                "{path}: {csp:?}"
            );
            if policies == 2 {
                assert!(
                    csp.contains(&"script-src 'none'".to_string()),
                    "{path}: {csp:?}"
                );
            }
        }
    }

    /// What headless Chromium blocked on the widget probe page at `path` (see
    /// [`super::widget::violations`]).
    pub fn violations(&self, path: &str) -> Vec<String> {
        super::widget::violations(&self.url(path))
    }

    /// Everything the server wrote: its stdout, stderr and log files.
    pub fn log(&self) -> String {
        let mut text = String::new();
        for p in &self.logs {
            if let Ok(t) = std::fs::read_to_string(p) {
                text.push_str(&t);
            }
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
