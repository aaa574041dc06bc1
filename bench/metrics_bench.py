#!/usr/bin/env python3
"""sockwatch --metrics against prometheus-node-exporter's tcpstat collector at 10k,
50k and 100k TCP sockets, same run.

Usage: bench/metrics_bench.py [SOCKWATCH_BINARY] [sizes...]   (root; re-execs itself
in a fresh network namespace.) Both exporters serve on loopback and are scraped the
same number of times; reported are the median scrape wall time, the CPU each
exporter process spent per scrape (its utime+stime over all scrapes / scrapes),
the body size, and ratios against node_exporter. sockwatch runs with
`--source poll -i 1h` so its watch loop is idle and its CPU is the scrapes'.
The first sockwatch scrape looks up every owner in /proc (the owner cache is
cold); it is reported apart and left out of the medians.
Target (issue 13): <= 1.0x node_exporter's cost, with per-port and per-process
series it does not have.
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

NODE_PORT = 9100  # inside the bench's own namespace
SCRAPES = 15
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def scrape(port):
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        body = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            body += chunk
    wall = time.perf_counter() - t0
    if not body.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"bench: scrape of :{port} failed: {body[:200]!r}")
    return wall, len(body)


def wait_listening(port, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling interval of a deadline wait
    raise SystemExit(f"bench: nothing listens on :{port}")


def run_scrapes(pid, port):
    before = cpu_seconds(pid)
    walls, size = [], 0
    for _ in range(SCRAPES):
        w, size = scrape(port)
        walls.append(w)
    return {"wall": statistics.median(walls), "cpu": (cpu_seconds(pid) - before) / SCRAPES,
            "bytes": size}


def main():
    benchlib.reexec_in_netns()
    sockwatch, sizes = benchlib.tool_and_sizes("sockwatch", sys.argv, [10000, 50000, 100000])
    node = subprocess.Popen(["prometheus-node-exporter", "--collector.disable-defaults",
                             "--collector.tcpstat", f"--web.listen-address=127.0.0.1:{NODE_PORT}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sw = subprocess.Popen([sockwatch, "--metrics", "127.0.0.1:0", "--source", "poll", "-i", "1h"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    try:
        m = re.search(r":(\d+)/metrics", sw.stderr.readline())
        if not m:
            raise SystemExit("bench: sockwatch did not say its metrics port")
        sw_port = int(m.group(1))
        wait_listening(NODE_PORT)
        for n in sizes:
            pop = benchlib.populate(n)
            cold, _ = scrape(sw_port)
            print(f"== {n} TCP sockets, {SCRAPES} scrapes each (sockwatch's first, cold owner "
                  f"cache: {cold * 1e3:.1f} ms)", flush=True)
            rows = {"node_exporter tcpstat": run_scrapes(node.pid, NODE_PORT),
                    "sockwatch --metrics": run_scrapes(sw.pid, sw_port)}
            base = rows["node_exporter tcpstat"]
            print(f"  {'exporter':24} {'wall ms':>9} {'cpu ms':>9} {'bytes':>9} {'wall x':>7} "
                  f"{'cpu x':>7}")
            for name, r in rows.items():
                print(f"  {name:24} {r['wall'] * 1e3:9.1f} {r['cpu'] * 1e3:9.1f} {r['bytes']:9d} "
                      f"{r['wall'] / base['wall']:7.2f} "
                      f"{r['cpu'] / base['cpu'] if base['cpu'] else float('nan'):7.2f}",
                      flush=True)
            benchlib.release(pop)
    finally:
        for p in (sw, node):
            p.terminate()
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
