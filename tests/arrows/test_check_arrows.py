#!/usr/bin/env python3
"""check_arrows.py must fail on each kind of include the arrows forbid."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(HERE, "check_arrows.py")

CASES = [
    # (file to add, include line, text the complaint must contain)
    ("lib/src/net/bad.cpp", '#include "socklab/output.hpp"', "not reachable from net"),
    ("lib/src/model/bad.cpp", '#include "socklab/diag.hpp"', "not reachable from model"),
    ("lib/src/lab/bad.cpp", '#include "diag/sockstat.hpp"', "a private header of diag"),
    ("lib/include/socklab/proc.hpp", '#include "socklab/filter.hpp"', "not reachable from proc"),
    ("lib/src/metrics/bad.cpp", '#include "socklab/watch.hpp"', "not reachable from metrics"),
    ("apps/sockcat/bad.cpp", '#include "socklab/term.hpp"', "not reachable from this app"),
    ("apps/sockls/bad.cpp", '#include "net/pump.hpp"', "a private header of net"),
]


def copy_tree():
    tmp = tempfile.mkdtemp(prefix="arrows-")
    for part in ("lib", "apps"):
        shutil.copytree(os.path.join(ROOT, part), os.path.join(tmp, part))
    return tmp


def main():
    failures = []
    clean = copy_tree()
    try:
        r = subprocess.run([sys.executable, CHECK, clean], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"the unchanged tree fails: {r.stdout}")
    finally:
        shutil.rmtree(clean)
    for path, line, want in CASES:
        tmp = copy_tree()
        try:
            with open(os.path.join(tmp, path), "a") as f:
                f.write(f"\n{line}\n")
            r = subprocess.run([sys.executable, CHECK, tmp], capture_output=True, text=True)
            if r.returncode != 1 or want not in r.stdout or path not in r.stdout:
                failures.append(f"{path} + {line}: exit {r.returncode}, output {r.stdout!r}")
        finally:
            shutil.rmtree(tmp)
    for f in failures:
        print(f"FAIL {f}")
    print(f"{len(CASES) + 1 - len(failures)} passed, {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
