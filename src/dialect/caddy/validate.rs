//! `caddy validate` for a Caddyfile, and the wrapper Caddyfile that lets it check site files,
//! snippets and directive fragments that no main Caddyfile imports.

use std::io::Write;
use std::path::Path;

use crate::dialect::ConfigFile;
use crate::validator::{self, find_binary, quoted, Validator};

use super::{lexer, structure};

/// `caddy validate` of `config`, with a scratch HOME of its own.
pub fn caddy_validate(config: String) -> Result<Validator, String> {
    let scratch = validator::scratch_dir()?;
    Ok(caddy_validate_in(scratch.path(), config)?.keeping(scratch))
}

/// `caddy validate` of `config` with `home` as its HOME: it provisions modules, which may
/// touch its data directory.
fn caddy_validate_in(home: &Path, config: String) -> Result<Validator, String> {
    let home = home.display().to_string();
    let mut v = Validator::new(vec![
        find_binary(&["caddy"])?,
        "validate".into(),
        "--adapter".into(),
        "caddyfile".into(),
        "--config".into(),
        config,
    ]);
    v.env = vec![
        ("HOME".into(), home.clone()),
        ("XDG_DATA_HOME".into(), home.clone()),
        ("XDG_CONFIG_HOME".into(), home),
    ];
    Ok(v)
}

/// Top-level imports first (a global options block must come first), then one site per
/// fragment or snippet: two sites with one address are "ambiguous". Written into `dir`, which
/// is also Caddy's HOME.
pub fn wrapper(dir: &Path, files: &[ConfigFile<'_>]) -> Result<Validator, String> {
    let main = dir.join("csppatch-validate.conf");
    let mut conf = Vec::new();
    let mut bodies = Vec::new();
    for f in files {
        match wrapping(f.src) {
            Wrap::Sites => {
                let _ = writeln!(conf, "import {}", quoted(f.target));
            }
            Wrap::Snippets(names) => {
                let _ = writeln!(conf, "import {}", quoted(f.target));
                bodies.extend(names.into_iter().map(|n| format!("import {n}")));
            }
            Wrap::Fragment => bodies.push(format!("import {}", quoted(f.target))),
        }
    }
    for (n, body) in bodies.iter().enumerate() {
        let _ = writeln!(conf, "http://127.0.0.1:{} {{\n    {body}\n}}", 8 + n);
    }
    std::fs::write(&main, &conf).map_err(|e| {
        format!(
            "cannot validate: cannot write the wrapper config {}: {e}",
            main.display()
        )
    })?;
    caddy_validate_in(dir, main.display().to_string())
}

/// How a lone Caddy file goes into the validation wrapper.
#[derive(Debug, PartialEq, Eq)]
enum Wrap {
    /// Site blocks (or global options): imported at the top level.
    Sites,
    /// Only `(name) { }` definitions: imported at the top level, then each snippet imported
    /// into a site, since Caddy parses a snippet's directives only where it is imported.
    Snippets(Vec<String>),
    /// A list of directives: imported inside a site block.
    Fragment,
}

/// Told apart by the dialect's own parse: a file of directives that opens with a block
/// (`header {`) looks like a site address to a line-based guess.
fn wrapping(src: &[u8]) -> Wrap {
    let lexed = lexer::lex(src);
    let Ok(parsed) = structure::parse(&lexed.tokens) else {
        return Wrap::Sites;
    };
    let mut names = Vec::new();
    for b in &parsed.blocks {
        match &b.kind {
            structure::BlockKind::Snippet(name) => names.push(name.clone()),
            structure::BlockKind::Fragment => return Wrap::Fragment,
            _ => return Wrap::Sites,
        }
    }
    if names.is_empty() {
        Wrap::Sites
    } else {
        Wrap::Snippets(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_sites_from_snippets_and_fragments() {
        assert_eq!(wrapping(b"example.com {\n  header X y\n}\n"), Wrap::Sites);
        assert_eq!(wrapping(b"header X y\n"), Wrap::Fragment);
        assert_eq!(
            wrapping(b"header {\n  X y\n}\n"),
            Wrap::Fragment,
            "a block directive at column 0 is no site address"
        );
        assert_eq!(
            wrapping(b"(snip) {\n header X y\n}\n(other) {\n respond ok\n}\n"),
            Wrap::Snippets(vec!["snip".into(), "other".into()])
        );
        assert_eq!(
            wrapping(b"(snip) {\n header X y\n}\nexample.com {\n import snip\n}\n"),
            Wrap::Sites
        );
    }
}
