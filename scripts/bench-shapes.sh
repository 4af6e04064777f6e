#!/usr/bin/env bash
# Benchmark (not a test) of the worst-case shapes of issue 12: each one generated at N/10 and
# N, then `csppatch --dry-run` timed (wall seconds, peak RSS) on it. Linear time shows as a
# ratio near 10 between the two sizes; quadratic as one near 100.
#
#   scripts/bench-shapes.sh [N=10000]
#
# BIN=path runs another build (a copy of main's, for a before/after table) instead of building
# this tree's release binary; LIMIT=seconds (default 300) stops a shape that runs longer, shown
# as `>LIMIT`; MAP_N (default 10 x N) sizes the map shape, which the issue measured at 100,000.
#
# Shapes: an nginx `map` with N CSP entries; N locations with a CSP each; N nested
# locations; an HTML page with N CSP metas; one header with N comma-separated policies;
# Caddy with N routes; one policy given N new sources (--allow, N/10 and N/2.5 of them).
#
# Figures (release builds, the project's 2-core machine shared with other builds, so +-30%):
# "before" is main at af88b9c, "after" this branch (h-robust, issue 12).
#
#   shape                     n        before                after
#   nginx map entries      10,000    9.85 s    53 MB       2.93 s    55 MB
#   nginx map entries     100,000    >200 s   473 MB      14.44 s   479 MB
#   nginx locations         1,000    1.56 s    12 MB       0.37 s    12 MB
#   nginx locations        10,000   60.97 s    60 MB       1.09 s    61 MB
#   nested locations        1,000    1.36 s    44 MB       refused (E064, over 512 levels)
#   nested locations       10,000   52.89 s  3.52 GB       refused; 1.03 s 24 MB without the bound
#   html metas              1,000    1.34 s    11 MB       0.24 s    11 MB
#   html metas             10,000   35.06 s    53 MB       1.12 s    54 MB
#   caddy routes            1,000    0.46 s    18 MB       0.29 s    18 MB
#   caddy routes           10,000        -                 1.77 s   126 MB
#   comma policies (caddy)  1,000    2.67 s    21 MB       refused (E063, over 64 per value)
#   new sources (caddy)       400    1.41 s    14 MB       2.27 s    15 MB (not faster: bounded)
#   new sources (caddy)     4,000   (issue: 92 s, 688 MB)  refused (E062, over 1,000)
#   probe, a page of 10,000 metas (crisp + muserelay): 27.06 s before, 2.87 s after
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/csppatch
fi
LIMIT=${LIMIT:-300}
MAP_N=${MAP_N:-$((N * 10))}
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
# nginx refuses a parameter over 4 KiB (NGX205) and so refuses these two shapes at any
# useful size: they are written for Caddy, whose quoted values have no such limit.
commas() {
  { echo ":8080 {"; printf '    header Content-Security-Policy "%s' "$CSP"
    for i in $(seq "$2"); do printf ', %s' "$CSP"; done
    printf '"\n}\n'; } > "$1"
}
routes() {
  { echo ":8080 {"
    for i in $(seq "$2"); do printf '    route /r%d* {\n        header Content-Security-Policy "%s"\n    }\n' "$i" "$CSP"; done
    echo "}"; } > "$1"
}
one_site() {
  printf ':8080 {\n    header Content-Security-Policy "%s"\n}\n' "$CSP" > "$1"
}

measure() { # measure LABEL COUNT FILE ARGS...
  local label=$1 count=$2 file=$3; shift 3
  local out
  # time's own figures go to a file: the command's stderr is discarded.
  /usr/bin/time -o "$work/time" -f '%e %M %x' timeout "$LIMIT" "$BIN" --dry-run "$file" "$@" >/dev/null 2>/dev/null || true
  set -- $(tail -1 "$work/time")
  case "${3:-}" in
    124) printf '%-22s %8s %10s s %10s KB  (stopped at LIMIT)\n' "$label" "$count" ">$LIMIT" "$2" ;;
    0|1|2) printf '%-22s %8s %10s s %10s KB  exit %s\n' "$label" "$count" "$1" "$2" "$3" ;;
    *) printf '%-22s %8s %10s s %10s KB  exit %s\n' "$label" "$count" "$1" "$2" "${3:-?}" ;;
  esac
}

# SHAPES selects some (default all): map locations nested metas commas routes sources.
SHAPES=${SHAPES:-map locations nested metas commas routes sources}
want() { [[ " $SHAPES " == *" $1 "* ]]; }

printf '%-22s %8s %12s %13s\n' shape n wall peak
if want map; then
  for m in $((MAP_N / 10)) "$MAP_N"; do
    map "$work/map.conf" "$m";           measure "nginx map entries" "$m" "$work/map.conf" --dialect nginx --vendor turnstile
  done
fi
for n in $((N / 10)) "$N"; do
  if want locations; then locations "$work/loc.conf" "$n"; measure "nginx locations" "$n" "$work/loc.conf" --dialect nginx --vendor turnstile; fi
  if want nested; then nested "$work/nest.conf" "$n";      measure "nested locations" "$n" "$work/nest.conf" --dialect nginx --vendor turnstile; fi
  if want metas; then metas "$work/page.html" "$n";        measure "html metas" "$n" "$work/page.html" --vendor turnstile; fi
  if want commas; then commas "$work/comma.Caddyfile" "$n"; measure "comma policies (caddy)" "$n" "$work/comma.Caddyfile" --dialect caddy --vendor turnstile; fi
  if want routes; then routes "$work/Caddyfile" "$n";      measure "caddy routes" "$n" "$work/Caddyfile" --dialect caddy --vendor turnstile; fi
  if want sources; then
    s=$((n * 4 / 10)); sources=$(for i in $(seq "$s"); do printf 'https://s%d.example ' "$i"; done)
    one_site "$work/one.Caddyfile";  measure "new sources (caddy)" "$s" "$work/one.Caddyfile" --dialect caddy --allow "img-src $sources"
  fi
done
