#!/usr/bin/env python3
"""socklab doctor's rate rules: the kernel counters sampled twice (--interval), the
listener with a full accept queue named, --json, and the exit codes 0 / 3 / 1.

Each test runs in a private network namespace (and mount namespace where it hides
a /proc file), so the counters move only with what the test does."""
import json
import os
import socket
import subprocess
import time

import harness
from harness import check, check_eq


def doctor_args(*extra):
    return [harness.tool("socklab"), "doctor", *extra]


def sysctl(name):
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


def test_full_accept_queue_is_named_with_its_overflow_rate():
    harness.enter_new_netns()
    lst = harness.free_listener(backlog=1)  # never accepted
    port = lst.getsockname()[1]
    p = harness.spawn(doctor_args("--json", "--interval", "1.5"))
    # New handshakes while the doctor samples: each one past the full queue is an
    # overflow inside its interval. Bounded: at most 400 attempts or until it exits.
    clients = []
    deadline = time.monotonic() + 20
    while p.poll() is None and len(clients) < 400 and time.monotonic() < deadline:
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        clients.append(c)
        try:
            p.wait(timeout=0.02)  # paces the attempts and notices the exit
        except subprocess.TimeoutExpired:
            pass
    out, err = p.communicate(timeout=20)
    check_eq(p.returncode, 3, f"something found: {err!r}")
    report = json.loads(out)
    full = [f for f in report["findings"] if f["kind"] == "listen-overflow"]
    check_eq(len(full), 1, f"one listener with a full queue: {report['findings']}")
    check_eq(full[0]["ports"], [port])
    check(f"accept queue full on 127.0.0.1:{port} (2 waiting, backlog 1)" in full[0]["title"],
          full[0]["title"])
    check_eq(full[0]["sysctls"]["net.core.somaxconn"], sysctl("net.core.somaxconn"))
    check(report["rates"]["socklab_tcp_listen_overflows_total"]["delta"] >= 1, report["rates"])
    check(report["rates"]["socklab_tcp_listen_overflows_total"]["per_second"] > 0,
          report["rates"])
    check(1.4 <= report["interval_seconds"] < 10, report["interval_seconds"])
    for c in clients:
        c.close()
    # The text names the same listener, with the counters over the interval.
    res = harness.run(doctor_args("--interval", "0.2"), timeout=30)
    check(res.returncode in (0, 3), res.stderr)
    check("kernel counters over 0.2 s" in res.stdout, res.stdout)
    check("TcpExt.ListenOverflows" in res.stdout, res.stdout)
    lst.close()


def test_quiet_namespace_finds_nothing_and_exits_0():
    harness.enter_new_netns()
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname(), timeout=5)
    t0 = time.monotonic()
    res = harness.run(doctor_args("--json", "--interval", "0.3"), timeout=30)
    check_eq(res.returncode, 0, res.stderr)
    check(time.monotonic() - t0 >= 0.3, "it waited its interval")
    report = json.loads(res.stdout)
    check_eq(report["findings"], [])
    check_eq(report["by_state"].get("LISTEN"), 1)
    check_eq(report["sysctls"]["net.ipv4.tcp_syncookies"], sysctl("net.ipv4.tcp_syncookies"))
    c.close()
    lst.close()


def test_unreadable_counters_exit_1():
    # A private mount namespace puts a tmpfs over /proc with a garbage net/snmp:
    # sock_diag still answers, the counters cannot be read.
    harness.need("unshare")
    tmp = harness.temp_dir("socklab-doctor-")
    bogus = os.path.join(tmp, "snmp")
    with open(bogus, "w") as f:
        f.write("Tcp: A B\nUdp: 1\n")
    script = (f"mount -t tmpfs none /proc && mkdir /proc/net && cp {bogus} /proc/net/snmp && "
              "printf 'TcpExt: A\\nTcpExt: 1\\n' >/proc/net/netstat && exec "
              + " ".join(doctor_args("--interval", "0.1")))
    # LeakSanitizer reads /proc itself: with the tmpfs over it, it would fail at exit.
    asan = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o] + ["detect_leaks=0"]
    env = dict(os.environ, ASAN_OPTIONS=":".join(asan))
    res = harness.run(["unshare", "-m", "-n", "sh", "-c", script], timeout=30, env=env)
    check_eq(res.returncode, 1, f"could not look: {res.stdout!r} {res.stderr!r}")
    lines = res.stderr.strip().splitlines()
    if harness.sanitized():  # the sanitizer's own warnings about the missing /proc/self/exe
        lines = [line for line in lines if not line.startswith("==")]
    check_eq(len(lines), 1, res.stderr)
    check(lines[0].startswith("socklab: doctor: /proc/net/snmp: line 2: "), lines[0])
    check_eq(res.stdout, "", "no report when it could not look")


if __name__ == "__main__":
    harness.main()
