//! Exit codes of the command-line contract (README, "Command line").

/// Done, or nothing to do.
pub const OK: u8 = 0;
/// `--check` found files that would change (`probe`: something a vendor needs is blocked).
pub const CHANGES: u8 = 1;
/// `audit`: an error-level finding (a config that does not parse, a vendor blocked by an
/// enforced policy, an error lint).
pub const FINDINGS: u8 = 1;
/// Bad input: usage, unparsable file, invalid source, unsafe request.
pub const BAD_INPUT: u8 = 2;
/// Validation failed and nothing was written.
pub const INVALID: u8 = 3;
