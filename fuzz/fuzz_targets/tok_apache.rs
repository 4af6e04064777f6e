#![no_main]
//! The apache tokenizer on arbitrary bytes (see csppatch_fuzz::tokens::apache).
libfuzzer_sys::fuzz_target!(|data: &[u8]| csppatch_fuzz::tokens::apache(data));
