//! A value built from variables: the literals it is made of, and where text inserted at a
//! point of the expanded value can go in the file.
//!
//! A dialect that can tell a variable's value from the configuration (an nginx `set`, Caddy
//! `vars`, a PHP assignment) decodes a site's value with the variable's value in place of the
//! reference (`Decoded::push_value`): the merge then reasons about the policy the browser
//! receives, and every text byte still maps to the file byte it came from (the `set` literal's
//! bytes for the variable's text). Each expanded literal is a [`Piece`]: the text it produced,
//! the bytes of the reference to it, and the literal as its own small site, so that the
//! dialect's own encoder can write into it. Splicing then needs no special case: an edit is
//! written into the literal that holds the text it touches (see `splice/place.rs`).

use std::ops::Range;

use super::Decoded;

/// What a part only known at request time can change, and so what it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A source or a part of one (`'nonce-$request_id'`, `https://$host`, a PHP call in
    /// `report-uri`): its directive is patched around it.
    Source,
    /// Any text, `;` and other directives included, substituted before the server even reads
    /// the value (Caddy's `{$ENV}`): the directive that holds it is neither changed nor copied.
    Any,
}

/// What one run-time part of a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueNote {
    /// The part's stand-in in the value's text.
    pub range: Range<usize>,
    /// What it is, for messages: `` `$extra`, which no `set` of this file assigns ``.
    pub what: String,
    pub reach: Reach,
}

/// The literal a variable's value was read from, for [`Decoded::push_value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceOf {
    /// File bytes of the literal (an nginx word, a Caddy token, a PHP expression).
    pub span: Range<usize>,
    /// `$csp_script`, `{vars.scriptSrc}`, `$policy[]`.
    pub name: String,
    /// Where it is set, for messages: `line 54`, `line 22, in `if ($uri = /pad/inner.html)``.
    pub origin: String,
    /// csppatch may change the literal: every use of the variable is a CSP value (changing it
    /// changes no other header, condition or output).
    pub editable: bool,
}

/// One literal of an expanded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text of the expanded value this literal produced, the pieces inside it included.
    pub text: Range<usize>,
    /// File bytes of the reference to it (`$csp_script`, `${csp_script}`, `{vars.x}`) in the
    /// literal around it.
    pub reference: Range<usize>,
    /// The piece around it; `None`: the site's own value.
    pub parent: Level,
    /// File bytes of the literal itself.
    pub span: Range<usize>,
    /// The literal's value as written, its own references opaque: the literal as a site.
    pub alone: Decoded,
    pub name: String,
    pub origin: String,
    pub editable: bool,
    /// One of several values the variable can have here (the site is one variant of its
    /// header, README "Values built from variables"): the other variants share the literals
    /// around it, so a change may also be written around its reference instead.
    pub variant: bool,
}

impl Piece {
    /// `` `$csp_script` (line 54) `` for messages.
    pub fn describe(&self) -> String {
        format!("`{}` ({})", self.name, self.origin)
    }
}

/// A literal of a value: the site's own (`None`) or one of its pieces.
pub type Level = Option<usize>;

impl Decoded {
    /// The literal that produced text byte `i`: the innermost piece holding it.
    pub fn owner(&self, i: usize) -> Level {
        // Pre-order: of the pieces holding `i`, the last is the innermost.
        self.pieces.iter().rposition(|p| p.text.contains(&i))
    }

    /// The text a literal produced, with what the pieces inside it produced.
    pub fn level_text(&self, level: Level) -> Range<usize> {
        level.map_or(0..self.text.len(), |i| self.pieces[i].text.clone())
    }

    /// How many pieces a literal is inside.
    pub fn depth(&self, mut level: Level) -> usize {
        let mut depth = 0;
        while let Some(i) = level {
            depth += 1;
            level = self.pieces[i].parent;
        }
        depth
    }

    /// May the literal be changed? Not when it, or a literal around it, is also used by
    /// something that is not a CSP value.
    pub fn editable(&self, mut level: Level) -> bool {
        while let Some(i) = level {
            if !self.pieces[i].editable {
                return false;
            }
            level = self.pieces[i].parent;
        }
        true
    }

    /// Does the literal itself (not a piece inside it) produce some of `range`, other than
    /// white space? (The `; ` between `${csp_default}; ${csp_script}` does; `"$csp"` does not.)
    pub fn own_text_in(&self, level: Level, range: Range<usize>) -> bool {
        let bytes = self.text.as_bytes();
        range
            .filter(|&i| !bytes[i].is_ascii_whitespace())
            .any(|i| self.owner(i) == level)
    }

    /// Is the literal one of several values of a variable, or inside one?
    pub fn in_variant(&self, mut level: Level) -> bool {
        while let Some(i) = level {
            if self.pieces[i].variant {
                return true;
            }
            level = self.pieces[i].parent;
        }
        false
    }

    /// The literal and the literals around it, innermost first, the site's own (`None`) last.
    pub fn lineage(&self, mut level: Level) -> Vec<Level> {
        let mut out = vec![level];
        while let Some(i) = level {
            level = self.pieces[i].parent;
            out.push(level);
        }
        out
    }

    /// The innermost literal that produced every byte of `range` (not empty): the literal of
    /// a directive's sources (`$scriptSrc` for `script-src $scriptSrc` with
    /// `set $scriptSrc "'self' http://${main_domain}"`, the header's own for
    /// `script-src 'self' $cdn`).
    pub fn holder(&self, range: Range<usize>) -> Level {
        let first = self.lineage(self.owner(range.start));
        let last = self.lineage(self.owner(range.end.saturating_sub(1).max(range.start)));
        first.into_iter().find(|l| last.contains(l)).unwrap_or(None)
    }

    /// `range` of the text as literal `level` writes it, and the references in it: the text of
    /// the literal itself with each piece inside it written as the reference to it
    /// (`http://${main_domain}` for `http://127.0.0.1`). `None` when `range` starts or ends
    /// inside such a piece rather than with it, or is not the literal's text.
    pub fn written_as(&self, level: Level, range: Range<usize>) -> Option<(String, Vec<String>)> {
        if range.is_empty() {
            return None;
        }
        // The piece directly inside `level` that holds byte `i`; `None`: `level`'s own byte.
        let child = |i: usize| -> Option<Option<usize>> {
            let lineage = self.lineage(self.owner(i));
            let k = lineage.iter().position(|l| *l == level)?;
            Some(if k == 0 { None } else { lineage[k - 1] })
        };
        let start = match child(range.start)? {
            None => self.raw(range.start)?.start,
            Some(c) if self.pieces[c].text.start == range.start => self.pieces[c].reference.start,
            Some(_) => return None,
        };
        let end = match child(range.end - 1)? {
            None => self.raw(range.end - 1)?.end,
            Some(c) if self.pieces[c].text.end == range.end => self.pieces[c].reference.end,
            Some(_) => return None,
        };
        let own = self.level_value(level);
        let from = (0..own.text.len()).find(|&i| own.raw(i).is_some_and(|r| r.start == start))?;
        let to = (from..own.text.len())
            .rev()
            .find(|&i| own.raw(i).is_some_and(|r| r.end == end))?
            + 1;
        let references = own
            .opaque
            .iter()
            .filter(|o| from <= o.start && o.end <= to)
            .map(|o| own.text[o.clone()].to_string())
            .collect();
        Some((own.text[from..to].to_string(), references))
    }

    /// The pieces directly inside a literal.
    pub fn children(&self, level: Level) -> impl Iterator<Item = usize> + '_ {
        (0..self.pieces.len()).filter(move |&i| self.pieces[i].parent == level)
    }

    /// Every place in the file where text inserted at text position `p` decodes in place:
    /// right after the text before `p`, in the literal that holds it, then, for each piece
    /// that ends at `p`, right after the reference to it in the literal around it; then the
    /// same before the text after `p`. Each with the literal it lands in.
    pub fn insertion_points(&self, p: usize) -> Vec<(Level, usize)> {
        let mut out = Vec::new();
        if p > 0 {
            if let Some(r) = self.raw(p - 1) {
                let mut level = self.owner(p - 1);
                out.push((level, r.end));
                while let Some(i) = level {
                    let piece = &self.pieces[i];
                    if piece.text.end != p {
                        break;
                    }
                    out.push((piece.parent, piece.reference.end));
                    level = piece.parent;
                }
            }
        }
        if p < self.text.len() {
            if let Some(r) = self.raw(p) {
                let mut level = self.owner(p);
                out.push((level, r.start));
                while let Some(i) = level {
                    let piece = &self.pieces[i];
                    if piece.text.start != p {
                        break;
                    }
                    out.push((piece.parent, piece.reference.start));
                    level = piece.parent;
                }
            }
        }
        out.dedup();
        out
    }

    /// The literal as the dialect's encoder reads it: a piece's value as written, or the
    /// site's own (its references opaque).
    pub fn level_value(&self, level: Level) -> &Decoded {
        match level {
            Some(i) => &self.pieces[i].alone,
            None => self.alone.as_deref().unwrap_or(self),
        }
    }

    /// Why `edit` must not be written when the value holds a part substituted as raw text
    /// before the server reads the file (Caddy's `{$ENV}`, [`Reach::Any`]): that text can
    /// hold anything, `;` and other directives too, so the directive that holds it is
    /// neither changed nor copied. A new directive next to it is fine (README, "Values
    /// built from variables").
    pub fn substituted_conflict(&self, edit: &crate::csp::TextEdit) -> Option<String> {
        let any: Vec<&OpaqueNote> = self
            .notes
            .iter()
            .filter(|n| n.reach == Reach::Any)
            .collect();
        if any.is_empty() {
            return None;
        }
        let list = crate::csp::parse::parse(&self.text);
        let head = edit.text.split(';').next().unwrap_or("");
        let changes_directive = !edit.range.is_empty() || !head.trim().is_empty();
        for d in list.policies.iter().flat_map(|p| &p.directives) {
            let Some(n) = any
                .iter()
                .find(|n| d.span.start <= n.range.start && n.range.end <= d.span.end)
            else {
                continue;
            };
            let stand_in = &self.text[n.range.clone()];
            let at = edit.range.start;
            if changes_directive && d.span.start <= at && at <= d.span.end {
                return Some(format!(
                    "`{}` would go into `{}`, which holds {}: its text could end the directive or add others, so that directive is left to you",
                    edit.text.trim().trim_start_matches(';').trim(),
                    d.name,
                    n.what
                ));
            }
            if edit.text.contains(stand_in) {
                return Some(format!(
                    "a new directive would copy `{}` from `{}`, which holds {}: add it by hand",
                    stand_in, d.name, n.what
                ));
            }
        }
        None
    }

    /// The note of the run-time part at `range`, if the dialect left one.
    pub fn note_at(&self, range: &Range<usize>) -> Option<&OpaqueNote> {
        self.notes.iter().find(|n| n.range == *range)
    }
}

/// Why a site must be refused when a part only known at request time stands where a
/// directive name is (`"default-src 'self'; $extra"`): that part can hold any directive, the
/// vendor's among them, and a directive csppatch adds after it could be shadowed by one inside
/// it (browsers keep the first of a name). `None` when every such part is inside a directive's
/// sources, where the directive is patched around it.
pub fn unknown_directives(value: &Decoded) -> Option<String> {
    refusal(value, false)
}

/// [`unknown_directives`] for the parts the dialect noted only (Caddy: `{vars.x}` and
/// `{$ENV}`; a request placeholder such as `{http.request.header.X}` in that place is left to
/// the run-time-expression warning, as before).
pub fn unknown_noted_directives(value: &Decoded) -> Option<String> {
    refusal(value, true)
}

fn refusal(value: &Decoded, noted_only: bool) -> Option<String> {
    if value.opaque.is_empty() {
        // Nothing only known at request time (most values): no directive name can touch it,
        // and the policy need not be parsed.
        return None;
    }
    let list = crate::csp::parse::parse(&value.text);
    let parts: Vec<String> = list
        .policies
        .iter()
        .flat_map(|p| &p.directives)
        .filter(|d| value.touches_opaque(d.name_span.clone()))
        .filter_map(|d| {
            let note = value
                .notes
                .iter()
                .find(|n| n.range.start < d.name_span.end && d.name_span.start < n.range.end);
            match note {
                Some(n) => Some(n.what.clone()),
                None if noted_only => None,
                None => Some(format!("`{}`", &value.text[d.name_span.clone()])),
            }
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "a part only known at request time stands where a directive is, so it can hold any \
         directive, the vendor's too: {}; give it one value in this file (or write the \
         directives in the header), then run csppatch again",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add_header CSP "a; $x;"` (header word at 0..9) with `set $x "b c"` (at 20..25).
    fn expanded() -> Decoded {
        let mut x = Decoded::default();
        x.push_literal(21, b"b c");
        let mut alone = Decoded::default();
        alone.push_literal(1, b"a; ");
        alone.push_opaque("$x", 4..6);
        alone.push_literal(6, b";");
        let mut d = Decoded::default();
        d.push_literal(1, b"a; ");
        d.push_value(
            4..6,
            &x,
            PieceOf {
                span: 20..25,
                name: "$x".into(),
                origin: "line 2".into(),
                editable: true,
            },
        );
        d.push_literal(6, b";");
        d.finish(alone)
    }

    #[test]
    fn text_maps_to_the_literal_it_came_from() {
        let d = expanded();
        assert_eq!(d.text, "a; b c;");
        assert_eq!(d.raw(3), Some(21..22), "`b` is in the set literal");
        assert_eq!(d.owner(3), Some(0));
        assert_eq!(d.owner(6), None);
        assert_eq!(d.raw_range(3..6), Some(21..24));
        assert_eq!(d.raw_range(1..4), None, "across the reference");
        assert!(d.own_text_in(None, 0..7));
        assert!(!d.own_text_in(None, 3..6));
    }

    #[test]
    fn insertion_points_inside_then_after_the_reference() {
        let d = expanded();
        // After `b c`: at the end of the set literal, or after `$x` in the header.
        assert_eq!(d.insertion_points(6), vec![(Some(0), 24), (None, 6)]);
        assert_eq!(d.insertion_points(4), vec![(Some(0), 22)]);
        assert_eq!(d.level_value(None).text, "a; $x;");
        assert_eq!(d.level_value(Some(0)).text, "b c");
    }

    #[test]
    fn nested_pieces_keep_their_parents() {
        let inner = expanded();
        let mut outer = Decoded::default();
        outer.push_value(
            100..103,
            &inner,
            PieceOf {
                span: 0..9,
                name: "$y".into(),
                origin: "line 1".into(),
                editable: false,
            },
        );
        assert_eq!(outer.pieces.len(), 2);
        assert_eq!(outer.pieces[1].parent, Some(0));
        assert_eq!(outer.depth(Some(1)), 2);
        assert!(
            !outer.editable(Some(1)),
            "inside a literal that is not editable"
        );
        assert_eq!(outer.pieces[0].alone.text, "a; $x;");
    }

    #[test]
    fn a_token_is_written_as_the_literal_that_holds_it_wrote_it() {
        // `set $d "h"` (at 40), `set $s "x http://${d}"` (at 20), header `"a $s"` (at 0).
        let of = |span: Range<usize>, name: &str| PieceOf {
            span,
            name: name.into(),
            origin: "line 1".into(),
            editable: true,
        };
        let mut d = Decoded::default();
        d.push_literal(41, b"h");
        let mut s_alone = Decoded::default();
        s_alone.push_literal(21, b"x http://");
        s_alone.push_opaque("${d}", 30..34);
        let mut s = Decoded::default();
        s.push_literal(21, b"x http://");
        s.push_value(30..34, &d, of(40..43, "$d"));
        let s = s.finish(s_alone);
        let mut alone = Decoded::default();
        alone.push_literal(1, b"a ");
        alone.push_opaque("$s", 3..5);
        let mut v = Decoded::default();
        v.push_literal(1, b"a ");
        v.push_value(3..5, &s, of(20..35, "$s"));
        let v = v.finish(alone);
        assert_eq!(v.text, "a x http://h");
        assert_eq!(v.holder(4..12), Some(0), "`$s` holds all of `http://h`");
        assert_eq!(v.holder(2..12), Some(0));
        assert_eq!(v.holder(0..12), None);
        assert_eq!(
            v.written_as(Some(0), 4..12),
            Some(("http://${d}".to_string(), vec!["${d}".to_string()]))
        );
        assert_eq!(v.written_as(None, 4..12), None, "only part of `$s`");
        assert_eq!(
            v.written_as(None, 2..12),
            Some(("$s".to_string(), vec!["$s".to_string()]))
        );
    }
}
