#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (fuzz/): copies of the project's fixtures and examples,
the real configs of ../shared/corpus and the vendor snippets of ../shared/seed-snippets.

    scripts/fuzz_seed.py            (run by scripts/fuzz.sh)

Writes fuzz/seeds/<target>/<sha1> (gitignored: third-party files never enter the repository)
and prints how many seeds each target got. Missing ../shared folders are skipped with a
message. Files over 64 KiB are skipped (the targets run with -max_len=65536).

Environment:
  FUZZ_SHARED=DIR         the shared folder instead of ../shared (beside this checkout, or
                          beside the main checkout when this is a git worktree)
  FUZZ_EXTRA_SEEDS=D1:D2  more folders of real configs; a file's dialect is the first folder
                          name on its path that is a dialect's (nginx/, php/...), else its name
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")


def shared_dir():
    """FUZZ_SHARED, else ../shared beside this checkout, else beside the main checkout this
    worktree belongs to (a git worktree's ../ is not the main checkout's)."""
    if os.environ.get("FUZZ_SHARED"):
        return os.environ["FUZZ_SHARED"]
    here = os.path.join(ROOT, "..", "shared")
    if os.path.isdir(here):
        return here
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return here
    return os.path.join(os.path.dirname(os.path.dirname(common)), "shared")


SHARED = shared_dir()
MAX = 64 * 1024
DIALECTS = ["nginx", "apache", "caddy", "php", "html"]

# (folder, dialect or None to decide by file name), relative to the repository root.
OWN = [
    ("tests/fixtures/nginx", "nginx"),
    ("tests/fixtures/caddy", "caddy"),
    ("tests/fixtures/php", "php"),
    ("tests/fixtures/html", "html"),
    ("tests/fixtures/e2e/nginx", "nginx"),
    ("tests/fixtures/e2e/apache", "apache"),
    ("tests/fixtures/e2e/caddy", "caddy"),
    ("tests/fixtures/e2e/php", "php"),
    ("tests/fixtures/e2e/html", "html"),
    ("examples/nginx", "nginx"),
    ("examples/apache", "apache"),
    ("examples/caddy", "caddy"),
    ("examples/wordpress", "php"),
    ("examples/html", "html"),
]
SHARED_DIRS = [
    ("corpus/nginx", "nginx"),
    ("corpus/apache", "apache"),
    ("corpus/caddy", "caddy"),
    ("seed-snippets", None),
]

# A CSP value in any of the formats: what the policy parser target starts from.
CSP_VALUE = re.compile(
    rb"""content-security-policy(?:-report-only)?["']?\s*[:,]?\s*(?:content=)?["']([^"'\n]{4,})""",
    re.IGNORECASE,
)


def by_name(name):
    n = name.lower()
    if n.endswith(".csp"):
        return "csp"
    if n.endswith((".php", ".phtml")):
        return "php"
    if n.endswith((".html", ".htm", ".twig", ".erb")):
        return "html"
    if "caddyfile" in n or n.endswith(".caddy"):
        return "caddy"
    if n.endswith(".htaccess") or "apache" in n:
        return "apache"
    if "nginx" in n:
        return "nginx"
    return None


def targets_for(kind):
    if kind == "csp":
        return ["csp_parse"]
    return ["tok_" + kind, "dialect_" + kind]


counts = {}


def add(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1


def seed_file(path, kind):
    name = os.path.basename(path)
    if name.upper().startswith(("LICENSE", "README")) or name.endswith(".md"):
        return
    if os.path.getsize(path) > MAX:
        return
    with open(path, "rb") as f:
        data = f.read()
    kind = kind or by_name(name)
    if kind is None:
        return
    if name.endswith(".caddyfiletest"):
        # A Caddyfile, a `----------` line, then the JSON `caddy adapt` gives: keep the first.
        data = re.split(rb"\n-{10,}\n", data, maxsplit=1)[0] + b"\n"
    for t in targets_for(kind):
        add(t, data)
    for m in CSP_VALUE.finditer(data):
        add("csp_parse", m.group(1).strip())
    if kind == "csp":
        return
    # The same file with a policy text after a NUL: the dialect targets encode it into
    # every site they find (see fuzz/src/lib.rs `split_input`).
    for m in CSP_VALUE.finditer(data):
        add("dialect_" + kind, data + b"\0" + m.group(1) + b"; img-src https://v.example")
        break


def by_folder(path, root):
    for part in os.path.relpath(path, root).split(os.sep)[:-1]:
        if part in DIALECTS:
            return part
    return None


def walk(folder, kind):
    for dirpath, _, files in os.walk(folder):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            if os.path.isfile(p):
                seed_file(p, kind or by_folder(p, folder))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for target in ["tok_" + d for d in DIALECTS] + ["dialect_" + d for d in DIALECTS]:
        os.makedirs(os.path.join(OUT, target), exist_ok=True)
    os.makedirs(os.path.join(OUT, "csp_parse"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "merge"), exist_ok=True)
    for rel, kind in OWN:
        walk(os.path.join(ROOT, rel), kind)
    for rel, kind in SHARED_DIRS:
        folder = os.path.join(SHARED, rel)
        if not os.path.isdir(folder):
            print(f"fuzz_seed: {os.path.normpath(folder)} is absent: skipped", file=sys.stderr)
            continue
        walk(folder, kind)
    for folder in filter(None, os.environ.get("FUZZ_EXTRA_SEEDS", "").split(":")):
        if not os.path.isdir(folder):
            print(f"fuzz_seed: {folder} (FUZZ_EXTRA_SEEDS) is absent: skipped", file=sys.stderr)
            continue
        walk(folder, None)
    for t in sorted(counts):
        print(f"  {t:<16} {counts[t]:>5} seeds")
    print("  merge            (structured input: no file seeds)")


main()
