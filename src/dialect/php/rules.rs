//! The PHP dialect's codes: `PHP001` files PHP cannot parse, `PHP5xx` lints.

use crate::rule::Rule;

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
    Rule {
        code: "PHP506",
        name: "short-open-tag",
        what: "Code that sends a Content-Security-Policy follows a short open tag (`<?` and \
               white space) instead of `<?php`. A warning at the tag; the CSP after it is not \
               read (E041 at its line), as PHP does not run it by default.",
        why: "With short_open_tag = Off, the value php.ini-production and \
              php.ini-development set, PHP prints the code after `<?` as text: the header() \
              call never runs, the page gets no CSP, and the code shows in the page.",
        example: "<?\nheader(\"Content-Security-Policy: default-src 'self'\");\n\n\
                  Use instead:\n<?php\nheader(\"Content-Security-Policy: default-src 'self'\");",
    },
];
