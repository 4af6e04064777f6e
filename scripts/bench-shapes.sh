#!/usr/bin/env bash
# Benchmark (not a test) of the worst-case shapes of issue 12: each one generated at N/10 and
# N, then `csppatch --dry-run` timed (wall seconds, peak RSS) on it. Linear time shows as a
# ratio near 10 between the two sizes; quadratic as one near 100.
#
#   scripts/bench-shapes.sh [N=10000]
#
# Shapes: an nginx `map` with N CSP entries; N locations with a CSP each; N nested
# locations; an HTML page with N CSP metas; one header with N comma-separated policies;
# Caddy with N routes; one policy given N new sources (--allow, N/10 and N/2.5 of them).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --quiet
BIN=$PWD/target/release/csppatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CSP="default-src 'self'; img-src 'self'"

map() { # map FILE COUNT
  { echo "map \$host \$csp {"; echo "    default \"$CSP\";"
    for i in $(seq "$2"); do echo "    h$i.example \"$CSP\";"; done
    echo "}"; echo "server { listen 80; add_header Content-Security-Policy \$csp always; }"; } > "$1"
}
locations() {
  { echo "server {"; echo "    listen 80;"
    for i in $(seq "$2"); do echo "    location /l$i { add_header Content-Security-Policy \"$CSP\" always; }"; done
    echo "}"; } > "$1"
}
nested() {
  { echo "server {"; echo "    listen 80;"; echo "    add_header Content-Security-Policy \"$CSP\" always;"
    for i in $(seq "$2"); do echo "location /n$i {"; done
    for i in $(seq "$2"); do echo "}"; done
    echo "}"; } > "$1"
}
metas() {
  { echo "<!doctype html><html><head>"
    for i in $(seq "$2"); do echo "<meta http-equiv=\"Content-Security-Policy\" content=\"$CSP\">"; done
    echo "</head><body></body></html>"; } > "$1"
}
commas() {
  { printf 'server {\n    listen 80;\n    add_header Content-Security-Policy "%s' "$CSP"
    for i in $(seq "$2"); do printf ', %s' "$CSP"; done
    printf '" always;\n}\n'; } > "$1"
}
routes() {
  { echo ":8080 {"
    for i in $(seq "$2"); do echo "    route /r$i* { header Content-Security-Policy \"$CSP\" }"; done
    echo "}"; } > "$1"
}

measure() { # measure LABEL COUNT FILE ARGS...
  local label=$1 count=$2 file=$3; shift 3
  local out
  out=$( { /usr/bin/time -f '%e %M' "$BIN" --dry-run "$file" "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1 ) || true
  printf '%-22s %8s %10s s %10s KB\n' "$label" "$count" ${out}
}

printf '%-22s %8s %12s %13s\n' shape n wall peak
for n in $((N / 10)) "$N"; do
  map "$work/map.conf" "$n";             measure "nginx map entries" "$n" "$work/map.conf" --dialect nginx --vendor turnstile
  locations "$work/loc.conf" "$n";       measure "nginx locations" "$n" "$work/loc.conf" --dialect nginx --vendor turnstile
  nested "$work/nest.conf" "$n";         measure "nested locations" "$n" "$work/nest.conf" --dialect nginx --vendor turnstile
  metas "$work/page.html" "$n";          measure "html metas" "$n" "$work/page.html" --vendor turnstile
  commas "$work/comma.conf" "$n";        measure "comma policies" "$n" "$work/comma.conf" --dialect nginx --vendor turnstile
  routes "$work/Caddyfile" "$n";         measure "caddy routes" "$n" "$work/Caddyfile" --dialect caddy --vendor turnstile
  s=$((n * 4 / 10)); sources=$(for i in $(seq "$s"); do printf 'https://s%d.example ' "$i"; done)
  locations "$work/one.conf" 1;          measure "new sources" "$s" "$work/one.conf" --dialect nginx --allow "img-src $sources"
done
