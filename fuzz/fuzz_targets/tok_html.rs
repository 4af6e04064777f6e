#![no_main]
//! The html tokenizer on arbitrary bytes (see csppatch_fuzz::tokens::html).
libfuzzer_sys::fuzz_target!(|data: &[u8]| csppatch_fuzz::tokens::html(data));
