//! Up-front refusals of inputs that would otherwise reach a patch and fail there, or take the
//! run down (the E06x codes, issue 12): sources no URL can match, new sources a server would
//! expand, and the bounds on sources, policies per value and nesting.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "E060",
        name: "source-matches-no-url",
        what: "A source in --allow, in a vendor file or from --custom-domain is valid by CSP3's \
           grammar, but browsers rewrite every URL before matching (the WHATWG URL parser), \
           and no rewritten URL can match it: a host the parser reads as an IPv4 address \
           written another way (`1` is 0.0.0.1, `0x7f.1` and `127.000.0.1` are 127.0.0.1), a \
           host no URL can have (`a.1`: a numeric last label must be an IPv4 address; `xn--a`: \
           not punycode), or a path with a dot segment (`/./`, `/../`, `%2e`). Refused before \
           any file is read or planned.",
        why: "The source would be written into the policy and the vendor would stay blocked in \
          every browser. (An IPv4 address written as browsers write it, `https://127.0.0.1`, \
          is accepted: Chromium and Firefox match it.)",
        example: "--allow 'img-src https://cdn.example/./img/'\n\n\
              Use instead:\n--allow 'img-src https://cdn.example/img/'",
    },
    Rule {
        code: "E061",
        name: "nginx-interpolated-source",
        what: "A new source (from --allow, a vendor file or a preset) holds a `$`, and the \
               value it would go into is an nginx `add_header`, `more_set_headers`, `set` or \
               `map` value. The site is not patched.",
        why: "nginx replaces `$name` and `${name}` in such a value with the variable's value at \
              request time, and has no escape for `$`: browsers would receive another source \
              than the one csppatch merged (`$request_id` becomes a different id on every \
              response), and where the name is one of the value's own variables, reading the \
              patched file back cannot tell the two apart.",
        example: "--allow 'img-src https://cdn.example/$request_id/'\n\n\
                  Use instead:\n--allow 'img-src https://cdn.example/%24request_id/'  \
                  (CSP compares paths percent-decoded: it matches the same URLs)",
    },
    Rule {
        code: "E062",
        name: "too-many-sources",
        what: "The vendors and --allow lists of one run ask for more than 1,000 sources. \
               Refused before any file is read.",
        why: "Each new source is checked against every source of the policy and the merged \
              policy is re-checked for each, so the work grows with the square of their \
              number (4,000 sources took 92 s and 688 MB); no vendor needs that many.",
        example: "--allow 'img-src https://s1.example ... https://s4000.example'\n\n\
                  Use instead:\n--allow 'img-src https://*.cdn.example'  (or several runs)",
    },
    Rule {
        code: "E063",
        name: "too-many-policies",
        what: "One CSP value holds more than 64 comma-separated policies. The site is left \
               as it is.",
        why: "Each policy's edit is encoded into the value and read back against the whole \
              value, so the work grows with the square of the count; a real header holds a \
              few.",
        example:
            "header Content-Security-Policy \"default-src 'self', default-src 'self', ...\"\n\n\
                  Use instead:\nmerge the policies into one, or send them as separate headers",
    },
    Rule {
        code: "E064",
        name: "nesting-too-deep",
        what: "An nginx file nests blocks more than 512 deep. The file is not read (an error \
               at the block that goes past the limit; nothing is written).",
        why: "Every pass over the configuration recurses once per level, so a deep enough \
              nesting exhausts the stack; real configurations nest a few levels (10,000 \
              nested `location`s took 3.5 GB before their labels were shared).",
        example: "location /a { location /a/b { ... 600 levels ... } }\n\n\
                  Use instead:\nflatten the locations (nginx matches them by prefix anyway)",
    },
];
