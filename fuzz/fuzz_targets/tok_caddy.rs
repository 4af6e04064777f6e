#![no_main]
//! The caddy tokenizer on arbitrary bytes (see csppatch_fuzz::tokens::caddy).
libfuzzer_sys::fuzz_target!(|data: &[u8]| csppatch_fuzz::tokens::caddy(data));
