//! The Caddy dialect's diagnostic codes, documented the way `csppatch rules` prints them.

use crate::rule::Rule;

pub const PARSE: &str = "CDY001";
pub const DIRECTIVE: &str = "CDY002";
pub const UNQUOTED_WORDS: &str = "CDY401";
pub const LINE_BREAK: &str = "CDY402";
pub const DEFER_PREFIX: &str = "CDY403";
pub const COLON_NAME: &str = "CDY404";
pub const COMMENT_JOINS_LINE: &str = "CDY405";
pub const NESTED_DELETE: &str = "CDY406";
pub const IMPORT_FROM_ENV: &str = "CDY407";
pub const DEFAULT_ONLY: &str = "CDY408";
pub const UPSTREAM_CSP: &str = "CDY409";

pub static RULES: &[Rule] = &[
    Rule {
        code: PARSE,
        name: "caddyfile-syntax",
        what: "Caddy 2.6's Caddyfile parser refuses the file: a `{` that is never closed, a `}` \
               with no `{`, a site address glued to its `{`, a snippet without a block, an \
               `import` without a path. Quoted braces count: in Caddy 2.6 a token `\"{\"` opens \
               a block like a bare `{`.",
        why: "Caddy will not start with this file, and csppatch cannot know which directive each \
              line belongs to.",
        example: "example.com{\n    header Content-Security-Policy \"default-src 'self'\"\n}\n\n\
                  Use instead:\n\nexample.com {\n    header Content-Security-Policy \"default-src 'self'\"\n}",
    },
    Rule {
        code: DIRECTIVE,
        name: "header-directive-refused",
        what: "Caddy refuses a `header` directive that sets a field both on its line and in a \
               block, or a `header_down` with no field or more than three arguments.",
        why: "Caddy will not load this configuration; the policy in it is never sent.",
        example: "header Content-Security-Policy \"default-src 'self'\" {\n    X-Frame-Options DENY\n}\n\n\
                  Use instead:\n\nheader {\n    Content-Security-Policy \"default-src 'self'\"\n    X-Frame-Options DENY\n}",
    },
    Rule {
        code: UNQUOTED_WORDS,
        name: "csp-value-not-quoted",
        what: "A Content-Security-Policy written as several bare words on a `header` line. \
               With three words `header Content-Security-Policy default-src 'self'` is a \
               replacement: Caddy searches an existing Content-Security-Policy for the regular \
               expression `default-src` and replaces it with `'self'`; it sets nothing. Words \
               after the third start a new header operation. With the `+` or `?` prefix Caddy \
               sends only the first word.",
        why: "The site sends no policy (or a policy of one word) although the file seems to \
              set one, and a replacement rewrites a policy that a `header` before it sets: \
              `default-src` becomes `'self'`. csppatch refuses to patch what it cannot tell \
              Caddy sends (exit 2) until the value is quoted.",
        example: "header Content-Security-Policy default-src 'self' https://cdn.example\n\n\
                  Use instead:\n\nheader Content-Security-Policy \"default-src 'self' https://cdn.example\"",
    },
    Rule {
        code: LINE_BREAK,
        name: "line-break-in-value",
        what: "A quoted header value spans several lines, with or without a `\\` at the end of \
               each line. Caddy keeps both the backslash and the line break in the value; Go's \
               HTTP/1.1 server turns the line break into a space, so the browser receives \
               `default-src 'self'; \\ script-src ...`, where `\\ script-src` is a directive \
               named `\\`, which is ignored. Over HTTP/2 (Caddy's default for HTTPS) a value \
               with a line break is not sent at all.",
        why: "The directive after each backslash is dropped, so the resources it allowed are \
              blocked; over HTTP/2 the site sends no policy at all. csppatch rewrites the value \
              on one line.",
        example: "header Content-Security-Policy \"default-src 'self'; \\\n    script-src 'self' https://widget.example\"\n\n\
                  Use instead:\n\nheader Content-Security-Policy \"default-src 'self'; script-src 'self' https://widget.example\"",
    },
    Rule {
        code: DEFER_PREFIX,
        name: "defer-prefix-needs-caddy-2.7",
        what: "`header >Content-Security-Policy ...`: the `>` (defer) prefix exists since Caddy \
               2.7. Caddy 2.6 sets a header literally named `>Content-Security-Policy`, which \
               Go's HTTP server never sends.",
        why: "On Caddy 2.6 the site sends no policy. csppatch still patches the value, which \
              takes effect once Caddy is 2.7 or newer.",
        example: "header >Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead (Caddy 2.6):\n\nheader {\n    Content-Security-Policy \"default-src 'self'\"\n    defer\n}",
    },
    Rule {
        code: COLON_NAME,
        name: "colon-after-header-name",
        what: "`header Content-Security-Policy: \"...\"` on the directive line. Caddy trims a \
               trailing colon only inside a `header { }` block; on the line it sets a header \
               named `Content-Security-Policy:`, which Go's HTTP server never sends.",
        why: "The site sends no policy.",
        example: "header Content-Security-Policy: \"default-src 'self'\"\n\n\
                  Use instead:\n\nheader Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: COMMENT_JOINS_LINE,
        name: "backslash-in-comment-joins-lines",
        what: "A comment contains a backslash next to a Content-Security-Policy header line. \
               Caddy 2.6's lexer lets a backslash anywhere in a comment escape the line break \
               that ends the comment, so the next line is read as more arguments of the line \
               before the comment.",
        why: "The `header` line after the comment is not a directive any more (or the one \
              before it gains extra arguments and becomes a replacement): the policy is not \
              sent as written.",
        example: "respond \"ok\" # see C:\\docs\nheader Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead:\n\nrespond \"ok\" # see C:/docs\nheader Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: NESTED_DELETE,
        name: "nested-block-removes-csp",
        what: "A `handle`, `route` or similar block deletes the Content-Security-Policy \
               (`header -Content-Security-Policy`) that the enclosing site sets. (Unlike nginx, \
               a nested `header` that sets other fields does not drop the site's headers: \
               Caddy runs the site's `header` directives for every request.)",
        why: "Responses from this block carry no policy, so a vendor added to the site's policy \
              is not restricted there either; usually that is intended, sometimes a leftover.",
        example: "handle /legacy/* {\n    header -Content-Security-Policy\n}\n\n\
                  Use instead (if the block should be protected too): remove the line.",
    },
    Rule {
        code: IMPORT_FROM_ENV,
        name: "import-path-from-environment",
        what: "An `import` whose path contains an environment placeholder (`import \
               {$SITES}/*.caddy`). Caddy substitutes it when it starts; csppatch cannot know \
               the value, so it does not follow the import.",
        why: "The Content-Security-Policy headers in the imported files are not patched unless \
              those files are given to csppatch too.",
        example: "import {$CONF_DIR}/security.caddy\n\n\
                  Use instead: run csppatch on the Caddyfile and on the files under $CONF_DIR, \
                  or write the path in the Caddyfile.",
    },
    Rule {
        code: DEFAULT_ONLY,
        name: "default-value-only",
        what: "The Content-Security-Policy is set with the `?` prefix (`header \
               ?Content-Security-Policy \"...\"`): a default that Caddy writes only when the \
               response has no such field yet.",
        why: "When the response already carries a policy (from the `reverse_proxy` upstream, \
              the application behind `php_fastcgi`, or another `header` line), Caddy \
              leaves that one and does not send this one: the patched value is not what the \
              browser enforces there, and the vendor stays blocked by the other policy.",
        example: "header ?Content-Security-Policy \"default-src 'self'\"\nreverse_proxy app:3000\n\n\
                  Use instead (when this policy should always be sent):\n\n\
                  header {\n    Content-Security-Policy \"default-src 'self'\"\n    defer\n}\nreverse_proxy app:3000\n\n\
                  or patch the policy the upstream sends as well.",
    },
    Rule {
        code: UPSTREAM_CSP,
        name: "upstream-may-send-csp",
        what: "A `header Content-Security-Policy \"...\"` without `defer` (or any \
               `header +Content-Security-Policy`) reaches requests that a `reverse_proxy` or \
               `php_fastcgi` hands to an upstream, which has no `header_down \
               -Content-Security-Policy`. A note: csppatch cannot know whether the \
               application sends a policy of its own.",
        why: "Without `defer`, Caddy writes the field before the upstream answers and then \
              adds the upstream's headers to it: measured with Caddy 2.6, the browser \
              receives both policies and enforces both, so a vendor added to Caddy's is still \
              blocked by the application's. With `defer` (or a deletion in the same `header` \
              block, which defers it too) Caddy's value replaces the upstream's; `+` adds it \
              in any case. Nested `handle` or `route` blocks do not keep the two apart: \
              only sibling `handle` blocks serve different requests.",
        example: "header Content-Security-Policy \"script-src 'self'\"\nreverse_proxy app:3000\n\n\
                  Use instead, where Caddy's policy is the one that should apply:\n\n\
                  header {\n    Content-Security-Policy \"script-src 'self'\"\n    defer\n}\nreverse_proxy app:3000\n\n\
                  or drop the upstream's policy:\n\nreverse_proxy app:3000 {\n    header_down -Content-Security-Policy\n}",
    },
];
