#!/usr/bin/env python3
"""sockwatch churn benchmark: transitions seen vs made at a target connection rate,
with the loss sockwatch reported (root: the tracepoint source).

Usage: bench/sockwatch_churn_bench.py [SOCKWATCH_BINARY] [RATE ...]   (default 2000 20000)

For each rate, worker processes open and close loopback connections for a few
seconds, paced to the rate (the achieved rate is printed: a shared 2-core machine
may not reach 20,000/s). The kernel's own count of inet_sock_set_state records
for the bench's port comes from a private reference tracefs instance with a big
buffer; sockwatch's count is its --jsonl lines for that port, plus the events it
said it lost. Not a test: numbers from a shared machine are rough.
"""
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import benchlib

TRACEFS = "/sys/kernel/tracing"
SECONDS = 3.0


def churn(port, rate, seconds, made):
    """Connects and closes at `rate` per second for `seconds`; adds the count to `made`."""
    n = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        due = start + n / rate
        if time.monotonic() < due:
            time.sleep(max(0.0, due - time.monotonic()))
        c = socket.create_connection(("127.0.0.1", port))
        c.close()
        n += 1
    with made.get_lock():
        made.value += n


def accept_all(lst, stop):
    lst.settimeout(0.2)
    while not stop.is_set():
        try:
            a, _ = lst.accept()
            a.close()
        except socket.timeout:
            pass


def kernel_count(instance, port):
    n = 0
    with open(f"{instance}/trace") as f:
        for line in f:
            m = re.search(r"sport=(\d+) dport=(\d+)", line)
            if m and port in (int(m.group(1)), int(m.group(2))):
                n += 1
    return n


def run(bin_, rate):
    ref = f"{TRACEFS}/instances/sockwatch-bench-{os.getpid()}"
    os.mkdir(ref)
    try:
        with open(f"{ref}/buffer_size_kb", "w") as f:
            f.write("65536")
        with open(f"{ref}/events/sock/inet_sock_set_state/enable", "w") as f:
            f.write("1")
        # A file, not a pipe: nobody reads a pipe until the end, and a full one
        # would stall sockwatch.
        sink = tempfile.TemporaryFile("w+")
        w = subprocess.Popen([bin_, "--jsonl", "--source", "tracepoint", "-i", "1"],
                             stdout=sink, stderr=subprocess.PIPE, text=True)
        w.stderr.readline()  # the sources line: the baseline is taken
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", 0))
        lst.listen(4096)
        port = lst.getsockname()[1]
        stop = multiprocessing.Event()
        acceptor = multiprocessing.Process(target=accept_all, args=(lst, stop))
        acceptor.start()
        made = multiprocessing.Value("l", 0)
        workers = 4
        t0 = time.monotonic()
        procs = [multiprocessing.Process(target=churn, args=(port, rate / workers, SECONDS, made))
                 for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        took = time.monotonic() - t0
        time.sleep(1.5)  # let the last TIME_WAIT settles and destroy messages arrive
        stop.set()
        acceptor.join()
        lst.close()
        with open(f"{ref}/events/sock/inet_sock_set_state/enable", "w") as f:
            f.write("0")
        w.terminate()
        _, err = w.communicate(timeout=30)
        sink.seek(0)
        out = sink.read()
        seen = sum(1 for l in out.splitlines()
                   if f'"local_port":{port},' in l or f'"peer_port":{port},' in l)
        lost = sum(int(m.group(1)) for m in re.finditer(r"overran: (\d+) events lost", err))
        kernel = kernel_count(ref, port)
    finally:
        os.rmdir(ref)
    achieved = made.value / took
    print(f"target {rate}/s achieved {achieved:.0f}/s connections {made.value}: "
          f"kernel transitions {kernel}, sockwatch events {seen} "
          f"({seen / kernel:.3f} of the kernel's), reported lost {lost}")


def main():
    benchlib.reexec_in_netns()
    bin_ = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(
        benchlib.HERE, "..", "build", "ci", "apps", "sockwatch")
    rates = [int(r) for r in sys.argv[2:]] or [2000, 20000]
    for rate in rates:
        run(bin_, rate)


if __name__ == "__main__":
    main()
