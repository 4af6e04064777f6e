//! The command line: arguments in, the library's subcommands called, what they return
//! printed with the library's renderers, exit codes out.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use csppatch::commands::{self, VendorChoice};
use csppatch::commit::HardLinks;
use csppatch::csp::Delivery;
use csppatch::diag::Diagnostic;
use csppatch::render::json::{self as json_doc, Document};
use csppatch::render::{self, diagnostic, Streams, Verbosity};
use csppatch::report::Report;
use csppatch::scan::ScanOptions;
use csppatch::{exit, template, Mode, PatchOptions};

mod args;

// mimalloc in glibc's place (README, "Speed": measured there against glibc, CPU and peak RSS).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the `mi_option_e` enum of the pinned mimalloc 3 in
/// libmimalloc-sys 0.1.49, `include/mimalloc.h`; the crate has no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Hold the allocator to what the run uses, before anything else runs: freed memory goes back
/// to the system after 50 ms (mimalloc keeps it a second by default: 81 MiB instead of 48 at
/// 10,000 vhosts; at once costs more system time than 50 ms for the same peak), and no
/// transparent huge pages (mimalloc asks for them, and a 2 MiB page half used is 2 MiB
/// resident: 48 -> 36 MiB). Measured in README, "Speed".
fn hold_allocator() {
    // SAFETY: mi_option_set only stores an option's value; the purge delay is read whenever
    // freed memory is scheduled for purging, so setting it after mimalloc started takes effect.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 50) };
    // Refused only by a kernel without the prctl (before 3.15): huge pages then stay as they are.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

use args::{
    AuditArgs, Cli, Command, Format, HardLinksArg, PatchArgs, ProbeArgs, ReadArgs, TemplateArg,
};

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
    hold_allocator();
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
    let template = match args.read.template_settings() {
        Ok(t) => t,
        Err(d) => return refuse(vec![d]),
    };
    let options = PatchOptions {
        paths: args.paths.clone(),
        requirements: reqs.requirements,
        scan: args.read.scan_options(template),
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
    if args.format == Format::Text && mode != Mode::Write && !options.validate {
        // Streamed (issue 10): each file's diff is printed as soon as it is planned, and its
        // bytes dropped; the per-site report, the diagnostics and the summary follow at the
        // end, as `show_report` prints them.
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let mut err = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr().lock());
        let mut stream =
            render::patch::Stream::new(ui.streams, ui.verbosity, keep.is_some(), &mut out);
        let mut report = csppatch::pipeline::run_with(&options, Some(&mut stream));
        report.diagnostics.splice(0..0, reqs.notes);
        let rendered = stream.finish(&report, &mut err);
        return printed(rendered.and_then(|()| out.flush()), &mut err, &report);
    }
    let mut report = csppatch::run(&options);
    report.diagnostics.splice(0..0, reqs.notes);
    show_report(ui, args.format, &report)
}

/// The report as text or JSON; its exit code (2 when it cannot be printed).
fn show_report(ui: Ui, format: Format, report: &Report) -> u8 {
    // One buffer per stream, each locked once: stderr is unbuffered, and the per-site report
    // is a write per line (a tenth of a 10,000-vhost run's time went into those writes).
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut err = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr().lock());
    let rendered = match format {
        Format::Text => {
            render::patch::write_text(report, ui.streams, ui.verbosity, &mut out, &mut err)
        }
        Format::Json => json_doc::write(&json_doc::patch(report), &mut out),
    }
    .and_then(|()| out.flush());
    printed(rendered, &mut err, report)
}

/// The run's exit code once its report is printed (`rendered`, `err` not yet flushed), or 2
/// when it cannot be printed.
fn printed(rendered: std::io::Result<()>, err: &mut dyn Write, report: &Report) -> u8 {
    match rendered.and_then(|()| err.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "error: cannot print the report: {e}");
            exit::BAD_INPUT.max(report.exit_code)
        }
        _ => report.exit_code,
    }
}

impl ReadArgs {
    /// `--template` and `--template-vars` as the library takes them (the variables file read).
    fn template_settings(&self) -> Result<template::Settings, Diagnostic> {
        use template::{Choice, Engine};
        let choice = match self.template {
            TemplateArg::Auto => Choice::Auto,
            TemplateArg::None => Choice::None,
            TemplateArg::Jinja2 => Choice::Force(Engine::Jinja2),
            TemplateArg::Go => Choice::Force(Engine::Go),
            TemplateArg::Erb => Choice::Force(Engine::Erb),
            TemplateArg::Envsubst => Choice::Force(Engine::Envsubst),
        };
        let vars = match &self.template_vars {
            Some(path) => Some(std::sync::Arc::new(
                template::Vars::load(path).map_err(|e| Diagnostic::error("E002", e))?,
            )),
            None => None,
        };
        Ok(template::Settings { choice, vars })
    }

    /// How the scan reads the configuration.
    fn scan_options(&self, template: template::Settings) -> ScanOptions {
        ScanOptions {
            dialect: self.dialect.0,
            conf_root: self.conf_root.clone(),
            system_root: PathBuf::from("/"),
            exclude: self.exclude.clone(),
            skip_unknown: self.skip_unknown,
            template,
        }
    }
}

/// `csppatch audit`: the report on stdout, text or JSON.
fn audit(ui: Ui, args: &AuditArgs) -> u8 {
    let choice = args.vendors.choice();
    let any_vendor = !choice.vendors.is_empty() || !choice.allow.is_empty();
    let template = match args.read.template_settings() {
        Ok(t) => t,
        Err(d) => return ui.fail(args.format, Document::Audit, &[d]),
    };
    if let Some(d) = commands::patch::mistyped_subcommand(&args.paths) {
        return ui.fail(args.format, Document::Audit, &[d]);
    }
    let request = commands::audit::AuditRequest {
        paths: args.paths.clone(),
        scan: args.read.scan_options(template),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc's purge delay: its default is that option's (1,000 ms in
    /// mimalloc 3's `src/options.c`, which no other option has), and after `hold_allocator`
    /// it is 50. A libmimalloc-sys whose enum moved fails here, not silently in the field.
    #[test]
    fn hold_allocator_sets_the_purge_delay_and_turns_huge_pages_off() {
        // SAFETY: mi_option_get only reads an option's value.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 1000);
        }
        hold_allocator();
        assert_eq!(get(), 50);
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
