#!/usr/bin/env python3
"""Fails when a module or an app includes a header the dependency arrows forbid.

The arrows are the DEPS of each `socklab_module(...)` in lib/CMakeLists.txt (what
each module's library links) and the `<app>_modules` lists of apps/CMakeLists.txt;
a module may include its own private headers (lib/src/<module>/...) and the public
headers (lib/include/socklab/...) of the modules it reaches through its DEPS. An
app may include the public headers of the modules it links, never a private one.

Usage: check_arrows.py [ROOT]   (ROOT: the checkout; default: this file's ../..)
Exit 0 when every include agrees, 1 with one line per offending include.
"""
import os
import re
import sys

# Public headers that belong to a module of another name.
HEADER_MODULE = {"events": "diag", "detail/netlink_decode": "diag", "detail/syscall": "core"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_deps(root):
    text = open(os.path.join(root, "lib", "CMakeLists.txt")).read()
    deps = {}
    for name, rest in re.findall(r"^socklab_module\((\w+)([^)]*)\)", text, re.M):
        m = re.search(r"DEPS((?:\s+\w+)+?)(?:\s+LIBS|\s*$)", rest)
        deps[name] = m.group(1).split() if m else []
    return deps


def closure(deps, start):
    seen, todo = set(), list(start)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(deps.get(m, []))
    return seen


def app_modules(root):
    text = open(os.path.join(root, "apps", "CMakeLists.txt")).read()
    return {app: mods.split() for app, mods in re.findall(r"^set\((\w+)_modules ([^)]*)\)", text, re.M)}


def public_module(header):
    """'socklab/diag.hpp' -> 'diag'; None when not one of our public headers."""
    if not header.startswith("socklab/") or not header.endswith(".hpp"):
        return None
    stem = header[len("socklab/"):-len(".hpp")]
    return HEADER_MODULE.get(stem, stem)


def sources(folder):
    for dirpath, _, files in os.walk(folder):
        for f in sorted(files):
            if f.endswith((".cpp", ".hpp")):
                yield os.path.join(dirpath, f)


def check(root):
    deps = module_deps(root)
    modules = set(deps)
    problems = []

    def judge(path, allowed, own=None):
        for header in INCLUDE.findall(open(path, encoding="utf-8").read()):
            pub = public_module(header)
            first = header.split("/")[0]
            rel = os.path.relpath(path, root)
            if pub is not None:
                if pub not in allowed:
                    problems.append(f"{rel}: includes {header} ({pub}), not reachable from "
                                    f"{own or 'this app'}: allowed {sorted(allowed)}")
            elif first in modules and "/" in header:
                if first != own:
                    problems.append(f"{rel}: includes {header}, a private header of {first}")

    for m in sorted(modules):
        allowed = closure(deps, [m])
        for path in sources(os.path.join(root, "lib", "src", m)):
            judge(path, allowed, m)
    for path in sources(os.path.join(root, "lib", "include", "socklab")):
        stem = os.path.relpath(path, os.path.join(root, "lib", "include"))
        m = public_module(stem)
        if m in modules:
            judge(path, closure(deps, [m]), m)
    for app, mods in app_modules(root).items():
        allowed = closure(deps, mods)
        for path in sources(os.path.join(root, "apps", app)):
            judge(path, allowed)
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(f"check_arrows: {p}")
    if problems:
        return 1
    print("check_arrows: every include follows the arrows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
