//! The command line: arguments in, a `Config` to the library, exit codes out. Nothing else.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use csppatch::csp::{self, MergeOptions, Requirement};
use csppatch::diag::{Diagnostic, Severity};
use csppatch::dialect::DialectKind;
use csppatch::edit::Paint;
use csppatch::scan::ScanOptions;
use csppatch::site::Delivery;
use csppatch::{exit, probe, report, template, vendors, Config, Mode};

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
    /// List the built-in vendor presets with the page each one comes from.
    Vendors {
        #[arg(long)]
        json: bool,
        /// Also list the vendors defined in this file.
        #[arg(long, value_name = "FILE")]
        vendors_file: Vec<PathBuf>,
    },
    /// Explain a diagnostic code (CSP101, NGX201...), or list them all.
    Rules { code: Option<String> },
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
    #[arg(long = "vendor", value_name = "NAME")]
    vendor: Vec<String>,
    /// The regional variant for presets that have one (us, eu, au).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The custom tracking domain, for presets that take one (Ortto).
    #[arg(long, value_name = "HOST")]
    custom_domain: Option<String>,
    /// The site already puts a nonce on the vendor's script tag (strict CSP): add no script
    /// hosts for presets that support it (Ortto Level 3, Intercom, GTM).
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
    #[arg(long, value_enum, default_value_t = DialectArg::Auto)]
    dialect: DialectArg,
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
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
enum DialectArg {
    Auto,
    Nginx,
    Apache,
    Caddy,
    Php,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Print to stdout; a closed pipe (`csppatch rules | head`) ends the output quietly rather
/// than panicking like `println!`. (SIGPIPE stays ignored: `probe` writes to sockets.)
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Merge {
            vendors,
            meta,
            format,
            policy,
        }) => merge(&vendors, meta, format, &policy),
        Some(Command::Vendors { json, vendors_file }) => list_vendors(json, &vendors_file),
        Some(Command::Rules { code }) => rules(code.as_deref()),
        Some(Command::Probe(args)) => probe(&args),
        None => patch(&cli.patch),
    };
    ExitCode::from(code)
}

fn patch(args: &PatchArgs) -> u8 {
    let paint = paint(args.color, std::io::stdout().is_terminal());
    let (requirements, notes) = match requirements(&args.vendors) {
        Ok(r) => r,
        Err(diags) => return fail(&diags, paint),
    };
    let dialect = match args.dialect {
        DialectArg::Auto => None,
        DialectArg::Nginx => Some(DialectKind::Nginx),
        DialectArg::Apache => Some(DialectKind::Apache),
        DialectArg::Caddy => Some(DialectKind::Caddy),
        DialectArg::Php => Some(DialectKind::Php),
        DialectArg::Html => Some(DialectKind::Html),
    };
    let template = match template_settings(args) {
        Ok(t) => t,
        Err(d) => return fail(&[d], paint),
    };
    let mode = if args.check {
        Mode::Check
    } else if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let config = Config {
        paths: args.paths.clone(),
        requirements,
        scan: ScanOptions {
            dialect,
            conf_root: args.conf_root.clone(),
            system_root: PathBuf::from("/"),
            template,
        },
        mode,
        validate: args.validate || args.validate_cmd.is_some(),
        validate_cmd: args.validate_cmd.clone(),
    };
    let mut report = csppatch::run(&config);
    report.diagnostics.splice(0..0, notes);
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let rendered = match args.format {
        Format::Text => report::render_text(&report, paint, &mut out, &mut err),
        Format::Json => report::render_json(&report, &mut out),
    };
    match rendered {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            use std::io::Write as _;
            let _ = writeln!(err, "error: cannot print the report: {e}");
            exit::BAD_INPUT.max(report.exit_code)
        }
        _ => report.exit_code,
    }
}

fn template_settings(args: &PatchArgs) -> Result<template::Settings, Diagnostic> {
    use template::{Choice, Engine};
    let choice = match args.template {
        TemplateArg::Auto => Choice::Auto,
        TemplateArg::None => Choice::None,
        TemplateArg::Jinja2 => Choice::Force(Engine::Jinja2),
        TemplateArg::Go => Choice::Force(Engine::Go),
        TemplateArg::Erb => Choice::Force(Engine::Erb),
        TemplateArg::Envsubst => Choice::Force(Engine::Envsubst),
    };
    let vars = match &args.template_vars {
        Some(path) => Some(std::sync::Arc::new(
            template::Vars::load(path).map_err(|e| Diagnostic::error("E002", e))?,
        )),
        None => None,
    };
    Ok(template::Settings { choice, vars })
}

fn paint(color: Color, terminal: bool) -> Paint {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match color {
        Color::Always => Paint::Ansi,
        Color::Auto if terminal && !no_color => Paint::Ansi,
        _ => Paint::Plain,
    }
}

/// The vendors' requirements and the notes about them, or the diagnostics that explain why
/// they cannot be had.
fn requirements(args: &VendorArgs) -> Result<(Vec<Requirement>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let catalog = catalog(&args.vendors_file)?;
    let mut notes = catalog.1;
    let selection = vendors::Selection {
        vendors: args
            .vendor
            .iter()
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
        region: args.region.clone(),
        custom_domain: args.custom_domain.clone(),
        nonce: args.nonce,
        allow: args.allow.clone(),
        allow_insecure: args.allow_insecure,
    };
    let resolved = catalog.0.requirements(&selection)?;
    notes.extend(resolved.diagnostics);
    if resolved.requirements.is_empty() {
        return Err(vec![Diagnostic::error("VND719", "nothing to add: pass --vendor NAME (see `csppatch vendors`) or --allow 'DIRECTIVE SOURCE...'")]);
    }
    Ok((resolved.requirements, notes))
}

/// The built-in presets plus those of every `--vendors-file`, with the notes loading gave.
fn catalog(files: &[PathBuf]) -> Result<(vendors::Catalog, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut catalog = vendors::Catalog::builtin();
    let mut notes = Vec::new();
    for f in files {
        notes.extend(catalog.load_file(f)?);
    }
    Ok((catalog, notes))
}

fn print_diagnostics(diags: &[Diagnostic], paint: Paint) {
    let r = report::Report {
        diagnostics: diags.to_vec(),
        ..Default::default()
    };
    let _ = report::render_diagnostics(&r, paint, &mut std::io::stderr().lock());
}

fn fail(diags: &[Diagnostic], paint: Paint) -> u8 {
    print_diagnostics(diags, paint);
    exit::BAD_INPUT
}

fn merge(args: &VendorArgs, meta: bool, format: Format, policy: &str) -> u8 {
    let paint = paint(Color::Auto, std::io::stderr().is_terminal());
    let (requirements, notes) = match requirements(args) {
        Ok(r) => r,
        Err(diags) => return fail(&diags, paint),
    };
    let delivery = if meta {
        Delivery::Meta
    } else {
        Delivery::Header
    };
    let mut outcome = csp::merge(policy, &requirements, &MergeOptions { delivery });
    outcome.diagnostics.splice(0..0, notes);
    let errors = outcome
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    match format {
        Format::Text => {
            out!("{}", outcome.text);
            print_diagnostics(&outcome.diagnostics, paint);
        }
        Format::Json => {
            let doc = serde_json::json!({
                "policy": outcome.text,
                "added": outcome.added.iter().map(|a| serde_json::json!({"directive": a.directive, "source": a.source})).collect::<Vec<_>>(),
                "warnings": outcome.diagnostics.iter().map(|d| serde_json::json!({"code": d.code, "message": d.message, "severity": d.severity})).collect::<Vec<_>>(),
            });
            out!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
    }
    if errors {
        exit::BAD_INPUT
    } else {
        exit::OK
    }
}

fn probe(args: &ProbeArgs) -> u8 {
    let paint = paint(Color::Auto, std::io::stderr().is_terminal());
    let (requirements, notes) = match requirements(&args.vendors) {
        Ok(r) => r,
        Err(diags) => return fail(&diags, paint),
    };
    let headers: Result<Vec<_>, _> = args
        .header
        .iter()
        .map(|h| csppatch::probe::fetch::parse_header_arg(h))
        .collect();
    let options = csppatch::probe::FetchOptions {
        headers: match headers {
            Ok(h) => h,
            Err(d) => return fail(&[d], paint),
        },
        timeout: std::time::Duration::from_secs(args.timeout),
        ca_file: args.cacert.clone(),
        ..Default::default()
    };
    print_diagnostics(&notes, paint);
    let mut out = std::io::stdout().lock();
    match csppatch::probe::probe(&args.url, &requirements, &options) {
        Ok(p) => {
            let _ = match args.format {
                Format::Text => probe::render_text(&p, &vendor_flags(&args.vendors), &mut out),
                Format::Json => probe::render_json(&p, &mut out),
            };
            p.exit_code()
        }
        Err(d) => {
            if args.format == Format::Json {
                let doc = probe::render::error_json(&args.url, &d);
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                );
            }
            fail(&[d], paint)
        }
    }
}

/// The vendor options again, for the `csppatch` command the probe suggests.
fn vendor_flags(args: &VendorArgs) -> String {
    let mut flags = Vec::new();
    let mut push = |flag: &str, value: &str| flags.push(format!("{flag} {}", shell_word(value)));
    for v in &args.vendor {
        push("--vendor", v);
    }
    if let Some(r) = &args.region {
        push("--region", r);
    }
    if let Some(d) = &args.custom_domain {
        push("--custom-domain", d);
    }
    for a in &args.allow {
        push("--allow", a);
    }
    for f in &args.vendors_file {
        push("--vendors-file", &f.display().to_string());
    }
    if args.nonce {
        flags.push("--nonce".to_string());
    }
    if args.allow_insecure {
        flags.push("--allow-insecure".to_string());
    }
    flags.join(" ")
}

/// `value` as one POSIX shell word.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/=@+%".contains(&b));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

fn list_vendors(json: bool, files: &[PathBuf]) -> u8 {
    let paint = paint(Color::Auto, std::io::stderr().is_terminal());
    let (catalog, notes) = match catalog(files) {
        Ok(c) => c,
        Err(diags) => return fail(&diags, paint),
    };
    print_diagnostics(&notes, paint);
    let list = catalog.list();
    if json {
        match serde_json::to_string_pretty(&list) {
            Ok(s) => out!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::BAD_INPUT;
            }
        }
    } else {
        out_raw!("{}", vendors::listing_text(&list));
    }
    exit::OK
}

fn rules(code: Option<&str>) -> u8 {
    match code {
        Some(c) => {
            match csppatch::rules::find(c) {
                Some(r) => {
                    out!("{} ({})\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n{}", r.code, r.name, r.what, r.why, r.example);
                    exit::OK
                }
                None => {
                    eprintln!("error: no rule {c}; `csppatch rules` lists them");
                    exit::BAD_INPUT
                }
            }
        }
        None => {
            for r in csppatch::rules::all() {
                out!("{:<8} {:<36} {}", r.code, r.name, first_sentence(r.what));
            }
            out!("\n`csppatch rules CODE` explains one: what it does, why, and what to write instead.");
            exit::OK
        }
    }
}

/// The first sentence of a rule's text, for the one-line listing.
fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let s = &text[..end];
    if s.chars().count() > 90 {
        let cut: String = s.chars().take(87).collect();
        format!("{}...", cut.trim_end())
    } else {
        s.to_string()
    }
}
