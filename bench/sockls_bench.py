#!/usr/bin/env python3
"""sockls against ss and netstat at 10k, 50k and 100k TCP sockets, same run.

Usage: bench/sockls_bench.py [SOCKLS_BINARY] [sizes...]   (root; re-execs itself in
a fresh network namespace so the sockets and their TIME_WAITs vanish after.)
Reports median wall time, CPU and peak memory, and ratios against ss.
Targets (issue 2): sockls -tan <= 1.0x ss -tan; sockls -tanp <= 0.3x ss -tanp
at 100k; peak memory <= ss's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402


def main():
    benchlib.reexec_in_netns()
    sockls, sizes = benchlib.tool_and_sizes("sockls", sys.argv, [10000, 50000, 100000])
    for n in sizes:
        pop = benchlib.populate(n)
        runs = 5 if n <= 50000 else 3
        print(f"== {n} TCP sockets, median of {runs} runs", flush=True)
        rows = {
            "ss -tan": benchlib.measure(["ss", "-tan"], runs),
            "sockls -tan": benchlib.measure([sockls, "-tan"], runs),
            "netstat -tan": benchlib.measure(["netstat", "-tan"], runs),
        }
        benchlib.report(rows, "ss -tan")
        prow = {
            "ss -tanp": benchlib.measure(["ss", "-tanp"], max(1, runs - 2)),
            "sockls -tanp": benchlib.measure([sockls, "-tanp"], runs),
        }
        if n <= 10000:
            prow["netstat -tanp"] = benchlib.measure(["netstat", "-tanp"], 1)
        benchlib.report(prow, "ss -tanp")
        jrow = {"ss -tan": rows["ss -tan"], "sockls -tan --jsonl": benchlib.measure([sockls, "-tan", "--jsonl"], runs)}
        benchlib.report(jrow, "ss -tan")
        benchlib.release(pop)


if __name__ == "__main__":
    main()
