"""Shared bench helpers: run a command N times, medians of wall time, CPU and peak RSS.

Benchmarks compare against the real tools in the same run and report ratios of
medians. They are not tests: the machine is shared and noisy.
"""
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(argv, runs=5, stdout=subprocess.DEVNULL):
    """Runs argv `runs` times; returns dict of medians: wall s, cpu s, maxrss KiB.

    Measured through GNU time, which forks the command from its own small
    process: ru_maxrss keeps the pre-exec high-water mark, so a command forked
    straight from Python would report Python's memory, not its own.
    """
    walls, cpus, rss = [], [], []
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        for _ in range(runs):
            p = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%e %U %S %M"] + argv,
                               stdout=stdout, stderr=subprocess.DEVNULL)
            if p.returncode != 0:
                raise SystemExit(f"bench: {argv} exited {p.returncode}")
            out.seek(0)
            wall, user, sys_, maxrss = out.read().split()[-4:]
            walls.append(float(wall))
            cpus.append(float(user) + float(sys_))
            rss.append(int(maxrss))
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus),
            "rss": statistics.median(rss)}


def reexec_in_netns():
    """Re-runs this script in a fresh network namespace with lo up (once), so the
    bench's sockets, and their TIME_WAITs, vanish with it."""
    if os.environ.get("SOCKLAB_BENCH_NETNS") == "1":
        return
    os.environ["SOCKLAB_BENCH_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                          sys.executable] + sys.argv)


def populate(n):
    """Starts bench/populate.py holding n TCP sockets; returns the process."""
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "populate.py"), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        raise SystemExit(f"bench: populate failed: {line!r}")
    return p


def release(p):
    p.stdin.close()
    p.wait(timeout=120)


def report(rows, base_key):
    """Prints a table of medians and ratios against rows[base_key]."""
    base = rows[base_key]
    print(f"  {'command':34} {'wall ms':>9} {'cpu ms':>9} {'maxrss KiB':>11} {'wall x':>7} {'rss x':>6}")
    for name, m in rows.items():
        print(f"  {name:34} {m['wall'] * 1e3:9.1f} {m['cpu'] * 1e3:9.1f} {m['rss']:11d} "
              f"{m['wall'] / base['wall']:7.2f} {m['rss'] / base['rss']:6.2f}", flush=True)


def tool_and_sizes(name, argv, default_sizes):
    """(binary, sizes) from `bench.py [BINARY] [SIZES...]`: the binary defaults to
    whichever preset built it (scripts/find-tool)."""
    args = list(argv[1:])
    if args and not args[0].isdigit():
        binary = os.path.abspath(args.pop(0))
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        found = subprocess.run([os.path.join(here, "..", "scripts", "find-tool"), name],
                               capture_output=True, text=True)
        if found.returncode != 0:
            raise SystemExit(found.stderr.strip())
        binary = found.stdout.strip()
    return binary, [int(x) for x in args] or default_sizes
