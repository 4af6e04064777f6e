#!/usr/bin/env bash
# Coverage-guided fuzzing (not a test): build the cargo-fuzz targets in fuzz/, seed them
# (scripts/fuzz_seed.py), run each for a fixed time, one after the other, and print a table:
# target, executions, exec/s, corpus size, crashes.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash, hang
# (over 10 s for one input) or out-of-memory stops that target; its input is kept under
# fuzz/artifacts/<target>/ and the table counts it. Reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# The grown corpus stays in fuzz/corpus/<target>/ (gitignored), so later runs start from it.
# Exit status: 0 when no target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
if ! cargo "+$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs cargo-fuzz on the $TOOLCHAIN toolchain: cargo install cargo-fuzz" >&2
  exit 2
fi
ALL=$(cargo "+$TOOLCHAIN" fuzz list)
TARGETS=${*:-$ALL}

# Without a sanitizer: the fuzzed code is safe Rust, so AddressSanitizer would only halve the
# executions. Debug assertions stay on (-a): overflows in offset arithmetic are crashes too.
BUILD=(--sanitizer none --debug-assertions)
echo "building the fuzz targets ($TOOLCHAIN)..."
cargo "+$TOOLCHAIN" fuzz build "${BUILD[@]}" >/dev/null
echo "seeding fuzz/seeds/..."
python3 scripts/fuzz_seed.py

mkdir -p fuzz/logs
rows=()
failed=0
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
  log="fuzz/logs/$t.log"
  marker=$(mktemp)
  echo "fuzzing $t for ${SECONDS_PER_TARGET}s..."
  set +e
  cargo "+$TOOLCHAIN" fuzz run "${BUILD[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1
  status=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  crashes=$(find "fuzz/artifacts/$t" -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  rm -f "$marker"
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    echo "fuzz.sh: $t exited with $status without an artifact; see $log" >&2
    crashes="?"
  fi
  [ "$crashes" != 0 ] && failed=1
  rows+=("$(printf '%-16s %12s %8s %8s %8s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes")")
done

echo
printf '%-16s %12s %8s %8s %8s\n' target executions exec/s corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
if [ "$failed" -ne 0 ]; then
  echo
  echo "crash inputs are under fuzz/artifacts/<target>/; logs under fuzz/logs/"
  ls fuzz/artifacts/*/ 2>/dev/null | grep -E '^(crash|timeout|oom|leak)-' | head -20 || true
fi
exit "$failed"
