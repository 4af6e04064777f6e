//! The real template engines, run on a template file, for checking csppatch's work without
//! csppatch's own lexers: Jinja2 (a `python3` on PATH that can import jinja2), Go's
//! text/template (tests/support/render.go, built once into this test's temporary directory),
//! Ruby's ERB (`ruby`), gettext's `envsubst`. Each renders with variables given as JSON, and
//! lists the tags its own lexer or parser reads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Jinja2,
    Go,
    Erb,
    Envsubst,
}

fn support(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

/// The first `python3` on PATH that can import jinja2.
fn python() -> Option<&'static Path> {
    static PY: OnceLock<Option<PathBuf>> = OnceLock::new();
    PY.get_or_init(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("python3"))
            .filter(|p| p.is_file())
            .find(|p| {
                Command::new(p)
                    .args(["-c", "import jinja2"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
    })
    .as_deref()
}

/// tests/support/render.go built with the Go toolchain (once per test run).
fn go_renderer() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-render-go");
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::copy(support("render.go"), dir.join("render.go")).ok()?;
        let out = Command::new("go")
            .args(["build", "-o", "render", "render.go"])
            .current_dir(&dir)
            .env("GO111MODULE", "off")
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "go build tests/support/render.go: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir.join("render"))
    })
    .as_deref()
}

/// Can `engine` run here? In CI a missing engine fails the test; elsewhere the test prints
/// why it skips.
#[must_use]
pub fn available(engine: Engine) -> bool {
    let (found, what) = match engine {
        Engine::Jinja2 => (
            python().is_some(),
            "a python3 with jinja2 (pip install jinja2)",
        ),
        Engine::Go => (
            super::common::have("go") && go_renderer().is_some(),
            "the Go toolchain",
        ),
        Engine::Erb => (super::common::have("ruby"), "ruby (apt-get install ruby)"),
        Engine::Envsubst => (super::common::have("envsubst"), "envsubst (gettext-base)"),
    };
    super::common::available(found, &format!("{what} is not available"))
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 rendering")
}

/// `template` rendered with `vars` by the real engine, as the tool that deploys it renders it.
pub fn render(engine: Engine, template: &Path, vars: &Value) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let vars_file = dir.path().join("vars.json");
    std::fs::write(&vars_file, vars.to_string()).unwrap();
    let what = format!("{engine:?} rendering {}", template.display());
    match engine {
        Engine::Jinja2 => {
            let mut c = Command::new(python().expect("python3 with jinja2"));
            c.arg(support("render_jinja2.py"))
                .arg("render")
                .arg(template)
                .arg(&vars_file);
            run(c, &what)
        }
        Engine::Go => {
            let mut c = Command::new(go_renderer().expect("Go renderer"));
            c.arg("render").arg(template).arg(&vars_file);
            run(c, &what)
        }
        Engine::Erb => {
            let mut c = Command::new("ruby");
            c.arg(support("render_erb.rb"))
                .arg("render")
                .arg(template)
                .arg(&vars_file);
            run(c, &what)
        }
        Engine::Envsubst => {
            // As nginx's Docker entrypoint runs it: the defined variables, by name.
            let object = vars.as_object().expect("envsubst variables are an object");
            let names: Vec<String> = object.keys().map(|k| format!("${{{k}}}")).collect();
            let mut c = Command::new("envsubst");
            c.arg(names.join(" "))
                .stdin(std::fs::File::open(template).unwrap());
            for (k, v) in object {
                c.env(k, v.as_str().map_or_else(|| v.to_string(), str::to_string));
            }
            run(c, &what)
        }
    }
}

/// The tags of `template` as the engine itself reads them.
pub fn tags(engine: Engine, template: &Path) -> Vec<String> {
    let what = format!("{engine:?} lexing {}", template.display());
    let out = match engine {
        Engine::Jinja2 => {
            let mut c = Command::new(python().expect("python3 with jinja2"));
            c.arg(support("render_jinja2.py")).arg("tags").arg(template);
            run(c, &what)
        }
        Engine::Go => {
            let mut c = Command::new(go_renderer().expect("Go renderer"));
            c.arg("tags").arg(template);
            run(c, &what)
        }
        Engine::Erb => {
            let mut c = Command::new("ruby");
            c.arg(support("render_erb.rb")).arg("tags").arg(template);
            run(c, &what)
        }
        Engine::Envsubst => {
            // `envsubst --variables SHELL-FORMAT` names every variable the text refers to.
            let text = std::fs::read_to_string(template).unwrap();
            let mut c = Command::new("envsubst");
            c.arg("--variables").arg(text);
            run(c, &what)
        }
    };
    out.lines().map(str::to_string).collect()
}
