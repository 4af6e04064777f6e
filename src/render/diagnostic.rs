//! Diagnostics, in the compiler layout that grep, editors (`:make`, compile-mode) and CI
//! problem matchers read, the offending line and a caret below it, then the help:
//!
//! ```text
//! sites-enabled/shop:14:5: warning[NGX202]: `location /api/` has its own add_header ...
//!     location /api/ {
//!     ^
//!     = help: repeat the Content-Security-Policy add_header inside `location /api/` ...
//! ```
//!
//! The column counts bytes, as `Location` and the JSON documents do; the caret sits under the
//! character that holds that byte. A diagnostic about a place that is no file (a policy of a
//! fetched page: `header 1`) names that place instead of `path:line:col`.
//!
//! The layout is the one csppatch has always printed (the README, the tests' assertions and
//! the Ansible module's messages repeat its first line); rustc's multi-line layout
//! (annotate-snippets) would move the location to a second line and break all of those.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Effects, Style};

use super::Palette;
use crate::diag::{Diagnostic, Severity};

/// Lines longer than this are cut, and a caret past it is not drawn.
const SHOWN: usize = 160;

/// Each file's bytes, read once, for the lines diagnostics point at.
#[derive(Default)]
pub struct Sources<'a> {
    files: HashMap<PathBuf, Option<Cow<'a, [u8]>>>,
}

impl<'a> Sources<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Use `bytes` for `path` (what csppatch read, rather than what is on disk now).
    pub fn insert(&mut self, path: &Path, bytes: &'a [u8]) {
        self.files
            .insert(path.to_path_buf(), Some(Cow::Borrowed(bytes)));
    }

    /// The bytes of `path`: given, else read from disk once (`None` if it cannot be read).
    fn get(&mut self, path: &Path) -> Option<&[u8]> {
        self.files
            .entry(path.to_path_buf())
            .or_insert_with(|| std::fs::read(path).ok().map(Cow::Owned))
            .as_deref()
    }
}

/// Every diagnostic, in order.
pub fn write_all(
    diagnostics: &[Diagnostic],
    sources: &mut Sources,
    palette: Palette,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for d in diagnostics {
        let src = d.location.as_ref().and_then(|loc| sources.get(&loc.path));
        writeln!(out, "{}", render(d, src, palette))?;
    }
    Ok(())
}

/// Diagnostics that point at no file line (vendor notes, errors before any file is read):
/// rendered without reading anything.
pub fn write_unlocated(
    diagnostics: &[Diagnostic],
    palette: Palette,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    write_all(diagnostics, &mut Sources::new(), palette, out)
}

/// The colour of a severity.
fn style(severity: Severity) -> Style {
    let colour = match severity {
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Note => AnsiColor::Cyan,
    };
    colour.on_default().effects(Effects::BOLD)
}

/// The first line: `[place: ]severity[CODE]: message`, `place` being `path:line:col` or a
/// place that is no file (`header 1`).
pub fn headline(d: &Diagnostic, place: Option<&str>, palette: Palette) -> String {
    let head = palette.paint(style(d.severity), &format!("{}[{}]", d.severity, d.code));
    match place {
        Some(p) => format!("{p}: {head}: {}", d.message),
        None => format!("{head}: {}", d.message),
    }
}

/// One diagnostic, its lines joined by `\n` (no final newline). `src`: the bytes of the file
/// its location is in, for the source line.
pub fn render(d: &Diagnostic, src: Option<&[u8]>, palette: Palette) -> String {
    let place = d.location.as_ref().map(ToString::to_string);
    let mut lines = vec![headline(d, place.as_deref(), palette)];
    if let (Some(loc), Some(src)) = (&d.location, src) {
        let text = crate::diag::source_line(src, loc.line);
        if !text.trim().is_empty() {
            lines.push(format!(
                "    {}",
                text.chars().take(SHOWN).collect::<String>()
            ));
            // The column counts bytes; the caret goes under the character that holds that
            // byte, so the pad is the characters of the bytes before it (tabs kept, so that
            // the caret lines up as the line does).
            let line = src
                .split(|&b| b == b'\n')
                .nth(loc.line.saturating_sub(1))
                .unwrap_or(&[]);
            let before = &line[..loc.col.saturating_sub(1).min(line.len())];
            let pad: String = String::from_utf8_lossy(before)
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            if pad.chars().count() < SHOWN {
                lines.push(format!(
                    "    {pad}{}",
                    palette.paint(style(d.severity), "^")
                ));
            }
        }
    }
    if let Some(help) = &d.help {
        lines.push(format!("    = help: {help}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    fn at(line: usize, col: usize) -> Location {
        Location {
            path: PathBuf::from("site.conf"),
            line,
            col,
        }
    }

    #[test]
    fn source_line_caret_and_help() {
        let src = b"server {\n    location /api/ {\n";
        let d = Diagnostic::warning("NGX202", "no CSP here")
            .at(at(2, 5))
            .with_help("repeat it");
        assert_eq!(
            render(&d, Some(src), Palette::PLAIN),
            "site.conf:2:5: warning[NGX202]: no CSP here\n        location /api/ {\n        ^\n    = help: repeat it"
        );
    }

    #[test]
    fn the_column_counts_bytes_and_the_caret_sits_under_its_character() {
        let line = "  café ü add_header X;";
        let col = line.find("add_header").unwrap() + 1;
        let d = Diagnostic::warning("NGX203", "no always").at(at(1, col));
        let got = render(&d, Some(line.as_bytes()), Palette::PLAIN);
        assert!(got.starts_with(&format!("site.conf:1:{col}: ")), "{got}");
        let lines: Vec<&str> = got.lines().collect();
        let under = lines[1][..lines[1].find("add_header").unwrap()]
            .chars()
            .count();
        assert_eq!(
            lines[2].chars().position(|c| c == '^'),
            Some(under),
            "{got}"
        );
        assert_ne!(under, col - 1 + 4, "the line has multi-byte characters");
    }

    #[test]
    fn invalid_utf8_and_a_column_inside_a_sequence_do_not_panic() {
        let src = b"  \xe2\x82 x \xff\r\n";
        for col in 1..=8 {
            let d = Diagnostic::error("E013", "m").at(at(1, col));
            let got = render(&d, Some(src), Palette::PLAIN);
            assert!(
                got.starts_with(&format!("site.conf:1:{col}: error[E013]")),
                "{got}"
            );
        }
    }

    #[test]
    fn without_the_file_the_location_alone_and_a_place_instead_of_a_file() {
        let d = Diagnostic::error("E002", "cannot read").at(at(3, 1));
        assert_eq!(
            render(&d, None, Palette::PLAIN),
            "site.conf:3:1: error[E002]: cannot read"
        );
        let d = Diagnostic::warning("CSP101", "strict-dynamic").with_help("use the nonce");
        assert_eq!(
            headline(&d, Some("header 1"), Palette::PLAIN),
            "header 1: warning[CSP101]: strict-dynamic"
        );
        let d = Diagnostic::note("VND712", "no regions");
        assert_eq!(render(&d, None, Palette::PLAIN), "note[VND712]: no regions");
    }

    #[test]
    fn colour_only_on_an_ansi_palette() {
        let d = Diagnostic::error("E002", "x");
        assert!(!render(&d, None, Palette::PLAIN).contains('\x1b'));
        assert!(render(&d, None, Palette::ANSI).contains('\x1b'));
    }
}
