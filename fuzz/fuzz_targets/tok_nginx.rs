#![no_main]
//! The nginx tokenizer on arbitrary bytes (see csppatch_fuzz::tokens::nginx).
libfuzzer_sys::fuzz_target!(|data: &[u8]| csppatch_fuzz::tokens::nginx(data));
