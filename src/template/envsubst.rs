//! envsubst (GNU gettext) references: `$NAME` and `${NAME}`, NAME being `[A-Za-z_][A-Za-z0-9_]*`
//! (envsubst.c). A `${` without its `}` is left as it is.
//!
//! Which references are substituted depends on how envsubst runs: with a SHELL-FORMAT
//! argument, only the variables it names. nginx's Docker image (`/etc/nginx/templates/*.template`,
//! `20-envsubst-on-templates.sh`) passes the names of the variables defined in its
//! environment, so nginx's own `$host` or `$request_uri` stay nginx variables. csppatch cannot
//! see that environment: with `--template-vars`, the names in that file are the ones
//! substituted; without it, names in upper case (`$NGINX_HOST`, `${CSP_EXTRA}`), which is how
//! environment variables are written and nginx variables are not.

use std::collections::BTreeSet;

use super::tags::{Tag, TagKind};

fn is_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Without a list of names: an environment variable's name, by convention.
pub fn looks_like_env(name: &str) -> bool {
    name.bytes().any(|b| b.is_ascii_uppercase()) && !name.bytes().any(|b| b.is_ascii_lowercase())
}

pub fn lex(src: &[u8], names: Option<&BTreeSet<String>>) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(p) = (i..src.len()).find(|&k| src[k] == b'$') {
        i = p + 1;
        let braced = src.get(p + 1) == Some(&b'{');
        let start = p + 1 + usize::from(braced);
        if !src.get(start).is_some_and(|&b| is_start(b)) {
            continue;
        }
        let mut end = start;
        while end < src.len() && is_name(src[end]) {
            end += 1;
        }
        if braced && src.get(end) != Some(&b'}') {
            continue;
        }
        let name = String::from_utf8_lossy(&src[start..end]);
        let substituted = match names {
            Some(set) => set.contains(name.as_ref()),
            None => looks_like_env(&name),
        };
        let close = end + usize::from(braced);
        if substituted {
            tags.push(Tag {
                range: p..close,
                effective: p..close,
                kind: TagKind::Expression,
                code: start..end,
                trims_left: false,
                trims_right: false,
            });
        }
        i = close;
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_names_only_without_a_list() {
        let src = b"return 301 https://$host${REQ}; root $ROOT/x; ${ok; $1 $";
        let tags = lex(src, None);
        let texts: Vec<&[u8]> = tags.iter().map(|t| &src[t.range.clone()]).collect();
        assert_eq!(texts, [b"${REQ}".as_slice(), b"$ROOT"]);
    }

    #[test]
    fn a_list_names_exactly_what_is_substituted() {
        let names: BTreeSet<String> = ["host".to_string()].into();
        let src = b"$host ${ROOT}";
        let tags = lex(src, Some(&names));
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].range, 0..5);
    }
}
