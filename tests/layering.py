#!/usr/bin/env python3
"""The house's arrows (docs/architecture.md): each folder is one library and may
include headers only from the folders below it; the two processes share only the
wire and the libraries below them; and no two concepts include each other (an
include circle: a concept is a .c/.h pair, named by its stem). Prints every breach
and exits 1 if there is one."""
import os, re, sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
# folder -> the folders whose headers it may include (itself is always allowed)
ALLOWED = {
    "common": set(),
    "proto": {"common"},
    "data": {"common"},
    "kernels": {"common"},
    "report": {"common"},
    "model": {"kernels", "data", "common"},
    "attacks": {"model", "kernels", "data", "common"},
    "defenses": {"kernels", "common"},
    "scenario": {"attacks", "model", "kernels", "data", "common"},
    "secagg": {"common"},
    "client": {"scenario", "attacks", "model", "kernels", "data", "proto", "secagg", "common"},
    "coordinator": {"scenario", "defenses", "model", "kernels", "data", "proto", "secagg",
                    "common"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

headers = {}  # header name -> folder
files = []
for folder in ALLOWED:
    for dirpath, _, names in os.walk(os.path.join(ROOT, folder)):
        for n in names:
            if n.endswith((".c", ".h", ".cu", ".cuh")):
                files.append((folder, os.path.join(dirpath, n)))
                if n.endswith((".h", ".cuh")):
                    headers[n] = folder

bad = []
uses = {}  # stem -> stems it includes (same tree)
for folder, path in files:
    text = open(path, encoding="utf-8", errors="replace").read()
    # an internal header belongs to the concept it serves (ft_x_internal.h: ft_x)
    stem = os.path.splitext(os.path.basename(path))[0].removesuffix("_internal")
    for inc in INCLUDE.findall(text):
        name = os.path.basename(inc)
        owner = headers.get(name)
        if owner is None:
            continue  # generated or system header
        if owner != folder and owner not in ALLOWED[folder]:
            bad.append(f"{os.path.relpath(path, ROOT)} includes {owner}/{name}: "
                       f"{folder}/ may use only {', '.join(sorted(ALLOWED[folder])) or 'itself'}")
        other = os.path.splitext(name)[0].removesuffix("_internal")
        if other != stem:
            uses.setdefault(stem, set()).add(other)

# include circles between concepts: depth-first search for a back edge
state, stack = {}, []
def visit(s):
    state[s] = 1
    stack.append(s)
    for t in sorted(uses.get(s, ())):
        if state.get(t) == 1:
            bad.append("include circle: " + " -> ".join(stack[stack.index(t):] + [t]))
        elif t not in state:
            visit(t)
    stack.pop()
    state[s] = 2
for s in sorted(uses):
    if s not in state:
        visit(s)

for b in bad:
    print(b)
print(f"layering: {len(files)} files, {len(bad)} problem(s)")
sys.exit(1 if bad else 0)
