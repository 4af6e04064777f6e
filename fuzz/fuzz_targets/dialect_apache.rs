#![no_main]
//! Apache find on arbitrary bytes, then the encode round trip on every site it finds (see
//! csppatch_fuzz::roundtrip).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    csppatch_fuzz::roundtrip::check(csppatch::dialect::DialectKind::Apache, data)
});
