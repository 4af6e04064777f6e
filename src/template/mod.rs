//! Templates of server configurations: nginx, Apache and Caddy files that Ansible or Salt
//! (Jinja2), nginx's Docker image (envsubst), Helm, consul-template or nginx-ui (Go
//! text/template), Chef or Puppet (ERB) render onto each host.
//!
//! Such a file is read by masking each template tag (`mask.rs`) and running the dialect's own
//! parser on the masked copy, so every value is found exactly where it is in a plain file.
//! The tags inside a CSP value are opaque parts, like the server's run-time variables
//! (`sites.rs`), and every change is checked to leave each tag as it was (`finder.rs`).
//! `render.rs` renders a template with the real engine for `--validate`.
//!
//! Which engine: `--template ENGINE` (or `none`), else the file name (`.j2`, `.jinja`,
//! `.jinja2`: Jinja2; `.erb`: ERB; `.gotmpl`: Go; `.tmpl`, `.tpl`: Go, or Jinja2 when the
//! file has `{%` tags; `.template`: envsubst, as nginx's Docker image renders it, unless
//! the file has another engine's tags), else the content (`<% %>`, `{% %}`, Go's `{{ .X }}`,
//! nginx-ui's template header). The dialect is that of the file the template renders to:
//! `nginx.conf.j2` is nginx, `index.html.j2` stays HTML (which reads its own template tags).

mod envsubst;
mod erb;
mod finder;
pub(crate) mod gotmpl;
mod jinja;
mod mask;
pub mod render;
mod sites;
mod tags;
mod vars;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dialect::DialectKind;
use crate::rule::Rule;

pub use finder::{dialect, Finder};
pub use vars::Vars;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Jinja2,
    Go,
    Erb,
    Envsubst,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Jinja2 => "Jinja2",
            Engine::Go => "Go text/template",
            Engine::Erb => "ERB",
            Engine::Envsubst => "envsubst",
        }
    }
}

/// `--template`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Choice {
    /// By file name, then content.
    #[default]
    Auto,
    /// Read every file as it is.
    None,
    Force(Engine),
}

/// The template options of a run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub choice: Choice,
    /// `--template-vars`.
    pub vars: Option<Arc<Vars>>,
}

/// How one file is a template.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTemplate {
    pub engine: Engine,
    pub vars: Option<Arc<Vars>>,
}

impl FileTemplate {
    /// For envsubst: the variables substituted (those of `--template-vars`, as nginx's Docker
    /// image substitutes the variables defined in its environment); `None`: guess by case.
    pub fn env_names(&self) -> Option<BTreeSet<String>> {
        self.vars.as_ref().map(|v| v.names())
    }
}

const TEMPLATE_EXTENSIONS: &[&str] = &[
    "j2", "jinja", "jinja2", "tmpl", "tpl", "template", "erb", "gotmpl",
];

/// The dialect of the file at `path`: a template is the dialect of the file it renders to
/// (`nginx.conf.j2` is nginx), told from its head with the engine's tags masked; any other
/// file as [`crate::dialect::detect`] tells. (Here, not in `dialect`, so that the dialects do
/// not depend on the template layer that wraps them.)
pub fn detect_dialect(path: &Path, head: &[u8]) -> Option<DialectKind> {
    detect_dialect_guess(path, head).map(|(k, _)| k)
}

/// [`detect_dialect`], with the dialect that came close when the choice was a guess from
/// content ([`crate::dialect::detect_guess`]; a template's dialect is never a guess of that kind).
pub fn detect_dialect_guess(
    path: &Path,
    head: &[u8],
) -> Option<(DialectKind, Option<DialectKind>)> {
    match rendered_name(path) {
        Some(rendered) => detect_dialect(&rendered, &masked_head(path, head))
            .or_else(|| fallback_dialect(path))
            .map(|k| (k, None)),
        None => crate::dialect::detect_guess(path, head),
    }
}

/// For a template's file name (`nginx.conf.j2`): the name it renders to (`nginx.conf`).
pub fn rendered_name(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
    if !TEMPLATE_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    Some(path.with_extension(""))
}

/// `head` with the tags of the engine its name says masked (for telling the dialect by
/// content); a tag cut off at the end of `head` is left as it is.
fn masked_head(path: &Path, head: &[u8]) -> Vec<u8> {
    let Some(engine) = by_name(path, head).or_else(|| by_content(head)) else {
        return head.to_vec();
    };
    let tags = match tags::lex(engine, head, None) {
        Ok(t) => t,
        Err(e) => tags::lex(engine, &head[..e.offset], None).unwrap_or_default(),
    };
    mask::mask(head, &tags).bytes
}

/// The dialect a template extension fell back to before templates were read as the file
/// they render to (`page.j2` with no telling content is HTML, as it always was).
fn fallback_dialect(path: &Path) -> Option<DialectKind> {
    let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
    matches!(ext.as_str(), "j2" | "jinja" | "jinja2" | "erb").then_some(DialectKind::Html)
}

/// Is the file of dialect `kind` at `path` a template, and of which engine?
pub fn detect(
    path: &Path,
    src: &[u8],
    kind: DialectKind,
    settings: &Settings,
) -> Option<FileTemplate> {
    if !matches!(
        kind,
        DialectKind::Nginx | DialectKind::Apache | DialectKind::Caddy
    ) {
        return None;
    }
    let engine = match settings.choice {
        Choice::None => return None,
        Choice::Force(e) => e,
        Choice::Auto => match by_name(path, src) {
            Some(e) => e,
            // Content alone must lex: a plain config that happens to hold `{{` is not a template.
            None => by_content(src).filter(|&e| tags::lex(e, src, None).is_ok())?,
        },
    };
    Some(FileTemplate {
        engine,
        vars: settings.vars.clone(),
    })
}

/// Does `src` hold `needle`? Run on every nginx, Apache and Caddy file, several times: a
/// vectorised search (memchr's `memmem`), not a window compared at each byte.
fn has(src: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(src, needle).is_some()
}

fn by_name(path: &Path, src: &[u8]) -> Option<Engine> {
    let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
    let jinja_tags = has(src, b"{%") || has(src, b"{#");
    Some(match ext.as_str() {
        "j2" | "jinja" | "jinja2" => Engine::Jinja2,
        "erb" => Engine::Erb,
        "gotmpl" => Engine::Go,
        "tmpl" | "tpl" if jinja_tags => Engine::Jinja2,
        "tmpl" | "tpl" => Engine::Go,
        "template" => by_content(src).unwrap_or(Engine::Envsubst),
        _ => return None,
    })
}

fn by_content(src: &[u8]) -> Option<Engine> {
    if has(src, b"<%") && has(src, b"%>") {
        return Some(Engine::Erb);
    }
    if has(src, gotmpl::NGINX_UI_START.as_bytes()) {
        return Some(Engine::Go);
    }
    if (has(src, b"{%") && has(src, b"%}")) || (has(src, b"{#") && has(src, b"#}")) {
        return Some(Engine::Jinja2);
    }
    if has(src, b"{{") && has(src, b"}}") {
        // Go's fields start with a dot, its trim markers need a space, it ends with `end`.
        let go = [
            &b"{{ ."[..],
            b"{{.",
            b"{{- ",
            b" -}}",
            b"{{ end",
            b"{{end",
            b"{{/*",
            b"{{ $",
            b"{{ if .",
        ]
        .iter()
        .any(|n| has(src, n));
        return Some(if go { Engine::Go } else { Engine::Jinja2 });
    }
    None
}

pub static RULES: &[Rule] = &[
    Rule {
        code: "TPL001",
        name: "template-syntax-error",
        what: "A template tag (or a string inside one) is never closed: `{{ x`, `{% if x`, `<%= @x`, \
               `{{ \"x }}`.",
        why: "The template engine refuses to render the file, so csppatch does not edit it.",
        example: "add_header Content-Security-Policy \"default-src 'self' {{ cdn \";\n\nUse instead:\n\n\
                  add_header Content-Security-Policy \"default-src 'self' {{ cdn }}\";",
    },
    Rule {
        code: "TPL002",
        name: "csp-in-template-branch",
        what: "A CSP set inside a template branch (`{% if %}`/`{% else %}`, Go's `{{ if }}`, \
               ERB's `<% if %>`), or a loop.",
        why: "Which branch is rendered depends on each host's variables: every branch that sets a \
              policy is its own site, and each one is patched, so every host gets the vendor.",
        example: "{% if experimental %}\nadd_header Content-Security-Policy \"default-src 'self'\";\n\
                  {% else %}\nadd_header Content-Security-Policy \"default-src https:\";\n{% endif %}\n\n\
                  Use instead: nothing (a note: both headers are patched)",
    },
    Rule {
        code: "TPL003",
        name: "template-expression-as-directive",
        what: "A template expression stands where a CSP directive could be \
               (`\"default-src 'self'; {{ extra }}\"`).",
        why: "The expression may render any directive. Browsers use the first directive of a name, \
              so csppatch patches directives written before the expression and refuses to add \
              one the vendor needs that is not written out: the rendered policy could already \
              have it, earlier or later.",
        example: "add_header Content-Security-Policy \"{{ csp_extra }}; script-src 'self'\";\n\n\
                  Use instead:\n\nadd_header Content-Security-Policy \"script-src 'self'; {{ csp_extra }}\";",
    },
    Rule {
        code: "TPL004",
        name: "template-includes-not-followed",
        what: "A template includes other files (`include /etc/nginx/conf.d/security.conf.inc;`).",
        why: "Those paths are on the hosts the template is rendered onto, and are often rendered \
              from templates too: csppatch does not read or patch this machine's files for them. \
              A policy they set is not seen unless they (or their templates) are passed too.",
        example: "csppatch templates/server.conf.j2\n\nUse instead:\n\ncsppatch templates/",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_name_and_content() {
        let p = Path::new;
        assert_eq!(by_name(p("nginx.conf.j2"), b""), Some(Engine::Jinja2));
        assert_eq!(by_name(p("apache.conf.erb"), b""), Some(Engine::Erb));
        assert_eq!(
            by_name(p("default.conf.template"), b"listen ${PORT};"),
            Some(Engine::Envsubst)
        );
        assert_eq!(
            by_name(p("default.conf.template"), b"listen {{ port }};"),
            Some(Engine::Jinja2)
        );
        assert_eq!(
            by_name(p("Caddyfile.tmpl"), b"{{ .Domain }} {"),
            Some(Engine::Go)
        );
        assert_eq!(by_name(p("vhost.tpl"), b"{% if x %}"), Some(Engine::Jinja2));
        assert_eq!(
            by_content(b"server_name {{ domain }};"),
            Some(Engine::Jinja2)
        );
        assert_eq!(by_content(b"server_name {{ .Domain }};"), Some(Engine::Go));
        assert_eq!(by_content(b"ServerName <%= @name %>"), Some(Engine::Erb));
        assert_eq!(by_content(b"server { listen 80; }"), None);
    }

    #[test]
    fn rendered_names() {
        assert_eq!(
            rendered_name(Path::new("a/nginx.conf.j2")),
            Some(PathBuf::from("a/nginx.conf"))
        );
        assert_eq!(
            rendered_name(Path::new("Caddyfile.tmpl")),
            Some(PathBuf::from("Caddyfile"))
        );
        assert_eq!(rendered_name(Path::new("nginx.conf")), None);
    }

    #[test]
    fn html_keeps_its_own_template_reading() {
        let s = Settings::default();
        assert_eq!(
            detect(
                Path::new("index.html.j2"),
                b"{{ x }}",
                DialectKind::Html,
                &s
            ),
            None
        );
        let forced = Settings {
            choice: Choice::None,
            vars: None,
        };
        assert_eq!(
            detect(
                Path::new("nginx.conf.j2"),
                b"{{ x }}",
                DialectKind::Nginx,
                &forced
            ),
            None
        );
    }
}
