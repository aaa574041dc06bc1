#!/bin/sh
# sockwatch benchmark: CPU per refresh at N sockets against one `ss -tan` run,
# and the delay from a state transition to its printed line, per source.
#
# Usage: bench/sockwatch_bench.sh [SOCKWATCH_BINARY [SOCKETS]]   (root; default 50000)
# Runs in a fresh network namespace (unshare -n) so the sockets vanish after.
# Prints medians and ratios; the machine is shared, so read them as rough.
set -eu
bin=$(readlink -f "${1:-$("$(dirname "$0")"/../scripts/find-tool sockwatch)}")
n=${2:-50000}
here=$(dirname "$(readlink -f "$0")")
exec unshare -n sh -c 'ip link set lo up && exec python3 - "$@"' sh "$bin" "$n" "$here" <<'EOF'
import os
import random
import select
import socket
import statistics
import subprocess
import sys
import time

bin_, n, here = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, here)
import benchlib  # noqa: E402


def cpu_per_refresh(refreshes, runs=3):
    """Median CPU of one sockwatch refresh: a dump, the diff and a --counts line."""
    # --count K stops after K count lines; the baseline adds one dump.
    m = benchlib.measure([bin_, "--counts", "--source", "poll", "-i", "0.01",
                          "--count", str(refreshes)], runs)
    return m["cpu"] / (refreshes + 1), m


def event_delay(args, interval, reps=15):
    """Median seconds from a client's shutdown() to sockwatch printing the server's CLOSE_WAIT."""
    p = subprocess.Popen([bin_, "--events"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    sources = p.stderr.readline().strip()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(64)
    delays = []

    buf = [b""]
    fd = p.stdout.fileno()

    def wait_for_line(want, deadline):
        """Reads raw bytes (select sees no Python-side buffer) until a line ends with `want`."""
        while True:
            while b"\n" in buf[0]:
                line, buf[0] = buf[0].split(b"\n", 1)
                tup, _, tail = want.partition(" | ")
                if tup.encode() in line and line.endswith(tail.encode()):
                    return
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                raise SystemExit(f"bench: no line {want!r} with {args}")
            buf[0] += os.read(fd, 65536)

    for _ in range(reps):
        c = socket.create_connection(lst.getsockname())
        a, _ = lst.accept()
        sl, sp = a.getsockname(), a.getpeername()
        tup = f"{sl[0]}:{sl[1]} {sp[0]}:{sp[1]}"
        # The CHANGE is only a transition once the row is known ESTABLISHED.
        wait_for_line(f"{tup} | ESTABLISHED", time.monotonic() + 10)
        time.sleep(random.uniform(0, interval))  # land anywhere between two polls
        t0 = time.monotonic()
        c.shutdown(socket.SHUT_WR)
        wait_for_line(f"{tup} | ESTABLISHED -> CLOSE_WAIT", t0 + 10)
        delays.append(time.monotonic() - t0)
        c.close()
        a.close()
    p.terminate()
    p.wait(timeout=10)
    lst.close()
    return statistics.median(delays), max(delays), sources


print(f"== CPU per refresh at {n} TCP sockets (median of 3 runs)", flush=True)
pop = benchlib.populate(n)
ss = benchlib.measure(["ss", "-tan"], 5)
refreshes = 20
per, m = cpu_per_refresh(refreshes)
print(f"  ss -tan, one run:                    cpu {ss['cpu'] * 1e3:8.1f} ms  wall {ss['wall'] * 1e3:8.1f} ms")
print(f"  sockwatch, one refresh (of {refreshes + 1}):     cpu {per * 1e3:8.1f} ms  "
      f"(whole run cpu {m['cpu'] * 1e3:.0f} ms, maxrss {m['rss']} KiB)")
print(f"  ratio sockwatch refresh / ss -tan:   {per / ss['cpu']:.2f}", flush=True)
benchlib.release(pop)

print("== delay from transition to printed line (median and max of 15)", flush=True)
cases = [("poll -i 1", ["--source", "poll", "-i", "1"], 1.0),
         ("poll -i 0.1", ["--source", "poll", "-i", "0.1"], 0.1),
         ("poll -i 0.01", ["--source", "poll", "-i", "0.01"], 0.01)]
if os.geteuid() == 0:
    cases.append(("tracepoint (-i 1)", ["--source", "tracepoint", "-i", "1"], 0.05))
for name, args, interval in cases:
    med, worst, sources = event_delay(args, interval)
    print(f"  {name:20} median {med * 1e3:8.2f} ms  max {worst * 1e3:8.2f} ms   [{sources}]",
          flush=True)
EOF
