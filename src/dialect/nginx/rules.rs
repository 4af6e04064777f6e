//! The nginx dialect's codes: `NGX0xx` files nginx refuses, `NGX2xx` lints.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "NGX001",
        name: "nginx-syntax-error",
        what: "The file is not valid nginx syntax: a statement without its `;`, an unbalanced \
               brace, an unterminated quote, text right after a closing quote. The message is \
               nginx's own (`unexpected \"}\"`, `unexpected end of file, expecting \";\" or \"}\"`).",
        why: "nginx refuses to start or reload with this file, so csppatch does not edit it.",
        example: "location /api {\n    proxy_pass http://backend\n}\n\nUse instead:\n\nlocation /api {\n    proxy_pass http://backend;\n}",
    },
    Rule {
        code: "NGX002",
        name: "nginx-parameter-too-long",
        what: "A word or comment does not fit nginx's 4096-byte configuration buffer: nginx \
               reports `too long parameter`. A quoted value holds at most 4094 bytes between \
               its quotes before `;` and 4093 before a space (nginx 1.22).",
        why: "nginx refuses the file.",
        example: "add_header Content-Security-Policy \"<5000 bytes>\" always;\n\nUse instead:\n\nset $csp_a \"<first half>\";\nset $csp_b \"<second half>\";\nadd_header Content-Security-Policy \"$csp_a $csp_b\" always;",
    },
    Rule {
        code: "NGX003",
        name: "nginx-byte-order-mark",
        what: "The file starts with a UTF-8 byte-order mark.",
        why: "nginx does not skip it: the three bytes become part of the first directive's \
              name and nginx stops with `unknown directive \"\u{feff}events\"`.",
        example: "\u{feff}events {}\n\nUse instead: save the file as UTF-8 without BOM.",
    },
    Rule {
        code: "NGX004",
        name: "nginx-directive-refused",
        what: "A Content-Security-Policy `add_header` or `more_set_headers` that nginx refuses: \
               a wrong number of arguments, a third argument other than `always`, or a `$` that \
               does not start a valid variable (`invalid variable name`).",
        why: "nginx refuses the configuration, so csppatch does not edit it.",
        example: "add_header Content-Security-Policy \"script-src 'self' $\" always;\n\nUse instead:\n\nadd_header Content-Security-Policy \"script-src 'self'\" always;",
    },
    Rule {
        code: "NGX201",
        name: "csp-value-line-break",
        what: "A CSP value that continues on another line, with `\\` + newline or a newline \
               inside the quotes.",
        why: "nginx does not join lines: it sends the backslash and the line break inside the \
              header. Browsers then lose the directives after the break, and the widget the \
              snippet was meant to allow is blocked. csppatch rewrites the value on one line.",
        example: "add_header Content-Security-Policy \"default-src 'self'; \\\n    script-src 'self' https://widget.example\" always;\n\nUse instead:\n\nadd_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://widget.example\" always;",
    },
    Rule {
        code: "NGX202",
        name: "add-header-drops-inherited-csp",
        what: "A `server`, `location` or `if` block with an `add_header` of its own but none for \
               the CSP that the enclosing level sends.",
        why: "nginx inherits `add_header` only into blocks that have none: one `add_header \
              Cache-Control ...` in a location silently removes the server's CSP from every \
              response that location serves. nginx 1.29.3 added `add_header_inherit merge;` to \
              keep them; older servers (Debian 12 ships 1.22) need the CSP repeated. No warning \
              when `add_header_inherit` is set.",
        example: "server {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n    location /assets/ {\n        add_header Cache-Control \"public\";\n    }\n}\n\nUse instead:\n\nserver {\n    add_header Content-Security-Policy \"default-src 'self'\" always;\n    location /assets/ {\n        add_header Cache-Control \"public\";\n        add_header Content-Security-Policy \"default-src 'self'\" always;\n    }\n}",
    },
    Rule {
        code: "NGX203",
        name: "csp-add-header-without-always",
        what: "`add_header Content-Security-Policy ...` without the `always` parameter.",
        why: "Without `always`, nginx adds the header only to 200, 201, 204, 206, 301, 302, 303, \
              304, 307 and 308 responses: error pages (404, 500, ...) go out without a CSP. \
              An empty value (`add_header Content-Security-Policy \"\";`, the idiom after \
              `proxy_hide_header` that clears the header) is never sent, so it gets no NGX203; \
              it is no policy to patch either.",
        example: "add_header Content-Security-Policy \"default-src 'self'\";\n\nUse instead:\n\nadd_header Content-Security-Policy \"default-src 'self'\" always;",
    },
    Rule {
        code: "NGX204",
        name: "multiple-csp-headers",
        what: "Two or more `add_header Content-Security-Policy` (or two Report-Only) reach the \
               same block.",
        why: "Browsers enforce every policy they receive: a second header never loosens the \
              first, so a source allowed in one but not the other is still blocked.",
        example: "add_header Content-Security-Policy \"default-src 'self'\" always;\nadd_header Content-Security-Policy \"script-src https://widget.example\" always;\n\nUse instead:\n\nadd_header Content-Security-Policy \"default-src 'self'; script-src 'self' https://widget.example\" always;",
    },
    Rule {
        code: "NGX205",
        name: "csp-value-near-parameter-limit",
        what: "A CSP value within 512 bytes of the longest parameter nginx reads (4094 bytes \
               between quotes, one less before a space), or a patched value that would exceed it.",
        why: "nginx refuses a longer parameter (`too long parameter`), so a policy that grows \
              with each vendor eventually cannot be written in one piece.",
        example: "add_header Content-Security-Policy \"<3900 bytes>\" always;\n\nUse instead:\n\nset $csp_fetch \"default-src 'self'; script-src ...\";\nset $csp_rest \"img-src ...; frame-ancestors 'none'\";\nadd_header Content-Security-Policy \"$csp_fetch; $csp_rest\" always;",
    },
    Rule {
        code: "NGX206",
        name: "upstream-may-send-csp",
        what: "A block that sends a Content-Security-Policy with `add_header` and hands requests \
               to an upstream (`proxy_pass`, `fastcgi_pass`, `uwsgi_pass`, `scgi_pass`, \
               `grpc_pass`) without `proxy_hide_header Content-Security-Policy` (the module's \
               own `*_hide_header`, inherited like `add_header`) or headers-more's \
               `more_clear_headers`. A note: csppatch cannot know whether the application \
               sends a policy of its own.",
        why: "nginx passes the upstream's headers through and `add_header` adds its own beside \
              them: the browser enforces both policies, so a vendor added to nginx's is still \
              blocked by the application's (Nextcloud, Grafana, GitLab and most frameworks' \
              security middleware send one).",
        example: "location / {\n    proxy_pass http://app:3000;\n    add_header Content-Security-Policy \"script-src 'self'\" always;\n}\n\nUse instead, where nginx's policy is the one that should apply:\n\nlocation / {\n    proxy_pass http://app:3000;\n    proxy_hide_header Content-Security-Policy;\n    add_header Content-Security-Policy \"script-src 'self'\" always;\n}",
    },
];
