//! Finding CSP sites in one parsed nginx file: `add_header`, headers-more `more_set_headers`,
//! and the `set` / `map` values a CSP header can take through a variable.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::Path;

use crate::diag::{Diagnostic, Location};
use crate::csp::Delivery;
use crate::site::{Decoded, Disposition, FileScan, Include, Repair, Site, VarRef};

use super::expand::{Assignments, Expansion};
use super::syntax::{unescape, Directive, Word};
use super::tokenizer::is_space;
use super::value::{self, Mapped};

/// The refusal of a `map` entry (or `set`) whose value is empty: nginx sends no header then.
pub const EMPTY_BINDING: &str = "empty: no CSP for these responses";

pub struct Finder<'a> {
    pub path: &'a Path,
    pub src: &'a [u8],
    /// The file's statements.
    top: &'a [Directive],
    pub scan: FileScan,
    /// The file's `set`s, for values built from variables: collected when the first header
    /// value that names a variable needs them (most files have none).
    assignments: OnceCell<Assignments>,
    /// Report the warnings about values (NGX201, NGX203, NGX205) in `scan.diagnostics`.
    pub lints: bool,
    /// Indices of the blocks around the directive being visited, `if` blocks left out (see
    /// `expand.rs`).
    blocks: Vec<usize>,
    /// Every block around the directive being visited, `if` blocks included, as numbers
    /// unique in the file: the block a `more_set_headers` is in.
    block_ids: Vec<usize>,
    next_block: usize,
    /// headers-more's `more_set_headers` for a CSP header in a block, by (block, header):
    /// the sites a later unfiltered one replaces.
    set_by_more: HashMap<(usize, Disposition), Vec<usize>>,
}

impl<'a> Finder<'a> {
    pub fn new(path: &'a Path, src: &'a [u8], top: &'a [Directive]) -> Self {
        Finder {
            path,
            src,
            top,
            scan: FileScan::default(),
            assignments: OnceCell::new(),
            lints: true,
            blocks: Vec::new(),
            block_ids: vec![0],
            next_block: 1,
            set_by_more: HashMap::new(),
        }
    }

    pub fn location(&self, offset: usize) -> Location {
        Location::of(self.path, self.src, offset)
    }

    /// The context of a site inside the blocks `outer`, then inside `more` (a `set`, a `map`
    /// and its key).
    fn context(&self, outer: &[Around], more: &[&str]) -> String {
        let labels: Vec<&str> = outer
            .iter()
            .map(|a| a.label.get_or_init(|| block_label(a.block, self.src)).as_str())
            .chain(more.iter().copied())
            .collect();
        context_string(&labels)
    }

    /// Visit the file's statements.
    pub fn walk(&mut self) -> Result<(), Diagnostic> {
        let top = self.top;
        self.walk_in(top, &mut Vec::new())
    }

    /// `walk` with the blocks around as one stack, pushed and popped around each block: a
    /// copy of the outer labels per block cost memory quadratic in the nesting (10,000 nested
    /// `location`s: 3.5 GB). A block's label is made when a site's context first needs it
    /// (most blocks hold no CSP site).
    fn walk_in<'d>(
        &mut self,
        directives: &'d [Directive],
        outer: &mut Vec<Around<'d>>,
    ) -> Result<(), Diagnostic> {
        for (i, d) in directives.iter().enumerate() {
            let name = d.name.bytes(self.src);
            let name: &[u8] = &name;
            match name {
                b"add_header" => self.add_header(d, outer)?,
                b"more_set_headers" => self.more_set_headers(d, outer)?,
                b"set" => self.set(d, outer),
                b"map" => self.map(d, outer),
                b"include" => self.include(d),
                _ => {}
            }
            if !d.children().is_empty() && name != b"map" {
                outer.push(Around {
                    block: d,
                    label: OnceCell::new(),
                });
                let is_if = name == b"if";
                if !is_if {
                    self.blocks.push(i);
                }
                self.block_ids.push(self.next_block);
                self.next_block += 1;
                let walked = self.walk_in(d.children(), outer);
                self.block_ids.pop();
                if !is_if {
                    self.blocks.pop();
                }
                outer.pop();
                walked?;
            }
        }
        Ok(())
    }

    /// nginx's own message for a CSP directive it refuses.
    fn refuse(&self, offset: usize, directive: &str, message: String) -> Diagnostic {
        Diagnostic::error("NGX004", message)
            .at(self.location(offset))
            .with_help(format!(
                "nginx refuses this `{directive}` (nginx -t), so csppatch does not edit it"
            ))
    }

    /// `add_header NAME VALUE [always]` (ngx_http_headers_add: TAKE23, the third must be
    /// "always").
    fn add_header(&mut self, d: &Directive, outer: &[Around]) -> Result<(), Diagnostic> {
        let Some(header) = d.args.first() else {
            return Ok(());
        };
        let Some(disposition) = Disposition::from_header_name(&header.bytes(self.src)) else {
            return Ok(());
        };
        if !(2..=3).contains(&d.args.len()) {
            return Err(self.refuse(
                d.span.start,
                "add_header",
                "invalid number of arguments in \"add_header\" directive".into(),
            ));
        }
        let always = d.args.get(2);
        if let Some(extra) = always {
            if *extra.bytes(self.src) != *b"always" {
                return Err(self.refuse(
                    extra.span.start,
                    "add_header",
                    format!("invalid parameter \"{}\"", extra.text(self.src)),
                ));
            }
        }
        let word = &d.args[1];
        let mapped = unescape(self.src, word.span.clone(), word.quote);
        self.header_value(word, &mapped, disposition, outer, "add_header")?;
        // `add_header Content-Security-Policy "";` (after `proxy_hide_header`, to clear the
        // upstream's header) sends nothing on any response: no error page is left without it.
        if self.lints && always.is_none() && !mapped.is_empty() {
            self.scan.diagnostics.push(
                Diagnostic::warning(
                    "NGX203",
                    format!(
                        "{} is added without `always`: nginx does not send it with error \
                         responses (4xx, 5xx)",
                        disposition.header_name()
                    ),
                )
                .at(self.location(d.span.start))
                .with_help("add `always` after the value"),
            );
        }
        Ok(())
    }

    /// headers-more: `more_set_headers [-s STATUS] [-t TYPE] 'Name: value' ...`
    /// (ngx_http_headers_more_parse_directive / _parse_header).
    ///
    /// Measured with nginx 1.26 and Debian's headers-more module: of two `more_set_headers` for
    /// one header in a block, only the last is sent (each clears the header, then sets it),
    /// unless the later one is filtered by `-s`/`-t` (it then replaces it only on some
    /// responses). The earlier one is recorded as replaced (E043), not patched.
    fn more_set_headers(&mut self, d: &Directive, outer: &[Around]) -> Result<(), Diagnostic> {
        let mut skip_next = false;
        let mut filtered = false;
        let mut headers = Vec::new();
        for word in &d.args {
            if std::mem::take(&mut skip_next) {
                continue;
            }
            let mapped = unescape(self.src, word.span.clone(), word.quote);
            match mapped.first().map(|(b, _)| *b) {
                None => continue,
                Some(b'-') => {
                    skip_next = mapped.len() == 2 && matches!(mapped[1].0, b't' | b's');
                    filtered |= skip_next;
                    continue;
                }
                Some(_) => {}
            }
            let Some((key, value)) = split_header(&mapped) else {
                continue;
            };
            let Some(disposition) = Disposition::from_header_name(&key) else {
                continue;
            };
            let first = self.scan.sites.len();
            if !value.is_empty() {
                // An empty value clears the header: nothing is sent, no site.
                self.header_value(word, value, disposition, outer, "more_set_headers")?;
            }
            headers.push((disposition, first..self.scan.sites.len()));
        }
        let block = *self.block_ids.last().unwrap_or(&0);
        for (disposition, new) in headers {
            let earlier = self.set_by_more.entry((block, disposition)).or_default();
            if !filtered {
                self.scan
                    .replaced
                    .extend(earlier.drain(..).map(|i| (i, d.span.start)));
            }
            earlier.extend(new);
        }
        Ok(())
    }

    /// A CSP header's value: a site, or a reference when it is one variable. A value built
    /// from variables with several possible values is one site per variant (README, "Values
    /// built from variables"), each a policy browsers may receive, at the header's word.
    fn header_value(
        &mut self,
        word: &Word,
        value: &[Mapped],
        disposition: Disposition,
        outer: &[Around],
        directive: &str,
    ) -> Result<(), Diagnostic> {
        let decoded = value::decode_complex(value).map_err(|e| {
            let at = value.get(e.at).map_or(word.span.start, |(_, r)| r.start);
            self.refuse(at, directive, e.message)
        })?;
        let context = self.context(outer, &[]);
        let only = value::only_variable(&decoded);
        if let Some(name) = only {
            self.scan.refs.push(VarRef {
                name,
                disposition,
                offset: word.span.start,
                context,
            });
            return Ok(());
        }
        let expansion = if decoded.opaque.is_empty() {
            Expansion::Plain
        } else {
            self.assignments
                .get_or_init(|| Assignments::collect(self.top, self.src))
                .expand(&decoded, &self.blocks, self.src)
        };
        let (variants, too_many) = match expansion {
            Expansion::Plain => (vec![(decoded, None)], None),
            Expansion::One(d) => (vec![(d, None)], None),
            Expansion::Variants(v) => (v.into_iter().map(|(d, l)| (d, Some(l))).collect(), None),
            Expansion::TooMany(d, why) => (vec![(d, None)], why),
        };
        let (mut warned, mut first) = (false, true);
        for (decoded, label) in variants {
            let context = match label {
                Some(l) => format!("{context} [with {l}]"),
                None => context.clone(),
            };
            let mut site = self.site(word, decoded, disposition, context, None);
            if site.value.text.is_empty() {
                site.refusal = Some("empty: nginx sends no header for an empty value".into());
            }
            if site.refusal.is_none() {
                site.refusal = too_many.clone();
            }
            if site.refusal.is_none() {
                site.refusal = crate::site::unknown_directives(&site.value);
            }
            // Said once for the header, not once per variant.
            if self.lints && !warned && site.repaired.is_some() {
                self.line_break_warning(&site, word);
                warned = true;
            }
            if self.lints && first {
                self.near_limit(&site, word);
            }
            first = false;
            self.scan.sites.push(site);
        }
        Ok(())
    }

    /// NGX201 for a value that runs over lines.
    fn line_break_warning(&mut self, site: &Site, word: &Word) {
        let Some(repair) = &site.repaired else {
            return;
        };
        // Point at the first line break, or at the backslash that continues it.
        let text = &site.value.text;
        let first_break = text
            .find(['\n', '\r'])
            .map(|i| if text[..i].ends_with('\\') { i - 1 } else { i })
            .and_then(|i| site.value.raw(i))
            .map_or(word.span.start, |r| r.start);
        self.scan.diagnostics.push(
            Diagnostic::warning(
                "NGX201",
                format!(
                    "the {} value continues on another line: nginx sends the {}line \
                     break inside the header, and browsers drop the directives after it",
                    site.disposition.header_name(),
                    if site.value.text.contains("\\\n") || site.value.text.contains("\\\r") {
                        "backslash and the "
                    } else {
                        ""
                    }
                ),
            )
            .at(self.location(first_break))
            .with_help(format!(
                "write the value on one line; csppatch rewrites it as: {}",
                repair.text
            )),
        );
    }

    fn site(
        &self,
        word: &Word,
        value: Decoded,
        disposition: Disposition,
        context: String,
        binding: Option<String>,
    ) -> Site {
        let repaired = value.text.contains(['\n', '\r']).then(|| Repair {
            text: value::collapse_line_breaks(&value.text),
            code: "NGX201",
        });
        let refusal = value
            .text
            .contains(char::REPLACEMENT_CHARACTER)
            .then(|| "the value is not valid UTF-8".to_string());
        Site {
            disposition,
            delivery: Delivery::Header,
            span: word.span.clone(),
            value,
            repaired,
            context,
            refusal,
            binding,
        }
    }

    /// NGX205: a value close to nginx's token limit.
    fn near_limit(&mut self, site: &Site, word: &Word) {
        let spaced = self.src.get(word.span.end).copied().is_some_and(is_space);
        let max = value::max_inner_len(word.quote, spaced);
        let used = word.inner().len();
        if used + LIMIT_MARGIN > max {
            self.scan.diagnostics.push(
                Diagnostic::note(
                    "NGX205",
                    format!(
                        "this {} value takes {used} of the {max} bytes nginx allows in one \
                         parameter: a few more sources will not fit",
                        site.disposition.header_name()
                    ),
                )
                .at(self.location(word.span.start))
                .with_help(SPLIT_HELP),
            );
        }
    }

    /// `set $var VALUE`.
    fn set(&mut self, d: &Directive, outer: &[Around]) {
        let [var, word] = d.args.as_slice() else {
            return;
        };
        let Some(name) = var.value(self.src).strip_prefix(b"$").map(<[u8]>::to_vec) else {
            return;
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        let context = self.context(outer, &[format!("set ${name}").as_str()]);
        self.binding(word, name, context);
    }

    /// `map SOURCE $var { KEY VALUE; ... default VALUE; }`: every value is a binding.
    fn map(&mut self, d: &Directive, outer: &[Around]) {
        let [source, var] = d.args.as_slice() else {
            return;
        };
        let Some(name) = var.value(self.src).strip_prefix(b"$").map(<[u8]>::to_vec) else {
            return;
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        let label = format!("map {} ${name}", source.text(self.src));
        for entry in d.children() {
            if entry.name_is(self.src, "include") {
                self.include(entry);
                continue;
            }
            let [word] = entry.args.as_slice() else {
                // `hostnames;` `volatile;`, or an entry nginx refuses.
                continue;
            };
            // As written, so that `""` and `\default` stay recognisable.
            let key = String::from_utf8_lossy(&self.src[entry.name.span.clone()]).into_owned();
            let context = self.context(outer, &[label.as_str(), key.as_str()]);
            self.binding(word, name.clone(), context);
        }
    }

    fn binding(&mut self, word: &Word, name: String, context: String) {
        let mapped = unescape(self.src, word.span.clone(), word.quote);
        let (decoded, refusal) = match value::decode_complex(&mapped) {
            Ok(d) => (d, None),
            Err(e) => {
                let mut d = Decoded::default();
                d.push_opaque(
                    &String::from_utf8_lossy(&word.value(self.src)),
                    word.span.clone(),
                );
                (d, Some(format!("nginx refuses this value: {}", e.message)))
            }
        };
        let mut site = self.site(word, decoded, Disposition::Enforce, context, Some(name));
        if site.value.text.is_empty() {
            site.refusal = Some(EMPTY_BINDING.into());
        }
        site.refusal = refusal.or(site.refusal);
        self.scan.bindings.push(site);
    }

    /// `include PATTERN;` as written. nginx globs when the pattern has `*`, `?` or `[`
    /// (ngx_conf_include's strpbrk), and a glob that matches nothing is not an error.
    fn include(&mut self, d: &Directive) {
        let [pattern] = d.args.as_slice() else {
            return;
        };
        let pattern = pattern.text(self.src);
        let optional = pattern.contains(['*', '?', '[']);
        self.scan.includes.push(Include {
            pattern,
            offset: d.span.start,
            optional,
        });
    }
}

/// Leave this much room in a value before NGX205 speaks up: about three vendors' worth.
const LIMIT_MARGIN: usize = 512;

pub const SPLIT_HELP: &str = "split the policy over variables, each its own parameter: \
     `set $csp_fetch \"default-src 'self'; script-src ...\"; set $csp_rest \"img-src ...\"; \
     add_header Content-Security-Policy \"$csp_fetch; $csp_rest\" always;` (or one `map` per part)";

/// headers-more's split of `Name: value`: the key runs to the first `:` or space, then every
/// `:` and space is skipped (ngx_http_headers_more_parse_header). Like headers-more, the key is
/// taken from the first byte, so leading spaces leave a key no header matches.
fn split_header(bytes: &[Mapped]) -> Option<(Vec<u8>, &[Mapped])> {
    let is_c_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let first = bytes.iter().position(|(b, _)| !is_c_space(*b))?;
    let key_len = bytes[first..]
        .iter()
        .position(|(b, _)| *b == b':' || is_c_space(*b))
        .unwrap_or(bytes.len() - first);
    let key: Vec<u8> = bytes[..key_len].iter().map(|(b, _)| *b).collect();
    let after = (first + key_len + 1).min(bytes.len());
    let value_start = bytes[after..]
        .iter()
        .position(|(b, _)| *b != b':' && !is_c_space(*b))
        .map_or(bytes.len(), |p| after + p);
    Some((key, &bytes[value_start..]))
}

/// A block around the directive being visited, and its label once a context needed it.
struct Around<'d> {
    block: &'d Directive,
    label: OnceCell<String>,
}

/// `server example.com > location /api`; `http` is left out when something follows it.
pub fn context_string(labels: &[&str]) -> String {
    let shown: Vec<&str> = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| !(**l == "http" && *i + 1 < labels.len()))
        .map(|(_, l)| *l)
        .collect();
    if shown.is_empty() {
        "top level".into()
    } else {
        shown.join(" > ")
    }
}

/// How a block is named in contexts: `server example.com`, `location ~* \.svgz$`, `if ($a)`.
pub fn block_label(d: &Directive, src: &[u8]) -> String {
    let name = d.name.text(src);
    if name == "server" && d.args.is_empty() {
        let server_name = d
            .children()
            .iter()
            .find(|c| c.name_is(src, "server_name"))
            .and_then(|c| c.args.first());
        let listen = || {
            d.children()
                .iter()
                .find(|c| c.name_is(src, "listen"))
                .and_then(|c| c.args.first())
        };
        return match (server_name, listen()) {
            (Some(n), _) => format!("server {}", n.text(src)),
            (None, Some(l)) => format!("server (listen {})", l.text(src)),
            (None, None) => "server".into(),
        };
    }
    // The name and each argument, one string grown in place.
    let mut label = name;
    for a in &d.args {
        label.push(' ');
        label.push_str(&String::from_utf8_lossy(&a.bytes(src)));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(s: &str) -> Vec<Mapped> {
        s.bytes().enumerate().map(|(i, b)| (b, i..i + 1)).collect()
    }

    fn split(s: &str) -> Option<(String, String)> {
        let m = mapped(s);
        split_header(&m).map(|(k, v)| {
            (
                String::from_utf8(k).unwrap(),
                v.iter().map(|(b, _)| *b as char).collect(),
            )
        })
    }

    #[test]
    fn headers_more_splits_like_the_module() {
        let kv = |k: &str, v: &str| Some((k.to_string(), v.to_string()));
        assert_eq!(
            split("Content-Security-Policy: a b"),
            kv("Content-Security-Policy", "a b")
        );
        assert_eq!(split("X-A:b"), kv("X-A", "b"));
        assert_eq!(split("X-A :: b "), kv("X-A", "b "));
        assert_eq!(split("X-A:"), kv("X-A", ""));
        assert_eq!(split("X-A"), kv("X-A", ""));
        assert_eq!(
            split(" X-A: b"),
            kv(" X-", "b"),
            "headers-more keeps the leading space"
        );
        assert_eq!(split("  "), None);
    }

    #[test]
    fn contexts_drop_http_when_something_follows() {
        let l = context_string;
        assert_eq!(
            l(&["http", "server a", "location /"]),
            "server a > location /"
        );
        assert_eq!(l(&["http"]), "http");
        assert_eq!(l(&[]), "top level");
    }
}
