//! The command line: arguments in, the library's subcommands called, what they return
//! printed with the library's renderers, exit codes out.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use csppatch::commands::{self, VendorChoice};
use csppatch::commit::HardLinks;
use csppatch::csp::Delivery;
use csppatch::diag::Diagnostic;
use csppatch::dialect::DialectKind;
use csppatch::exclude::Exclude;
use csppatch::render::json::{self as json_doc, Document};
use csppatch::render::{self, diagnostic, ColorWhen, Streams, Verbosity};
use csppatch::report::Report;
use csppatch::scan::ScanOptions;
use csppatch::{exit, template, Mode, PatchOptions};

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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    patch: PatchArgs,
    /// Colour each stream when it is a terminal (`auto`: unless NO_COLOR is set or TERM=dumb).
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Print only errors and the one-line summary: no diff, no per-site lines, no warnings or
    /// notes (the other subcommands: their output, and only error diagnostics besides).
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
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
struct AuditArgs {
    /// Files or directories to audit (directories are walked; includes are followed).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// Check each site for these vendors (optional).
    #[command(flatten)]
    vendors: VendorArgs,
    /// Configuration dialect; `auto` picks it per file by name and content.
    #[arg(long, default_value = "auto", value_parser = dialect_parser())]
    dialect: DialectChoice,
    /// The server's main config file, for include resolution (default: the nearest
    /// nginx.conf / apache2.conf / Caddyfile above the paths, else the system one).
    #[arg(long, value_name = "PATH")]
    conf_root: Option<PathBuf>,
    /// Leave out matching files (repeatable), as for a patch run.
    #[arg(long, value_name = "GLOB", value_parser = parse_exclude)]
    exclude: Vec<Exclude>,
    /// Skip files that are not a web-server config csppatch can read, as for a patch run.
    #[arg(long)]
    skip_unknown: bool,
    /// The template engine of templated configs, as for a patch run.
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = TemplateArg::Auto)]
    template: TemplateArg,
    /// Variables (YAML or JSON mapping) for templates, as for a patch run.
    #[arg(long, value_name = "FILE")]
    template_vars: Option<PathBuf>,
    /// `json`: one document on stdout (schemas/audit.schema.json), errors included.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args, Debug)]
struct RemoveArgs {
    /// A vendor whose sources stay where they are needed (repeatable): its requests that the
    /// policy allows keep being allowed, and its sources after the removed vendor's do not
    /// make those look like the site's own. Name every vendor added after the one removed.
    /// Takes --region, --custom-domain and --nonce as --vendor does.
    #[arg(long, value_name = "OTHER")]
    keep: Vec<String>,
    #[command(flatten)]
    patch: PatchArgs,
}

#[derive(Args, Debug)]
struct ProbeArgs {
    /// The page to fetch (http:// or https://), as a visitor opens it.
    #[arg(value_name = "URL")]
    url: String,
    #[command(flatten)]
    vendors: VendorArgs,
    /// A request header (repeatable): 'Cookie: session=...', 'Authorization: Bearer ...', or
    /// 'Host: shop.example.com' to reach a virtual host by address. Sent to the URL's origin
    /// only, not after a redirect to another origin.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    header: Vec<String>,
    /// Also trust the CA certificates in this PEM file (a staging site with an internal CA);
    /// the built-in roots are Mozilla's.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Seconds for the whole exchange, redirects included.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args, Debug)]
struct VendorArgs {
    /// A vendor preset (repeatable): see `csppatch vendors`, or one defined in --vendors-file.
    #[arg(long = "vendor", value_name = "NAME", value_parser = VendorName, hide_possible_values = true)]
    vendor: Vec<String>,
    /// The regional variant for presets that have one (us, eu, au; reCAPTCHA: recaptcha-net).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The custom tracking domain, for presets that take one (Ortto).
    #[arg(long, value_name = "HOST")]
    custom_domain: Option<String>,
    /// The site already puts a nonce on the vendor's script tag (strict CSP): add no script
    /// hosts for presets that document a nonce mode (`csppatch vendors` lists them).
    #[arg(long)]
    nonce: bool,
    /// Ad-hoc sources, validated like preset ones (repeatable): 'DIRECTIVE SOURCE...'.
    #[arg(long, value_name = "'DIRECTIVE SOURCE...'")]
    allow: Vec<String>,
    /// TOML file of extra vendor definitions, same schema as the built-ins (repeatable).
    #[arg(long, value_name = "FILE")]
    vendors_file: Vec<PathBuf>,
    /// Accept http: and ws: sources (unencrypted: development only).
    #[arg(long)]
    allow_insecure: bool,
}

#[derive(Args, Debug)]
struct PatchArgs {
    /// Files or directories to patch (directories are walked; includes are followed).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    vendors: VendorArgs,
    /// Configuration dialect; `auto` picks it per file by name and content.
    #[arg(long, default_value = "auto", value_parser = dialect_parser())]
    dialect: DialectChoice,
    /// Print the unified diff, write nothing, exit 0.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// Print the diff, write nothing, exit 1 when any file would change.
    #[arg(long)]
    check: bool,
    /// Run the server's validator (nginx -t, apache2 -t, caddy validate, php -l) on the
    /// patched configuration before anything is written; exit 3 if it fails.
    #[arg(long)]
    validate: bool,
    /// The validator to run instead of the default one (a shell command; implies --validate).
    #[arg(long, value_name = "CMD")]
    validate_cmd: Option<String>,
    /// The server's main config file, for include resolution and validation (default: the
    /// nearest nginx.conf / apache2.conf / Caddyfile above the paths, else the system one).
    #[arg(long, value_name = "PATH")]
    conf_root: Option<PathBuf>,
    /// Leave out matching files (repeatable): they are not walked, read or patched, and
    /// neither is what only they include. GLOB is matched against each file's path, every
    /// directory above it and every trailing part of those, so `*.svg.conf` and `uploads.conf`
    /// name files at any depth, `legacy` a directory, `sites-enabled/old-*` files in any
    /// sites-enabled, `/etc/nginx/conf.d/x.conf` (leading `/`) one path. `*` stays within a
    /// path component, `**` crosses them; a symlink also matches by the file behind it. The
    /// main config is still read for context; validation checks the real tree, excluded
    /// files included.
    #[arg(long, value_name = "GLOB", value_parser = parse_exclude)]
    exclude: Vec<Exclude>,
    /// Skip, rather than refuse, files that are not a web-server config csppatch can read: a
    /// named file it cannot tell the server of (supervisord.conf, a systemd unit), or one it
    /// took for nginx/Apache by content alone that does not parse and never mentions
    /// Content-Security-Policy (logrotate.conf). For hooks that pass every staged file
    /// (pre-commit); a run where everything was skipped has nothing to change. Without it,
    /// such a file named by hand is an error (exit 2).
    #[arg(long)]
    skip_unknown: bool,
    /// Also patch locked policies, which are left as they are by default: a policy that
    /// forbids scripts (`script-src 'none'`, `default-src 'none'` without a script directive,
    /// `sandbox` without `allow-scripts`), or one scoped to file types or user files (nginx
    /// `location ~* \.svg$`, `location /uploads`, Apache `<FilesMatch>`, a PHP download
    /// handler). Such policies protect responses that are not pages (SVGs, uploads,
    /// attachments); each one left is named with its file:line and reason (E040).
    #[arg(long)]
    include_locked: bool,
    /// The template engine of templated configs (nginx.conf.j2, default.conf.template,
    /// apache.conf.erb, Caddyfile.tmpl): `auto` tells it by file name and content; `none`
    /// reads every file as it is. Template tags are never edited: a CSP value that holds one
    /// is patched around it, or refused with the tag named.
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = TemplateArg::Auto)]
    template: TemplateArg,
    /// Variables (YAML or JSON mapping) to render templates with before --validate checks
    /// them; for envsubst also the variables it substitutes (nginx's Docker image substitutes
    /// the ones defined in its environment; without this file, upper-case names).
    #[arg(long, value_name = "FILE")]
    template_vars: Option<PathBuf>,
    /// A file to patch that has several hard links: `refuse` writes nothing (the default),
    /// `split` replaces the named file by a new one, crash-safe, leaving the other names with
    /// the old bytes, `in-place` writes the file itself so every name changes, but a kill or a
    /// power cut mid-write can leave it corrupt. Every other file is replaced through a
    /// temporary file and an atomic exchange; concurrent csppatch runs are kept apart by a
    /// lock on each written file's directory (a second run waits up to 30 s,
    /// `CSPPATCH_LOCK_WAIT` seconds, then refuses).
    #[arg(long, value_enum, value_name = "HOW", default_value_t = HardLinksArg::Refuse)]
    hard_links: HardLinksArg,
    /// `json`: one document on stdout (schemas/patch.schema.json), errors included.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `--dialect`: `None` is `auto`.
#[derive(Clone, Copy, Debug)]
struct DialectChoice(Option<DialectKind>);

/// `auto` and every dialect of the registry, in its order.
fn dialect_parser() -> impl clap::builder::TypedValueParser<Value = DialectChoice> {
    let names = std::iter::once("auto").chain(DialectKind::all().map(DialectKind::name));
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| DialectChoice(DialectKind::from_name(&name)))
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum HardLinksArg {
    Refuse,
    Split,
    InPlace,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum TemplateArg {
    Auto,
    None,
    Jinja2,
    Go,
    Erb,
    Envsubst,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

/// `--vendor NAME`: any name (a vendor of --vendors-file is only known once that file is
/// read, and the vendors code says "did you mean" for a misspelling), but the presets are
/// offered as possible values, so shell completion completes them.
#[derive(Clone)]
struct VendorName;

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

/// Write to stdout; a closed pipe (`csppatch rules | head`) ends the output quietly rather
/// than panicking like `println!`. (SIGPIPE stays ignored: `probe` writes to sockets.)
fn out(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// One JSON document on stdout.
fn out_json(doc: &serde_json::Value) {
    let _ = json_doc::write(doc, &mut std::io::stdout().lock());
}

/// What every subcommand's printing needs: the colours of each stream and `--quiet`.
#[derive(Clone, Copy)]
struct Ui {
    streams: Streams,
    verbosity: Verbosity,
}

impl Ui {
    /// Diagnostics on stderr; under `--quiet` the errors only.
    fn diagnostics(&self, diags: &[Diagnostic]) {
        let shown: Vec<Diagnostic> = diags
            .iter()
            .filter(|d| self.verbosity == Verbosity::Normal || d.is_error())
            .cloned()
            .collect();
        let _ =
            diagnostic::write_unlocated(&shown, self.streams.err, &mut std::io::stderr().lock());
    }

    /// A subcommand that stopped on `diags`: the document of its kind (JSON) or the
    /// diagnostics (text); exit 2.
    fn fail(&self, format: Format, doc: Document, diags: &[Diagnostic]) -> u8 {
        match format {
            Format::Json => out_json(&doc.error(diags)),
            Format::Text => self.diagnostics(diags),
        }
        exit::BAD_INPUT
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if !matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                // `--format json` promises a document on stdout whatever happens.
                if let Some(doc) = json_doc::usage_error(&args, &e.render().to_string()) {
                    out_json(&doc);
                    return ExitCode::from(exit::BAD_INPUT);
                }
            }
            e.exit()
        }
    };
    let ui = Ui {
        streams: Streams::detect(cli.color),
        verbosity: if cli.quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        },
    };
    let code = match cli.command {
        Some(Command::Merge {
            vendors,
            meta,
            format,
            policy,
        }) => merge(ui, &vendors.choice(), meta, format, &policy),
        Some(Command::Vendors {
            name,
            json,
            vendors_file,
        }) => list_vendors(ui, name.as_deref(), json, &vendors_file),
        Some(Command::Rules { code, format }) => rules(ui, code.as_deref(), format),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "csppatch", &mut out);
            self::out(&out);
            exit::OK
        }
        Some(Command::Man) => {
            let mut out = Vec::new();
            // Rendering into a Vec cannot fail.
            let _ = clap_mangen::Man::new(Cli::command()).render(&mut out);
            self::out(&out);
            exit::OK
        }
        Some(Command::Probe(args)) => probe(ui, &args),
        Some(Command::Remove(args)) => patch(ui, &args.patch, Some(&args.keep)),
        Some(Command::Audit(args)) => audit(ui, &args),
        None => patch(ui, &cli.patch, None),
    };
    ExitCode::from(code)
}

impl VendorArgs {
    fn choice(&self) -> VendorChoice {
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

/// A patch run; with `keep`, a `csppatch remove` run keeping what those vendors need.
fn patch(ui: Ui, args: &PatchArgs, keep: Option<&[String]>) -> u8 {
    let mode = if args.check {
        Mode::Check
    } else if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    // Stopped before reading anything: the errors alone (text), or the document (JSON).
    let refuse = |diags: Vec<Diagnostic>| match args.format {
        Format::Text => ui.fail(Format::Text, Document::Patch, &diags),
        Format::Json => {
            let mut report = Report::refused(Some(mode), diags);
            report.removal = keep.is_some();
            show_report(ui, Format::Json, &report)
        }
    };
    // A PATH that is no file but a subcommand's name, mistyped or misplaced.
    if let Some(d) = commands::patch::mistyped_subcommand(&args.paths) {
        return refuse(vec![d]);
    }
    let reqs = match args.vendors.choice().requirements() {
        Ok(r) => r,
        Err(diags) => return refuse(diags),
    };
    let removal = match keep {
        None => None,
        Some(keep) => match commands::remove::keep(&args.vendors.choice(), keep) {
            Ok(r) => Some(r),
            Err(diags) => return refuse(diags),
        },
    };
    let template = match template_settings(args) {
        Ok(t) => t,
        Err(d) => return refuse(vec![d]),
    };
    let options = PatchOptions {
        paths: args.paths.clone(),
        requirements: reqs.requirements,
        scan: ScanOptions {
            dialect: args.dialect.0,
            conf_root: args.conf_root.clone(),
            system_root: PathBuf::from("/"),
            exclude: args.exclude.clone(),
            skip_unknown: args.skip_unknown,
            template,
        },
        mode,
        validate: args.validate || args.validate_cmd.is_some(),
        validate_cmd: args.validate_cmd.clone(),
        removal,
        hard_links: match args.hard_links {
            HardLinksArg::Refuse => HardLinks::Refuse,
            HardLinksArg::Split => HardLinks::Split,
            HardLinksArg::InPlace => HardLinks::InPlace,
        },
        include_locked: args.include_locked,
    };
    let mut report = csppatch::run(&options);
    report.diagnostics.splice(0..0, reqs.notes);
    show_report(ui, args.format, &report)
}

/// The report as text or JSON; its exit code (2 when it cannot be printed).
fn show_report(ui: Ui, format: Format, report: &Report) -> u8 {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let rendered = match format {
        Format::Text => {
            render::patch::write_text(report, ui.streams, ui.verbosity, &mut out, &mut err)
        }
        Format::Json => json_doc::write(&json_doc::patch(report), &mut out),
    };
    match rendered {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "error: cannot print the report: {e}");
            exit::BAD_INPUT.max(report.exit_code)
        }
        _ => report.exit_code,
    }
}

fn parse_exclude(glob: &str) -> Result<Exclude, String> {
    Exclude::new(glob)
}

fn template_settings(args: &PatchArgs) -> Result<template::Settings, Diagnostic> {
    template_of(args.template, args.template_vars.as_deref())
}

fn template_of(
    engine: TemplateArg,
    vars: Option<&std::path::Path>,
) -> Result<template::Settings, Diagnostic> {
    use template::{Choice, Engine};
    let choice = match engine {
        TemplateArg::Auto => Choice::Auto,
        TemplateArg::None => Choice::None,
        TemplateArg::Jinja2 => Choice::Force(Engine::Jinja2),
        TemplateArg::Go => Choice::Force(Engine::Go),
        TemplateArg::Erb => Choice::Force(Engine::Erb),
        TemplateArg::Envsubst => Choice::Force(Engine::Envsubst),
    };
    let vars = match vars {
        Some(path) => Some(std::sync::Arc::new(
            template::Vars::load(path).map_err(|e| Diagnostic::error("E002", e))?,
        )),
        None => None,
    };
    Ok(template::Settings { choice, vars })
}

/// `csppatch audit`: the report on stdout, text or JSON.
fn audit(ui: Ui, args: &AuditArgs) -> u8 {
    let choice = args.vendors.choice();
    let any_vendor = !choice.vendors.is_empty() || !choice.allow.is_empty();
    let template = match template_of(args.template, args.template_vars.as_deref()) {
        Ok(t) => t,
        Err(d) => return ui.fail(args.format, Document::Audit, &[d]),
    };
    if let Some(d) = commands::patch::mistyped_subcommand(&args.paths) {
        return ui.fail(args.format, Document::Audit, &[d]);
    }
    let request = commands::audit::AuditRequest {
        paths: args.paths.clone(),
        scan: ScanOptions {
            dialect: args.dialect.0,
            conf_root: args.conf_root.clone(),
            system_root: PathBuf::from("/"),
            exclude: args.exclude.clone(),
            skip_unknown: args.skip_unknown,
            template,
        },
        vendors: any_vendor.then_some(choice),
    };
    let audit = match commands::audit::audit(&request) {
        Ok(a) => a,
        Err(diags) => return ui.fail(args.format, Document::Audit, &diags),
    };
    let mut stdout = std::io::stdout().lock();
    let rendered = match args.format {
        Format::Text => {
            render::audit::write_text(&audit, ui.streams.out, ui.verbosity, &mut stdout)
        }
        Format::Json => json_doc::write(&render::audit::to_json(&audit), &mut stdout),
    };
    match rendered {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(std::io::stderr(), "error: cannot print the audit: {e}");
            exit::BAD_INPUT.max(audit.exit_code)
        }
        _ => audit.exit_code,
    }
}

fn merge(ui: Ui, choice: &VendorChoice, meta: bool, format: Format, policy: &str) -> u8 {
    let delivery = if meta {
        Delivery::Meta
    } else {
        Delivery::Header
    };
    let merged = match commands::merge::merge(choice, policy, delivery) {
        Ok(m) => m,
        Err(diags) => return ui.fail(format, Document::Merge, &diags),
    };
    match format {
        Format::Text => {
            out(format!("{}\n", merged.outcome.text).as_bytes());
            ui.diagnostics(&merged.outcome.diagnostics);
        }
        Format::Json => out_json(&json_doc::merge(&merged)),
    }
    merged.exit_code()
}

fn probe(ui: Ui, args: &ProbeArgs) -> u8 {
    let choice = args.vendors.choice();
    let request = commands::probe::ProbeRequest {
        url: args.url.clone(),
        headers: args.header.clone(),
        cacert: args.cacert.clone(),
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let probed = match commands::probe::probe(&choice, &request) {
        Ok(p) => p,
        Err(diags) => {
            return match args.format {
                Format::Json => {
                    out_json(&render::probe::error_json(Some(&args.url), &diags));
                    exit::BAD_INPUT
                }
                Format::Text => ui.fail(Format::Text, Document::Probe, &diags),
            }
        }
    };
    if args.format == Format::Text {
        ui.diagnostics(&probed.notes);
    }
    let mut stdout = std::io::stdout().lock();
    match probed.result {
        Ok(p) => {
            let _ = match args.format {
                Format::Text => {
                    render::probe::write_text(&p, &choice.to_flags(), ui.streams.out, &mut stdout)
                }
                Format::Json => {
                    json_doc::write(&render::probe::to_json(&p, &probed.notes), &mut stdout)
                }
            };
            p.exit_code()
        }
        Err(d) => {
            let mut diags = probed.notes;
            diags.push(d);
            match args.format {
                Format::Json => {
                    out_json(&render::probe::error_json(Some(&args.url), &diags));
                    exit::BAD_INPUT
                }
                Format::Text => ui.fail(Format::Text, Document::Probe, &diags[diags.len() - 1..]),
            }
        }
    }
}

fn list_vendors(ui: Ui, name: Option<&str>, json: bool, files: &[PathBuf]) -> u8 {
    let format = if json { Format::Json } else { Format::Text };
    let listing = match commands::vendors::list(name, json, files) {
        Ok(l) => l,
        Err(diags) => return ui.fail(format, Document::Vendors, &diags),
    };
    match format {
        Format::Json => out_json(&json_doc::vendors(&listing.text, &listing.notes)),
        Format::Text => {
            ui.diagnostics(&listing.notes);
            out(listing.text.as_bytes());
        }
    }
    exit::OK
}

fn rules(ui: Ui, code: Option<&str>, format: Format) -> u8 {
    match commands::rules::rules(code) {
        Ok(r) => {
            match format {
                Format::Text => out(r.render_text().as_bytes()),
                Format::Json => out_json(&json_doc::rules(&r)),
            }
            exit::OK
        }
        Err(d) => ui.fail(format, Document::Rules, &[d]),
    }
}
