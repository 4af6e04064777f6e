//! The `Header` directive of mod_headers, read the way `header_cmd` and `header_inout_cmd`
//! (modules/metadata/mod_headers.c, httpd 2.4) read it:
//!
//! `Header [always|onsuccess] action header [value [replacement]] [early|env=[!]VAR|expr=EXPR]`
//!
//! - `always` puts the entry in the table httpd sends with every response (`err_headers_out`,
//!   "fixup_err"); `onsuccess`, the default, in the one sent with 2xx/3xx responses
//!   (`headers_out`). On a 2xx response httpd sends both tables, so each can carry a CSP.
//! - The header name may end with `:`; everything from the colon on is dropped.
//! - `RequestHeader` shares the code but edits the request: it never sends a CSP.

use super::words::Word;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    OnSuccess,
    Always,
}

impl Table {
    pub fn keyword(self) -> &'static str {
        match self {
            Table::OnSuccess => "onsuccess",
            Table::Always => "always",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Set,
    SetIfEmpty,
    Add,
    Append,
    Merge,
    Unset,
    Echo,
    Edit,
    EditAll,
    Note,
}

impl Action {
    fn from_word(w: &Word) -> Option<Action> {
        const ACTIONS: &[(&str, Action)] = &[
            ("set", Action::Set),
            ("setifempty", Action::SetIfEmpty),
            ("add", Action::Add),
            ("append", Action::Append),
            ("merge", Action::Merge),
            ("unset", Action::Unset),
            ("echo", Action::Echo),
            ("edit", Action::Edit),
            ("edit*", Action::EditAll),
            ("note", Action::Note),
        ];
        ACTIONS.iter().find(|(k, _)| w.is(k)).map(|&(_, a)| a)
    }

    /// `add`, `append`, `merge` can leave two policies.
    pub fn adds_policy(self) -> bool {
        matches!(self, Action::Add | Action::Append | Action::Merge)
    }

    /// Actions whose value becomes the header sent.
    pub fn sends_value(self) -> bool {
        matches!(
            self,
            Action::Set | Action::SetIfEmpty | Action::Add | Action::Append | Action::Merge
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `early`: applied when the request is read, before the response exists.
    Early,
    /// `env=VAR` or `env=!VAR`.
    Env(String),
    /// `expr=...`, an ap_expr boolean.
    Expr(String),
}

impl HeaderDirective<'_> {
    /// `Header always set`, `Header set` as written, for messages.
    pub fn written(&self) -> String {
        if self.table_written {
            format!(
                "Header {} {}",
                self.table.keyword(),
                self.action_word.text()
            )
        } else {
            format!("Header {}", self.action_word.text())
        }
    }

    /// `Header always set`, `Header set (onsuccess table)`: what is written and its table.
    pub fn described(&self) -> String {
        if self.table_written {
            self.written()
        } else {
            format!("{} (onsuccess table)", self.written())
        }
    }
}

/// `Header always ACTION` or `Header ACTION` (the default table), for advice.
pub fn spelled(table: Table, action: &str) -> String {
    match table {
        Table::Always => format!("Header always {action}"),
        Table::OnSuccess => format!("Header {action}"),
    }
}

impl Condition {
    /// How the condition reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Condition::Early => "early".into(),
            Condition::Env(v) => format!("env={v}"),
            Condition::Expr(e) => format!("expr={e}"),
        }
    }
}

/// One `Header` directive.
#[derive(Debug, Clone)]
pub struct HeaderDirective<'a> {
    pub table: Table,
    /// `always` or `onsuccess` was written (`onsuccess` is the default).
    pub table_written: bool,
    pub action: Action,
    /// The action word as written (`set`, `Set`...).
    pub action_word: &'a Word,
    /// The header name, decoded and cut at the first `:`.
    pub name: Vec<u8>,
    /// The value (for `edit`: the regular expression).
    pub value: Option<&'a Word>,
    /// `edit`/`edit*` only: the replacement.
    pub replacement: Option<&'a Word>,
    pub condition: Option<Condition>,
}

/// Why httpd refuses a `Header` line: its message and the file offset it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub offset: usize,
    pub message: String,
}

/// Read the arguments of a `Header` directive (`start`: offset of the directive, for errors
/// about missing words).
pub fn parse(args: &[Word], start: usize) -> Result<HeaderDirective<'_>, HeaderError> {
    let fail = |offset: usize, message: &str| HeaderError {
        offset,
        message: message.to_string(),
    };
    let mut words = args.iter();
    let mut table = Table::OnSuccess;
    let mut table_written = false;
    let mut action_word = words.next();
    if let Some(w) = action_word {
        if w.is("always") {
            table = Table::Always;
            table_written = true;
            action_word = words.next();
        } else if w.is("onsuccess") {
            table_written = true;
            action_word = words.next();
        }
    }
    let name_word = words.next();
    let value = words.next();
    let subs = words.next();
    let envclause = words.next();
    if let Some(extra) = words.next() {
        return Err(fail(extra.span.start, "Header has too many arguments"));
    }
    let action = action_word.and_then(Action::from_word).ok_or_else(|| {
        fail(
            action_word.map_or(start, |w| w.span.start),
            "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', \
             'echo', 'note', 'edit', or 'edit*'.",
        )
    })?;
    let (Some(action_word), Some(name_word)) = (action_word, name_word) else {
        return Err(fail(start, "Header requires three arguments"));
    };
    let mut value = value;
    let mut replacement = None;
    let mut envclause = envclause;
    if matches!(action, Action::Edit | Action::EditAll) {
        if subs.is_none() {
            return Err(fail(
                start,
                "Header edit requires a match and a substitution",
            ));
        }
        replacement = subs;
    } else {
        if let Some(extra) = envclause {
            return Err(fail(extra.span.start, "Too many arguments to directive"));
        }
        envclause = subs;
    }
    if matches!(action, Action::Unset | Action::Echo) {
        if let Some(v) = value.take() {
            if let Some(extra) = envclause {
                let message = if action == Action::Unset {
                    "header unset takes two arguments"
                } else {
                    "Header echo takes two arguments"
                };
                return Err(fail(extra.span.start, message));
            }
            envclause = Some(v);
        }
    } else if value.is_none() {
        return Err(fail(start, "Header requires three arguments"));
    }
    let condition = match envclause {
        None => None,
        Some(w) => Some(condition(w)?),
    };
    let mut name = name_word.bytes();
    if let Some(colon) = name.iter().position(|&b| b == b':') {
        name.truncate(colon);
    }
    Ok(HeaderDirective {
        table,
        table_written,
        action,
        action_word,
        name,
        value,
        replacement,
        condition,
    })
}

fn condition(w: &Word) -> Result<Condition, HeaderError> {
    let text = w.text();
    let lower = text.to_ascii_lowercase();
    if lower == "early" {
        Ok(Condition::Early)
    } else if lower.starts_with("env=") {
        let var = &text[4..];
        if var.is_empty() || var == "!" {
            return Err(HeaderError {
                offset: w.span.start,
                message: "error: missing environment variable name. envclause should be in \
                          the form env=envar"
                    .into(),
            });
        }
        Ok(Condition::Env(var.to_string()))
    } else if lower.starts_with("expr=") {
        Ok(Condition::Expr(text[5..].to_string()))
    } else {
        Err(HeaderError {
            offset: w.span.start,
            message: format!("Unknown parameter: {text}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::logical_lines;
    use super::super::words::split;
    use super::*;

    fn with<T>(line: &str, f: impl FnOnce(Result<HeaderDirective<'_>, HeaderError>) -> T) -> T {
        let lines = logical_lines(line.as_bytes());
        let words = split(&lines[0]);
        f(parse(&words[1..], 0))
    }

    #[test]
    fn tables_actions_and_conditions() {
        with(
            "Header always set Content-Security-Policy: \"x\" env=!NOCSP",
            |h| {
                let h = h.unwrap();
                assert_eq!(h.table, Table::Always);
                assert_eq!(h.action, Action::Set);
                assert_eq!(h.name, b"Content-Security-Policy");
                assert_eq!(h.condition, Some(Condition::Env("!NOCSP".into())));
            },
        );
        with("Header ONSUCCESS Add X y early", |h| {
            let h = h.unwrap();
            assert_eq!((h.table, h.action), (Table::OnSuccess, Action::Add));
            assert_eq!(h.condition, Some(Condition::Early));
        });
        with("Header unset X env=A", |h| {
            let h = h.unwrap();
            assert!(h.value.is_none());
            assert_eq!(h.condition, Some(Condition::Env("A".into())));
        });
        with("Header edit X ^a b", |h| {
            assert_eq!(h.unwrap().replacement.unwrap().text(), "b");
        });
    }

    #[test]
    fn refusals_carry_httpds_messages() {
        let msg = |l: &str| with(l, |h| h.unwrap_err().message);
        assert_eq!(
            msg("Header set X \"a\" # comment"),
            "Too many arguments to directive"
        );
        assert_eq!(
            msg("Header set X \"a\" #comment"),
            "Unknown parameter: #comment"
        );
        assert_eq!(msg("Header set X"), "Header requires three arguments");
        assert_eq!(msg("Header set X a b c d"), "Header has too many arguments");
        assert!(msg("Header always X a").starts_with("first argument must be"));
    }
}
