#!/usr/bin/env bash
# Install what the test suite needs and is missing: the real servers and validators the
# tests run (nginx, Apache, Caddy, PHP), Chromium for the browser checks, patch(1), git, and
# a virtualenv (.venv/ at the repository root, gitignored) with the Python tools the tests
# drive: ansible-core (tests/e2e/ansible.rs; the tests bring their own JSON stdout callback, so
# the 500 MB `ansible` package of collections is not needed), pre-commit
# (tests/cli/precommit.rs), Jinja2 (rendering templates) and crossplane (the nginx oracle); and the
# template engines the template tests render with (Ruby's ERB, gettext's envsubst, Go's
# text/template). What is already present is skipped, so a
# second run installs nothing and needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  echo "test-deps: installing $*"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"
}

need=()
have nginx    || need+=(nginx)
have apache2  || have httpd || need+=(apache2)
have caddy    || need+=(caddy)
have php      || need+=(php-cli)
have chromium || need+=(chromium)
have patch    || need+=(patch)
have git      || need+=(git)
have man      || need+=(man-db)
have groff    || need+=(groff-base)
have unshare  || need+=(util-linux)
have python3  || need+=(python3 python3-venv)
have ruby     || need+=(ruby)
have envsubst || need+=(gettext-base)
have go       || need+=(golang-go)
# strace holds a multi-file write between two renames (tests/e2e/write_signals.rs).
have strace   || need+=(strace)
# headers-more: the `more_set_headers` form (YunoHost, tests/fixtures/conformance) must pass
# `nginx -t`, which needs the module loaded.
[ -f /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so ] \
  || need+=(libnginx-mod-http-headers-more-filter)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

# The packaged services must not hold the ports or run in the background: tests start their
# own instances on 127.0.0.1.
for svc in nginx apache2 caddy; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done

# Debian's python3 has no venv/ensurepip without python3-venv.
if [ ! -x .venv/bin/python3 ] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv
fi
if [ ! -x .venv/bin/python3 ]; then
  echo "test-deps: creating .venv"
  python3 -m venv .venv
fi

# Each tool by what the tests use of it: an import, or the command on PATH.
pip_need=()
.venv/bin/python3 -c 'import crossplane' >/dev/null 2>&1 || pip_need+=('crossplane>=0.5,<0.6')
.venv/bin/python3 -c 'import jinja2' >/dev/null 2>&1     || pip_need+=('jinja2>=3,<4')
[ -x .venv/bin/ansible-playbook ]                         || pip_need+=('ansible-core>=2.17,<2.20')
[ -x .venv/bin/pre-commit ]                                || pip_need+=('pre-commit>=4,<5')
if [ ${#pip_need[@]} -gt 0 ]; then
  echo "test-deps: pip install ${pip_need[*]} (into .venv)"
  .venv/bin/python3 -m pip install --quiet --disable-pip-version-check "${pip_need[@]}"
fi
