#!/usr/bin/env bash
# Install what the test suite needs and is missing: the real servers and validators the
# tests run (nginx, Apache, Caddy, PHP), Chromium for the browser checks, patch(1), the
# template engines the template tests render with (Ruby's ERB, gettext's envsubst, Go's
# text/template), and the crossplane parser used as an nginx oracle. Packages already present are skipped.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

need=()
have nginx    || need+=(nginx)
have apache2  || have httpd || need+=(apache2)
have caddy    || need+=(caddy)
have php      || need+=(php-cli)
have chromium || need+=(chromium)
have patch    || need+=(patch)
have unshare  || need+=(util-linux)
have python3  || need+=(python3 python3-pip)
have ruby     || need+=(ruby)
have envsubst || need+=(gettext-base)
have go       || need+=(golang-go)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test-deps: installing ${need[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

# The packaged services must not hold the ports or run in the background: tests start their
# own instances on 127.0.0.1.
for svc in nginx apache2 caddy; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done

if ! python3 -c 'import crossplane' >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test-deps: installing python3-pip"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-pip
fi
if ! python3 -c 'import crossplane' >/dev/null 2>&1; then
  echo "test-deps: pip install crossplane"
  python3 -m pip install --quiet crossplane || python3 -m pip install --quiet --break-system-packages crossplane
fi
