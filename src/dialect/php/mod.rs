//! WordPress / PHP: `header('Content-Security-Policy: ...')` calls (usually in a
//! `send_headers` action) and `$headers['Content-Security-Policy']` in a `wp_headers` filter.
//!
//! The file is read with a lossless tokenizer that mirrors PHP's own scanner
//! (`grammars/php.ebnf`); a site's value is computed from its string literals the way PHP
//! computes it, byte by byte, so that an insertion lands inside the right literal and a
//! multi-line concatenation keeps its layout. `php -l` stays the validator of the result.

mod encode;
mod expr;
mod hooks;
pub mod lexer;
mod sites;
mod strings;
mod syntax;

use std::path::Path;

use crate::diag::Diagnostic;
use crate::rules::Rule;
use crate::site::{FileScan, Site};

use super::{contains, ConfigFile, Dialect, Head, Sniff};
use crate::validator::{find_binary, Validator};

pub static RULES: &[Rule] = &[
    Rule {
        code: "PHP001",
        name: "php-unterminated-token",
        what: "The file has a string, comment or heredoc that never ends, so csppatch cannot \
               tell code from text after it.",
        why: "PHP refuses such a file (`php -l` reports a parse error), and csppatch will not \
              guess where a CSP value starts or ends in it.",
        example: "header(\"Content-Security-Policy: default-src 'self');\n\n\
                  Use instead:\n\
                  header(\"Content-Security-Policy: default-src 'self'\");",
    },
    Rule {
        code: "PHP501",
        name: "header-value-has-line-break",
        what: "A CSP sent with header() (or through wp_headers) contains a line break: a real \
               newline inside the literal, a `\\n` escape, or a multi-line heredoc.",
        why: "PHP refuses the whole call (\"Header may not contain more than a single header, \
              new line detected\") and sends no CSP at all. csppatch proposes the value on one \
              line (each break and its indentation become one space).",
        example: "header(<<<CSP\nContent-Security-Policy: default-src 'self';\n  script-src \
                  'self'\nCSP);\n\n\
                  Use instead:\n\
                  header(\"Content-Security-Policy: default-src 'self'; script-src 'self'\");",
    },
    Rule {
        code: "PHP502",
        name: "header-adds-second-policy",
        what: "header('Content-Security-Policy: ...', false): the `false` adds a header next \
               to the ones already set instead of replacing them.",
        why: "Browsers enforce every policy they receive; a vendor allowed by one policy is \
              still blocked by the other. csppatch patches each CSP it finds, but a policy set \
              elsewhere (a plugin, the server) keeps blocking.",
        example: "header(\"Content-Security-Policy: script-src 'self'\", false);\n\n\
                  Use instead:\n\
                  header(\"Content-Security-Policy: script-src 'self'\");",
    },
    Rule {
        code: "PHP503",
        name: "header-at-top-level-of-functions-php",
        what: "header() with a CSP runs at the top level of a theme's functions.php, outside \
               any hook.",
        why: "functions.php is loaded on every WordPress request (admin pages, REST, cron, \
              AJAX), so the policy is sent where it was not meant to be, and before WordPress \
              decides the response.",
        example: "header(\"Content-Security-Policy: default-src 'self'\");\n\n\
                  Use instead:\n\
                  add_action('send_headers', function () {\n    header(\"Content-Security-Policy: \
                  default-src 'self'\");\n});",
    },
    Rule {
        code: "PHP504",
        name: "header-in-output-hook",
        what: "header() with a CSP runs in a hook that fires after the page has started to be \
               printed (wp_head, wp_footer, wp_enqueue_scripts, ...).",
        why: "Once output has been sent PHP cannot add headers (\"Cannot modify header \
              information - headers already sent\"): the CSP silently goes missing unless output \
              buffering happens to hold the page.",
        example: "add_action('wp_head', function () { header('Content-Security-Policy: ...'); \
                  });\n\n\
                  Use instead:\n\
                  add_action('send_headers', function () { header('Content-Security-Policy: \
                  ...'); });",
    },
    Rule {
        code: "PHP505",
        name: "output-before-header",
        what: "Text outside `<?php ?>` (a byte order mark, blank lines before `<?php` or after a \
               closing `?>`) is printed before a header() call with a CSP runs.",
        why: "PHP sends the headers with the first byte of output; a header() call after it \
              fails with \"headers already sent\" unless output buffering is on.",
        example: "\\xEF\\xBB\\xBF<?php  // a BOM, or a newline after the final ?>\n\n\
                  Use instead:\n\
                  <?php  // no BOM, and no closing ?> at the end of the file",
    },
];

pub struct Php;

/// `<?php` or `<?=` in the file's head.
fn looks_like_php(head: &[u8]) -> bool {
    contains(head, b"<?php") || contains(head, b"<?=")
}

impl Dialect for Php {
    fn name(&self) -> &'static str {
        "php"
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    /// `.php` and `.phtml`; an `.inc` only when it is PHP code (it is also a common suffix for
    /// nginx and Apache snippets).
    fn claims_name(&self, _name: &str, ext: &str, head: &[u8]) -> bool {
        matches!(ext, "php" | "phtml") || ext == "inc" && looks_like_php(head)
    }

    fn sniff(&self, head: &Head<'_>) -> Sniff {
        if looks_like_php(head.bytes) {
            Sniff::Certain
        } else {
            Sniff::No
        }
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        let toks = lexer::tokenize(src).map_err(|e| {
            Diagnostic::error(
                "PHP001",
                format!("{} (PHP cannot parse this file)", e.message),
            )
            .at(sites::location(path, src, e.offset))
        })?;
        let code = syntax::Code::new(src, toks);
        let mut finder = sites::Finder::new(path, &code);
        finder.run();
        Ok(FileScan {
            sites: finder.sites,
            diagnostics: finder.diagnostics,
            ..FileScan::default()
        })
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        encode::fragment(site, src, at, fragment)
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        encode::value(site, src, value)
    }

    fn validate_changed_file(&self, file: &ConfigFile<'_>) -> Result<Option<Validator>, String> {
        Ok(Some(Validator::new(vec![
            find_binary(&["php"])?,
            "-l".into(),
            file.target.display().to_string(),
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_string_is_php001_with_its_line() {
        let src = b"<?php\n// ok\nheader('Content-Security-Policy: default-src \\'self\\');\n";
        let err = Php.find(Path::new("functions.php"), src).unwrap_err();
        assert_eq!(err.code, "PHP001");
        let at = err.location.expect("located");
        assert_eq!((at.line, at.col), (3, 8));
    }

    #[test]
    fn every_emitted_code_is_documented() {
        for code in ["PHP001", "PHP501", "PHP502", "PHP503", "PHP504", "PHP505"] {
            assert!(RULES.iter().any(|r| r.code == code), "{code}");
        }
    }
}
