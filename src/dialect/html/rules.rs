//! The HTML dialect's codes (`HTM6xx`): CSP `<meta>` tags that browsers ignore or apply late.

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "HTM601",
        name: "meta-csp-outside-head",
        what: "A `<meta http-equiv=\"Content-Security-Policy\">` that the parser puts in `<body>` \
               (it comes after body content, or after a tag that implies `<body>`).",
        why: "Browsers ignore a CSP meta that is not a child of `<head>` (HTML Standard, \
              http-equiv \"Content security policy state\"), so this policy is not enforced at \
              all. csppatch does not patch it: the vendor is not blocked by it.",
        example: "<body><meta http-equiv=\"Content-Security-Policy\" content=\"default-src \
                  'self'\">\n\n\
                  Use instead:\n\
                  <head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src \
                  'self'\"></head>",
    },
    Rule {
        code: "HTM602",
        name: "meta-report-only",
        what: "A `<meta http-equiv=\"Content-Security-Policy-Report-Only\">`.",
        why: "CSP 3 says a report-only policy cannot be delivered by a meta element; browsers \
              ignore it (Chromium logs that the policy \"has been ignored\"). csppatch does not \
              patch it; send it as an HTTP header instead.",
        example: "<meta http-equiv=\"Content-Security-Policy-Report-Only\" content=\"...\">\n\n\
                  Use instead:\n\
                  Content-Security-Policy-Report-Only: ... (an HTTP response header)",
    },
    Rule {
        code: "HTM603",
        name: "meta-csp-after-resources",
        what: "The CSP meta comes after a `<script>`, `<link>` or `<style>` in the document.",
        why: "A meta policy applies only to what the parser meets after it: the scripts and \
              styles before it load (and inline ones run) unchecked.",
        example: "<script src=\"/app.js\"></script>\n<meta http-equiv=\"Content-Security-Policy\" \
                  ...>\n\n\
                  Use instead:\n\
                  <meta http-equiv=\"Content-Security-Policy\" ...>\n<script \
                  src=\"/app.js\"></script>",
    },
    Rule {
        code: "HTM604",
        name: "meta-csp-without-content",
        what: "A CSP meta whose `content` attribute is missing or empty.",
        why: "Browsers skip such a meta: there is no policy to patch, and the page is not \
              protected by it.",
        example: "<meta http-equiv=\"Content-Security-Policy\">\n\n\
                  Use instead:\n\
                  <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\">",
    },
];
