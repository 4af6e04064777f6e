#!/usr/bin/env bash
# Benchmark (not a test; issue 10): generate four trees under /tmp/perf/ and print, side by
# side, csppatch's --dry-run wall time and peak RSS beside `rg -L -c Content-Security-Policy`,
# `cat` of the same files and the server's own `nginx -t` / `apache2 -t` on a main config that
# includes the tree. The commands of a tree are run alternately, round after round, and the
# median of the rounds is printed (peak RSS: the largest of the rounds).
#
#   scripts/bench.sh [--runs N] [--trees nginx10k,nginx100k,apache10k,html10k]
#                    [--bin PATH] [--no-build] [--no-write]
#
# Trees:  nginx10k   10,000 nginx vhosts, 86% with a CSP, most policies distinct, 10% through a map
#         nginx100k  the same at 100,000 vhosts (linearity and bounded memory)
#         apache10k  10,000 Apache <VirtualHost> files with `Header set Content-Security-Policy`
#         html10k    10,000 HTML pages with a <meta http-equiv> CSP
# On nginx10k write mode is timed too (a fresh copy of the tree each round; the copy is not timed).
#
# Targets (issue 10): nginx10k within 3x of rg and <= 64 MiB; nginx100k <= 11x nginx10k's time
# and <= 256 MiB. csppatch's stdout and stderr go to files under /tmp/perf/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
TREES=nginx10k,apache10k,html10k,nginx100k
BIN=$PWD/target/release/csppatch
BUILD=1
WRITE=1
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --trees) TREES=$2; shift 2 ;;
    --bin) BIN=$2; BUILD=0; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-write) WRITE=0; shift ;;
    *) echo "usage: $0 [--runs N] [--trees LIST] [--bin PATH] [--no-build] [--no-write]" >&2; exit 2 ;;
  esac
done
if [ "$BUILD" = 1 ]; then
  cargo build --release --quiet
fi
export BENCH_BIN=$BIN BENCH_RUNS=$RUNS BENCH_TREES=$TREES BENCH_WRITE=$WRITE
exec python3 - <<'PY'
import os, shutil, statistics, subprocess, sys, time

BIN = os.environ["BENCH_BIN"]
RUNS = int(os.environ["BENCH_RUNS"])
TREES = os.environ["BENCH_TREES"].split(",")
WRITE = os.environ["BENCH_WRITE"] == "1"
BASE = "/tmp/perf"
OUT = os.path.join(BASE, "out")
GEN_VERSION = "3"  # bump when a generator changes: the trees are regenerated
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
RG = shutil.which("rg")
os.makedirs(OUT, exist_ok=True)


def policy(i):
    # Mostly distinct policies: a host of its own per site, and a few shapes.
    shape = i % 4
    p = f"default-src 'self'; script-src 'self' https://static{i}.example.com"
    if shape == 1:
        p += " 'unsafe-inline'"
    p += "; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:"
    if shape != 2:
        p += f"; connect-src 'self' https://api{i % 97}.example.com"
    if shape == 3:
        p += "; font-src 'self' https://fonts.gstatic.com; upgrade-insecure-requests"
    return p + "; frame-ancestors 'self'"


def has_csp(i):
    return i % 7 != 0  # 6 sites in 7 (86%) send a CSP


def gen_nginx(root, n):
    os.makedirs(f"{root}/sites", exist_ok=True)
    os.makedirs(f"{root}/conf.d", exist_ok=True)
    os.makedirs(f"{root}/snippets", exist_ok=True)
    os.makedirs(f"{root}/logs", exist_ok=True)
    with open(f"{root}/nginx.conf", "w") as f:
        f.write(f"worker_processes 1;\npid {root}/logs/nginx.pid;\nerror_log {root}/logs/error.log;\n"
                "events { worker_connections 1024; }\nhttp {\n    access_log off;\n"
                "    server_names_hash_max_size 1048576;\n    server_names_hash_bucket_size 128;\n"
                "    include conf.d/*.conf;\n    include sites/*.conf;\n}\n")
    with open(f"{root}/conf.d/csp-map.conf", "w") as f:
        f.write('map $sent_http_content_type $csp_policy {\n    default "";\n'
                "    ~*text/html \"default-src 'self'; script-src 'self' https://cdn.example.com; "
                "img-src 'self' data:; frame-ancestors 'none'\";\n}\n")
    with open(f"{root}/snippets/security.conf", "w") as f:
        f.write("add_header X-Content-Type-Options nosniff always;\n"
                "add_header Referrer-Policy strict-origin-when-cross-origin always;\n")
    for i in range(n):
        name = f"site{i:06d}.example.com"
        if not has_csp(i):
            csp = ""
        elif i % 10 == 1:
            csp = "    add_header Content-Security-Policy $csp_policy always;\n"
        else:
            csp = f'    add_header Content-Security-Policy "{policy(i)}" always;\n'
        body = (f"# vhost {i}\nserver {{\n    listen 127.0.0.1:8080;\n    server_name {name} www.{name};\n"
                f"    root /var/www/{name};\n    index index.html;\n    include snippets/security.conf;\n{csp}"
                "    location / {\n        try_files $uri $uri/ =404;\n    }\n"
                "    location ~* \\.(css|js|png|jpg)$ {\n        expires 7d;\n        access_log off;\n    }\n}\n")
        with open(f"{root}/sites/{name}.conf", "w") as f:
            f.write(body)


def gen_apache(root, n):
    os.makedirs(f"{root}/sites", exist_ok=True)
    os.makedirs(f"{root}/logs", exist_ok=True)
    os.makedirs(f"{root}/www", exist_ok=True)
    mods = [("mpm_event_module", "mod_mpm_event.so"), ("authz_core_module", "mod_authz_core.so"),
            ("headers_module", "mod_headers.so"), ("dir_module", "mod_dir.so"),
            ("mime_module", "mod_mime.so")]
    with open(f"{root}/httpd.conf", "w") as f:
        f.write(f'ServerRoot "{root}"\nPidFile "{root}/logs/httpd.pid"\nErrorLog "{root}/logs/error.log"\n'
                f'Mutex file:{root}/logs default\nDefaultRuntimeDir "{root}/logs"\n')
        for m, so in mods:
            f.write(f"LoadModule {m} /usr/lib/apache2/modules/{so}\n")
        if os.geteuid() == 0:
            f.write("User nobody\nGroup nogroup\n")
        f.write(f'TypesConfig /etc/mime.types\nListen 127.0.0.1:8080\nServerName localhost\n'
                f'DocumentRoot "{root}/www"\nIncludeOptional sites/*.conf\n')
    for i in range(n):
        name = f"site{i:06d}.example.com"
        csp = f'    Header always set Content-Security-Policy "{policy(i)}"\n' if has_csp(i) else ""
        body = (f"# vhost {i}\n<VirtualHost 127.0.0.1:8080>\n    ServerName {name}\n"
                f"    ServerAlias www.{name}\n    DocumentRoot \"{root}/www\"\n"
                f"    Header always set X-Content-Type-Options nosniff\n{csp}"
                f"    <Directory \"{root}/www\">\n        Require all granted\n        AllowOverride None\n"
                "    </Directory>\n</VirtualHost>\n")
        with open(f"{root}/sites/{name}.conf", "w") as f:
            f.write(body)


def gen_html(root, n):
    os.makedirs(f"{root}/pages", exist_ok=True)
    for i in range(n):
        meta = (f'  <meta http-equiv="Content-Security-Policy" content="{policy(i)}">\n'
                if has_csp(i) else "")
        body = (f"<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n{meta}"
                f"  <title>Page {i}</title>\n  <link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n"
                f"<body>\n  <h1>Page {i}</h1>\n" + "  <p>Lorem ipsum dolor sit amet, consectetur.</p>\n" * 20
                + "  <script src=\"/app.js\"></script>\n</body>\n</html>\n")
        with open(f"{root}/pages/page{i:06d}.html", "w") as f:
            f.write(body)


TREE_SPECS = {
    "nginx10k": (gen_nginx, 10_000, "nginx"),
    "nginx100k": (gen_nginx, 100_000, "nginx"),
    "apache10k": (gen_apache, 10_000, "apache"),
    "html10k": (gen_html, 10_000, "html"),
}


def tree(name):
    gen, n, _ = TREE_SPECS[name]
    root = os.path.join(BASE, name)
    stamp = os.path.join(root, ".generated")
    want = f"{GEN_VERSION} {n}"
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        gen(root, n)
        with open(stamp, "w") as f:
            f.write(want)
    return root


def files_of(root):
    out = []
    for d, _, names in os.walk(root):
        for nm in names:
            if nm != ".generated" and not d.endswith("/logs"):
                out.append(os.path.join(d, nm))
    out.sort()
    return out


def run(argv, stdout, stderr, stdin=None):
    """Wall seconds, CPU seconds (user + system), peak RSS (KiB, of the process and its
    waited-for children, as /usr/bin/time -f %M) and exit status."""
    with open(stdout, "wb") as o, open(stderr, "wb") as e:
        i = open(stdin, "rb") if stdin else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=o, stderr=e, stdin=i)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if stdin:
            i.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode


def fmt_s(s):
    return f"{s:.3f} s" if s < 10 else f"{s:.2f} s"


def bench(name):
    root = tree(name)
    _, n, dialect = TREE_SPECS[name]
    files = files_of(root)
    listfile = os.path.join(OUT, f"{name}.files")
    with open(listfile, "wb") as f:
        f.write(b"\0".join(p.encode() for p in files))
    size = sum(os.path.getsize(p) for p in files)
    for p in files:  # warm the page cache for every command alike
        with open(p, "rb") as f:
            f.read()
    o = lambda tag, s: os.path.join(OUT, f"{name}.{tag}.{s}")
    cmds = [
        ("csppatch --dry-run", [BIN, root, "--vendor", "muserelay", "--dry-run", "--color", "never"]),
        ("rg -L -c Content-Security-Policy", [RG, "-L", "-c", "Content-Security-Policy", root]),
        ("cat (the same files)", ["xargs", "-0", "-a", listfile, "cat"]),
    ]
    if dialect == "nginx":
        cmds.append(("nginx -t", [NGINX, "-t", "-q", "-c", f"{root}/nginx.conf", "-e", f"{root}/logs/error.log"]))
    if dialect == "apache":
        cmds.append(("apache2 -t", [APACHE, "-t", "-d", root, "-f", f"{root}/httpd.conf"]))
    write_copy = os.path.join(BASE, f"{name}.write")
    do_write = WRITE and name == "nginx10k"
    if do_write:
        cmds.append(("csppatch (write mode)", [BIN, write_copy, "--vendor", "muserelay", "--color", "never"]))
    walls = {c: [] for c, _ in cmds}
    cpus = {c: [] for c, _ in cmds}
    rss = {c: 0 for c, _ in cmds}
    codes = {c: set() for c, _ in cmds}
    for r in range(RUNS):
        for label, argv in cmds:
            tag = label.split()[0].replace("(", "")
            if label.startswith("csppatch (write"):
                shutil.rmtree(write_copy, ignore_errors=True)
                subprocess.run(["cp", "-a", root, write_copy], check=True)
                subprocess.run(["sync"])
                tag = "write"
            out = "/dev/null" if label.startswith("cat") else o(tag, "stdout")
            wall, cpu, kb, code = run(argv, out, o(tag, "stderr"))
            walls[label].append(wall)
            cpus[label].append(cpu)
            rss[label] = max(rss[label], kb)
            codes[label].add(code)
    if do_write:
        shutil.rmtree(write_copy, ignore_errors=True)
    med = {c: statistics.median(w) for c, w in walls.items()}
    csp_files = sum(1 for p in files if b"Content-Security-Policy" in open(p, "rb").read())
    print(f"--- {name}: {n:,} {dialect} {'pages' if dialect == 'html' else 'vhosts'}, "
          f"{len(files):,} files ({csp_files:,} naming the CSP header), {size / 2**20:.1f} MiB; "
          f"nproc {os.cpu_count()}, median of {RUNS} alternating rounds")
    print(f"{'command':<34} {'median':>9} {'min':>9} {'max':>9} {'cpu':>9} {'peak RSS':>10} {'exit':>5}")
    for label, _ in cmds:
        w = walls[label]
        print(f"{label:<34} {fmt_s(med[label]):>9} {fmt_s(min(w)):>9} {fmt_s(max(w)):>9} "
              f"{fmt_s(statistics.median(cpus[label])):>9} {rss[label] / 1024:>6.1f} MiB {','.join(map(str, sorted(codes[label]))):>5}")
    c = med["csppatch --dry-run"]
    ratios = [f"csppatch/rg {c / med['rg -L -c Content-Security-Policy']:.1f}x",
              f"csppatch/cat {c / med['cat (the same files)']:.1f}x"]
    for v in ("nginx -t", "apache2 -t"):
        if v in med:
            ratios.append(f"csppatch/{v} {c / med[v]:.2f}x")
    if do_write:
        ratios.append(f"write/dry-run {med['csppatch (write mode)'] / c:.2f}x")
    print("ratios: " + ", ".join(ratios))
    cc = statistics.median(cpus["csppatch --dry-run"])
    print(f"cpu ratios: csppatch/rg {cc / max(statistics.median(cpus['rg -L -c Content-Security-Policy']), 1e-3):.1f}x"
          + "".join(f", csppatch/{v} {cc / statistics.median(cpus[v]):.2f}x"
                    for v in ("nginx -t", "apache2 -t") if v in cpus))
    print(f"        (csppatch stdout/stderr: {o('csppatch', 'stdout')}, {o('csppatch', 'stderr')})")
    print(flush=True)
    return med


print(f"csppatch benchmark: {BIN}; nproc {os.cpu_count()}; load {os.getloadavg()[0]:.2f}")
results = {}
for t in TREES:
    results[t] = bench(t)
if "nginx10k" in results and "nginx100k" in results:
    a = results["nginx10k"]["csppatch --dry-run"]
    b = results["nginx100k"]["csppatch --dry-run"]
    print(f"linearity: nginx100k / nginx10k csppatch --dry-run = {b / a:.1f}x (target <= 11x)")
PY
