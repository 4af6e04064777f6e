//! E042 no-config-files: the paths held no configuration file csppatch reads.

use crate::rule::declare_rule;

declare_rule! {
    code: "E042",
    name: "no-config-files",
    what: "The given paths hold no file csppatch reads as a configuration (nginx, Apache, \
           Caddy, PHP, HTML). A warning; `--check` does not pass.",
    why: "Nothing was checked, so the run cannot say that nothing blocks the vendor (a \
          `htaccess.txt` or a `docker-compose.yml` with the CSP is not recognised by name).",
    example: "csppatch joomla/  (only htaccess.txt holds the CSP)\n\n\
              Use instead:\ncsppatch --dialect apache joomla/htaccess.txt",
}
