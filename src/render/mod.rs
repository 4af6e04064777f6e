//! Everything csppatch prints, for every subcommand: text for people (diffs, the per-site
//! report, diagnostics in the compiler layout, the probe's report) and one JSON document
//! for programs (`--format json`, versioned by `schema_version`, described by `schemas/`).
//!
//! Colour is decided per stream ([`Palette::for_stream`]): the diff on stdout may go to a
//! terminal while diagnostics on stderr go to a file, or the other way round. Text is built
//! with the palette of the stream it is written to, so a plain palette writes no escape at all
//! (nothing is stripped afterwards: a diff keeps every byte of the files, CR and non-UTF-8
//! included).

pub mod audit;
pub mod diagnostic;
pub mod diff;
pub mod json;
pub mod patch;
pub mod probe;

use anstyle::{AnsiColor, Effects, Style};

/// `--color`: when to colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// When the stream is a terminal that supports colour, unless `NO_COLOR` is set
    /// (`CLICOLOR`, `CLICOLOR_FORCE` and `TERM=dumb` are honoured too).
    #[default]
    Auto,
    Always,
    Never,
}

/// How much a run prints in text mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    #[default]
    Normal,
    /// `--quiet`: errors and the one-line summary only.
    Quiet,
}

/// The colours of one output stream: ANSI escapes, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    ansi: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { ansi: false };
    pub const ANSI: Palette = Palette { ansi: true };

    /// The palette for `stream` under `--color when`: `always` and `never` as said; `auto`
    /// as anstream decides for that stream (a terminal, `NO_COLOR` unset, `TERM` not `dumb`,
    /// or `CLICOLOR_FORCE`).
    pub fn for_stream<S: anstream::stream::RawStream>(when: ColorWhen, stream: &S) -> Palette {
        let ansi = match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => !matches!(
                anstream::AutoStream::<S>::choice(stream),
                anstream::ColorChoice::Never
            ),
        };
        Palette { ansi }
    }

    pub fn is_ansi(self) -> bool {
        self.ansi
    }

    /// `text` in `style`, or `text` alone on a plain palette.
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.ansi {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// The palettes of stdout and stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Streams {
    pub out: Palette,
    pub err: Palette,
}

impl Streams {
    /// Each of the process's two streams decided on its own.
    pub fn detect(when: ColorWhen) -> Streams {
        Streams {
            out: Palette::for_stream(when, &std::io::stdout()),
            err: Palette::for_stream(when, &std::io::stderr()),
        }
    }

    pub const PLAIN: Streams = Streams {
        out: Palette::PLAIN,
        err: Palette::PLAIN,
    };
}

/// The styles of diffs and reports (diagnostics colour by severity: `diagnostic.rs`).
pub mod style {
    use super::*;

    /// Diff file headers, locations.
    pub const BOLD: Style = Style::new().effects(Effects::BOLD);
    pub const REMOVED: Style = AnsiColor::Red.on_default();
    pub const ADDED: Style = AnsiColor::Green.on_default();
    pub const HUNK: Style = AnsiColor::Cyan.on_default();
    pub const OK: Style = AnsiColor::Green.on_default();
    pub const FAILED: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
}

/// `n` with thousands separators (`8,572`), as the summary and grouped reports show counts.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(8572), "8,572");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn a_plain_palette_writes_no_escape() {
        assert_eq!(Palette::PLAIN.paint(style::ADDED, "+x"), "+x");
        assert_eq!(Palette::ANSI.paint(style::ADDED, "+x"), "\x1b[32m+x\x1b[0m");
    }
}
