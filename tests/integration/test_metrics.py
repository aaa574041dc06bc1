#!/usr/bin/env python3
"""sockwatch --metrics: the exposition scraped by a real Prometheus and by promtool.

Every test runs in a private network namespace it creates (enter_new_netns): the
sockets it counts are exactly the ones it makes, and Prometheus, which cannot bind
port 0, may use a fixed port there.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import TestFailure, check, check_eq

PROM_PORT = 9090  # inside the test's own namespace only

# A helper that names itself (comm) so its sockets show under their own process
# series, listens, accepts N connections and holds them without ever closing.
LEAKY = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"leaky7", 0, 0, 0)  # PR_SET_NAME
n = int(sys.argv[1])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(64)
print(l.getsockname()[1], flush=True)
held = [l.accept()[0] for _ in range(n)]
print("held", flush=True)
sys.stdin.read()
"""


def start_sockwatch(*extra):
    p = harness.spawn([harness.tool("sockwatch"), "--metrics", "127.0.0.1:0", *extra])
    line = harness.read_line_with_deadline(p.stderr, 10, "the metrics address")
    m = re.match(r"sockwatch: metrics: serving http://127\.0\.0\.1:(\d+)/metrics$", line)
    if not m:
        raise TestFailure(f"unexpected first stderr line: {line!r}")
    return p, int(m.group(1))


def read_to_eof(s, limit=5.0):
    """Everything the peer sends until it closes (the server closes after one answer)."""
    out = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def http(port, request, timeout=5.0, host="127.0.0.1"):
    """Sends raw bytes, returns the whole reply."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(request)
        return read_to_eof(s, timeout)


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        check_eq(r.status, 200)
        check("version=0.0.4" in r.headers["Content-Type"], r.headers["Content-Type"])
        return r.read().decode()


def value(text, name, **labels):
    """The sample of `name` whose labels include `labels`; None when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"([a-z_]+)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == str(v) for k, v in labels.items()):
            return float(m.group(4))
    return None


def total(text, name, **labels):
    """Sum over every sample of `name` matching `labels`."""
    s = 0.0
    for line in text.splitlines():
        m = re.match(r"([a-z_]+)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == str(v) for k, v in labels.items()):
            s += float(m.group(4))
    return s


def leak_close_wait(n):
    """The helper holds n accepted sockets whose peers (ours) closed: n CLOSE_WAIT."""
    helper = harness.spawn([sys.executable, "-c", LEAKY, str(n)], stdin=subprocess.PIPE)
    port = int(harness.read_line_with_deadline(helper.stdout, 10, "the helper's port"))
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    check_eq(harness.read_line_with_deadline(helper.stdout, 10, "held"), "held")
    for c in clients:
        c.close()
    return helper, port


def promql(query):
    url = f"http://127.0.0.1:{PROM_PORT}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
    except (urllib.error.URLError, ConnectionError):
        return None
    if body.get("status") != "success":
        raise TestFailure(f"query {query!r}: {body}")
    return body["data"]["result"]


def start_prometheus(target_port):
    harness.need("prometheus")
    tmp = harness.temp_dir("socklab-prom-")
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: sockwatch\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
    harness.spawn(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/data",
                   f"--web.listen-address=127.0.0.1:{PROM_PORT}", "--log.level=warn"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_prometheus_finds_close_wait_by_state_port_and_process():
    harness.enter_new_netns()
    helper, port = leak_close_wait(7)
    sw, mport = start_sockwatch()
    start_prometheus(mport)

    def found(query):
        def look():
            r = promql(query)
            return r if r else None
        return harness.wait_for(look, timeout=25, what=f"Prometheus to answer {query}")

    by_process = found('socklab_sockets_by_process{state="CLOSE_WAIT",process="leaky7"}')
    check_eq(len(by_process), 1, "one series for the leaking process")
    check_eq(by_process[0]["value"][1], "7")
    by_port = found(f'socklab_sockets_by_port{{state="CLOSE_WAIT",port="{port}"}}')
    check_eq(by_port[0]["value"][1], "7")
    by_state = found('socklab_sockets{netid="tcp",state="CLOSE_WAIT"}')
    check_eq(by_state[0]["value"][1], "7")
    # Prometheus judged every scrape healthy.
    up = found('up{job="sockwatch"}')
    check_eq(up[0]["value"][1], "1")


def test_promtool_check_metrics_is_clean():
    harness.enter_new_netns()
    harness.need("promtool")
    leak_close_wait(3)
    sw, port = start_sockwatch()
    text = scrape(port)
    r = harness.run(["promtool", "check", "metrics"], input=text, timeout=30)
    check_eq((r.returncode, r.stdout + r.stderr), (0, ""), "promtool check metrics")
    for name in ["socklab_sockets", "socklab_tcp_listen_overflows_total",
                 "socklab_tcp_timewait_buckets_max", "socklab_scrape_duration_seconds"]:
        check(f"# TYPE {name} " in text, f"no TYPE for {name}")


def test_full_accept_queue_raises_listen_overflows():
    harness.enter_new_netns()
    sw, port = start_sockwatch()
    before = value(scrape(port), "socklab_tcp_listen_overflows_total")
    check(before is not None, "no listen overflow counter")
    # backlog 1, never accepted: the queue holds 2, further handshakes overflow it.
    lst = harness.free_listener(backlog=1)
    lport = lst.getsockname()[1]
    clients = []
    for _ in range(6):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", lport))
        clients.append(c)

    def raised():
        text = scrape(port)
        after = value(text, "socklab_tcp_listen_overflows_total")
        return text if after > before else None
    text = harness.wait_for(raised, timeout=10, what="ListenOverflows to rise")
    check_eq(value(text, "socklab_listen_queue", addr="127.0.0.1", port=lport), 2.0)
    check_eq(value(text, "socklab_listen_backlog", addr="127.0.0.1", port=lport), 1.0)
    for c in clients:
        c.close()
    lst.close()


def test_transition_counter_matches_connections_made():
    harness.enter_new_netns()
    lst = harness.free_listener(backlog=64)
    lport = lst.getsockname()[1]
    # The filter keeps our scrapes' own connections out of the transitions.
    sw, port = start_sockwatch("-i", "0.1", "sport", "=", f":{lport}", "or", "dport", "=",
                               f":{lport}")
    before = total(scrape(port), "socklab_tcp_transitions_total", to="ESTABLISHED")
    n = 5
    clients = [socket.create_connection(lst.getsockname(), timeout=5) for _ in range(n)]
    servers = [lst.accept()[0] for _ in range(n)]
    # Both ends of each connection reach ESTABLISHED once: 2n transitions, no more.
    harness.wait_for(lambda: total(scrape(port), "socklab_tcp_transitions_total",
                                   to="ESTABLISHED") - before >= 2 * n,
                     timeout=10, what="2n transitions to ESTABLISHED")
    check_eq(total(scrape(port), "socklab_tcp_transitions_total", to="ESTABLISHED") - before,
             2.0 * n)
    for s in clients:
        s.close()
    # The peers' FINs move the accepted ends to CLOSE_WAIT: n of those.
    harness.wait_for(lambda: total(scrape(port), "socklab_tcp_transitions_total",
                                   **{"from": "ESTABLISHED", "to": "CLOSE_WAIT"}) >= n,
                     timeout=10, what="n transitions to CLOSE_WAIT")
    check_eq(total(scrape(port), "socklab_tcp_transitions_total",
                   **{"from": "ESTABLISHED", "to": "CLOSE_WAIT"}), float(n))
    for s in servers:
        s.close()


def test_garbage_oversized_and_slow_requests_leave_it_serving():
    harness.enter_new_netns()
    sw, port = start_sockwatch()
    # Slow clients: connected, half a request, never finished.
    slow = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /metr")
        slow.append(s)
    t0 = time.monotonic()
    check(http(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
          .startswith(b"HTTP/1.1 400 "), "garbage gets 400")
    big = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    check(http(port, big).startswith(b"HTTP/1.1 431 "), "oversized gets 431")
    check(http(port, b"DELETE /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 "), "405")
    check(http(port, b"GET /admin HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 "), "404")
    # Several scrapers at once, while the slow ones hold their connections.
    many = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
    for s in many:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    for s in many:
        reply = read_to_eof(s)
        check(reply.startswith(b"HTTP/1.1 200 OK") and b"socklab_sockets{" in reply, "200")
        s.close()
    check(time.monotonic() - t0 < 4, "answers did not wait for the slow clients")
    # The slow clients are closed at the 5 s limit, and the endpoint still serves.
    for s in slow:
        s.settimeout(10)
        check_eq(s.recv(100), b"", "a slow client is closed without an answer")
        s.close()
    check(time.monotonic() - t0 < 9, "slow clients closed near the 5 s limit")
    check("socklab_sockets{" in scrape(port), "still serving")
    check(sw.poll() is None, "sockwatch still running")


def test_metrics_alongside_the_event_stream_and_ipv6():
    harness.enter_new_netns()
    p = harness.spawn([harness.tool("sockwatch"), "--metrics", "[::1]:0", "--events",
                       "--duration", "20"])
    port = None
    for _ in range(5):
        line = harness.read_line_with_deadline(p.stderr, 10, "the metrics address")
        m = re.match(r"sockwatch: metrics: serving http://\[::1\]:(\d+)/metrics$", line)
        if m:
            port = int(m.group(1))
            break
    check(port is not None, "no [::1] metrics address on stderr")
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname(), timeout=5)
    line = harness.read_until_line(p.stdout, "", timeout=10)
    check("NEW" in line, f"the event stream runs beside: {line!r}")
    reply = http(port, b"GET /metrics HTTP/1.1\r\n\r\n", host="::1")
    # Ours and sockwatch's own.
    check(b'socklab_sockets{netid="tcp",state="LISTEN"} 2' in reply, reply[:300])
    c.close()
    lst.close()


if __name__ == "__main__":
    harness.main()
