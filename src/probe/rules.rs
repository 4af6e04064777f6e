//! The codes `csppatch probe` emits (`PRB8xx`), documented for `csppatch rules`.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "PRB800",
        name: "bad-probe-request",
        what: "The URL given to `csppatch probe` is not an http(s) URL, a `--header` is not \
               `Name: value` (or sets Connection, Content-Length or Transfer-Encoding), or the \
               `--cacert` file holds no readable PEM certificate.",
        why: "Nothing was fetched; the probe exits 2.",
        example: "csppatch probe shop.example.com --vendor crisp\n\n\
                  Use instead:\n\
                  csppatch probe https://shop.example.com/ --vendor crisp",
    },
    Rule {
        code: "PRB801",
        name: "fetch-failed",
        what: "The page could not be fetched: the name does not resolve, nothing listens on the \
               port, the TLS handshake or certificate check failed, the answer is not HTTP, or \
               no complete answer came within --timeout.",
        why: "Without the page's response there is no policy to check; the probe exits 2 \
              rather than report a CSP it never saw.",
        example: "csppatch probe https://127.0.0.1:8080/  (the server speaks plain HTTP)\n\n\
                  Use instead:\n\
                  csppatch probe http://127.0.0.1:8080/",
    },
    Rule {
        code: "PRB802",
        name: "error-status",
        what: "The final answer (after redirects) is not a 2xx status: a 404, a login wall's \
               401, a 500. Its policies are shown, but there is no verdict and the probe exits 2.",
        why: "An error page is not the page whose policy you want to know, and it often sends \
              another CSP or none at all (nginx adds headers to 4xx/5xx answers only with \
              `always`): \"no CSP: nothing blocks\" on a 404 would be a false all-clear.",
        example: "csppatch probe https://shop.example.com/acount --vendor crisp  (404)\n\n\
                  Use instead:\n\
                  csppatch probe https://shop.example.com/account --vendor crisp \\\n    \
                  --header 'Cookie: session=...'",
    },
    Rule {
        code: "PRB803",
        name: "too-many-redirects",
        what: "The URL redirects more than 5 times.",
        why: "A loop, or a chain the probe will not follow; browsers give up too (Chromium \
              after 20). Exit 2.",
        example: "http://shop.example.com/ -> https://shop.example.com/ -> http://... \n\n\
                  Use instead:\n\
                  fix the redirect loop, or probe the final URL directly",
    },
    Rule {
        code: "PRB804",
        name: "legacy-browsers-block",
        what: "A vendor requirement is allowed in CSP3 browsers only through `script-src-elem`, \
               `script-src-attr`, `style-src-elem` or `style-src-attr`.",
        why: "Browsers without those directives (Safari before 15.4, Firefox before 108) \
              ignore them and apply script-src/style-src (or default-src), which block the \
              vendor: the widget breaks for those visitors. The exit code follows CSP3 \
              browsers.",
        example: "script-src 'self'; script-src-elem 'self' https://widget.example\n\n\
                  Use instead (if those browsers matter):\n\
                  script-src 'self' https://widget.example",
    },
    Rule {
        code: "PRB805",
        name: "metas-not-read",
        what: "CSP <meta> tags may be missing from the report: the body is not HTML, is \
               compressed although identity was asked for, or was cut after 8 MiB.",
        why: "A policy the probe did not read cannot be checked; the headers still are.",
        example: "Content-Type: application/json\n\n\
                  Use instead:\n\
                  probe the HTML page that loads the widget",
    },
    Rule {
        code: "PRB806",
        name: "requirement-not-checkable",
        what: "A vendor requirement that no single request of a page can test: a hash that \
               only allows integrity-checked loads or (with 'unsafe-hashes') attributes, \
               'unsafe-hashes' itself, 'inline-speculation-rules'.",
        why: "The probe says so instead of calling it allowed; check it in a browser's console.",
        example: "--allow \"script-src 'unsafe-hashes'\"\n\n\
                  Use instead:\n\
                  load the page in a browser and look for CSP violations",
    },
    Rule {
        code: "PRB807",
        name: "headers-not-forwarded",
        what: "The URL redirects to another origin, and the `--header`s were not sent there.",
        why: "A cookie or token meant for one site must not go to another (curl does the same \
              without --location-trusted). The final page may differ from what a logged-in \
              visitor sees.",
        example: "csppatch probe https://example.com/ --header 'Cookie: s=1'  (redirects to \
                  https://www.example.com/)\n\n\
                  Use instead:\n\
                  csppatch probe https://www.example.com/ --header 'Cookie: s=1'",
    },
    Rule {
        code: "PRB808",
        name: "header-sent-on-several-lines",
        what: "A CSP header came across several lines (obsolete line folding): a line break \
               followed by spaces inside the value.",
        why: "Browsers join the lines with one space. When the lines end in `\\` (a vendor \
              snippet's line continuation, which nginx sends as is), every `\\` becomes \
              an unknown directive that swallows the real one after it, so those directives are \
              not enforced and the vendor's requests fall back to default-src (see NGX201).",
        example: "add_header Content-Security-Policy \"default-src 'self'; \\\n    \
                  connect-src 'self' wss://vendor.example\";\n\n\
                  Use instead:\n\
                  add_header Content-Security-Policy \"default-src 'self'; connect-src 'self' \
                  wss://vendor.example\";",
    },
    Rule {
        code: "PRB809",
        name: "meta-not-utf8",
        what: "The content of a CSP <meta> tag is not valid UTF-8: the probe evaluates it with \
               U+FFFD in place of the bytes it could not decode.",
        why: "The browser decodes the page in its own encoding (windows-1252, say), so a source \
              holding those bytes may be allowed or blocked otherwise than the verdict says. \
              CSP sources are ASCII: such bytes are nearly always a character pasted from a \
              word processor or an international domain name.",
        example: "<meta http-equiv=\"Content-Security-Policy\" content=\"img-src https://cdn.exämple.com\">  \
                  (in a windows-1252 page)\n\n\
                  Use instead:\n\
                  <meta http-equiv=\"Content-Security-Policy\" content=\"img-src https://cdn.xn--exmple-cua.com\">",
    },
    Rule {
        code: "PRB810",
        name: "spec-and-browsers-differ",
        what: "The verdict on a vendor requirement follows the shipping browsers, and the CSP3 \
               text would give the other answer: `'self'` and a same-origin `blob:` worker, \
               `*` and a `wss:` socket, `ws:` and an https fetch, `http://host:8080` and \
               https on that port, a host-source naming an IP address.",
        why: "Chromium (measured) and Firefox (read from its source) decide what a visitor's \
              browser loads, not the text. `csppatch` patch mode reads the policy the same way, \
              so it adds a source exactly where the probe says blocked. The note is there so \
              that a reader checking the verdict against the specification is not misled.",
        example: "img-src 'self'  probed for `img-src blob:`: blocked (the CSP3 text: allowed)\n\n\
                  Use instead:\n\
                  img-src 'self' blob:",
    },
];
