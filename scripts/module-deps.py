#!/usr/bin/env python3
"""The module dependency graph of src/: every `crate::`, `super::` and `self::` path (in `use`
items and in code), as edges between modules, and the cycles among them.

    scripts/module-deps.py [--depth N] [--edges] [--ignore MODULE]...

A node is a module cut to N path segments (default 2: `dialect::nginx`, `csp::merge`); `lib` is
the items lib.rs itself defines. An edge from a module to one of its own descendants is a
parent declaring or re-exporting its child and is not counted (a dialect folder's `mod.rs`
naming its internals); every other edge is. `--ignore` leaves a module (and the edges to and
from it) out, to see what else a cycle runs through. Exit status 1 when there is a cycle.
"""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(rel):
    """src-relative file path -> module path (tuple)."""
    parts = rel[:-3].split(os.sep)
    if parts == ["lib"] or parts == ["main"]:
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip(text):
    """Remove comments, string and char literals (so paths in docs and messages do not count)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def use_tree(text, i):
    """Parse a use tree at text[i:] (after a `prefix::`): return ([paths], end)."""
    paths = []
    m = re.compile(r"\s*(" + IDENT + r"(?:\s*::\s*" + IDENT + r")*)(\s*::\s*)?").match(text, i)
    head = []
    if m:
        head = [s.strip() for s in m.group(1).split("::")]
        i = m.end()
        if not m.group(2):
            return [head], i
    if text[i:i + 1] == "{" or re.match(r"\s*\{", text[i:]):
        i = text.index("{", i) + 1
        while True:
            j = i
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if text[j:j + 1] == "}":
                return paths or [head], j + 1
            sub, j = use_tree(text, j)
            paths.extend(head + s for s in sub)
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if text[j:j + 1] == ",":
                j += 1
            i = j
    return [head], i


def inline_modules(text):
    """(start, end, name) of every `mod name { ... }` body in the (stripped) text."""
    out = []
    for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append((m.end(), i, m.group(1)))
    return out


def main():
    depth = 2
    show_edges = "--edges" in sys.argv
    if "--depth" in sys.argv:
        depth = int(sys.argv[sys.argv.index("--depth") + 1])
    ignored = {
        tuple() if sys.argv[i + 1] == "lib" else tuple(sys.argv[i + 1].split("::"))
        for i, a in enumerate(sys.argv[:-1])
        if a == "--ignore"
    }
    files = {}
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                rel = os.path.relpath(os.path.join(root, name), SRC)
                if rel in ("main.rs",) or rel.startswith("bin" + os.sep):
                    continue
                files[rel] = module_of(rel)
    modules = set(files.values())

    def resolve(path):
        """The longest module prefix of an absolute path; `lib` for a root item."""
        best = ()
        for k in range(len(path), 0, -1):
            if tuple(path[:k]) in modules:
                best = tuple(path[:k])
                break
        return best

    edges = {}
    prefix = re.compile(r"\b(crate|self|super)((?:\s*::\s*super)*)\s*::\s*")
    for rel, mod in sorted(files.items()):
        text = strip(open(os.path.join(SRC, rel), encoding="utf-8").read())
        # `#[cfg(test)] mod tests { ... }` bodies count too: a test is code of the module.
        targets = set()
        inline = inline_modules(text)
        for m in prefix.finditer(text):
            kind, supers = m.group(1), m.group(2).count("super")
            here = list(mod) + [n for (a, b, n) in inline if a <= m.start() < b]
            for p in use_tree(text, m.end())[0]:
                p = [s for s in p if s and s != "self"]
                if kind == "crate":
                    base = []
                elif kind == "self":
                    base = here
                else:
                    base = here[: max(0, len(here) - 1 - supers)]
                targets.add(resolve(base + p))
        if mod == ():
            # lib.rs: `use child::x` and `pub use child::x` name top-level modules directly.
            for m in re.finditer(r"\b(?:pub\s+)?use\s+(?!crate|self|super)", text):
                for p in use_tree(text, m.end())[0]:
                    if p and (p[0],) in modules:
                        targets.add(resolve(p))
        src = mod[:depth]
        for t in targets:
            if mod and t[: len(mod)] == mod:
                continue  # a module naming its own descendant
            dst = t[:depth]
            if dst == src or src in ignored or dst in ignored:
                continue
            edges.setdefault(src, set()).add(dst)

    name = lambda m: "::".join(m) if m else "lib"
    nodes = sorted(({m[:depth] for m in modules} | set(edges)) - ignored, key=name)
    if show_edges:
        for n in nodes:
            out = sorted(name(d) for d in edges.get(n, ()))
            print(f"{name(n)} -> {', '.join(out) if out else '(none)'}")
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp, key=name))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            connect(v)
    n_edges = sum(len(v) for v in edges.values())
    print(f"{len(nodes)} modules (depth {depth}), {n_edges} edges, {len(sccs)} cycle(s)")
    for comp in sorted(sccs, key=lambda c: name(c[0])):
        members = set(comp)
        inner = [f"{name(a)} -> {name(b)}" for a in comp for b in sorted(edges.get(a, ()), key=name) if b in members]
        print(f"cycle: {{{', '.join(name(c) for c in comp)}}}")
        for e in inner:
            print(f"    {e}")
    return 1 if sccs else 0


if __name__ == "__main__":
    sys.exit(main())
