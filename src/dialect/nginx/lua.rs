//! The extent of a `*_by_lua_block { ... }` body, as lua-nginx-module finds it.
//!
//! lua-nginx-module replaces nginx's tokenizer after the `{` (ngx_http_lua_conf_lua_block_parse
//! in src/ngx_http_lua_directive.c) with a lexer (ngx_http_lua_lex) that counts braces outside
//! Lua strings and comments. This mirrors the tokens that lexer knows: `"..."` and `'...'` with
//! backslash escapes, long strings `[[...]]` / `[==[...]==]`, long comments `--[[...]]`, line
//! comments `-- ...`, and `{` / `}`.

/// Length of the Lua source before the `}` that closes the block (the body starts right after
/// the `{`), or `None` when the file ends first.
pub fn block_len(body: &[u8]) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            q @ (b'"' | b'\'') => i = skip_string(body, i + 1, q)?,
            b'-' if body.get(i + 1) == Some(&b'-') => {
                i = match long_bracket_level(body, i + 2) {
                    Some(level) => skip_long_bracket(body, i + 2, level)?,
                    None => body[i..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(body.len(), |p| i + p + 1),
                };
            }
            b'[' => match long_bracket_level(body, i) {
                Some(level) => i = skip_long_bracket(body, i, level)?,
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    None
}

/// After the opening quote at `i - 1`: the index after the closing quote.
fn skip_string(body: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `[` `=`* `[` at `i`: the number of `=`.
fn long_bracket_level(body: &[u8], i: usize) -> Option<usize> {
    if body.get(i) != Some(&b'[') {
        return None;
    }
    let level = body[i + 1..].iter().take_while(|&&b| b == b'=').count();
    (body.get(i + 1 + level) == Some(&b'[')).then_some(level)
}

/// From the opening long bracket at `i`: the index after the matching `]` `=`* `]`.
fn skip_long_bracket(body: &[u8], i: usize, level: usize) -> Option<usize> {
    let mut close = vec![b'='; level + 2];
    close[0] = b']';
    close[level + 1] = b']';
    let from = i + level + 2;
    body[from..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map(|p| from + p + close.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        assert_eq!(block_len(b" a = { 1 } }"), Some(11));
        assert_eq!(block_len(b" s = '}' }"), Some(9));
        assert_eq!(block_len(b" s = \"\\\"}\" }"), Some(11));
        assert_eq!(block_len(b" -- }\n }"), Some(7));
        assert_eq!(block_len(b" --[[ } ]] }"), Some(11));
        assert_eq!(block_len(b" x = [==[ ]] } ]==] }"), Some(20));
        assert_eq!(block_len(b" t[1] = 2 }"), Some(10));
        assert_eq!(block_len(b" { "), None);
        assert_eq!(block_len(b" ' }"), None);
    }
}
