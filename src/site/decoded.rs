//! A decoded value: the text the server sends, which file bytes produced each text byte, the
//! parts only known at request time, and, for a value built from variables, the literals it
//! is made of (see `pieces.rs`).

use std::ops::Range;

use super::pieces::{OpaqueNote, Piece, PieceOf};

/// A value as the server sends it, with the raw bytes each of its bytes came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The header value as sent (for a meta tag: the `content` attribute after character
    /// references are decoded). Bytes that are not UTF-8 are replaced (U+FFFD) and the site is
    /// then refused by the dialect.
    pub text: String,
    /// Which raw bytes produced which text bytes, as runs (see [`Decoded::raw`]): a policy is
    /// mostly literal text, so a run per literal stretch keeps this a few words per value
    /// instead of a range per byte (which was most of the memory on a 10,000-vhost tree).
    runs: Vec<Run>,
    /// Ranges of `text` whose content is only known at request time (`$var`, `{$ENV}`, a PHP
    /// expression). The text there is a stand-in; the merge never edits inside it.
    pub opaque: Vec<Range<usize>>,
    /// What some of the `opaque` parts are, where the dialect knows (a variable it could not
    /// expand, a placeholder, a PHP expression): for messages, and for what the part can hold.
    pub notes: Vec<OpaqueNote>,
    /// A value built from variables the dialect expanded (an nginx `set`, Caddy `vars`, a PHP
    /// assignment): every literal the text came from but the site's own, in pre-order (a piece
    /// comes before the pieces inside it). Empty: the text is the site's own bytes.
    pub pieces: Vec<Piece>,
    /// With `pieces`: the site's own value as written, its references opaque (what the
    /// dialect's encoder reads the site's own word as).
    pub alone: Option<Box<Decoded>>,
}

/// `text[text_start..text_start + len]` came from the file at `raw_start..`: byte for byte
/// (`literal`), or every byte of it from the whole `raw_start..raw_start + raw_len` (an
/// escape, a character reference, a stand-in for a variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    text_start: u32,
    len: u32,
    raw_start: u32,
    raw_len: u32,
    literal: bool,
}

impl Decoded {
    /// Append bytes that stand for themselves, starting at file offset `at`.
    pub fn push_literal(&mut self, at: usize, bytes: &[u8]) {
        // One ASCII byte at a time is how the HTML and PHP decoders call this (1.3 million
        // calls on 1,000 pages): no UTF-8 check for it.
        if let [b] = *bytes {
            if b.is_ascii() {
                self.push_byte(at, b);
                return;
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => self.push_literal_str(at, s),
            Err(_) => {
                // Not UTF-8: map every replacement character to the whole literal.
                for ch in String::from_utf8_lossy(bytes).chars() {
                    self.push_char(ch, at..at + bytes.len());
                }
            }
        }
    }

    /// [`Decoded::push_literal`] of text known to be UTF-8.
    fn push_literal_str(&mut self, at: usize, s: &str) {
        if s.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(s);
        self.extend_literal(start, at, s.len());
    }

    /// ASCII bytes that stand for themselves, from file offset `at` on, one after the other
    /// in the file (a decoder's run of plain bytes; each must be ASCII).
    pub fn push_ascii(&mut self, at: usize, bytes: impl Iterator<Item = u8>) {
        let start = self.text.len();
        self.text.extend(bytes.map(|b| {
            debug_assert!(b.is_ascii());
            char::from(b)
        }));
        let len = self.text.len() - start;
        if len > 0 {
            self.extend_literal(start, at, len);
        }
    }

    /// One ASCII byte that stands for itself, from file offset `at`.
    fn push_byte(&mut self, at: usize, b: u8) {
        debug_assert!(b.is_ascii());
        let start = self.text.len();
        self.text.push(char::from(b));
        self.extend_literal(start, at, 1);
    }

    /// Record that `text[start..start + len]` came byte for byte from the file at `at..`,
    /// in the last run when it continues it.
    fn extend_literal(&mut self, start: usize, at: usize, len: usize) {
        if let Some(last) = self.runs.last_mut() {
            let contiguous = last.literal
                && (last.text_start + last.len) as usize == start
                && (last.raw_start + last.raw_len) as usize == at;
            if contiguous {
                last.len += len as u32;
                last.raw_len += len as u32;
                return;
            }
        }
        self.runs.push(Run {
            text_start: start as u32,
            len: len as u32,
            raw_start: at as u32,
            raw_len: len as u32,
            literal: true,
        });
    }

    /// Append a reference (file bytes `reference`, in the literal being decoded) whose value
    /// is `value`, itself read from the literal `of` (its own pieces come along, inside it).
    pub fn push_value(&mut self, reference: Range<usize>, value: &Decoded, of: PieceOf) {
        let base = self.text.len();
        let first = self.pieces.len();
        self.text.push_str(&value.text);
        self.runs.extend(value.runs.iter().map(|r| Run {
            text_start: r.text_start + base as u32,
            ..*r
        }));
        let shift = |r: &Range<usize>| r.start + base..r.end + base;
        self.opaque.extend(value.opaque.iter().map(shift));
        self.notes.extend(value.notes.iter().map(|n| OpaqueNote {
            range: shift(&n.range),
            ..n.clone()
        }));
        self.pieces.push(Piece {
            text: base..self.text.len(),
            reference,
            parent: None,
            span: of.span,
            alone: value
                .alone
                .as_deref()
                .cloned()
                .unwrap_or_else(|| value.without_pieces()),
            name: of.name,
            origin: of.origin,
            editable: of.editable,
            variant: false,
        });
        self.pieces.extend(value.pieces.iter().map(|p| Piece {
            text: shift(&p.text),
            parent: Some(p.parent.map_or(first, |i| i + first + 1)),
            ..p.clone()
        }));
    }

    /// A stand-in for a part known only at request time, with what it is.
    pub fn push_noted(&mut self, stand_in: &str, raw: Range<usize>, note: OpaqueNote) {
        let start = self.text.len();
        self.push_opaque(stand_in, raw);
        self.notes.push(OpaqueNote {
            range: start..self.text.len(),
            ..note
        });
    }

    /// Done building: with pieces, `alone` is the site's own value as written.
    pub fn finish(mut self, alone: Decoded) -> Decoded {
        if !self.pieces.is_empty() {
            self.alone = Some(Box::new(alone));
        }
        self
    }

    /// The value without its pieces (the text and its mapping only).
    pub fn without_pieces(&self) -> Decoded {
        Decoded {
            pieces: Vec::new(),
            alone: None,
            ..self.clone()
        }
    }

    /// Append one character produced by the raw bytes `raw` (an escape, a character reference).
    pub fn push_char(&mut self, ch: char, raw: Range<usize>) {
        let mut buf = [0u8; 4];
        let s = ch.encode_utf8(&mut buf);
        self.push_mapped(s, raw);
    }

    /// Append a stand-in for text only known at request time, produced by `raw`.
    pub fn push_opaque(&mut self, stand_in: &str, raw: Range<usize>) {
        let start = self.text.len();
        self.push_mapped(stand_in, raw);
        self.opaque.push(start..self.text.len());
    }

    fn push_mapped(&mut self, s: &str, raw: Range<usize>) {
        if s.is_empty() {
            return;
        }
        if s.len() == 1 && raw.len() == 1 {
            // One byte from one byte is a literal byte, whoever pushed it (nginx decodes
            // character by character): keep the runs few.
            let start = self.text.len();
            self.text.push_str(s);
            self.extend_literal(start, raw.start, 1);
            return;
        }
        let start = self.text.len();
        self.text.push_str(s);
        self.runs.push(Run {
            text_start: start as u32,
            len: s.len() as u32,
            raw_start: raw.start as u32,
            raw_len: (raw.end - raw.start) as u32,
            literal: false,
        });
    }

    /// The absolute file byte range that produced `text` byte `i`. Every byte of a
    /// multi-byte character, and every byte an escape produced, has the whole raw range.
    pub fn raw(&self, i: usize) -> Option<Range<usize>> {
        let k = self
            .runs
            .partition_point(|r| (r.text_start as usize) <= i)
            .checked_sub(1)?;
        let r = self.runs[k];
        let off = i - r.text_start as usize;
        if off >= r.len as usize {
            return None;
        }
        let start = r.raw_start as usize;
        Some(if r.literal {
            start + off..start + off + 1
        } else {
            start..start + r.raw_len as usize
        })
    }

    /// [`Decoded::raw`] of every text byte, in order.
    pub fn raw_ranges(&self) -> impl Iterator<Item = Range<usize>> + Clone + '_ {
        // Run by run rather than a search per byte: runs are pushed as the text grows, so
        // they are in text order and apart, and a byte no run covers has no raw bytes.
        debug_assert!(
            self.runs
                .windows(2)
                .all(|w| w[0].text_start + w[0].len <= w[1].text_start),
            "runs in text order, apart"
        );
        let len = self.text.len();
        self.runs.iter().flat_map(move |r| {
            let start = r.text_start as usize;
            let end = (start + r.len as usize).min(len).max(start);
            let raw = r.raw_start as usize;
            let whole = raw..raw + r.raw_len as usize;
            let literal = r.literal;
            (0..end - start).map(move |off| {
                if literal {
                    raw + off..raw + off + 1
                } else {
                    whole.clone()
                }
            })
        })
    }

    /// File offset where text inserted at `text` position `pos` goes: right after the raw
    /// bytes of the character before it, so insertions stay with the text on their left
    /// (inside the same quoted literal, before an Apache continuation).
    pub fn raw_insertion_point(&self, pos: usize) -> Option<usize> {
        if self.inside_unit(pos) {
            return None;
        }
        if pos == 0 {
            self.raw(0).map(|r| r.start)
        } else {
            self.raw(pos - 1).map(|r| r.end)
        }
    }

    /// File range holding exactly `text[range]`, if those bytes are contiguous in the file
    /// (no continuation, quote or concatenation between them) and none of them is opaque.
    pub fn raw_range(&self, range: Range<usize>) -> Option<Range<usize>> {
        if range.is_empty() {
            return self.raw_insertion_point(range.start).map(|p| p..p);
        }
        if self.touches_opaque(range.clone())
            || self.inside_unit(range.start)
            || self.inside_unit(range.end)
        {
            return None;
        }
        let first = self.raw(range.start)?;
        let mut prev = first.clone();
        for i in range.start + 1..range.end {
            let r = self.raw(i)?;
            if r != prev && prev.end != r.start {
                return None;
            }
            prev = r;
        }
        Some(first.start..prev.end)
    }

    /// Is text position `pos` between two characters that one raw sequence produced (`\;`
    /// in a PHP single-quoted string is both `\` and `;`)? No file offset lies between them:
    /// the raw bytes of either side are the whole sequence.
    fn inside_unit(&self, pos: usize) -> bool {
        pos > 0
            && match (self.raw(pos - 1), self.raw(pos)) {
                (Some(before), Some(after)) => before == after,
                _ => false,
            }
    }

    /// Does `range` of the text overlap, or sit strictly inside, an opaque part?
    pub fn touches_opaque(&self, range: Range<usize>) -> bool {
        self.opaque.iter().any(|o| {
            if range.is_empty() {
                o.start < range.start && range.start < o.end
            } else {
                o.start < range.end && range.start < o.end
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded_with_continuation() -> Decoded {
        // raw file: `"a b \<LF>c"` at offset 10: text "a b c"
        let mut d = Decoded::default();
        d.push_literal(11, b"a b ");
        d.push_literal(17, b"c");
        d
    }

    #[test]
    fn insertion_points_attach_left() {
        let d = decoded_with_continuation();
        assert_eq!(d.text, "a b c");
        assert_eq!(d.raw_insertion_point(0), Some(11));
        assert_eq!(
            d.raw_insertion_point(4),
            Some(15),
            "before the continuation"
        );
        assert_eq!(d.raw_insertion_point(5), Some(18));
    }

    #[test]
    fn ranges_across_gaps_are_not_contiguous() {
        let d = decoded_with_continuation();
        assert_eq!(d.raw_range(0..3), Some(11..14));
        assert_eq!(d.raw_range(3..5), None);
    }

    #[test]
    fn literal_runs_merge_and_map_byte_for_byte() {
        let mut d = Decoded::default();
        d.push_literal(100, b"ab");
        d.push_literal(102, b"cd");
        assert_eq!(d.runs.len(), 1, "contiguous literals are one run");
        assert_eq!(d.raw(3), Some(103..104));
        assert_eq!(d.raw(4), None);
        d.push_literal(110, b"e");
        assert_eq!(d.raw(4), Some(110..111));
        assert_eq!(d.raw_ranges().count(), 5);
    }

    #[test]
    fn single_bytes_and_text_that_is_not_utf8() {
        let mut d = Decoded::default();
        d.push_literal(5, b"a");
        d.push_literal(6, b"b");
        assert_eq!(d.runs.len(), 1, "one byte after the other is one run");
        d.push_literal(7, &[0xff]);
        d.push_literal(8, "é".as_bytes());
        d.push_literal(10, &[b'c', 0xe9]);
        assert_eq!(d.text, "ab\u{fffd}éc\u{fffd}");
        let raws: Vec<_> = (0..d.text.len()).map(|i| d.raw(i)).collect();
        let fffd = |r: std::ops::Range<usize>| [r.clone(), r.clone(), r].map(Some);
        let mut want = vec![Some(5..6), Some(6..7)];
        want.extend(fffd(7..8));
        want.extend([Some(8..9), Some(9..10), Some(10..12)]);
        want.extend(fffd(10..12));
        assert_eq!(
            raws, want,
            "a literal that is not UTF-8 maps to all its bytes"
        );
    }

    /// `raw_ranges` walks the runs; it says what `raw` says of each text byte, with text no
    /// run covers (pushed straight into `text`) left out as `raw` leaves it out.
    #[test]
    fn raw_ranges_are_raw_of_every_byte() {
        let mut d = Decoded::default();
        d.push_literal(3, b"ab");
        d.push_char('\u{e9}', 5..11);
        d.push_opaque("$v", 11..13);
        d.text.push_str("zz");
        d.push_literal(20, &[b'c', 0xff]);
        let mut inner = Decoded::default();
        inner.push_literal(40, b"in");
        inner.push_char('"', 42..44);
        d.push_value(
            30..34,
            &inner,
            PieceOf {
                span: 40..44,
                name: "$in".into(),
                origin: "line 1".into(),
                editable: true,
            },
        );
        d.push_literal(50, b"!");
        let by_byte: Vec<_> = (0..d.text.len()).filter_map(|i| d.raw(i)).collect();
        assert_eq!(d.raw_ranges().collect::<Vec<_>>(), by_byte);
        assert_eq!(
            by_byte.len(),
            d.text.len() - 2,
            "the two bytes no run covers"
        );
        assert_eq!(
            by_byte[2],
            5..11,
            "both bytes of \u{e9} have its whole escape"
        );
        assert_eq!(by_byte[by_byte.len() - 2], 42..44);
    }

    #[test]
    fn escapes_map_to_their_whole_raw_sequence() {
        let mut d = Decoded::default();
        d.push_literal(0, b"a");
        d.push_char('"', 1..3);
        d.push_literal(3, b"b");
        assert_eq!(d.text, "a\"b");
        assert_eq!(d.raw_range(0..3), Some(0..4));
        assert_eq!(d.raw_insertion_point(2), Some(3));
    }

    #[test]
    fn opaque_parts_are_not_editable() {
        let mut d = Decoded::default();
        d.push_literal(0, b"x ");
        d.push_opaque("$v", 2..4);
        d.push_literal(4, b" y");
        assert!(d.raw_range(2..3).is_none());
        assert!(d.touches_opaque(3..3));
        assert!(
            !d.touches_opaque(2..2),
            "an insertion before the variable is fine"
        );
        assert!(
            !d.touches_opaque(4..4),
            "an insertion after the variable is fine"
        );
    }
}
