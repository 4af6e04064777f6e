//! E043 superseded-header: an Apache `Header set` or an nginx `more_set_headers` replaced by a
//! later one (`pipeline/superseded.rs`).

use crate::rule::declare_rule;

declare_rule! {
    code: "E043",
    name: "superseded-header",
    what: "An Apache `Header set Content-Security-Policy` is followed by another in the same \
           scope and table, or an nginx `more_set_headers` (headers-more) by another for the \
           same header in the same block without `-s`/`-t`: each replaces the header, so only \
           the last one is sent. The earlier one is left as it is, with a warning; the last one \
           is patched.",
    why: "Patching a value the server never sends changes nothing the browser sees; the author \
          probably meant one policy with all the directives.",
    example: "Header set Content-Security-Policy \"default-src 'none'\"\n\
              Header set Content-Security-Policy \"connect-src 'self'\"\n\n\
              Use instead:\nHeader set Content-Security-Policy \"default-src 'none'; connect-src 'self'\"",
}
