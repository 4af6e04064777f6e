#![no_main]
//! The php tokenizer on arbitrary bytes (see csppatch_fuzz::tokens::php).
libfuzzer_sys::fuzz_target!(|data: &[u8]| csppatch_fuzz::tokens::php(data));
