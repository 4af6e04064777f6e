//! The Apache dialect's codes: `APA0xx` files httpd refuses, `APA3xx` lints.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "APA001",
        name: "section-not-closed",
        what: "A section such as `<VirtualHost>` or `<Directory>` is still open at the end of the \
               file, outside any `<IfModule>`-style conditional section.",
        why: "httpd refuses the whole configuration (`<Directory> was not closed.`), so none of \
              its headers are sent. csppatch does not edit a file httpd cannot read.",
        example: "<Directory /var/www>\n    Header set Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead:\n<Directory /var/www>\n    Header set Content-Security-Policy \"default-src 'self'\"\n</Directory>",
    },
    Rule {
        code: "APA002",
        name: "section-close-mismatch",
        what: "A closing tag names another section than the one open (`Expected </Directory> but \
               saw </Location>`), closes nothing (`</Directory> without matching <Directory> \
               section`), or closes a conditional section on a line that holds more than \
               `</IfModule>`.",
        why: "httpd refuses the configuration. The body of `<IfModule>`, `<IfDefine>` and the \
              other conditional sections ends only at a line that is exactly `</IfModule>`, so \
              even a trailing comment there is an error.",
        example: "<IfModule mod_headers.c>\n    Header set Content-Security-Policy \"default-src 'self'\"\n</IfModule> # headers\n\n\
                  Use instead:\n<IfModule mod_headers.c>\n    Header set Content-Security-Policy \"default-src 'self'\"\n</IfModule>",
    },
    Rule {
        code: "APA003",
        name: "section-missing-bracket",
        what: "An opening or closing section tag lacks its `>`.",
        why: "httpd refuses the configuration (`<Directory> directive missing closing '>'`).",
        example: "<Directory /var/www\n\nUse instead:\n<Directory /var/www>",
    },
    Rule {
        code: "APA004",
        name: "header-line-refused",
        what: "A `Header` line that sets a Content-Security-Policy has arguments httpd refuses: \
               more than one value (often a `# comment` after it), an unknown condition, or a \
               `%` that starts no mod_headers format.",
        why: "httpd only reads `#` as a comment at the start of a line: after the value it is one \
              more argument (`Too many arguments to directive`). In the value, `%` starts a \
              format such as `%{VAR}e`; `%20` or a lone `%` before a letter is refused \
              (`Unrecognized header format %2`). The configuration does not start.",
        example: "Header set Content-Security-Policy \"default-src 'self'\" # strict\n\n\
                  Use instead:\n# strict\nHeader set Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: "APA005",
        name: "byte-order-mark",
        what: "The file starts with a UTF-8 byte order mark.",
        why: "Outside Windows, httpd reads the three bytes as part of the first directive and \
              stops (`Invalid command '\\xef\\xbb\\xbf...'`), so nothing in the file applies.",
        example: "<EF BB BF>Header set Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead: save the file as UTF-8 without BOM.",
    },
    Rule {
        code: "APA006",
        name: "htaccess-line-too-long",
        what: "A line of a `.htaccess` file is longer than 8191 bytes, continuations joined.",
        why: "httpd reads `.htaccess` lines into a buffer of 8192 bytes (the server \
              configuration allows 16 MB) and answers every request below that directory \
              with 500 (`Line too long`). Backslash continuations do not help: the limit is \
              on the joined line. `apache2 -t` does not read `.htaccess` files.",
        example: "# .htaccess\nHeader set Content-Security-Policy \"default-src 'self' ... 9000 bytes\"\n\n\
                  Use instead (server configuration):\n<Directory /var/www/html>\n    Header set Content-Security-Policy \"...\"\n</Directory>",
    },
    Rule {
        code: "APA301",
        name: "line-break-in-value",
        what: "The CSP value holds `\\n` or `\\r`: mod_headers turns them into a line feed or \
               carriage return in the header.",
        why: "`apache2 -t` accepts it, but httpd 2.4 refuses to send such a header and answers \
              every request with 500 (`AH02430: Response header ... contains invalid \
              characters, aborting request`). csppatch rewrites the value on one line with \
              the breaks as spaces.",
        example: "Header set Content-Security-Policy \"default-src 'self';\\n script-src 'self'\"\n\n\
                  Use instead (a backslash at the end of a line continues it):\n\
                  Header set Content-Security-Policy \"default-src 'self'; \\\n    script-src 'self'\"",
    },
    Rule {
        code: "APA302",
        name: "csp-in-both-tables",
        what: "`Header always set` and `Header set` (the `onsuccess` table) both set a \
               Content-Security-Policy for the same requests.",
        why: "They are two tables: on a 2xx response httpd sends both, so browsers receive two \
              policies and enforce each. A vendor allowed in one is still blocked by the \
              other, so csppatch patches both.",
        example: "Header always set Content-Security-Policy \"default-src 'self'\"\n\
                  Header set Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead:\nHeader always set Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: "APA303",
        name: "second-policy",
        what: "The CSP is sent with `Header add`, `append` or `merge`.",
        why: "`add` sends another header when a policy is already set (by another `Header` \
              line, the application or a proxied backend), and `append`/`merge` join it with \
              `, `, which browsers read as a second policy. Browsers enforce every policy: a \
              source allowed in only one of them stays blocked.",
        example: "Header add Content-Security-Policy \"script-src 'self' https://widget.example\"\n\n\
                  Use instead:\nHeader set Content-Security-Policy \"script-src 'self' https://widget.example\"",
    },
    Rule {
        code: "APA304",
        name: "setifempty",
        what: "The CSP is sent with `Header setifempty`.",
        why: "It only applies when the response has no Content-Security-Policy yet in that \
              table, for example when the backend sent none. When the application sends its \
              own policy, that one goes out unpatched.",
        example: "Header setifempty Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead (when this policy should always win):\n\
                  Header set Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: "APA305",
        name: "edit-after-set",
        what: "`Header edit` or `edit*` rewrites the Content-Security-Policy.",
        why: "The edit runs after the value is set, so the patched policy goes through the \
              regular expression too and may lose or change what csppatch added.",
        example: "Header set Content-Security-Policy \"default-src 'self'\"\n\
                  Header edit Content-Security-Policy \"'self'\" \"'self' https://cdn.example\"\n\n\
                  Use instead:\nHeader set Content-Security-Policy \"default-src 'self' https://cdn.example\"",
    },
    Rule {
        code: "APA306",
        name: "unset-removes-csp",
        what: "`Header unset Content-Security-Policy` runs after a CSP set in the same table: \
               further down the same section, or in a section that applies later.",
        why: "The unset removes the policy for the requests it applies to, so patching the \
              value changes nothing there.",
        example: "Header always set Content-Security-Policy \"default-src 'self'\"\n\
                  <Location /embed>\n    Header always unset Content-Security-Policy\n</Location>\n\n\
                  Use instead (if /embed should be protected too): remove the unset, or set \
                  the policy /embed needs inside <Location /embed>",
    },
    Rule {
        code: "APA307",
        name: "htaccess-needs-fileinfo",
        what: "A `.htaccess` file sets a Content-Security-Policy.",
        why: "`Header` is allowed in `.htaccess` only where the directory's `AllowOverride` \
              includes `FileInfo` (or `All`); elsewhere every request below it fails with 500 \
              (`Header not allowed here`). `apache2 -t` does not read `.htaccess` files, so it \
              cannot tell.",
        example: "# .htaccess\nHeader set Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead (server configuration):\n<Directory /var/www/html>\n    AllowOverride FileInfo\n</Directory>",
    },
    Rule {
        code: "APA308",
        name: "unterminated-quote",
        what: "The quote that opens the CSP value is never closed.",
        why: "httpd reads the value to the end of the line and drops trailing blanks, so it \
              works, but a later edit that adds words after it would land inside the value. \
              When csppatch rewrites the whole value it adds the closing quote.",
        example: "Header set Content-Security-Policy \"default-src 'self'\n\n\
                  Use instead:\nHeader set Content-Security-Policy \"default-src 'self'\"",
    },
    Rule {
        code: "APA309",
        name: "echo-csp",
        what: "`Header echo` copies request headers whose name matches a regular expression that \
               names Content-Security-Policy.",
        why: "A request carrying such a header gets it back as a second policy, which csppatch \
              cannot patch.",
        example: "Header echo ^Content-Security-Policy$\n\nUse instead: remove the line.",
    },
    Rule {
        code: "APA310",
        name: "conditional-not-closed",
        what: "An `<IfModule>`, `<IfDefine>` or other conditional section is still open at the end \
               of the file.",
        why: "httpd accepts it only while the condition holds (the module is loaded, the name is \
              defined); otherwise it stops with `Expected </IfModule> before end of \
              configuration`.",
        example: "<IfModule mod_headers.c>\n    Header set Content-Security-Policy \"default-src 'self'\"\n\n\
                  Use instead:\n<IfModule mod_headers.c>\n    Header set Content-Security-Policy \"default-src 'self'\"\n</IfModule>",
    },
    Rule {
        code: "APA311",
        name: "unset-misses-other-table",
        what: "`Header unset Content-Security-Policy` (or `Header always unset`) is meant to \
               remove a CSP that is set in the other table.",
        why: "mod_headers keeps two tables: an unset in the `onsuccess` table does not touch \
              `Header always set`, and the reverse. That policy is still sent.",
        example: "Header always set Content-Security-Policy \"default-src 'self'\"\n\
                  <Location /embed>\n    Header unset Content-Security-Policy\n</Location>\n\n\
                  Use instead:\n<Location /embed>\n    Header always unset Content-Security-Policy\n</Location>",
    },
    Rule {
        code: "APA312",
        name: "backend-may-send-csp",
        what: "A file that sends a Content-Security-Policy with `Header` hands requests to a \
               backend (`ProxyPass`, `ProxyPassMatch`, `RewriteRule ... [P]`, `SetHandler \
               \"proxy:...\"`) and sends its policy in the other of mod_headers' two tables \
               than the one the backend's headers land in, with no `Header unset` of that \
               table for those requests. A note: csppatch cannot know whether the application \
               sends a policy of its own.",
        why: "mod_proxy_http (and uwsgi, ajp) puts the backend's headers in the `onsuccess` \
              table, so `Header always set` is sent beside the application's policy; \
              mod_proxy_fcgi and scgi read a CGI response into the `always` table, so there \
              `Header set` is. Measured with httpd 2.4: the browser receives both policies and \
              enforces both, so a vendor added to httpd's is still blocked by the \
              application's (Nextcloud, Grafana, WordPress plugins and most frameworks' \
              security middleware send one). `Header always unset` does not touch the \
              `onsuccess` table, and an `early` unset runs before the backend answers.",
        example: "<Location />\n    ProxyPass http://app:3000/\n    Header always set Content-Security-Policy \"script-src 'self'\"\n</Location>\n\n\
                  Use instead, where httpd's policy is the one that should apply:\n\
                  <Location />\n    ProxyPass http://app:3000/\n    Header unset Content-Security-Policy\n    Header always set Content-Security-Policy \"script-src 'self'\"\n</Location>\n\n\
                  (behind `SetHandler \"proxy:fcgi://...\"`: `Header always unset`, or `Header always set` alone)",
    },
];
