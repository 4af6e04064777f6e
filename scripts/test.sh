#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/test-deps.sh), then runs every test,
# including the ones that start real nginx, Apache, Caddy, PHP and Chromium on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
# The virtualenv's python3 (crossplane, jinja2), ansible-playbook and pre-commit come first.
export PATH="$PWD/.venv/bin:$PATH"
# --no-fail-fast: the tests are four binaries, and a failure in one must not hide the others.
cargo test --locked --all-targets --no-fail-fast
cargo test --locked --doc
