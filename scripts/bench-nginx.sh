#!/usr/bin/env bash
# Benchmark (not a test): generate an nginx tree of N vhosts (sites-available files,
# sites-enabled symlinks, a shared snippet include, a CSP map for some sites), then print
# csppatch's --dry-run wall time and peak memory beside `cat` of the same files and
# `nginx -t` on the same tree, for N/4, N/2 and N to show how it scales.
#
#   scripts/bench-nginx.sh [N=10000]
#
# Targets (issue 3): within 2x of cat, under 64 MB peak, linear in tree size.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
cargo build --release --quiet
BIN=$PWD/target/release/csppatch
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

generate() { # generate DIR COUNT
  local root=$1 count=$2
  mkdir -p "$root"/{sites-available,sites-enabled,snippets,conf.d,logs}
  cat > "$root/nginx.conf" <<CONF
worker_processes 1;
pid $root/nginx.pid;
error_log $root/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    include conf.d/*.conf;
    include sites-enabled/*;
}
CONF
  cat > "$root/conf.d/csp-map.conf" <<'CONF'
map $sent_http_content_type $csp_policy {
    default "";
    ~*text/html "default-src 'self'; script-src 'self' https://cdn.example.com; img-src 'self' data:; frame-ancestors 'none'";
}
CONF
  cat > "$root/snippets/security.conf" <<'CONF'
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy strict-origin-when-cross-origin always;
CONF
  python3 - "$root" "$count" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    name = f"site{i:05d}.example.com"
    if i % 10 == 0:
        csp = '    add_header Content-Security-Policy $csp_policy always;\n'
    else:
        csp = ('    add_header Content-Security-Policy "default-src \'self\'; script-src \'self\' '
               f'https://static{i}.example.com; style-src \'self\' \'unsafe-inline\'; img-src \'self\' data: https:; '
               'connect-src \'self\' https://api.example.com; frame-ancestors \'self\'" always;\n')
    body = (f"# vhost {i}\nserver {{\n    listen 127.0.0.1:8080;\n    server_name {name} www.{name};\n"
            f"    root /var/www/{name};\n    index index.html;\n    include snippets/security.conf;\n{csp}"
            "    location / {\n        try_files $uri $uri/ =404;\n    }\n"
            "    location ~* \\.(css|js|png|jpg)$ {\n        expires 7d;\n        access_log off;\n    }\n}\n")
    p = os.path.join(root, "sites-available", name)
    with open(p, "w") as f:
        f.write(body)
    os.symlink(os.path.join("..", "sites-available", name), os.path.join(root, "sites-enabled", name))
PY
}

measure() { # measure LABEL CMD... -> prints "label  seconds  peakKB"
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
  local secs kb
  read -r secs kb < "$work/time"
  printf '%-34s %8ss %8s KB\n' "$label" "$secs" "$kb"
}

printf '%-34s %9s %11s\n' "command" "wall" "peak RSS"
for n in $((N / 4)) $((N / 2)) "$N"; do
  root="$work/n$n"
  generate "$root" "$n"
  bytes=$(cat "$root"/sites-available/* "$root"/conf.d/* "$root"/snippets/* "$root/nginx.conf" | wc -c)
  echo "--- $n vhosts, $((bytes / 1024)) KiB of config"
  sync
  cat "$root"/sites-enabled/* >/dev/null # warm the page cache for every command alike
  measure "cat (every file)" sh -c "cat '$root'/nginx.conf '$root'/conf.d/* '$root'/snippets/* '$root'/sites-enabled/*"
  measure "csppatch --dry-run" "$BIN" "$root" --vendor muserelay --dry-run --color never
  if [ -x "$NGINX" ]; then
    measure "nginx -t" "$NGINX" -t -q -c "$root/nginx.conf" -e "$root/logs/error.log"
  fi
done
