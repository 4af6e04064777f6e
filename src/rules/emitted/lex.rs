//! Just enough of a Rust lexer for the scan: identifiers, punctuation, string literals
//! (raw and byte ones too) with their line, comments kept apart, char literals and lifetimes
//! told apart. Plus skipping `#[cfg(test)]` items.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Lifetime,
    Punct(char),
    Other,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// Rust source as tokens, plus the text of its comments (with their line).
pub fn lex(src: &str) -> (Vec<Token>, Vec<(usize, String)>) {
    let c: Vec<char> = src.chars().collect();
    let (mut i, mut line) = (0, 1);
    let mut toks = Vec::new();
    let mut comments = Vec::new();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let start_line = line;
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            let end = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len());
            comments.push((line, c[i..end].iter().collect()));
            i = end;
        } else if ch == '/' && at(i + 1) == '*' {
            let (mut depth, mut j) = (0usize, i);
            while j < c.len() {
                if c[j] == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let text: String = c[i..j.min(c.len())].iter().collect();
            line += text.matches('\n').count();
            comments.push((start_line, text));
            i = j;
        } else if let Some((hashes, open)) = raw_string_start(&c, i) {
            let body = open + 1;
            let mut j = body;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#')) {
                j += 1;
            }
            let text: String = c[body..j.min(c.len())].iter().collect();
            line += text.matches('\n').count();
            toks.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = j + 1 + hashes;
        } else if ch == '"' || (ch == 'b' && at(i + 1) == '"') {
            let body = if ch == 'b' { i + 2 } else { i + 1 };
            let mut j = body;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            let text: String = c[body..j.min(c.len())].iter().collect();
            line += text.matches('\n').count();
            toks.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = j + 1;
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                let end = (q + 3..c.len()).find(|&j| c[j] == '\'').unwrap_or(c.len());
                toks.push(Token {
                    tok: Tok::Other,
                    line,
                });
                i = end + 1;
            } else if at(q + 2) == '\'' {
                toks.push(Token {
                    tok: Tok::Other,
                    line,
                });
                i = q + 3;
            } else {
                let mut j = q + 1;
                while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                    j += 1;
                }
                toks.push(Token {
                    tok: Tok::Lifetime,
                    line,
                });
                i = j;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            toks.push(Token {
                tok: Tok::Ident(c[i..j].iter().collect()),
                line,
            });
            i = j;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            toks.push(Token {
                tok: Tok::Other,
                line,
            });
            i = j;
        } else {
            toks.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    (toks, comments)
}

/// `r"`, `r#"`, `br"`, `br#"` at `i`: the number of `#` and the index of the opening quote.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    // Not the tail of an identifier such as `for`.
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    j += 1;
    let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
    (c.get(j + hashes) == Some(&'"')).then_some((hashes, j + hashes))
}

pub fn is_punct(t: Option<&Token>, p: char) -> bool {
    matches!(t, Some(Token { tok: Tok::Punct(c), .. }) if *c == p)
}

pub fn ident(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token {
            tok: Tok::Ident(s), ..
        }) => Some(s),
        _ => None,
    }
}

/// The index of the bracket that closes the one at `open`.
fn closing(toks: &[Token], open: usize) -> usize {
    let mut depth = 0i32;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// `toks` without `#[cfg(test)]` items; the names of `#[cfg(test)] mod NAME;` files.
pub fn strip_test_items(toks: Vec<Token>) -> (Vec<Token>, Vec<String>) {
    let cfg_test = |i: usize| {
        let want = ["#", "[", "cfg", "(", "test", ")", "]"];
        want.iter().enumerate().all(|(k, w)| match toks.get(i + k) {
            Some(Token {
                tok: Tok::Punct(p), ..
            }) => w.len() == 1 && w.starts_with(*p),
            Some(Token {
                tok: Tok::Ident(s), ..
            }) => s == w,
            _ => false,
        })
    };
    let mut keep = Vec::new();
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !cfg_test(i) {
            keep.push(toks[i].clone());
            i += 1;
            continue;
        }
        let mut j = i + 7;
        // Further attributes of the same item.
        while is_punct(toks.get(j), '#') && is_punct(toks.get(j + 1), '[') {
            j = closing(&toks, j + 1) + 1;
        }
        if ident(toks.get(j)) == Some("mod") && is_punct(toks.get(j + 2), ';') {
            test_mods.extend(ident(toks.get(j + 1)).map(str::to_string));
        }
        while j < toks.len() {
            match toks[j].tok {
                Tok::Punct(';') => break,
                Tok::Punct('{') => {
                    j = closing(&toks, j);
                    break;
                }
                Tok::Punct('(' | '[') => j = closing(&toks, j) + 1,
                _ => j += 1,
            }
        }
        i = j + 1;
    }
    (keep, test_mods)
}
