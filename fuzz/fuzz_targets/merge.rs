#![no_main]
//! csp::merge on a structured policy list and vendor requirements (see
//! csppatch_fuzz::merge).
libfuzzer_sys::fuzz_target!(|input: csppatch_fuzz::merge::Input| {
    csppatch_fuzz::merge::check(&input)
});
