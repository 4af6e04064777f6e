//! Each dialect's reading and writing of its format, checked against the real program that
//! reads it (`nginx -t`, `apache2 -t` and httpd, `caddy adapt`/`validate` and Caddy, `php -l`
//! and `php -S`, Chromium's HTML parser) and against the shared conformance corpus.

#[path = "../common/mod.rs"]
mod common;

// One module per test file of this folder.
mod apache_corpus;
mod apache_encode;
mod apache_server;
mod apache_snapshots;
mod caddy_adapt_fuzz;
mod caddy_corpus;
mod caddy_lints;
mod caddy_oracle;
mod caddy_robustness;
mod caddy_seed;
mod caddy_snapshots;
mod caddy_splice;
mod fuzz_regressions;
mod html_decode;
mod html_encode;
mod html_enforce;
mod html_snapshots;
mod nginx_corpus;
mod nginx_find;
mod nginx_props;
mod nginx_server;
mod php_decode;
mod php_encode;
mod php_snapshots;
mod php_tokenizer;
mod upstream_notes;
