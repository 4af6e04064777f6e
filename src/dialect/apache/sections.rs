//! Directives and the sections that hold them, checked the way httpd builds its tree.
//!
//! Mirrors `ap_build_config`, `ap_build_config_sub` and `ap_build_cont_config`
//! (server/config.c):
//! - a trimmed line that is empty or starts with `#` is skipped: a `#` anywhere else is an
//!   ordinary argument;
//! - the first word is the directive; a word starting with `<` opens a section, whose
//!   arguments must hold the closing `>` (`<Directory> directive missing closing '>'`);
//! - `</Name>` closes the innermost section: it must end with `>` and name that section,
//!   case-insensitively; words after it are ignored;
//! - the bodies of the conditional sections (`<IfModule>`, `<IfDefine>`, `<IfVersion>`,
//!   `<IfFile>`, `<IfDirective>`, `<IfSection>`) are read at once by the section's handler,
//!   which stops only at a line that is exactly `</IfModule>`; when the end of the file comes
//!   first, httpd accepts the file if the condition holds and refuses it otherwise.

use super::lexer::LogicalLine;
use super::words::{split, Word};

/// Sections whose handler reads the body itself (`EXEC_ON_READ` containers).
const CONDITIONALS: &[&str] = &[
    "IfModule",
    "IfDefine",
    "IfVersion",
    "IfFile",
    "IfDirective",
    "IfSection",
];

#[derive(Debug, Clone)]
pub struct Section {
    /// Name as written, without `<` (`VirtualHost`).
    pub name: String,
    /// Arguments as written, without the closing `>` (`*:443`).
    pub args: String,
    /// File offset of the `<`.
    pub open: usize,
    pub conditional: bool,
    pub parent: Option<usize>,
    /// For a `VirtualHost`: the first `ServerName` inside it.
    pub server_name: Option<String>,
}

impl Section {
    /// `<VirtualHost *:443> example.com`, for messages.
    pub fn label(&self) -> String {
        let mut s = format!("<{}", self.name);
        if !self.args.is_empty() {
            s.push(' ');
            s.push_str(&self.args);
        }
        s.push('>');
        if let Some(name) = &self.server_name {
            s.push(' ');
            s.push_str(name);
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    /// The innermost section holding it.
    pub section: Option<usize>,
}

/// One file's directives nested in its sections, as `ap_build_config` builds them.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub directives: Vec<Directive>,
    pub sections: Vec<Section>,
    /// Conditional sections left open at the end of the file (accepted by httpd only when
    /// their condition holds): the outermost one.
    pub unclosed_conditional: Option<usize>,
}

impl Document {
    /// Sections from the outermost to `section`.
    pub fn chain(&self, section: Option<usize>) -> Vec<usize> {
        let mut chain = Vec::new();
        let mut cur = section;
        while let Some(i) = cur {
            chain.push(i);
            cur = self.sections[i].parent;
        }
        chain.reverse();
        chain
    }

    /// `<VirtualHost *:443> example.com > <Directory /var/www>`.
    pub fn context(&self, section: Option<usize>) -> String {
        self.chain(section)
            .iter()
            .map(|&i| self.sections[i].label())
            .collect::<Vec<_>>()
            .join(" > ")
    }
}

/// A file httpd refuses to read, with httpd's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureError {
    pub code: &'static str,
    pub offset: usize,
    pub message: String,
}

fn err(code: &'static str, offset: usize, message: String) -> StructureError {
    StructureError {
        code,
        offset,
        message,
    }
}

/// Read every logical line into directives and sections.
pub fn build(lines: &[LogicalLine]) -> Result<Document, StructureError> {
    let mut config = Document::default();
    let mut open: Option<usize> = None;
    for line in lines {
        let content = line.content();
        if content.is_empty() || content[0] == b'#' {
            continue;
        }
        let words = split(line);
        let Some(first) = words.first() else {
            continue;
        };
        // Only a section's name is needed as bytes: a directive's is compared unit by unit.
        if first.starts_with(b"</") {
            close(&mut config, &mut open, line, first, &first.bytes())?;
        } else if first.starts_with(b"<") {
            let section = open_section(open, line, &words, &first.bytes())?;
            config.sections.push(section);
            open = Some(config.sections.len() - 1);
        } else {
            let mut words = words;
            let name = words.remove(0);
            config.directives.push(Directive {
                name,
                args: words,
                section: open,
            });
        }
    }
    finish(&mut config, open)?;
    name_virtual_hosts(&mut config);
    Ok(config)
}

fn close(
    config: &mut Document,
    open: &mut Option<usize>,
    line: &LogicalLine,
    first: &Word,
    name: &[u8],
) -> Result<(), StructureError> {
    let at = first.span.start;
    let shown = String::from_utf8_lossy(name).into_owned();
    let Some(current) = *open else {
        let bare = shown.trim_start_matches("</").trim_end_matches('>');
        return Err(err(
            "APA002",
            at,
            format!("{shown} without matching <{bare}> section"),
        ));
    };
    let section = &config.sections[current];
    if section.conditional {
        // `ap_build_cont_config` ends the body only at a line that is exactly `</Name>`.
        let exact = line.content().len() == section.name.len() + 3
            && line.content()[2..2 + section.name.len()]
                .eq_ignore_ascii_case(section.name.as_bytes())
            && line.content().ends_with(b">");
        if !exact {
            let bare = shown.trim_start_matches("</").trim_end_matches('>');
            return Err(err(
                "APA002",
                at,
                format!(
                    "{shown} without matching <{bare}> section (the body of <{}> ends only at a line that is exactly </{}>)",
                    section.name, section.name
                ),
            ));
        }
    } else {
        if !name.ends_with(b">") {
            return Err(err(
                "APA003",
                at,
                format!("{shown} directive missing closing '>'"),
            ));
        }
        let inner = &name[2..name.len() - 1];
        if !inner.eq_ignore_ascii_case(section.name.as_bytes()) {
            return Err(err(
                "APA002",
                at,
                format!("Expected </{}> but saw {shown}", section.name),
            ));
        }
    }
    *open = section.parent;
    Ok(())
}

fn open_section(
    open: Option<usize>,
    line: &LogicalLine,
    words: &[Word],
    name: &[u8],
) -> Result<Section, StructureError> {
    let first = &words[0];
    let mut section_name = &name[1..];
    let bracket_on_name = section_name.ends_with(b">");
    if bracket_on_name {
        section_name = &section_name[..section_name.len() - 1];
    }
    let section_name = String::from_utf8_lossy(section_name).into_owned();
    // The arguments as the handler sees them: the rest of the line, raw.
    let content_end = line.trimmed().end;
    let rest_start = words.get(1).map_or(content_end, |w| {
        line.at
            .iter()
            .position(|&o| o == w.span.start)
            .unwrap_or(content_end)
    });
    let rest = &line.text[rest_start..content_end];
    let args = match rest.iter().rposition(|&b| b == b'>') {
        Some(p) => String::from_utf8_lossy(&rest[..p]).trim().to_string(),
        None if bracket_on_name && rest.is_empty() => String::new(),
        None => {
            return Err(err(
                "APA003",
                first.span.start,
                format!("<{section_name}> directive missing closing '>'"),
            ))
        }
    };
    Ok(Section {
        conditional: CONDITIONALS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&section_name)),
        name: section_name,
        args,
        open: first.span.start,
        parent: open,
        server_name: None,
    })
}

/// At the end of the file: a section still open outside every conditional section makes
/// httpd stop (`<Directory> was not closed.`); inside one, httpd accepts the file when the
/// condition holds.
fn finish(config: &mut Document, open: Option<usize>) -> Result<(), StructureError> {
    let chain = config.chain(open);
    let outer_conditional = chain.iter().position(|&i| config.sections[i].conditional);
    let outside = &chain[..outer_conditional.unwrap_or(chain.len())];
    // httpd reports the outermost one (`Syntax error on line N`), listing the others.
    if let Some(&outermost) = outside.first() {
        let s = &config.sections[outermost];
        return Err(err(
            "APA001",
            s.open,
            format!("<{}> was not closed.", s.name),
        ));
    }
    config.unclosed_conditional = outer_conditional.map(|k| chain[k]);
    Ok(())
}

fn name_virtual_hosts(config: &mut Document) {
    for d in &config.directives {
        if !d.name.is("ServerName") {
            continue;
        }
        let Some(arg) = d.args.first() else { continue };
        let vhost = config
            .chain(d.section)
            .into_iter()
            .rev()
            .find(|&i| config.sections[i].name.eq_ignore_ascii_case("VirtualHost"));
        if let Some(v) = vhost {
            let section = &mut config.sections[v];
            if section.server_name.is_none() {
                section.server_name = Some(arg.text());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::logical_lines;
    use super::*;

    fn parse(src: &str) -> Result<Document, StructureError> {
        build(&logical_lines(src.as_bytes()))
    }

    #[test]
    fn nesting_and_context() {
        let c = parse(
            "<VirtualHost *:443>\n  <Directory \"/var/www\">\n    Header set X y\n  </directory>\n  ServerName example.com\n</VirtualHost>\n",
        )
        .unwrap();
        let d = &c.directives[0];
        assert_eq!(
            c.context(d.section),
            "<VirtualHost *:443> example.com > <Directory \"/var/www\">"
        );
    }

    #[test]
    fn structure_errors_match_httpd_messages() {
        let e = parse("<Directory /x>\nA b\n").unwrap_err();
        assert_eq!((e.code, e.offset), ("APA001", 0));
        assert_eq!(e.message, "<Directory> was not closed.");
        let e = parse("<Directory /x>\n</Location>\n").unwrap_err();
        assert_eq!(e.message, "Expected </Directory> but saw </Location>");
        let e = parse("</Directory>\n").unwrap_err();
        assert_eq!(
            e.message,
            "</Directory> without matching <Directory> section"
        );
        let e = parse("<Directory /x\n</Directory>\n").unwrap_err();
        assert_eq!(e.message, "<Directory> directive missing closing '>'");
        let e = parse("<Directory /x>\n</Directory\n").unwrap_err();
        assert_eq!(e.message, "</Directory directive missing closing '>'");
    }

    #[test]
    fn conditional_sections_follow_the_exact_close_rule() {
        assert!(parse("<Directory /x>\n</Directory> # ok\n").is_ok());
        assert!(parse("<IfModule a>\n</IfModule> # no\n").is_err());
        assert!(parse("<IfModule a>\n\t</ifmodule>  \n").is_ok());
        let c = parse("<IfModule a>\n<Directory /x>\nA b\n").unwrap();
        assert_eq!(c.unclosed_conditional, Some(0));
        assert!(parse("<Directory /x>\n<IfModule a>\nA b\n").is_err());
        // certbot two-blocks-one-line-1693: `</VirtualHost> </IfModule>` closes the vhost only.
        let c = parse("<IfModule ssl>\n<VirtualHost *:443>\n</VirtualHost> </IfModule>\n").unwrap();
        assert_eq!(c.unclosed_conditional, Some(0));
    }

    #[test]
    fn hash_after_arguments_is_an_argument() {
        let c = parse("Header set X y # not a comment\n  # a comment\n").unwrap();
        assert_eq!(c.directives.len(), 1);
        assert_eq!(c.directives[0].args.len(), 7);
    }
}
