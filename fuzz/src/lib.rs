//! What the fuzz targets check, shared by the small files under `fuzz_targets/`.
//!
//! Each check panics with the evidence when an invariant the project states is broken; a
//! panic is what libFuzzer reports as a crash. Library paths used (the coordinator's list of
//! what a move in `src/` must keep reachable):
//! - `csppatch::dialect::{DialectKind, Dialect}`: `dialect()`, `find`, `encode_value`,
//!   `encode_fragment`;
//! - `csppatch::site::{Site, FileScan}`: spans and `Decoded` (`text`, `opaque`, `raw`,
//!   `raw_ranges`, `raw_insertion_point`, `touches_opaque`);
//! - tokenizers: `csppatch::dialect::nginx::{tokenize, parse}`,
//!   `csppatch::dialect::apache::{tokenize, logical_lines}`,
//!   `csppatch::dialect::caddy::lexer::{lex, env_spans, PieceKind}`,
//!   `csppatch::dialect::php::lexer::{tokenize, Kind, Part}`,
//!   `csppatch::dialect::html::{tokenize, Token}`;
//! - `csppatch::csp::parse::parse`, `csppatch::csp::source::Source`,
//!   `csppatch::csp::{merge, self_check, MergeOptions, Requirement}`,
//!   `csppatch::csp::merge::apply`, `csppatch::csp::eval::*`,
//!   `csppatch::csp::matching::url_matches_expression`, `csppatch::csp::plan::Class`,
//!   `csppatch::csp::targets::{targets, Targets}`, `csppatch::csp::lint::check`,
//!   `csppatch::diag::Severity`, `csppatch::csp::Delivery`.

pub mod merge;
pub mod roundtrip;
pub mod tokens;

/// A dialect target's input: the file, and after its last NUL byte (if any) a policy text the
/// fuzzer chooses, used as a new value and as an inserted fragment. Seeds are plain config
/// files (no NUL), so they reach `find` as they are.
pub fn split_input(data: &[u8]) -> (&[u8], Option<String>) {
    match data.iter().rposition(|&b| b == 0) {
        Some(nul) => (
            &data[..nul],
            Some(String::from_utf8_lossy(&data[nul + 1..]).into_owned()),
        ),
        None => (data, None),
    }
}

/// Panics unless `spans` (in order) cover `0..len` exactly (an empty piece is allowed: the
/// Lua code of `content_by_lua_block {}`).
pub fn assert_tiles<I>(what: &str, len: usize, spans: I)
where
    I: IntoIterator<Item = std::ops::Range<usize>>,
{
    let mut at = 0;
    for s in spans {
        assert_eq!(s.start, at, "{what}: a gap or an overlap at {at} ({s:?})");
        assert!(s.end >= s.start, "{what}: reversed piece {s:?}");
        at = s.end;
    }
    assert_eq!(
        at, len,
        "{what}: the pieces end at {at}, the input at {len}"
    );
}

/// Panics unless `inner` lies within `outer`.
pub fn assert_within(what: &str, inner: &std::ops::Range<usize>, outer: &std::ops::Range<usize>) {
    assert!(
        outer.start <= inner.start && inner.end <= outer.end && inner.start <= inner.end,
        "{what}: {inner:?} is not within {outer:?}"
    );
}
