#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/test-deps.sh), then runs every test,
# including the ones that start real nginx, Apache, Caddy, PHP and Chromium on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
# --no-fail-fast: the tests are four binaries, and a failure in one must not hide the others.
cargo test --locked --all-targets --no-fail-fast
cargo test --locked --doc
