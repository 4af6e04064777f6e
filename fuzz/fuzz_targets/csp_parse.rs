#![no_main]
//! The browser's policy parser (and the lints on top) on arbitrary text (see
//! csppatch_fuzz::tokens::csp).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    csppatch_fuzz::tokens::csp(&String::from_utf8_lossy(data))
});
