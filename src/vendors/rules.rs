//! The `VND7xx` codes: vendor files (`VND70x`) and the vendor selection (`VND71x`).

use crate::rule::Rule;

pub static RULES: &[Rule] = &[
    Rule {
        code: "VND701",
        name: "invalid-vendor-file",
        what: "A vendor file is not valid TOML, is not UTF-8, has a key csppatch does not know, \
               or a value of the wrong type.",
        why: "An unknown key is usually a typo (`verifed`, `[source]`); ignoring it would \
              silently drop the requirements it was meant to hold.",
        example: "[source]\nscript-src = [\"https://cdn.acme.example\"]\n\n\
                  Use instead:\n[sources]\nscript-src = [\"https://cdn.acme.example\"]",
    },
    Rule {
        code: "VND702",
        name: "invalid-vendor-source",
        what: "A source in a vendor file or in --allow is not a CSP source expression, or uses \
               `http:`/`ws:` without --allow-insecure.",
        why: "Browsers ignore an invalid source (`https://*.ingest.*.sentry.io`: a wildcard is \
              only allowed as the leftmost label), so the vendor stays blocked while the config \
              looks right; an unquoted keyword (`self`) is read as a host named `self`; \
              unencrypted schemes expose the widget's traffic.",
        example: "connect-src = [\"https://*.ingest.*.sentry.io\", \"self\"]\n\n\
                  Use instead:\nconnect-src = [\"https://o1.ingest.us.sentry.io\", \"'self'\"]",
    },
    Rule {
        code: "VND703",
        name: "invalid-vendor-directive",
        what: "A vendor file or --allow names a directive that is not a CSP directive, or one \
               that cannot take a vendor source (`default-src`, `child-src`, `sandbox`, \
               `report-uri`...).",
        why: "A misspelt directive is ignored by browsers. `default-src` and `child-src` are \
              fallbacks: a host added there is allowed for every request type that falls back \
              to them, which is more than the vendor asked for, so csppatch never widens them.",
        example: "default-src = [\"https://*.zdassets.com\"]\n\n\
                  Use instead:\nscript-src = [\"https://*.zdassets.com\"]\n\
                  connect-src = [\"https://*.zdassets.com\"]",
    },
    Rule {
        code: "VND704",
        name: "source-is-not-a-requirement",
        what: "A vendor file or --allow lists `'none'`, `'strict-dynamic'`, `'report-sample'` or \
               a nonce.",
        why: "These do not allow a vendor's requests: `'none'` allows nothing, \
              `'strict-dynamic'` makes browsers ignore every host in the list (a decision for \
              the site's own policy), and a nonce must change with every response, so a fixed \
              one in a config file defeats it.",
        example: "script-src = [\"'nonce-abc123'\"]\n\n\
                  Use instead: put the site's own nonce on the vendor's script tag and select \
                  the vendor's nonce mode.",
    },
    Rule {
        code: "VND705",
        name: "duplicate-vendor",
        what: "Two vendor definitions (in one file, or in two --vendors-file files) have the \
               same name.",
        why: "Only one of them could be used, and which one would depend on the order of the \
              files. (A user vendor named like a built-in preset replaces it: see VND717.)",
        example: "[[vendor]]\nname = \"acme\"\n...\n[[vendor]]\nname = \"acme\"\n\n\
                  Use instead: one `[[vendor]]` named `acme`, or two different names.",
    },
    Rule {
        code: "VND706",
        name: "invalid-vendor-metadata",
        what: "A vendor's `name` is not lower-case letters, digits and `-`, its `title` is \
               empty, or its `source_url` is not an http(s) URL.",
        why: "The name is typed after --vendor and shown in every message; the title and the \
              URL tell users what the preset is and where to check it.",
        example: "name = \"Acme Chat\"\n\nUse instead:\nname = \"acme-chat\"",
    },
    Rule {
        code: "VND707",
        name: "inconsistent-regions",
        what: "A vendor has [regions.*] tables but no `default_region`, a `default_region` that \
               is not one of them, a `default_region` without regions, or a region name that \
               is not lower-case letters, digits and `-`.",
        why: "Without a default, a user who gives no --region would get none of the regional \
              hosts, and the widget would fail in a way the config does not show.",
        example: "[regions.us]\n...\n[regions.eu]\n...\n\n\
                  Use instead:\ndefault_region = \"us\"   # before the first table\n\
                  [regions.us]\n...",
    },
    Rule {
        code: "VND708",
        name: "invalid-vendor-parameter",
        what: "A vendor's [params.*] table names a parameter other than `custom-domain`, a \
               replacement whose `source` is not listed under its directive, or a `with` that \
               lacks `<customdomain>` or is not a valid source once a host is put in.",
        why: "A replacement that matches nothing leaves the vendor's default host in place, so \
              --custom-domain would silently not apply.",
        example: "replace = [{ directive = \"script-src\", source = \"https://cdn2l.ink\", \
                  with = \"<customdomain>\" }]   # the file lists https://cdn2l.ink/\n\n\
                  Use instead:\nreplace = [{ directive = \"script-src\", source = \
                  \"https://cdn2l.ink/\", with = \"<customdomain>\" }]",
    },
    Rule {
        code: "VND709",
        name: "empty-vendor",
        what: "A vendor file defines no vendor, a vendor lists no source, or a directive's list \
               is empty.",
        why: "An empty list adds nothing: it is almost always sources that were meant to be \
              there and were lost in an edit.",
        example: "[sources]\nscript-src = []\n\n\
                  Use instead:\n[sources]\nscript-src = [\"https://cdn.acme.example\"]",
    },
    Rule {
        code: "VND710",
        name: "unknown-vendor",
        what: "--vendor names a vendor that is neither a built-in preset nor defined in a \
               --vendors-file.",
        why: "Nothing would be added for it; the message lists the known names and the closest \
              one.",
        example: "csppatch --vendor intercomm site.conf\n\n\
                  Use instead:\ncsppatch --vendor intercom site.conf",
    },
    Rule {
        code: "VND711",
        name: "unknown-region",
        what: "--region names a region the selected vendor does not have.",
        why: "The vendor's regional hosts (API, WebSocket, uploads) would be missing and the \
              widget would fail for that region.",
        example: "csppatch --vendor customerio --region au site.conf\n\n\
                  Use instead:\ncsppatch --vendor customerio --region eu site.conf",
    },
    Rule {
        code: "VND712",
        name: "region-not-applicable",
        what: "Note: --region is given and a selected vendor has no regional variants.",
        why: "Its sources are the same everywhere, so --region does not change them; the note \
              says so in case a regional variant was expected.",
        example: "csppatch --vendor crisp --region eu site.conf\n\n\
                  Use instead:\ncsppatch --vendor crisp site.conf",
    },
    Rule {
        code: "VND713",
        name: "invalid-custom-domain",
        what: "--custom-domain is not a host name (a URL, a port, a path, a wildcard, non-ASCII \
               or a single label).",
        why: "The host is written into the policy as a source: anything else would produce an \
              invalid or wider source than the vendor's tracking domain.",
        example: "--custom-domain https://track.example.com/\n\n\
                  Use instead:\n--custom-domain track.example.com",
    },
    Rule {
        code: "VND714",
        name: "custom-domain-not-applicable",
        what: "--custom-domain is given but no selected vendor has a custom tracking domain.",
        why: "The domain would be silently ignored, and the vendor's default hosts used instead \
              of the ones the user meant.",
        example:
            "csppatch --vendor intercom --custom-domain track.example.com site.conf\n\n\
                  Use instead:\ncsppatch --vendor ortto --custom-domain track.example.com site.conf",
    },
    Rule {
        code: "VND715",
        name: "invalid-allow",
        what: "An --allow value is not `DIRECTIVE SOURCE...`: empty, a directive without \
               sources, a source first, or several directives joined with `;`.",
        why: "The value is read as one directive and its sources; anything else would add \
              sources under the wrong directive or none.",
        example: "--allow 'connect-src wss://a.example; img-src https://b.example'\n\n\
                  Use instead:\n--allow 'connect-src wss://a.example' --allow 'img-src \
                  https://b.example'",
    },
    Rule {
        code: "VND716",
        name: "unverified-vendor",
        what: "Warning: a selected preset (or some of its sources) was only found in \
               third-party copies of the vendor's page.",
        why: "Such copies go stale or carry mistakes: the sources may be missing hosts the \
              widget needs, or allow hosts it no longer uses.",
        example: "csppatch --vendor stripe site.conf\n\n\
                  Use instead: compare the preset with the vendor's page (csppatch vendors \
                  --json shows its URL) and, if they differ, write your own vendor file for \
                  --vendors-file.",
    },
    Rule {
        code: "VND717",
        name: "builtin-vendor-replaced",
        what: "Note: a --vendors-file defines a vendor with the name of a built-in preset, \
               which it replaces.",
        why: "Deliberate most of the time (a vendor's newer list), but a user who only meant to \
              add a vendor should know the built-in is no longer used.",
        example: "[[vendor]]\nname = \"intercom\"\n...\n\n\
                  Use instead (to keep both):\n[[vendor]]\nname = \"intercom-extra\"\n...",
    },
    Rule {
        code: "VND718",
        name: "no-nonce-mode",
        what: "Note: nonce mode is asked for and a selected vendor documents no nonce mode.",
        why: "Its script-src sources are added as usual, since nothing says its scripts load \
              with the site's nonce alone.",
        example: "csppatch --vendor muserelay --nonce site.conf   (muserelay's script-src is \
                  still added)\n\nUse instead: nothing to change if that is expected.",
    },
    Rule {
        code: "VND719",
        name: "vendors-file-unreadable",
        what: "A --vendors-file cannot be read (missing, a directory, no permission).",
        why: "The vendors it defines would be missing; csppatch stops rather than patch \
              without them.",
        example: "csppatch --vendors-file vendor.toml ...   (the file is vendors.toml)\n\n\
                  Use instead:\ncsppatch --vendors-file vendors.toml ...",
    },
    Rule {
        code: "VND720",
        name: "nothing-to-add",
        what: "A patch or probe run names no vendor and no --allow: there is no requirement \
               to add or to check.",
        why: "Without a requirement csppatch would read every file and change none of them; it \
              stops at once instead (exit 2).",
        example: "csppatch /etc/nginx/sites-enabled\n\n\
                  Use instead:\ncsppatch /etc/nginx/sites-enabled --vendor muserelay",
    },
    Rule {
        code: "VND721",
        name: "invalid-vendor-request",
        what: "A vendor's [[request]] or [[reason]] is malformed: no `url` or `inline` (or \
               both), a URL that does not parse, an inline need its directive does not decide, \
               an unknown region, `loaded_by` or `when`, no `docs`/`snippet`/`observed` page, \
               or a [[reason]] for a source the vendor does not list.",
        why: "Requests are what a preset is tested against and what `csppatch vendors NAME` \
              shows beside each source; one that cannot be checked, or that says nowhere \
              where it comes from, proves nothing.",
        example: "[[request]]\ndirective = \"script-src\"\nurl = \"cdn.acme.example/w.js\"\n\n\
                  Use instead:\n[[request]]\ndirective = \"script-src\"\n\
                  url = \"https://cdn.acme.example/w.js\"\n\
                  snippet = \"https://acme.example/install\"",
    },
];
