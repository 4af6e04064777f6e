//! E050 dialect-guess: a file's dialect was chosen from its content, and another was close.

use crate::rule::declare_rule;

declare_rule! {
    code: "E050",
    name: "dialect-guess",
    what: "A file whose name does not say which server reads it (`caddy.conf`, `site.conf`, \
           `default`) was read in the dialect its content looks most like, and another dialect \
           came close. A note, at the file: it names the dialect chosen and the other one.",
    why: "A Caddyfile read as nginx (or the reverse) does not parse or finds no policy; saying \
          which reading was chosen lets the user correct a wrong guess with `--dialect`.",
    example: "csppatch deploy/caddy.conf  (a Caddyfile: matchers, `header` blocks)\n\n\
              note[E050]: read as caddy by its content ... it reads almost as well as nginx\n\
              Use instead, if it is wrong:\ncsppatch --dialect nginx deploy/caddy.conf",
}
