//! CSPs csppatch saw but could not read: a file that names `Content-Security-Policy` where no
//! site was recognised (a header name from a loop variable, `$response->headers->set(...)`,
//! a value from a template variable). Saying "nothing blocks the vendor" there would be a
//! false all-clear, so each such place gets a warning at its line (E041), and `--check` does
//! not pass (README, "Never a false all-clear").

use crate::diag::Diagnostic;
use crate::scan::{FileSet, ScannedFile};

use super::location;

/// How far (in lines) a recognised site may be from a mention of the header name and still
/// account for it: Apache continuations, a meta tag over several lines, `header(` on one line
/// and the value on the next.
const NEAR: usize = 3;

/// One warning per line of an in-scope file that mentions the header name with no site,
/// binding or variable reference near it.
pub fn unread(set: &FileSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for f in set.files.iter().filter(|f| f.relevant && f.in_scope) {
        let Ok(scan) = &f.scan else { continue };
        let starts = scan
            .sites
            .iter()
            .chain(&scan.bindings)
            .map(|s| s.span.start)
            .chain(scan.refs.iter().map(|r| r.offset));
        // A line the dialect already explained (HTM602: a Report-Only meta browsers ignore)
        // was read.
        let explained = scan
            .diagnostics
            .iter()
            .filter_map(|d| d.location.as_ref())
            .filter(|l| l.path == f.path)
            .map(|l| l.line);
        let mut lines: Vec<usize> = starts
            .map(|o| line_of(&f.src, o))
            .chain(explained)
            .collect();
        // Sorted, so that "a site near this line" is a binary search (10,000 sites and as
        // many mentions made this quadratic).
        lines.sort_unstable();
        // nginx-ui's template header (`# Nginx UI Template Start` ... `End`) is metadata
        // nginx-ui drops before rendering: its prose names the header without setting it.
        let metadata = crate::template::gotmpl::nginx_ui_header(&f.src);
        let mut last_line = 0;
        for at in mentions(&f.src) {
            if metadata.as_ref().is_some_and(|m| m.contains(&at)) {
                continue;
            }
            let line = line_of(&f.src, at);
            let near = lines.partition_point(|&l| l + NEAR < line);
            if line == last_line || lines.get(near).is_some_and(|&l| l <= line + NEAR) {
                continue;
            }
            last_line = line;
            out.push(warning(f, at));
        }
    }
    out
}

fn warning(f: &ScannedFile, at: usize) -> Diagnostic {
    Diagnostic::warning(
        "E041",
        "this names Content-Security-Policy, but csppatch cannot read the policy here (a header \
         name or value built at run time, a framework call, a template expression): check it by hand",
    )
    .at(location(f, at))
    .with_help(help(&f.src, at))
}

/// What was seen at the line, and what to do, by the kind of line: a `<meta>` that code
/// prints (Cacti's `html.php` echoes it from a function), else a header whose name or value
/// comes from a variable, a loop or a framework call.
fn help(src: &[u8], at: usize) -> &'static str {
    let start = src[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = src[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |p| at + p);
    let line = String::from_utf8_lossy(&src[start..end]).to_ascii_lowercase();
    if line.contains("http-equiv") || line.contains("<meta") {
        "a <meta http-equiv> tag that code prints (an echo or print in a function, a string \
         built at run time), not one written in the page: csppatch cannot see the policy it \
         holds; add the vendor's sources where that string is built, and check the page with \
         `csppatch probe URL`"
    } else {
        "the header is set here from a variable, a loop or a framework call, so its policy is \
         not written on this line: add the vendor's sources where the value is defined, and \
         check the page with `csppatch probe URL`"
    }
}

/// Offsets where the header name appears in a line that could set it: not a comment, not a
/// removal (`Header unset`, `proxy_hide_header`, Caddy `-Content-Security-Policy`), not the
/// obsolete `X-Content-Security-Policy`.
fn mentions(src: &[u8]) -> Vec<usize> {
    const NAME: &[u8] = b"content-security-policy";
    let mut out = Vec::new();
    let mut i = 0;
    while i + NAME.len() <= src.len() {
        // Only a `c` can start the name: memchr finds the next one (a compare at every byte
        // of every file in scope was a visible part of the run).
        let Some(at) = memchr::memchr2(b'c', b'C', &src[i..=src.len() - NAME.len()]) else {
            break;
        };
        i += at;
        if !src[i..i + NAME.len()].eq_ignore_ascii_case(NAME) {
            i += 1;
            continue;
        }
        let start = src[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = src[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |p| i + p);
        let line = String::from_utf8_lossy(&src[start..end]).to_ascii_lowercase();
        let before = String::from_utf8_lossy(&src[start..i]).to_ascii_lowercase();
        let comment = ["#", "//", "*", "/*", "<!--", ";"]
            .iter()
            .any(|c| line.trim_start().starts_with(c))
            || before.contains(" #")
            || before.contains("// ");
        let removal = [
            "unset",
            "hide_header",
            "header_remove",
            "clear_headers",
            "remove",
        ]
        .iter()
        .any(|w| line.contains(w))
            || before.ends_with(" -")
            || before.ends_with("\t-");
        let legacy = before.ends_with("x-") || before.ends_with("webkit-");
        // `include h5bp/security/content-security-policy.conf;`: a file name, and an include
        // not found has its own warning (E006).
        let include = ["include", "import"]
            .iter()
            .any(|w| line.trim_start().starts_with(w));
        if !(comment || removal || legacy || include) {
            out.push(i);
        }
        i += NAME.len();
    }
    out
}

/// The 1-based line of `offset` (through the line index: a scan from the start of the file
/// for each site was quadratic).
fn line_of(src: &[u8], offset: usize) -> usize {
    crate::diag::line_col(src, offset).0
}

#[cfg(test)]
mod tests {
    use super::{help, mentions};

    #[test]
    fn help_says_what_was_seen() {
        // Cacti lib/html.php prints the meta from a function.
        let meta =
            b"print \"<meta http-equiv='Content-Security-Policy' content='\" . $csp . \"'>\";\n";
        assert!(help(meta, 30).starts_with("a <meta http-equiv> tag that code prints"));
        let header = b"$response->headers->set('Content-Security-Policy', $csp);\n";
        assert!(help(header, 25).starts_with("the header is set here from a variable"));
    }

    /// Every spelling of the name is found, up to the last byte of the file.
    #[test]
    fn mentions_in_any_case_to_the_end() {
        let src = b"set x content-security-policy;\nheader('CONTENT-Security-Policy";
        assert_eq!(mentions(src), vec![6, 39]);
        assert_eq!(mentions(b"Content-Security-Polic"), Vec::<usize>::new());
    }

    #[test]
    fn mentions_that_could_set_a_policy() {
        let src = b"# Content-Security-Policy is set below\n\
                    Header unset Content-Security-Policy\n\
                    header('X-Content-Security-Policy: x');\n\
                    $response->headers->set('Content-Security-Policy', $csp);\n\
                    header { -Content-Security-Policy }\n\
                    include h5bp/security/content-security-policy.conf;\n";
        let found = mentions(src);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(src[..found[0]].ends_with(b"set('"));
    }
}
