//! E040 locked-policy: a CSP strict on purpose, left as it is (`pipeline/locked.rs`).

use crate::rule::declare_rule;

declare_rule! {
    code: "E040",
    name: "locked-policy",
    what: "A CSP that is locked on purpose was left as it is: it forbids scripts entirely \
           (`script-src 'none'`, `default-src 'none'` without a script directive, `sandbox` \
           without `allow-scripts`), or it is scoped to file types or user files (nginx \
           `location ~* \\.svg$` or `location /uploads`, Apache `<FilesMatch>`, a PHP download \
           handler). A warning naming the reason and the scope; `--include-locked` patches it too.",
    why: "Such a policy protects responses that are not pages a widget runs in (an SVG, an \
          uploaded file, an e-mail attachment): opening it to the vendor's scripts lets a \
          script in an uploaded file run with the vendor's allowances.",
    example: "location ~* \\.svg$ { add_header Content-Security-Policy \"script-src 'none'\"; }\n\n\
              Use instead:\nnothing: the page policy is patched; pass --include-locked only if \
              the widget really runs in these responses",
}
