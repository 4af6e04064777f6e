//! Rendering a template with its real engine, for `--validate`: a validator for a template
//! renders the file at its real path (where the patched copy is mounted during the check, see
//! `validate.rs`) into a scratch file, then runs the server's check on that rendering.
//!
//! The engines: Jinja2 through a `python3` on PATH that can import jinja2 (`render/jinja2.py`,
//! Ansible's settings); Go's text/template through `render/render.go`, built with the `go`
//! toolchain; ERB through `ruby` (`render/erb.rb`, trim mode `-`); `envsubst` with the names
//! of the variables given, as nginx's Docker image runs it. Variables come from
//! `--template-vars`; the template is rendered once while planning, so that a missing
//! engine or missing variables fail with a message that names them, before anything runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::dialect::{ConfigFile, DialectKind};
use crate::validator::Validator;

use super::{Engine, FileTemplate};

const JINJA2: &str = include_str!("render/jinja2.py");
const ERB: &str = include_str!("render/erb.rb");
const GO: &str = include_str!("render/render.go");

/// The command that prints the rendering of `template` (a shell word list).
struct Renderer {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

/// Plan the check of the templated file shown as `path` (read at `target`, the file behind a
/// symlink) of `dialect` (see the module docs). `Err`: why it cannot be validated (no engine
/// here, variables missing, the template does not render, no server).
pub fn check(
    path: &Path,
    target: &Path,
    dialect: DialectKind,
    t: &FileTemplate,
) -> Result<Validator, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = scratch.path();
    let vars = t
        .vars
        .as_ref()
        .map_or_else(|| serde_json::json!({}), |v| v.value.clone());
    let vars_file = dir.join("vars.json");
    std::fs::write(&vars_file, vars.to_string()).map_err(|e| e.to_string())?;
    let renderer = renderer(t, dir, target, &vars_file)?;
    let shown = path.display();
    let rendered = render_now(&renderer, t, &shown.to_string())?;
    let out = dir.join(rendered_name(path));
    // The rendering is checked as the dialect checks a file no main config includes.
    let rendered_file = ConfigFile {
        path: &out,
        target: &out,
        src: &rendered,
        scan: None,
    };
    let check = dialect
        .dialect()
        .wrap_lone_files(dir, &[rendered_file])?
        .ok_or_else(|| format!("no validator for {} files", dialect.name()))?;
    let mut script = String::from("\"$@\" > ");
    script.push_str(&quote(&out.display().to_string()));
    script.push_str(" && exec ");
    script.push_str(
        &check
            .argv
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut argv = vec!["sh".into(), "-c".into(), script, "sh".into()];
    argv.extend(renderer.argv);
    let mut v = Validator::new(argv).keeping(scratch);
    v.label = format!("{} {shown} | {}", t.engine.name(), short_label(&check.argv));
    v.env = renderer.env;
    v.env.extend(check.env);
    Ok(v)
}

/// `nginx -t`, `apache2 -t`, `caddy validate`: the program's name and its first argument.
fn short_label(argv: &[String]) -> String {
    let program = argv
        .first()
        .map_or("", |a| a.rsplit('/').next().unwrap_or(a));
    match argv.get(1) {
        Some(first) => format!("{program} {first}"),
        None => program.to_string(),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `nginx.conf.j2` renders to `nginx.conf`.
fn rendered_name(path: &Path) -> String {
    super::rendered_name(path)
        .unwrap_or_else(|| path.to_path_buf())
        .file_name()
        .map_or_else(
            || "rendered.conf".into(),
            |n| n.to_string_lossy().into_owned(),
        )
}

fn missing_engine(t: &FileTemplate, what: &str) -> String {
    format!(
        "cannot validate the {} template: {what}; install it, or run csppatch without \
         --validate and check the rendered configuration where it is deployed",
        t.engine.name()
    )
}

fn renderer(
    t: &FileTemplate,
    dir: &Path,
    template: &Path,
    vars: &Path,
) -> Result<Renderer, String> {
    let p = |p: &Path| p.display().to_string();
    Ok(match t.engine {
        Engine::Jinja2 => {
            let python = find_on_path("python3", |py| {
                run_ok(Command::new(py).args(["-c", "import jinja2"]))
            })
            .ok_or_else(|| {
                missing_engine(
                    t,
                    "no `python3` on PATH can import jinja2 (pip install jinja2)",
                )
            })?;
            let script = dir.join("render.py");
            std::fs::write(&script, JINJA2).map_err(|e| e.to_string())?;
            Renderer {
                argv: vec![p(&python), p(&script), p(template), p(vars)],
                env: vec![],
            }
        }
        Engine::Erb => {
            let ruby = find_on_path("ruby", |_| true)
                .ok_or_else(|| missing_engine(t, "`ruby` is not installed"))?;
            let script = dir.join("render.rb");
            std::fs::write(&script, ERB).map_err(|e| e.to_string())?;
            Renderer {
                argv: vec![p(&ruby), p(&script), p(template), p(vars)],
                env: vec![],
            }
        }
        Engine::Go => {
            let go = find_on_path("go", |_| true)
                .ok_or_else(|| missing_engine(t, "the Go toolchain (`go`) is not installed"))?;
            std::fs::write(dir.join("render.go"), GO).map_err(|e| e.to_string())?;
            let out = Command::new(&go)
                .args(["build", "-o", "render", "render.go"])
                .current_dir(dir)
                .env("GO111MODULE", "off")
                .output()
                .map_err(|e| missing_engine(t, &format!("`go build` failed: {e}")))?;
            if !out.status.success() {
                return Err(missing_engine(
                    t,
                    &format!(
                        "`go build` failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                ));
            }
            Renderer {
                argv: vec![p(&dir.join("render")), p(template), p(vars)],
                env: vec![],
            }
        }
        Engine::Envsubst => {
            let envsubst = find_on_path("envsubst", |_| true)
                .ok_or_else(|| missing_engine(t, "`envsubst` (gettext) is not installed"))?;
            let given = t.vars.as_ref().map(|v| v.value.clone()).unwrap_or_default();
            let object = given.as_object().cloned().unwrap_or_default();
            let names: Vec<String> = object.keys().map(|k| format!("${{{k}}}")).collect();
            let env = object
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect();
            // envsubst reads stdin: `sh -c 'exec envsubst FORMAT < "$0"' TEMPLATE`.
            Renderer {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "exec \"$1\" \"$2\" < \"$0\"".into(),
                    p(template),
                    p(&envsubst),
                    names.join(" "),
                ],
                env,
            }
        }
    })
}

/// Render the file as it is now; a variable the template needs and the file does not set is
/// named.
fn render_now(r: &Renderer, t: &FileTemplate, shown: &str) -> Result<Vec<u8>, String> {
    if t.engine == Engine::Envsubst {
        let src = std::fs::read(&r.argv[3]).map_err(|e| e.to_string())?;
        let given = t.env_names().unwrap_or_default();
        let mut missing: Vec<String> = super::envsubst::lex(&src, None)
            .iter()
            .map(|tag| String::from_utf8_lossy(&src[tag.code.clone()]).into_owned())
            .filter(|n| !given.contains(n))
            .collect();
        missing.dedup();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            return Err(missing_vars(t, shown, &missing.join(", ")));
        }
    }
    let out = Command::new(&r.argv[0])
        .args(&r.argv[1..])
        .envs(r.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", r.argv[0]))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(out.stdout),
        Some(3) if stderr.starts_with("missing: ") => Err(missing_vars(
            t,
            shown,
            stderr.trim_start_matches("missing: ").trim(),
        )),
        _ => Err(format!(
            "cannot validate {shown}: the {} template does not render: {}",
            t.engine.name(),
            stderr.trim()
        )),
    }
}

fn missing_vars(t: &FileTemplate, shown: &str, names: &str) -> String {
    let from = match &t.vars {
        Some(v) => format!("{} does not set", v.path.display()),
        None => "no --template-vars FILE gives".into(),
    };
    format!(
        "cannot validate {shown}: the {} template needs variables that {from}: {names}; give \
         them values (YAML or JSON) with --template-vars FILE",
        t.engine.name()
    )
}

fn find_on_path(name: &str, usable: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .find(|p| usable(p))
}

fn run_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
