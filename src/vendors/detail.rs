//! `csppatch vendors NAME`: one preset's sources per directive and region, each with the
//! requests it is there for (or the documented reason), its options, notes and pages.
//!
//! Rendered from the same [`VendorInfo`] as `--json`, so the two never disagree.

use super::listing::{RequestInfo, SourceInfo, VendorInfo};
use super::load::{Origin, Vendor};

/// Lines are wrapped to this width (notes, reasons).
const WIDTH: usize = 92;

/// The pages the listing cites, numbered in order of first use, and the request notes
/// already printed (several requests of one `urls` table share a note: it is said once).
#[derive(Default)]
struct Pages(Vec<(String, &'static str)>, Vec<String>);

impl Pages {
    fn cite(&mut self, url: &str, kind: &'static str) -> usize {
        match self.0.iter().position(|(u, _)| u == url) {
            Some(i) => i + 1,
            None => {
                self.0.push((url.to_string(), kind));
                self.0.len()
            }
        }
    }

    fn marks(&mut self, r: &RequestInfo) -> String {
        let mut out = String::new();
        for (kind, url) in [
            ("docs", &r.docs),
            ("snippet", &r.snippet),
            ("observed", &r.observed),
        ] {
            if let Some(url) = url {
                out.push_str(&format!("[{}]", self.cite(url, kind)));
            }
        }
        out
    }
}

pub fn vendor_text(v: &Vendor) -> String {
    let info = VendorInfo::of(v);
    let mut pages = Pages::default();
    let mut out = format!("{}: {}\n", info.name, info.title);
    let field = |out: &mut String, name: &str, value: &str| {
        out.push_str(&format!("  {name:<9} {value}\n"));
    };
    match &info.source_url {
        Some(url) => field(&mut out, "Page:", url),
        None => field(&mut out, "Page:", "none recorded (see the notes)"),
    }
    if let Origin::File(path) = &info.origin {
        field(&mut out, "From:", &path.display().to_string());
    }
    field(
        &mut out,
        "Status:",
        if !info.verified {
            "UNVERIFIED: the list comes from third-party copies of the vendor's page"
        } else if info.partly_unverified() {
            "verified, except the sources marked [unverified] (third-party copies only)"
        } else {
            "verified: the vendor's own list"
        },
    );
    if !info.regions.is_empty() {
        let names: Vec<String> = info
            .regions
            .iter()
            .map(|r| {
                if r.is_default {
                    format!("{} (default)", r.name)
                } else {
                    r.name.clone()
                }
            })
            .collect();
        field(
            &mut out,
            "Regions:",
            &format!("{}; pick one with --region", names.join(", ")),
        );
    }
    let mut options = Vec::new();
    if info.custom_domain.is_some() {
        options.push("--custom-domain HOST");
    }
    if info.nonce.is_some() {
        options.push("--nonce");
    }
    if !options.is_empty() {
        field(&mut out, "Options:", &options.join(", "));
    }

    let sections = std::iter::once((
        if info.regions.is_empty() {
            "Sources".to_string()
        } else {
            "Sources in every region".to_string()
        },
        &info.sources,
        true,
    ))
    .chain(info.regions.iter().map(|r| {
        (
            format!(
                "Region {}{} adds",
                r.name,
                if r.is_default { " (default)" } else { "" }
            ),
            &r.sources,
            false,
        )
    }));
    for (title, sources, common) in sections {
        out.push_str(&format!("\n{title}"));
        if sources.is_empty() {
            out.push_str(": nothing\n");
            continue;
        }
        out.push_str(" (<- the requests each one is there for):\n");
        sources_text(&mut out, &info, sources, common, &mut pages);
    }

    if let Some(cd) = &info.custom_domain {
        out.push_str(&format!(
            "\nWith --custom-domain HOST ({}):\n",
            cd.description
        ));
        for r in &cd.replace {
            out.push_str(&format!(
                "  {} {} becomes {}\n",
                r.directive, r.source, r.with
            ));
            for &i in &r.requests {
                request_line(&mut out, &info.requests[i], true, &mut pages);
            }
        }
    }
    let mut used: Vec<usize> = info
        .sources
        .iter()
        .chain(info.regions.iter().flat_map(|r| r.sources.iter()))
        .flat_map(|s| s.requests.iter().copied())
        .chain(
            info.custom_domain
                .iter()
                .flat_map(|c| c.replace.iter().flat_map(|r| r.requests.iter().copied())),
        )
        .collect();
    used.sort_unstable();
    used.dedup();
    let orphans: Vec<&RequestInfo> = (0..info.requests.len())
        .filter(|i| used.binary_search(i).is_err())
        .map(|i| &info.requests[i])
        .collect();
    if !orphans.is_empty() {
        out.push_str(
            "\nKnown requests that no source above lets through (they would be blocked):\n",
        );
        for r in orphans {
            out.push_str(&format!("  {}\n", r.directive));
            request_line(&mut out, r, true, &mut pages);
        }
    }
    if let Some(n) = &info.nonce {
        out.push_str("\nNonce mode (--nonce):");
        if n.left_out.is_empty() {
            out.push_str(
                " the site's nonce goes on the vendor's script tag; nothing changes here.\n",
            );
        } else {
            out.push_str(" the site's nonce on the vendor's script tag takes the place of\n");
            let mut directives: Vec<&str> = Vec::new();
            for d in &n.left_out {
                if !directives.contains(&d.directive.as_str()) {
                    directives.push(&d.directive);
                }
            }
            for directive in directives {
                let sources: Vec<&str> = n
                    .left_out
                    .iter()
                    .filter(|d| d.directive == directive)
                    .map(|d| d.source.as_str())
                    .collect();
                wrap_into(
                    &mut out,
                    &format!("{directive} {}", sources.join(" ")),
                    "  ",
                );
            }
        }
        if let Some(notes) = &n.notes {
            wrap_into(&mut out, notes, "  ");
        }
    }
    if let Some(notes) = &info.notes {
        out.push_str("\nNotes:\n");
        for paragraph in notes.split('\n') {
            // A "- " list item continues under its text, not under its dash.
            let rest = if paragraph.starts_with("- ") {
                "    "
            } else {
                "  "
            };
            wrap_hanging(&mut out, paragraph, "  ", rest);
        }
    }
    if !pages.0.is_empty() {
        out.push_str("\nPages:\n");
        for (i, (url, kind)) in pages.0.iter().enumerate() {
            let what = match *kind {
                "docs" => "vendor docs",
                "snippet" => "embed code",
                _ => "third-party",
            };
            out.push_str(&format!("  [{}] {what:<11}  {url}\n", i + 1));
        }
        if pages.0.iter().any(|(_, kind)| *kind == "observed") {
            out.push_str("  (third-party: seen in public material, not the vendor's word)\n");
        }
    }
    out
}

/// The sources of one section grouped by directive, each with its requests and reasons.
/// `common`: the section of sources every region has, where a request's region is worth
/// saying; in a region's own section it is that region.
fn sources_text(
    out: &mut String,
    info: &VendorInfo,
    sources: &[SourceInfo],
    common: bool,
    pages: &mut Pages,
) {
    let mut directives: Vec<&str> = Vec::new();
    for s in sources {
        if !directives.contains(&s.directive.as_str()) {
            directives.push(&s.directive);
        }
    }
    for d in directives {
        out.push_str(&format!("  {d}\n"));
        for s in sources.iter().filter(|s| s.directive == d) {
            let mark = if s.unverified { "  [unverified]" } else { "" };
            out.push_str(&format!("    {}{mark}\n", s.source));
            for &i in &s.requests {
                request_line(out, &info.requests[i], common, pages);
            }
            for &i in &s.reasons {
                let r = &info.reasons[i];
                let cite = r
                    .docs
                    .as_deref()
                    .map(|u| format!(" [{}]", pages.cite(u, "docs")))
                    .unwrap_or_default();
                wrap_into(out, &format!("why: {}{cite}", r.why), "      ");
            }
            if s.requests.is_empty() && s.reasons.is_empty() {
                out.push_str("      (no known request or documented reason)\n");
            }
        }
    }
}

fn request_line(out: &mut String, r: &RequestInfo, with_region: bool, pages: &mut Pages) {
    let what = match (&r.url, &r.inline) {
        (Some(url), _) => url.clone(),
        (None, Some(k)) if k == "eval" => "eval() / new Function()".to_string(),
        (None, Some(k)) => format!("inline {k}"),
        (None, None) => String::new(),
    };
    let mut tags = Vec::new();
    if r.loaded_by == "page" {
        tags.push("the site's own tag".to_string());
    }
    if let Some(region) = r.region.as_ref().filter(|_| with_region) {
        tags.push(format!("region {region}"));
    }
    if let Some(when) = &r.when {
        tags.push(
            match when.as_str() {
                "custom-domain" => "with --custom-domain",
                "no-custom-domain" => "without --custom-domain",
                "nonce" => "with --nonce",
                _ => "without --nonce",
            }
            .to_string(),
        );
    }
    let tags = if tags.is_empty() {
        String::new()
    } else {
        format!(" ({})", tags.join(", "))
    };
    out.push_str(&format!("      <- {what}{tags} {}\n", pages.marks(r)));
    if let Some(note) = r.note.as_ref().filter(|n| !pages.1.contains(n)) {
        wrap_into(out, note, "         ");
        pages.1.push(note.clone());
    }
}

/// Append `text` greedily wrapped at [`WIDTH`], each line starting with `indent`.
fn wrap_into(out: &mut String, text: &str, indent: &str) {
    wrap_hanging(out, text, indent, indent);
}

/// [`wrap_into`] with another indent from the second line on.
fn wrap_hanging(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::new();
    let mut indent = first;
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > WIDTH {
            out.push_str(&format!("{indent}{line}\n"));
            line.clear();
            indent = rest;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}{line}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_and_width() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        wrap_into(&mut out, &text, "  ");
        assert!(out
            .lines()
            .all(|l| l.len() <= WIDTH && l.starts_with("  word")));
        assert_eq!(out.split_whitespace().count(), 40);
    }
}
