#!/usr/bin/env python3
"""sockls filters against ss at 100k TCP sockets, same run: `-tan 'sport = :P'`.

Usage: bench/filter_bench.py [SOCKLS_BINARY] [sizes...]   (root; re-execs itself in a
fresh network namespace, so the sockets vanish after). The sockets are held by
several processes (bench/populate.py; fd limit 20000 each). Two ports: a listener's
(it and its ~8000 accepted sockets match) and one client's (one socket matches).
sockls sends the filter as inet_diag bytecode; `--filter-path user` shows the cost
of filtering in user space instead. Target (issue 3): sockls <= 1.0x ss.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def ports():
    """(a listener's port, a client's port) from the populated namespace."""
    out = subprocess.run(["ss", "-tanH", "state", "listening"], capture_output=True, text=True,
                         check=True).stdout.split()
    listener = int(out[2].rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-tanH", "state", "established", "src", "127.0.2.1"],
                         capture_output=True, text=True, check=True).stdout.split()
    client = int(out[2].rsplit(":", 1)[1])
    return listener, client


def matched(argv):
    return len(subprocess.run(argv, capture_output=True, text=True).stdout.splitlines())


def main():
    benchlib.reexec_in_netns()
    sockls, sizes = benchlib.tool_and_sizes("sockls", sys.argv, [100000])
    for n in sizes:
        pop = benchlib.populate(n)
        runs = 7
        for what, port in zip(("listener port", "client port"), ports()):
            expr = f"sport = :{port}"
            rows = f"{matched(['ss', '-tanH', expr])} rows"
            print(f"== {n} TCP sockets, '{expr}' ({what}, {rows}), median of {runs} runs",
                  flush=True)
            table = {
                f"ss -tan '{expr}'": benchlib.measure(["ss", "-tan", expr], runs),
                f"sockls -tan '{expr}'": benchlib.measure([sockls, "-tan", expr], runs),
                "sockls ... --filter-path user": benchlib.measure(
                    [sockls, "-tan", "--filter-path", "user", expr], runs),
            }
            benchlib.report(table, f"ss -tan '{expr}'")
        benchlib.release(pop)


if __name__ == "__main__":
    main()
