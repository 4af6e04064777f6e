//! The command line's arguments: what clap parses for src/main.rs (part of the binary, not
//! the library). Each subcommand's options and their `--help` text live here; main.rs maps
//! them to the library's subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use csppatch::commands::VendorChoice;
use csppatch::dialect::DialectKind;
use csppatch::exclude::Exclude;
use csppatch::render::ColorWhen;

/// Let a third-party widget through your Content-Security-Policy without weakening it.
///
/// csppatch finds the CSP in nginx, Apache httpd, Caddy, WordPress functions.php and HTML
/// <meta> files, merges in the vendor's required sources by the rules of CSP Level 3, changes
/// only the bytes of that value, shows a unified diff, can check the result with the server's
/// own validator, and writes atomically.
///
/// Examples:
///   csppatch /etc/nginx/sites-enabled --vendor muserelay --dry-run
///   csppatch /etc/nginx --vendor intercom --region eu --validate
///   csppatch . --vendor crisp --check            (pre-commit: exit 1 if a file would change)
///   csppatch merge --vendor muserelay "default-src 'self'"
///   csppatch probe https://shop.example.com/ --vendor muserelay   (what the live page blocks)
///   csppatch remove --vendor muserelay /etc/nginx/sites-enabled --dry-run   (offboard it)
///   csppatch audit /etc/nginx --vendor muserelay   (every CSP, its lints and traps; no change)
///
/// Exit codes: 0 done (or nothing to do), 1 --check found changes, 2 bad input (usage,
/// unparsable file, invalid source, unsafe request), 3 validation failed and nothing was written.
/// (`csppatch probe --help` has the probe's.)
#[derive(Parser, Debug)]
#[command(
    name = "csppatch",
    version,
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) patch: PatchArgs,
    /// Colour each stream when it is a terminal (`auto`: unless NO_COLOR is set or TERM=dumb).
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto)]
    pub(crate) color: ColorWhen,
    /// Print only errors and the one-line summary: no diff, no per-site lines, no warnings or
    /// notes (the other subcommands: their output, and only error diagnostics besides).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Print POLICY with the vendors merged in (one line on stdout, diagnostics on stderr).
    Merge {
        #[command(flatten)]
        vendors: VendorArgs,
        /// Treat POLICY as delivered by a <meta> tag (frame-ancestors, report-uri, sandbox are ignored there).
        #[arg(long)]
        meta: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The serialized policy (list), as a header value.
        policy: String,
    },
    /// List the vendor presets, or show one: its sources per directive and region, the
    /// requests each source is there for, its options, notes and pages.
    ///
    /// Examples:
    ///   csppatch vendors
    ///   csppatch vendors recaptcha
    ///   csppatch vendors --json | jq '.vendors[].name'
    #[command(verbatim_doc_comment)]
    Vendors {
        /// A preset (or a vendor of --vendors-file) to show in full.
        #[arg(value_name = "NAME")]
        name: Option<String>,
        /// One JSON document on stdout (schemas/vendors.schema.json): every source, per region
        /// and option, with the known requests.
        #[arg(long)]
        json: bool,
        /// Also list the vendors defined in this file.
        #[arg(long, value_name = "FILE")]
        vendors_file: Vec<PathBuf>,
    },
    /// Explain a diagnostic code (CSP101, NGX201...), or list them all.
    Rules {
        code: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// Examples:
    ///   csppatch completions bash > ~/.local/share/bash-completion/completions/csppatch
    ///   csppatch completions zsh > "${fpath[1]}/_csppatch"
    ///   csppatch completions fish > ~/.config/fish/completions/csppatch.fish
    #[command(verbatim_doc_comment)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    ///
    /// Examples:
    ///   csppatch man | man -l -
    ///   csppatch man > /usr/local/share/man/man1/csppatch.1
    #[command(verbatim_doc_comment)]
    Man,
    /// Fetch a live page and report what its CSP blocks of the vendors' requests.
    ///
    /// GETs URL (following up to 5 redirects), collects every Content-Security-Policy and
    /// Content-Security-Policy-Report-Only header and every CSP <meta> the browser would honour,
    /// and checks each requirement of the vendors against each policy with csppatch's CSP3
    /// evaluator: allowed, or BLOCKED by which policy (header 1, meta line 4) and directive
    /// (after fallback), and why. Report-Only policies are listed apart (they report, never
    /// block), and so are the lints of every policy. Run it after deploying, or before patching.
    ///
    /// 'self' is the origin of the final URL. Only the final response counts (not the headers
    /// of redirects). The page is read as served: a policy that a script adds later is not seen.
    /// Headers are read as browsers read them, so a CSP that nginx sends with a raw line break
    /// (a `\` + newline in the config) is checked as Chromium sees it.
    ///
    /// Examples:
    ///   csppatch probe https://shop.example.com/ --vendor muserelay
    ///   csppatch probe https://shop.example.com/account --vendor intercom --region eu \
    ///       --header 'Cookie: session=abc123'
    ///   csppatch probe http://127.0.0.1:8080/ --header 'Host: shop.example.com' --vendor crisp
    ///   csppatch probe https://shop.example.com/ --vendor crisp --format json | jq .outcome
    ///
    /// Exit codes: 0 every vendor requirement is allowed (or no CSP is enforced), 1 something a
    /// vendor needs is blocked, 2 bad input, the fetch failed (DNS, connection, TLS, timeout,
    /// more than 5 redirects), or the final answer is not 2xx: an error page is not the page you
    /// meant, so its policies are shown without a verdict.
    #[command(verbatim_doc_comment)]
    Probe(ProbeArgs),
    /// Offboard a vendor: take out the sources its preset adds, and the directives csppatch
    /// created for it, with the same safety as a patch run (diff, --check, --dry-run,
    /// --validate, atomic write).
    ///
    /// A policy does not record who added a source, so csppatch removes what it can show was
    /// the vendor's: the vendor's sources a directive ends with (where the patch run appends
    /// them), and a directive that, once they are out, is again a copy of the one it falls back
    /// to (a patch run creates `connect-src` from `default-src`, and pins `worker-src` to what
    /// `script-src` allowed). It keeps, and says so (CSP124): a vendor source that stands
    /// before the site's own sources, or in default-src/child-src (csppatch never adds there),
    /// and what a --keep vendor needs. A broader source that still lets the vendor through
    /// (`https:`, `*`) is named (CSP125). Run right after a patch run, removing gives back the
    /// original bytes.
    ///
    /// Examples:
    ///   csppatch remove --vendor muserelay /etc/nginx/sites-enabled --dry-run
    ///   csppatch remove --vendor intercom --region eu --keep crisp /etc/apache2 --validate
    ///   csppatch remove --vendor crisp . --check      (CI: exit 1 while crisp is still there)
    ///
    /// Exit codes as for a patch run: 0 done (or nothing to remove), 1 --check found changes,
    /// 2 bad input, 3 validation failed and nothing was written.
    #[command(verbatim_doc_comment)]
    Remove(RemoveArgs),
    /// List every CSP site with its lints and delivery traps, and whether vendors already
    /// pass there. Writes nothing; no vendor needed.
    ///
    /// For each Content-Security-Policy and Content-Security-Policy-Report-Only that the
    /// configuration sends: file:line, its scope (server / location / vhost / directory /
    /// page), the policy as the browser receives it (decoded, variables expanded where
    /// csppatch can tell their value, the parts only known at request time named), why it is
    /// locked (SVGs, uploads), every lint of it with its code, and the traps around it
    /// (NGX202: a location's own add_header drops the server's CSP; APA302/APA306: Apache's
    /// two header tables; CDY406: a nested block deletes it; E043: a later `Header set`
    /// replaces it ...; `csppatch rules CODE` explains each). With --vendor (repeatable),
    /// each site says whether the vendor passes, what a patch run would add, or why nothing
    /// can let it through (AUD901).
    ///
    /// Examples:
    ///   csppatch audit /etc/nginx
    ///   csppatch audit /etc/apache2 --vendor muserelay --vendor intercom --region eu
    ///   csppatch audit . --format json | jq '.sites[] | {path, line, policy}'
    ///   csppatch audit . --quiet      (CI: the errors and the summary line)
    ///
    /// Exit codes: 0 no error-level finding, 1 an error-level finding (a file that does not
    /// parse, an error lint, a vendor blocked by an enforced policy), 2 bad input (usage, an
    /// unknown vendor, nothing could be read).
    #[command(verbatim_doc_comment)]
    Audit(AuditArgs),
}

#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// Files or directories to audit (directories are walked; includes are followed).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Check each site for these vendors (optional).
    #[command(flatten)]
    pub(crate) vendors: VendorArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
    /// `json`: one document on stdout (schemas/audit.schema.json), errors included.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Args, Debug)]
pub(crate) struct RemoveArgs {
    /// A vendor whose sources stay where they are needed (repeatable): its requests that the
    /// policy allows keep being allowed, and its sources after the removed vendor's do not
    /// make those look like the site's own. Name every vendor added after the one removed.
    /// Takes --region, --custom-domain and --nonce as --vendor does.
    #[arg(long, value_name = "OTHER")]
    pub(crate) keep: Vec<String>,
    #[command(flatten)]
    pub(crate) patch: PatchArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ProbeArgs {
    /// The page to fetch (http:// or https://), as a visitor opens it.
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) vendors: VendorArgs,
    /// A request header (repeatable): 'Cookie: session=...', 'Authorization: Bearer ...', or
    /// 'Host: shop.example.com' to reach a virtual host by address. Sent to the URL's origin
    /// only, not after a redirect to another origin.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub(crate) header: Vec<String>,
    /// Also trust the CA certificates in this PEM file (a staging site with an internal CA);
    /// the built-in roots are Mozilla's.
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,
    /// Seconds for the whole exchange, redirects included.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) timeout: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Args, Debug)]
pub(crate) struct VendorArgs {
    /// A vendor preset (repeatable): see `csppatch vendors`, or one defined in --vendors-file.
    #[arg(long = "vendor", value_name = "NAME", value_parser = VendorName, hide_possible_values = true)]
    pub(crate) vendor: Vec<String>,
    /// The regional variant for presets that have one (us, eu, au; reCAPTCHA: recaptcha-net).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The custom tracking domain, for presets that take one (Ortto).
    #[arg(long, value_name = "HOST")]
    pub(crate) custom_domain: Option<String>,
    /// The site already puts a nonce on the vendor's script tag (strict CSP): add no script
    /// hosts for presets that document a nonce mode (`csppatch vendors` lists them).
    #[arg(long)]
    pub(crate) nonce: bool,
    /// Ad-hoc sources, validated like preset ones (repeatable): 'DIRECTIVE SOURCE...'.
    #[arg(long, value_name = "'DIRECTIVE SOURCE...'")]
    pub(crate) allow: Vec<String>,
    /// TOML file of extra vendor definitions, same schema as the built-ins (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) vendors_file: Vec<PathBuf>,
    /// Accept http: and ws: sources (unencrypted: development only).
    #[arg(long)]
    pub(crate) allow_insecure: bool,
}

/// How the configuration is read: the same for a patch run, `remove` and `audit`.
#[derive(Args, Debug)]
pub(crate) struct ReadArgs {
    /// Configuration dialect; `auto` picks it per file by name and content.
    #[arg(long, default_value = "auto", value_parser = dialect_parser())]
    pub(crate) dialect: DialectChoice,
    /// The server's main config file, for include resolution and (patch runs) validation (default: the
    /// nearest nginx.conf / apache2.conf / Caddyfile above the paths, else the system one).
    #[arg(long, value_name = "PATH")]
    pub(crate) conf_root: Option<PathBuf>,
    /// Leave out matching files (repeatable): they are not walked, read or patched, and
    /// neither is what only they include. GLOB is matched against each file's path, every
    /// directory above it and every trailing part of those, so `*.svg.conf` and `uploads.conf`
    /// name files at any depth, `legacy` a directory, `sites-enabled/old-*` files in any
    /// sites-enabled, `/etc/nginx/conf.d/x.conf` (leading `/`) one path. `*` stays within a
    /// path component, `**` crosses them; a symlink also matches by the file behind it. The
    /// main config is still read for context; validation checks the real tree, excluded
    /// files included.
    #[arg(long, value_name = "GLOB", value_parser = parse_exclude)]
    pub(crate) exclude: Vec<Exclude>,
    /// Skip, rather than refuse, files that are not a web-server config csppatch can read: a
    /// named file it cannot tell the server of (supervisord.conf, a systemd unit), or one it
    /// took for nginx/Apache by content alone that does not parse and never mentions
    /// Content-Security-Policy (logrotate.conf). For hooks that pass every staged file
    /// (pre-commit); a run where everything was skipped has nothing to change. Without it,
    /// such a file named by hand is an error (exit 2).
    #[arg(long)]
    pub(crate) skip_unknown: bool,
    /// The template engine of templated configs (nginx.conf.j2, default.conf.template,
    /// apache.conf.erb, Caddyfile.tmpl): `auto` tells it by file name and content; `none`
    /// reads every file as it is. Template tags are never edited: a CSP value that holds one
    /// is patched around it, or refused with the tag named.
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = TemplateArg::Auto)]
    pub(crate) template: TemplateArg,
    /// Variables (YAML or JSON mapping) to render templates with before --validate checks
    /// them; for envsubst also the variables it substitutes (nginx's Docker image substitutes
    /// the ones defined in its environment; without this file, upper-case names).
    #[arg(long, value_name = "FILE")]
    pub(crate) template_vars: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct PatchArgs {
    /// Files or directories to patch (directories are walked; includes are followed).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) vendors: VendorArgs,
    #[command(flatten)]
    pub(crate) read: ReadArgs,
    /// Print the unified diff, write nothing, exit 0.
    #[arg(long, conflicts_with = "check")]
    pub(crate) dry_run: bool,
    /// Print the diff, write nothing, exit 1 when any file would change.
    #[arg(long)]
    pub(crate) check: bool,
    /// Run the server's validator (nginx -t, apache2 -t, caddy validate, php -l) on the
    /// patched configuration before anything is written; exit 3 if it fails.
    #[arg(long)]
    pub(crate) validate: bool,
    /// The validator to run instead of the default one (a shell command; implies --validate).
    #[arg(long, value_name = "CMD")]
    pub(crate) validate_cmd: Option<String>,
    /// Also patch locked policies, which are left as they are by default: a policy that
    /// forbids scripts (`script-src 'none'`, `default-src 'none'` without a script directive,
    /// `sandbox` without `allow-scripts`), or one scoped to file types or user files (nginx
    /// `location ~* \.svg$`, `location /uploads`, Apache `<FilesMatch>`, a PHP download
    /// handler). Such policies protect responses that are not pages (SVGs, uploads,
    /// attachments); each one left is named with its file:line and reason (E040).
    #[arg(long)]
    pub(crate) include_locked: bool,
    /// A file to patch that has several hard links: `refuse` writes nothing (the default),
    /// `split` replaces the named file by a new one, crash-safe, leaving the other names with
    /// the old bytes, `in-place` writes the file itself so every name changes, but a kill or a
    /// power cut mid-write can leave it corrupt. Every other file is replaced through a
    /// temporary file and an atomic exchange; concurrent csppatch runs are kept apart by a
    /// lock on each written file's directory (a second run waits up to 30 s,
    /// `CSPPATCH_LOCK_WAIT` seconds, then refuses).
    #[arg(long, value_enum, value_name = "HOW", default_value_t = HardLinksArg::Refuse)]
    pub(crate) hard_links: HardLinksArg,
    /// `json`: one document on stdout (schemas/patch.schema.json), errors included.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// `--dialect`: `None` is `auto`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DialectChoice(pub(crate) Option<DialectKind>);

/// `auto` and every dialect of the registry, in its order.
fn dialect_parser() -> impl clap::builder::TypedValueParser<Value = DialectChoice> {
    let names = std::iter::once("auto").chain(DialectKind::all().map(DialectKind::name));
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| DialectChoice(DialectKind::from_name(&name)))
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum HardLinksArg {
    Refuse,
    Split,
    InPlace,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum TemplateArg {
    Auto,
    None,
    Jinja2,
    Go,
    Erb,
    Envsubst,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
}

/// `--vendor NAME`: any name (a vendor of --vendors-file is only known once that file is
/// read, and the vendors code says "did you mean" for a misspelling), but the presets are
/// offered as possible values, so shell completion completes them.
#[derive(Clone)]
pub(crate) struct VendorName;

impl clap::builder::TypedValueParser for VendorName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::NonEmptyStringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let names: Vec<String> = csppatch::vendors::Catalog::builtin()
            .vendors()
            .iter()
            .map(|v| v.name.clone())
            .collect();
        Some(Box::new(
            names.into_iter().map(clap::builder::PossibleValue::new),
        ))
    }
}

impl VendorArgs {
    pub(crate) fn choice(&self) -> VendorChoice {
        VendorChoice {
            vendors: self.vendor.clone(),
            region: self.region.clone(),
            custom_domain: self.custom_domain.clone(),
            nonce: self.nonce,
            allow: self.allow.clone(),
            vendors_files: self.vendors_file.clone(),
            allow_insecure: self.allow_insecure,
        }
    }
}

pub(crate) fn parse_exclude(glob: &str) -> Result<Exclude, String> {
    Exclude::new(glob)
}
