//! `csppatch remove --vendor NAME PATH...`: offboarding a vendor, a patch run
//! ([`crate::pipeline::run`] with [`crate::options::Removal`]) whose plan takes the vendor's
//! sources out (`csp::remove`). Here: how a removal is shown per site.

use std::io::Write;

use crate::edit::Paint;
use crate::report::{paint_str, Report, SiteReport};

/// Sources removed, over every site.
pub fn removed_count(report: &Report) -> usize {
    report
        .sites
        .iter()
        .flat_map(|s| &s.removed)
        .map(|r| r.sources.len())
        .sum()
}

/// What was removed in one site, a directive per line:
///
/// ```text
/// sites-enabled/shop:7: Content-Security-Policy (server shop.example.com)
///     script-src   - https://muserelay.com
///     connect-src  removed (the rest was a copy of default-src): - https://muserelay.com wss://muserelay.com
/// ```
pub fn render_site(site: &SiteReport, paint: Paint, err: &mut dyn Write) -> std::io::Result<()> {
    let loc = format!("{}:{}:", site.path.display(), site.line);
    let what = match &site.variable {
        Some(v) => format!("${v}, {}", site.context),
        None => site.context.clone(),
    };
    writeln!(
        err,
        "{} {} ({what})",
        paint_str(paint, "\x1b[1m", &loc),
        site.disposition.header_name()
    )?;
    let several = site.removed.iter().any(|r| r.policy > 0);
    let width = site
        .removed
        .iter()
        .map(|r| r.directive.len())
        .max()
        .unwrap_or(0);
    if site.removed.is_empty() {
        writeln!(err, "    rewritten on one line (no source removed)")?;
    }
    for r in &site.removed {
        let tag = if several {
            format!(" [policy {}]", r.policy + 1)
        } else {
            String::new()
        };
        let sources = if r.sources.is_empty() {
            String::new()
        } else {
            format!("- {}", r.sources.join(" "))
        };
        let text = if r.dropped {
            let from = r
                .copied_from
                .as_deref()
                .map(|f| format!(", {f} applies again"))
                .unwrap_or_default();
            let colon = if sources.is_empty() { "" } else { ": " };
            format!("removed (the rest was csppatch's copy{from}){colon}{sources}")
        } else {
            sources
        };
        writeln!(err, "    {:width$}  {text}{tag}", r.directive)?;
    }
    Ok(())
}

/// The `--keep` vendors' requirements, chosen with the same region and options as the
/// vendor being removed.
pub fn keep(
    choice: &crate::commands::VendorChoice,
    keep: &[String],
) -> Result<crate::options::Removal, Vec<crate::diag::Diagnostic>> {
    if keep.is_empty() {
        return Ok(crate::options::Removal::default());
    }
    let others = crate::commands::VendorChoice {
        vendors: keep.to_vec(),
        allow: Vec::new(),
        ..choice.clone()
    };
    Ok(crate::options::Removal {
        keep: others.requirements()?.requirements,
    })
}
