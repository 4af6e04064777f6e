//! The dialect of a templated file: the real dialect, run on the masked bytes.
//!
//! [`Finder`] implements [`Dialect`] for every file: without a template it hands each call
//! to the file's dialect unchanged; with one it masks the tags (`mask.rs`) before the
//! dialect sees the bytes, and checks every change it is asked to encode against the real
//! file: a change never lands inside a tag or next to a trim marker, never rewrites a value
//! that holds a tag, never adds a directive that a tag could shadow, and leaves the file with
//! exactly the tags it had (the same tags, in the same order, none added).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use crate::csp::TextEdit;
use crate::diag::{Diagnostic, Location};
use crate::dialect::{fragments_one_by_one, Dialect, DialectKind, TreeFile};
use crate::site::{FileScan, Site};

use super::mask::{mask, Masked};
use super::sites::{self, named, Position};
use super::tags::{lex, LexError, Tag};
use super::FileTemplate;

/// The dialect to read and write a file with (see the module docs).
pub struct Finder<'a> {
    kind: DialectKind,
    template: Option<&'a FileTemplate>,
    /// Why a change could not be written around a site's tags, by site start: the pipeline
    /// then asks for the whole value, and that answer names the reason.
    why: Mutex<HashMap<usize, String>>,
}

pub fn dialect(kind: DialectKind, template: Option<&FileTemplate>) -> Finder<'_> {
    Finder {
        kind,
        template,
        why: Mutex::new(HashMap::new()),
    }
}

struct Prepared {
    tags: Vec<Tag>,
    masked: Masked,
}

impl Finder<'_> {
    fn prepare(t: &FileTemplate, src: &[u8]) -> Result<Prepared, LexError> {
        let tags = lex(t.engine, src, t.env_names().as_ref())?;
        let masked = mask(src, &tags);
        Ok(Prepared { tags, masked })
    }

    /// The site as the dialect itself reads it in the masked file (its text before the
    /// stand-ins of `sites.rs`): what the dialect's encoders compare their results with.
    fn inner_site(&self, p: &Prepared, site: &Site) -> Option<Site> {
        let scan = self
            .kind
            .dialect()
            .find(Path::new(""), &p.masked.bytes)
            .ok()?;
        scan.sites
            .into_iter()
            .chain(scan.bindings)
            .find(|s| s.span == site.span)
    }

    fn refuse(&self, site: &Site, why: String) {
        if let Ok(mut map) = self.why.lock() {
            map.insert(site.span.start, why);
        }
    }

    /// Can `fragment` go at file offset `at` of `site` as far as the tags go?
    fn check_fragment(
        &self,
        p: &Prepared,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Result<(), String> {
        for (k, t) in p.tags.iter().enumerate() {
            let inside = t.effective.start < at && at < t.effective.end;
            let trimmed = (at == t.effective.start && t.trims_left)
                || (at == t.effective.end && t.trims_right);
            if inside || trimmed {
                return Err(format!(
                    "the change would go {} the template tag {}",
                    if inside {
                        "inside"
                    } else {
                        "next to the trim marker of"
                    },
                    named(&p.tags, k, src)
                ));
            }
        }
        let Some(pos) = (0..=site.value.text.len()).find(|&i| {
            site.value.text.is_char_boundary(i) && site.value.raw_insertion_point(i) == Some(at)
        }) else {
            return Ok(());
        };
        let Some(inner) = self.inner_site(p, site) else {
            return Ok(());
        };
        let inside = sites::tags_in_value(&inner, &p.tags);
        // A directive the merge creates as a copy of another (`worker-src` pinned to what
        // `script-src` allowed) copies its sources, tags included: that would write a tag.
        for t in &inside {
            let stand_in = site.value.text.get(t.text.clone()).unwrap_or("").trim();
            if !stand_in.is_empty() && fragment.contains(stand_in) {
                let new = fragment
                    .split(';')
                    .find(|d| d.contains(stand_in))
                    .and_then(|d| d.split_whitespace().next())
                    .unwrap_or("directive");
                return Err(format!(
                    "the new `{new}` would copy the template tag {} from the directive it \
                     falls back to, and csppatch never writes a tag that was not there: add \
                     `{new}` to the policy by hand (with that tag if it belongs there), then run \
                     csppatch again",
                    named(&p.tags, t.tag, src)
                ));
            }
        }
        let directive_tags: Vec<_> = inside
            .into_iter()
            .filter(|t| t.position == Position::Directive)
            .collect();
        if directive_tags.is_empty() {
            return Ok(());
        }
        let list = crate::csp::parse::parse(&site.value.text);
        let Some(policy) = list
            .policies
            .iter()
            .find(|pl| pl.span.start <= pos && pos <= pl.span.end)
        else {
            return Ok(());
        };
        let in_policy: Vec<_> = directive_tags
            .iter()
            .filter(|t| policy.span.start <= t.text.start && t.text.end <= policy.span.end)
            .collect();
        let Some(first) = in_policy.first() else {
            return Ok(());
        };
        if fragment.contains(';') {
            let names: Vec<String> = fragment
                .split(';')
                .skip(1)
                .filter_map(|d| d.split_whitespace().next())
                .map(|n| format!("`{n}`"))
                .collect();
            let names = names.join(", ");
            return Err(format!(
                "the merge needs {names}, which this policy does not write out, and the \
                 template expression {} could set them (browsers use the first directive of a \
                 name, so adding one before it or after it could be wrong either way); write \
                 {names} into the policy by hand, before that tag, then run csppatch again",
                named(&p.tags, first.tag, src)
            ));
        }
        let directive = policy
            .directives
            .iter()
            .find(|d| d.span.start <= pos && pos <= d.span.end);
        if let Some(d) = directive {
            if let Some(t) = in_policy.iter().find(|t| t.text.start < d.span.start) {
                return Err(format!(
                    "the template expression {} comes before `{}` and could set it (browsers \
                     use the first `{}`): write `{}` before that tag, then run csppatch again",
                    named(&p.tags, t.tag, src),
                    d.name,
                    d.name,
                    d.name
                ));
            }
        }
        Ok(())
    }
}

/// `src` with `range` replaced by `bytes`.
fn spliced(src: &[u8], range: std::ops::Range<usize>, bytes: &[u8]) -> Vec<u8> {
    [&src[..range.start], bytes, &src[range.end..]].concat()
}

/// Does `new` hold exactly the tags of `src` (same text, same order)?
fn same_tags(t: &FileTemplate, src: &[u8], tags: &[Tag], new: &[u8]) -> bool {
    match lex(t.engine, new, t.env_names().as_ref()) {
        Ok(after) => {
            after.len() == tags.len()
                && after
                    .iter()
                    .zip(tags)
                    .all(|(a, b)| new[a.range.clone()] == src[b.range.clone()])
        }
        Err(_) => false,
    }
}

const CHANGED_TAGS: &str = "the new text would add, change or break a template tag (a copied \
                            source holding one, or text that joins a tag); csppatch never \
                            writes a tag: add the vendor's sources by hand here";

/// A finder stands in for its dialect where sites are found and encoded (scan, splice, the
/// read-back); the configuration around a file (includes, main configs, validators) is still
/// asked of the dialect itself, so those methods keep the trait's defaults here.
impl Dialect for Finder<'_> {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn rules(&self) -> &'static [crate::rule::Rule] {
        self.kind.dialect().rules()
    }

    fn claims_name(&self, name: &str, ext: &str, head: &[u8]) -> bool {
        self.kind.dialect().claims_name(name, ext, head)
    }

    /// A template's sites come out of the whole `find` (its tags are unmasked there); a plain
    /// file's from the dialect's own.
    fn find_sites(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        match self.template {
            None => self.kind.dialect().find_sites(path, src),
            Some(_) => self.find(path, src),
        }
    }

    fn find(&self, path: &Path, src: &[u8]) -> Result<FileScan, Diagnostic> {
        let inner = self.kind.dialect();
        let Some(t) = self.template else {
            return inner.find(path, src);
        };
        let p = Self::prepare(t, src).map_err(|e| {
            Diagnostic::error("TPL001", format!("{}: {}", t.engine.name(), e.message))
                .at(Location::of(path, src, e.offset))
                .with_help(format!(
                    "the {} engine refuses this template too; pass --template none if the \
                     file is not a template",
                    t.engine.name()
                ))
        })?;
        let mut scan = inner.find(path, &p.masked.bytes).map_err(|mut d| {
            sites::relocate(&mut d, path, &p.masked.bytes, src);
            d.message = sites::unmask(&d.message, &p.tags, &p.masked, src);
            let help = format!(
                "read as a {} template, each tag masked; {}",
                t.engine.name(),
                d.help.take().unwrap_or_default()
            );
            d.with_help(help)
        })?;
        sites::process(&mut scan, t.engine, &p.tags, &p.masked, path, src);
        Ok(scan)
    }

    fn encode_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
    ) -> Option<Vec<u8>> {
        let inner = self.kind.dialect();
        let Some(t) = self.template else {
            return inner.encode_fragment(site, src, at, fragment);
        };
        let p = Self::prepare(t, src).ok()?;
        if let Err(why) = self.check_fragment(&p, site, src, at, fragment) {
            self.refuse(site, why);
            return None;
        }
        let inner_site = self.inner_site(&p, site)?;
        let bytes = inner.encode_fragment(&inner_site, &p.masked.bytes, at, fragment)?;
        if !same_tags(t, src, &p.tags, &spliced(src, at..at, &bytes)) {
            self.refuse(site, CHANGED_TAGS.into());
            return None;
        }
        Some(bytes)
    }

    /// Without a template, the dialect's own; with one, edit by edit (each is checked against
    /// the template's tags).
    fn encode_fragments(
        &self,
        site: &Site,
        src: &[u8],
        edits: &[(Range<usize>, &TextEdit)],
    ) -> Option<Vec<Vec<u8>>> {
        match self.template {
            None => self.kind.dialect().encode_fragments(site, src, edits),
            Some(_) => fragments_one_by_one(self, site, src, edits),
        }
    }

    /// Only without a template: a copy is then written as the text it sends.
    fn encode_copied_fragment(
        &self,
        site: &Site,
        src: &[u8],
        at: usize,
        fragment: &str,
        references: &[String],
    ) -> Option<Vec<u8>> {
        match self.template {
            None => self
                .kind
                .dialect()
                .encode_copied_fragment(site, src, at, fragment, references),
            Some(_) => None,
        }
    }

    fn encode_value(&self, site: &Site, src: &[u8], value: &str) -> Result<Vec<u8>, String> {
        let inner = self.kind.dialect();
        let Some(t) = self.template else {
            return inner.encode_value(site, src, value);
        };
        let p = Self::prepare(t, src).map_err(|e| e.message)?;
        if let Some(why) = self
            .why
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&site.span.start))
        {
            return Err(why);
        }
        if let Some(k) = p
            .tags
            .iter()
            .position(|t| t.effective.start < site.span.end && site.span.start < t.effective.end)
        {
            return Err(format!(
                "the value holds the template tag {}, and this change cannot be made around it \
                 (csppatch would have to rewrite the whole value, tag included)",
                named(&p.tags, k, src)
            ));
        }
        let inner_site = self
            .inner_site(&p, site)
            .ok_or("the value does not read back in the masked template")?;
        let bytes = inner.encode_value(&inner_site, &p.masked.bytes, value)?;
        if !same_tags(t, src, &p.tags, &spliced(src, site.span.clone(), &bytes)) {
            return Err(CHANGED_TAGS.into());
        }
        Ok(bytes)
    }

    fn check_tree(&self, files: &[TreeFile<'_>]) -> Vec<Diagnostic> {
        self.kind.dialect().check_tree(files)
    }
}
