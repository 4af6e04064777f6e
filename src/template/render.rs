//! Rendering a template with its real engine, for `--validate` (filled in below).
