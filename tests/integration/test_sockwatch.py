"""sockwatch: event stream, sources (poll, destroy groups, tracepoint), --warn, --counts, live screen.

Each test runs in a fresh network namespace. The tracepoint is global across
namespaces (parallel tests' sockets show up too), so every check selects the
test's own ports.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import harness

TRACEFS = "/sys/kernel/tracing"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
          "--inh-caps=-all", "--bounding-set=-all"]


def spawn_sockwatch(argv, **kw):
    """Starts sockwatch and stops it with SIGTERM at the end of the test.

    harness.spawn ends processes with SIGKILL, which would leave the tracefs
    instance behind (the next start removes it, but a test must clean up).
    """
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = subprocess.Popen(argv, **kw)
    harness.terminate_at_cleanup(p)
    return p


class Watch:
    """A running sockwatch whose stdout lines are collected by a thread."""

    def __init__(self, args, prefix=(), env=None):
        self.proc = spawn_sockwatch(list(prefix) + [harness.tool("sockwatch")] + list(args),
                                    env=env)
        self.lines = []
        self.lock = threading.Lock()
        # The sources line is printed after the baseline snapshot: ready.
        self.sources = harness.read_line_with_deadline(self.proc.stderr, 15, "the sources line")
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        for raw in self.proc.stdout:
            with self.lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def wait_line(self, pattern, timeout=15, count=1):
        rx = re.compile(pattern)

        def found():
            hits = [l for l in self.snapshot() if rx.search(l)]
            return hits if len(hits) >= count else None
        return harness.wait_for(found, timeout=timeout, what=f"{count} line(s) matching {pattern}")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.thread.join(timeout=5)
        return rc


def tuple_of(sock):
    l, p = sock.getsockname(), sock.getpeername()
    return f"{l[0]}:{l[1]}", f"{p[0]}:{p[1]}"


def events_for(lines, local, peer):
    """Text event lines of one 4-tuple as (event, states) pairs."""
    out = []
    for line in lines:
        f = line.split()
        if len(f) >= 6 and f[3] == local and f[4] == peer:
            out.append((f[1], " ".join(w for w in f[5:] if "=" not in w)))  # states only
    return out


def need_tracefs():
    if os.geteuid() != 0:
        raise harness.Skip("the tracepoint source needs root")


def connect_pair(listener):
    c = socket.create_connection(listener.getsockname()[:2], timeout=5)
    a, _ = listener.accept()
    return c, a


def lifecycle(w, text=True):
    """connect, data, client half-close, server close; waits for each step to be seen."""
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    sl, sp = tuple_of(a)
    c.sendall(b"ping")
    harness.check_eq(a.recv(4), b"ping")
    c.shutdown(socket.SHUT_WR)
    harness.check_eq(a.recv(1), b"", "server sees EOF")
    w.wait_line(re.escape(f"{cl} {cp} FIN_WAIT1 -> FIN_WAIT2") if text else
                f'"old_state":"FIN_WAIT1","state":"FIN_WAIT2".*"local_port":{c.getsockname()[1]},')
    a.close()
    c.close()
    return lst, (cl, cp), (sl, sp)


def test_lifecycle_events_in_order_tracepoint():
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--events", "--source", "tracepoint", "-i", "0.05"])
    harness.check("tracepoint+destroy+poll" in w.sources, w.sources)
    lst, (cl, cp), (sl, sp) = lifecycle(w)
    w.wait_line(re.escape(f"CHANGE tcp {cl} {cp} FIN_WAIT2 -> TIME_WAIT"))
    w.wait_line(re.escape(f"GONE tcp {sl} {sp} LAST_ACK -> CLOSE"))
    # End the TIME_WAIT now (SOCK_DESTROY) instead of waiting 60 s.
    harness.run(["ss", "-K", "-tan", "state", "time-wait"], check=True)
    w.wait_line(re.escape(f"GONE tcp {cl} {cp} TIME_WAIT -> CLOSE"))
    lines = w.snapshot()
    harness.check_eq(events_for(lines, cl, cp), [
        ("NEW", "SYN_SENT"), ("CHANGE", "SYN_SENT -> ESTABLISHED"),
        ("CHANGE", "ESTABLISHED -> FIN_WAIT1"), ("CHANGE", "FIN_WAIT1 -> FIN_WAIT2"),
        ("CHANGE", "FIN_WAIT2 -> TIME_WAIT"), ("GONE", "TIME_WAIT -> CLOSE")], "client side")
    harness.check_eq(events_for(lines, sl, sp), [
        ("NEW", "SYN_RECV"), ("CHANGE", "SYN_RECV -> ESTABLISHED"),
        ("CHANGE", "ESTABLISHED -> CLOSE_WAIT"), ("CHANGE", "CLOSE_WAIT -> LAST_ACK"),
        ("GONE", "LAST_ACK -> CLOSE")], "server side")
    for line in lines:
        harness.check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} (NEW|CHANGE|GONE) tcp ", line),
                      f"line shape: {line!r}")
    lst.close()
    harness.check_eq(w.stop(), 0)


def test_lifecycle_jsonl_tracepoint():
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--jsonl", "--source", "tracepoint", "-i", "0.05"])
    lst, (cl, cp), (sl, sp) = lifecycle(w, text=False)
    sport = int(sl.rsplit(":", 1)[1])
    cport = int(cl.rsplit(":", 1)[1])
    w.wait_line(f'"event":"GONE","old_state":"LAST_ACK".*"local_port":{sport},')
    w.wait_line(f'"old_state":"FIN_WAIT2","state":"TIME_WAIT".*"local_port":{cport},')
    objs = [json.loads(l) for l in w.snapshot()]
    keys = ["time", "event", "old_state", "state", "source", "netid", "family", "local_addr",
            "local_port", "peer_addr", "peer_port", "recv_q", "send_q", "inode", "uid", "cookie",
            "pid", "comm", "created", "lifetime_us", "state_us", "bytes_sent", "bytes_received",
            "segs_out", "segs_in", "bytes_sent_per_s", "bytes_received_per_s"]
    traffic = ("bytes_sent", "bytes_received", "segs_out", "segs_in")
    rates = ("bytes_sent_per_s", "bytes_received_per_s")
    for o in objs:
        # inode, uid and cookie are absent (never 0) when unknown; pid and comm
        # only when an owner was found; lifetime on GONE; traffic once a dump told it.
        want = [k for k in keys if (k != "old_state" or o["event"] != "NEW") and
                (k not in ("inode", "uid", "cookie") or "cookie" in o) and
                (k not in ("pid", "comm") or "pid" in o) and
                (k != "lifetime_us" or o["event"] == "GONE") and
                (k != "state_us" or o["event"] != "NEW") and
                (k not in traffic or "bytes_sent" in o) and
                (k not in rates or ("bytes_sent" in o and "bytes_sent_per_s" in o))]
        harness.check_eq(list(o.keys()), want, "JSON keys in contract order")
        harness.check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$", o["time"]),
                      o["time"])
    server = [(o["event"], o.get("old_state"), o["state"], o["source"]) for o in objs
              if o["local_port"] == sport and o["peer_port"] == cport]
    harness.check_eq(server, [
        ("NEW", None, "SYN_RECV", "tracepoint"),
        ("CHANGE", "SYN_RECV", "ESTABLISHED", "tracepoint"),
        ("CHANGE", "ESTABLISHED", "CLOSE_WAIT", "tracepoint"),
        ("CHANGE", "CLOSE_WAIT", "LAST_ACK", "tracepoint"),
        ("GONE", "LAST_ACK", "CLOSE", "tracepoint")])
    client = [(o["event"], o["state"]) for o in objs
              if o["local_port"] == cport and o["peer_port"] == sport]
    harness.check_eq([s for _, s in client],
                     ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"])
    tw = [o for o in objs if o["local_port"] == cport and o["state"] == "TIME_WAIT"][0]
    harness.check(tw["cookie"] > 0 and tw["peer_addr"] == "127.0.0.1", tw)
    lst.close()


def test_lifecycle_events_polling():
    harness.enter_new_netns()
    w = Watch(["--events", "--source", "poll", "-i", "0.02"])
    harness.check(w.sources.startswith("sockwatch: sources: poll every 0.02s"), w.sources)
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    sl, sp = tuple_of(a)
    w.wait_line(re.escape(f"NEW tcp {sl} {sp} ESTABLISHED"))
    c.shutdown(socket.SHUT_WR)
    w.wait_line(re.escape(f"CHANGE tcp {sl} {sp} ESTABLISHED -> CLOSE_WAIT"))
    # A poll may catch FIN_WAIT1 for the moment before our FIN is acknowledged.
    w.wait_line(re.escape(f"CHANGE tcp {cl} {cp} ") + r"(ESTABLISHED|FIN_WAIT1) -> FIN_WAIT2")
    a.close()
    w.wait_line(re.escape(f"CHANGE tcp {cl} {cp} FIN_WAIT2 -> TIME_WAIT"))
    w.wait_line(re.escape(f"GONE tcp {sl} {sp} CLOSE_WAIT -> CLOSE"))
    c.close()
    harness.run(["ss", "-K", "-tan", "state", "time-wait"], check=True)
    w.wait_line(re.escape(f"GONE tcp {cl} {cp} TIME_WAIT -> CLOSE"))
    client = events_for(w.snapshot(), cl, cp)
    states = [st.split(" -> ")[-1] for _, st in client]
    harness.check_eq(client[0][0], "NEW")
    harness.check_eq(client[-1], ("GONE", "TIME_WAIT -> CLOSE"))
    harness.check_eq([st for st in states if st in ("ESTABLISHED", "FIN_WAIT2", "TIME_WAIT")],
                     ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"], f"client states {states}")
    lst.close()


def kernel_transitions(instance, port):
    """The kernel's own count of inet_sock_set_state lines touching `port`."""
    with open(f"{instance}/trace") as f:
        text = f.read()
    n = 0
    for line in text.splitlines():
        m = re.search(r"sport=(\d+) dport=(\d+)", line)
        if m and "inet_sock_set_state" in line and port in (int(m.group(1)), int(m.group(2))):
            n += 1
    return n


def test_churn_tracepoint_sees_every_transition():
    harness.enter_new_netns()
    need_tracefs()
    # Our own reference instance: the kernel's transitions, counted independently.
    ref = f"{TRACEFS}/instances/sockwatch-test-{os.getpid()}"
    os.mkdir(ref)
    harness.on_cleanup(lambda: os.rmdir(ref))
    with open(f"{ref}/buffer_size_kb", "w") as f:
        f.write("8192")
    with open(f"{ref}/events/sock/inet_sock_set_state/enable", "w") as f:
        f.write("1")
    w = Watch(["--jsonl", "--source", "tracepoint", "-i", "0.2"])
    lst = harness.free_listener(backlog=256)
    port = lst.getsockname()[1]
    n = 200
    for _ in range(n):
        c, a = connect_pair(lst)
        c.sendall(b"x")
        a.recv(1)
        c.close()
        a.recv(1)
        a.close()
    lst.close()

    def mine():
        return [json.loads(l) for l in w.snapshot()
                if f'"local_port":{port},' in l or f'"peer_port":{port},' in l]
    # 10 transitions per connection (5 per end) plus the listener's two.
    harness.wait_for(lambda: len(mine()) >= 10 * n + 2, timeout=30,
                     what=f"{10 * n + 2} events for port {port}")
    with open(f"{ref}/events/sock/inet_sock_set_state/enable", "w") as f:
        f.write("0")
    kernel = kernel_transitions(ref, port)
    events = mine()
    harness.check_eq(kernel, 10 * n + 2, "the kernel's transition count")
    harness.check_eq(len(events), kernel, "one event per kernel transition")
    tw = [e for e in events if e["state"] == "TIME_WAIT"]
    harness.check_eq(len(tw), n, "every client end reaches TIME_WAIT")
    gone = [e for e in events if e["event"] == "GONE"]
    harness.check_eq(sorted({e["old_state"] for e in gone}), ["LAST_ACK", "LISTEN"])
    harness.check_eq(len(gone), n + 1)


def test_without_root_destroy_groups_report_every_closed_socket():
    harness.enter_new_netns()
    # -i 5: polls are too rare to see these sockets alive; only the destroy groups can.
    w = Watch(["--events", "-i", "5", "-t", "-u"], prefix=NOBODY)
    harness.check("sources: destroy+poll" in w.sources, w.sources)
    harness.check("tracepoint:" in w.sources and "ermission denied" in w.sources, w.sources)
    lst = harness.free_listener(backlog=64)
    port = lst.getsockname()[1]
    n = 30
    servers, clients = [], []
    for _ in range(n):
        c, a = connect_pair(lst)
        clients.append(tuple_of(c))
        servers.append(tuple_of(a))
        c.close()
        a.recv(1)
        a.close()
    for sl, sp in servers:
        w.wait_line(re.escape(f"GONE tcp {sl} {sp} CLOSE"), timeout=20)
    # The client ends live on in TIME_WAIT: a CHANGE when the look-up at the destroy
    # message finds the minisocket at once, else the next poll settles them as NEW.
    for cl, cp in clients:
        t = re.escape(f"tcp {cl} {cp} ")
        try:
            w.wait_line(f"(NEW {t}TIME_WAIT|CHANGE {t}\\S+ -> TIME_WAIT)", timeout=20)
        except harness.TestFailure as e:
            raise harness.TestFailure(f"{e}; its events: {events_for(w.snapshot(), cl, cp)}")
    lines = w.snapshot()
    for cl, cp in clients:
        harness.check("GONE" not in [e for e, _ in events_for(lines, cl, cp)],
                      f"{cl} was reported gone though it is in TIME_WAIT")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    uport = u.getsockname()[1]
    u.close()
    w.wait_line(re.escape(f"GONE udp 127.0.0.1:{uport} *:* CLOSE"), timeout=20)
    lst.close()
    del port


def instance_of(pid):
    """The instance of sockwatch process `pid`: `sockwatch-PID-START` (its start time)."""
    import glob
    found = glob.glob(f"{TRACEFS}/instances/sockwatch-{pid}-*")
    harness.check_eq(len(found), 1, f"one tracefs instance of pid {pid}: {found}")
    return found[0]


def test_tracefs_instance_removed_on_exit_sigint_sigterm():
    harness.enter_new_netns()
    need_tracefs()
    for how in ("duration", signal.SIGINT, signal.SIGTERM):
        args = ["--events", "--source", "tracepoint", "-i", "0.05"]
        if how == "duration":
            args += ["--duration", "0.5"]
        w = Watch(args)
        inst = instance_of(w.proc.pid)
        harness.check(os.path.isdir(inst), f"{inst} exists while running")
        rc = w.stop(how) if how != "duration" else w.proc.wait(timeout=10)
        harness.check_eq(rc, 0, f"exit status after {how}")
        harness.check(not os.path.exists(inst), f"{inst} removed after {how}")


def test_tracepoint_source_refused_without_root():
    harness.enter_new_netns()
    res = harness.run(NOBODY + [harness.tool("sockwatch"), "--events", "--source", "tracepoint",
                                "--duration", "0.2"])
    harness.check_eq(res.returncode, 1)
    lines = res.stderr.strip().splitlines()
    harness.check_eq(len(lines), 1, res.stderr)
    harness.check(lines[0].startswith("sockwatch: tracepoint: "), lines[0])


def test_warn_close_wait_exits_3():
    harness.enter_new_netns()
    lst = harness.free_listener(backlog=64)
    held = []

    def add_close_waits(k):
        for _ in range(k):
            c, a = connect_pair(lst)
            c.close()  # the server end holds on: CLOSE_WAIT
            held.append(a)
    add_close_waits(10)
    ten = harness.run([harness.tool("sockwatch"), "--events", "--warn", "CLOSE_WAIT>10",
                       "-i", "0.05", "--duration", "0.5"])
    harness.check_eq(ten.returncode, 0, f"10 is not more than 10: {ten.stderr}")
    w = spawn_sockwatch([harness.tool("sockwatch"), "--events", "--warn", "CLOSE_WAIT>10",
                         "--warn", "LISTEN>5", "-i", "0.05"])
    harness.read_line_with_deadline(w.stderr, 10, "the sources line")
    add_close_waits(1)
    rc = w.wait(timeout=10)
    harness.check_eq(rc, 3)
    err = w.stderr.read().decode()
    harness.check("CLOSE_WAIT count 11 exceeds 10" in err, err)


def test_counts_lines():
    harness.enter_new_netns()
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    res = harness.run([harness.tool("sockwatch"), "--counts", "-i", "0.05", "--count", "3"],
                      check=True)
    lines = res.stdout.splitlines()
    harness.check_eq(len(lines), 3)
    for line in lines:
        harness.check(re.search(r" ESTABLISHED=2 SYN_SENT=0 .* LISTEN=1 CLOSING=0$", line), line)
    js = harness.run([harness.tool("sockwatch"), "--counts", "--jsonl", "-i", "0.05",
                      "--count", "1"], check=True)
    obj = json.loads(js.stdout)
    harness.check_eq(obj["counts"]["LISTEN"], 1)
    harness.check_eq(len(obj["counts"]), 11)
    c.close()
    a.close()


def test_count_and_filter_words():
    harness.enter_new_netns()
    w = Watch(["--events", "-i", "0.02", "--source", "poll", "--count", "2", "state", "listening"])
    l1 = harness.free_listener()
    c, a = connect_pair(l1)  # not LISTEN: filtered out
    l2 = harness.free_listener()
    harness.check_eq(w.proc.wait(timeout=10), 0)
    w.thread.join(timeout=5)
    lines = w.snapshot()
    harness.check_eq(len(lines), 2, lines)
    harness.check(all(l.endswith(" LISTEN") for l in lines), lines)
    for s in (c, a, l1, l2):
        s.close()


def test_usage_errors_exit_2_with_one_line():
    for args in (["-i", "0.001"], ["--warn", "NOPE>1"], ["--warn", "LISTEN>x"],
                 ["--source", "ebpf"], ["--color", "pink"], ["--counts", "--events"],
                 ["--count", "0"], ["state", "bogus"], ["--bogus"]):
        res = harness.run([harness.tool("sockwatch")] + args)
        harness.check_eq(res.returncode, 2, f"{args}: {res.stderr}")
        harness.check_eq(len(res.stderr.strip().splitlines()), 1, f"{args}: {res.stderr}")
        harness.check(res.stderr.startswith("sockwatch: "), res.stderr)
    for flag in ("--help", "--version"):
        res = harness.run([harness.tool("sockwatch"), flag])
        harness.check_eq(res.returncode, 0)
        harness.check("sockwatch" in res.stdout, res.stdout)


def test_stdout_closed_ends_cleanly():
    harness.enter_new_netns()
    lst = harness.free_listener()
    p = subprocess.Popen(f"{harness.tool('sockwatch')} --events --source poll -i 0.02 | head -n 1",
                         shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    c, a = connect_pair(lst)
    out, _ = p.communicate(timeout=10)
    harness.check(b" NEW tcp " in out, out)
    for s in (c, a, lst):
        s.close()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise harness.TestFailure("no VmRSS")


def test_memory_flat_under_churn():
    harness.enter_new_netns()
    secs = float(os.environ.get("SOCKWATCH_CHURN_SECS", "60"))
    source = "tracepoint" if os.geteuid() == 0 else "auto"
    p = spawn_sockwatch([harness.tool("sockwatch"), "--events", "--source", source, "-i", "0.1"],
                        stdout=subprocess.DEVNULL)
    harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    lst = harness.free_listener(backlog=256)
    linger = struct.pack("ii", 1, 0)  # abortive close: no TIME_WAIT pile-up to measure
    start = time.monotonic()
    samples = []
    made = 0
    while time.monotonic() - start < secs:
        t0 = time.monotonic()
        for _ in range(100):
            c, a = connect_pair(lst)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            c.close()
            a.close()
            made += 1
        samples.append((time.monotonic() - start, rss_kb(p.pid)))
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))  # pacing the churn, not a sync
    harness.check(p.poll() is None, "sockwatch still running")
    warm = [kb for t, kb in samples if secs * 0.2 <= t <= secs * 0.3]
    late = [kb for t, kb in samples if t >= secs * 0.9]
    harness.check(warm and late, "samples")
    growth = max(late) - max(warm)
    print(f"churn {made} connections in {secs:.0f}s; RSS warm {max(warm)} kB, "
          f"end {max(late)} kB, growth {growth} kB", flush=True)
    harness.check(growth < 2048, f"RSS grew {growth} kB under churn")


def tmux(sock, *args):
    return harness.run(["tmux", "-L", sock] + list(args), check=True)


def capture(sock, escapes=False):
    args = ["capture-pane", "-p", "-t", "w"] + (["-e"] if escapes else [])
    return tmux(sock, *args).stdout


def start_live(name, cols, rows):
    """sockwatch's live screen (poll, 0.1 s) in a detached tmux pane; returns the tmux socket."""
    harness.need("tmux")
    sock = f"sockwatch-{name}-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    cmd = f"{harness.tool('sockwatch')} -i 0.1 --source poll"
    tmux(sock, "new-session", "-d", "-s", "w", "-x", str(cols), "-y", str(rows), "env",
         "TERM=xterm-256color", "sh", "-c", cmd)
    harness.wait_for(lambda: "Local Address" in capture(sock), what="the header")
    return sock


def status_line(sock):
    """The last non-blank line of the pane: the status line (or the prompt)."""
    lines = [l for l in capture(sock).splitlines() if l.strip()]
    return lines[-1] if lines else ""


def test_live_screen_in_tmux():
    harness.enter_new_netns()
    sock = start_live("test", 160, 30)
    lst = harness.free_listener()
    lport = lst.getsockname()[1]
    # New rows are green for a moment.
    harness.wait_for(lambda: f":{lport}" in capture(sock), what="the listener row")
    harness.check("\x1b[32m" in capture(sock, True), "a green new row")
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    harness.wait_for(lambda: re.search(re.escape(cl) + r"\s+" + re.escape(cp) + r"\s+ESTABLISHED",
                                       capture(sock)), what="the connection row")
    c.shutdown(socket.SHUT_WR)
    harness.wait_for(lambda: re.search(re.escape(cl) + r"\s+" + re.escape(cp) + r"\s+FIN_WAIT2",
                                       capture(sock)), what="the row changing")
    harness.wait_for(lambda: "CLOSE_WAIT 1" in capture(sock), what="the status counts")
    # Keys: sort, pause, filter.
    tmux(sock, "send-keys", "-t", "w", "s")
    harness.wait_for(lambda: "sort remote" in capture(sock), what="sort remote")
    tmux(sock, "send-keys", "-t", "w", "/")
    tmux(sock, "send-keys", "-t", "w", "-l", "state listening")
    tmux(sock, "send-keys", "-t", "w", "Enter")
    harness.wait_for(lambda: "filter state listening" in capture(sock), what="the filter")
    harness.wait_for(lambda: cl not in capture(sock), what="the filter hiding the connection")
    # The prompt reopens empty, the filter in force shown as a hint only.
    tmux(sock, "send-keys", "-t", "w", "/")
    harness.wait_for(lambda: "now: state listening" in status_line(sock), what="the hint")
    harness.check(status_line(sock).startswith("/ "), "the prompt opens empty")
    tmux(sock, "send-keys", "-t", "w", "-l", "dport 7777 x")
    tmux(sock, "send-keys", "-t", "w", "C-w")
    harness.wait_for(lambda: status_line(sock).rstrip() == "/dport 7777", what="Ctrl-W a word")
    tmux(sock, "send-keys", "-t", "w", "C-u")
    harness.wait_for(lambda: "now: state listening" in status_line(sock), what="Ctrl-U the line")
    # A bad filter: the one-line error, the old filter kept.
    tmux(sock, "send-keys", "-t", "w", "-l", "sport nosuchservice")
    tmux(sock, "send-keys", "-t", "w", "Enter")
    harness.wait_for(lambda: "| filter: " in status_line(sock), what="the filter error")
    harness.check("filter state listening" in status_line(sock), "the old filter kept")
    harness.check(cl not in capture(sock), "the old filter still hides the connection")
    # Escape cancels: what was typed is not applied.
    tmux(sock, "send-keys", "-t", "w", "/")
    tmux(sock, "send-keys", "-t", "w", "-l", "state established")
    harness.wait_for(lambda: status_line(sock).startswith("/state established"), what="typing")
    tmux(sock, "send-keys", "-t", "w", "Escape")
    harness.wait_for(lambda: "filter state listening" in status_line(sock), what="Escape keeps it")
    harness.check(cl not in capture(sock), "Escape applied nothing")
    # Empty Enter clears the filter.
    tmux(sock, "send-keys", "-t", "w", "/")
    harness.wait_for(lambda: status_line(sock).startswith("/ "), what="the prompt again")
    tmux(sock, "send-keys", "-t", "w", "Enter")
    harness.wait_for(lambda: "filter " not in status_line(sock), what="no filter in the status")
    harness.wait_for(lambda: cl in capture(sock), what="the filter cleared")
    tmux(sock, "send-keys", "-t", "w", "p")
    harness.wait_for(lambda: "PAUSED" in capture(sock), what="PAUSED")
    tmux(sock, "send-keys", "-t", "w", "p")
    harness.wait_for(lambda: "PAUSED" not in capture(sock), what="resumed")
    # Rows go: closed sockets turn red, then leave.
    a.close()
    c.close()
    harness.run(["ss", "-K", "-tan", "state", "time-wait"], check=True)
    harness.wait_for(lambda: cl not in capture(sock), what="the closed row leaving")
    tmux(sock, "send-keys", "-t", "w", "q")
    harness.wait_for(lambda: harness.run(["tmux", "-L", sock, "has-session", "-t", "w"]).returncode != 0,
                     what="q to quit")
    lst.close()


def recv_exactly(sock, n):
    got = 0
    while got < n:  # bounded: the socket has a 5 s timeout and the peer sends n
        chunk = sock.recv(min(65536, n - got))
        harness.check(chunk, "the peer closed early")
        got += len(chunk)


def test_live_screen_sort_by_received_bytes_in_tmux():
    """> moves the sort to Recv: the connection that received most comes first; r reverses."""
    harness.enter_new_netns()
    sock = start_live("sort", 180, 30)
    lst = harness.free_listener()
    small, small_a = connect_pair(lst)
    big, big_a = connect_pair(lst)
    sizes = {"small": 3000, "big": 300000}
    small_a.sendall(b"s" * sizes["small"])
    big_a.sendall(b"b" * sizes["big"])
    recv_exactly(small, sizes["small"])
    recv_exactly(big, sizes["big"])
    # A state change makes the next dump's bytes reach the table.
    small.shutdown(socket.SHUT_WR)
    big.shutdown(socket.SHUT_WR)
    sl, _ = tuple_of(small)
    bl, _ = tuple_of(big)
    for _ in range(7):  # at most once round the columns
        if "sort received" in status_line(sock):
            break
        before = status_line(sock)
        tmux(sock, "send-keys", "-t", "w", ">")
        harness.wait_for(lambda: status_line(sock) != before, what="> moving the sort")
    harness.check("sort received" in status_line(sock), "> reaches the Recv column")

    def body_rows():
        return [l for l in capture(sock).splitlines()[1:] if l.startswith("tcp ")]

    def row_of(local):
        return next((i for i, l in enumerate(body_rows()) if l.split()[1] == local), None)

    harness.wait_for(lambda: row_of(bl) == 0 and row_of(sl) == 1 and
                     str(sizes["big"]) in body_rows()[0] and str(sizes["small"]) in body_rows()[1],
                     what="the busiest connection first, with its received bytes")
    harness.check("Recvv" in capture(sock).splitlines()[0], "the header marks the sort column")
    tmux(sock, "send-keys", "-t", "w", "r")
    harness.wait_for(lambda: "sort received reversed" in status_line(sock), what="r reverses")
    harness.wait_for(lambda: row_of(bl) == len(body_rows()) - 1, what="the busiest connection last")
    tmux(sock, "send-keys", "-t", "w", "q")
    for s_ in (small, small_a, big, big_a, lst):
        s_.close()


def test_live_screen_at_80_columns_marks_cut_text_and_fits_the_help():
    """A long IPv6 address (on lo, in the test's own namespace) is cut with `>`; the help fits."""
    harness.enter_new_netns()
    addr = "2001:db8:1234:5678:9abc:def0:1234:5678"
    harness.run(["ip", "-6", "addr", "add", f"{addr}/128", "dev", "lo", "nodad"], check=True)
    sock = start_live("cut", 80, 20)
    lst = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lst.bind((addr, 0))
    lst.listen(4)
    c = socket.create_connection((addr, lst.getsockname()[1]), timeout=5)
    a, _ = lst.accept()
    head = f"[{addr}"[:15]
    harness.wait_for(lambda: len(re.findall(re.escape(head) + ">", capture(sock))) >= 4,
                     what="the cut addresses marked (connection both ways)")
    harness.check(f":{lst.getsockname()[1]}" not in capture(sock), "the address really was cut")
    harness.check(status_line(sock).rstrip().endswith("| q p s</> r /"), "the key help, whole")
    # Nothing is painted past the pane (ncurses would wrap it onto the next line).
    for line in capture(sock).splitlines():
        harness.check(len(line) <= 80, f"a line wider than the pane: {line!r}")
    tmux(sock, "send-keys", "-t", "w", "q")
    for s_ in (c, a, lst):
        s_.close()


def test_live_screen_no_color_with_no_color_env():
    harness.enter_new_netns()
    harness.need("tmux")
    sock = f"sockwatch-nc-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    for env_or_flag in (["env", "NO_COLOR=1"], ["env", "--color=never"]):
        cmd = [harness.tool("sockwatch"), "-i", "0.1", "--source", "poll"]
        if env_or_flag[1] == "--color=never":
            cmd.append("--color=never")
            prefix = ["env", "TERM=xterm-256color"]
        else:
            prefix = ["env", "TERM=xterm-256color", "NO_COLOR=1"]
        tmux(sock, "new-session", "-d", "-s", "w", "-x", "160", "-y", "30", *prefix, *cmd)
        harness.wait_for(lambda: "Local Address" in capture(sock), what="the header")
        lst = harness.free_listener()
        lport = lst.getsockname()[1]
        harness.wait_for(lambda: f":{lport}" in capture(sock), what="the listener row")
        screen = capture(sock, True)
        for sgr in ("\x1b[31m", "\x1b[32m", "\x1b[33m"):
            harness.check(sgr not in screen, f"colour {sgr!r} with {env_or_flag}")
        tmux(sock, "send-keys", "-t", "w", "q")
        harness.wait_for(lambda: harness.run(["tmux", "-L", sock, "has-session", "-t", "w"]).returncode != 0,
                         what="q to quit")
        lst.close()



def test_live_screen_labels_processes_pid_slash_comm():
    """The Process column says pid/comm, as sockls --by process and netstat do."""
    harness.enter_new_netns()
    harness.need("tmux")
    sock = f"sockwatch-pc-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    lst = harness.free_listener()
    lport = lst.getsockname()[1]
    with open(f"/proc/{os.getpid()}/comm") as f:
        comm = f.read().strip()
    cmd = [harness.tool("sockwatch"), "-i", "0.1", "--source", "poll"]
    tmux(sock, "new-session", "-d", "-s", "w", "-x", "160", "-y", "30", "env", "TERM=xterm", *cmd)
    label = f"{os.getpid()}/{comm}"
    harness.wait_for(lambda: any(f":{lport}" in line and label in line
                                 for line in capture(sock).splitlines()),
                     what=f"the listener row labelled {label}")
    tmux(sock, "send-keys", "-t", "w", "q")
    harness.wait_for(lambda: harness.run(["tmux", "-L", sock, "has-session", "-t", "w"]).returncode != 0,
                     what="q to quit")
    lst.close()

OTHER_NETNS_CHURN = r"""
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
print(l.getsockname()[1], flush=True)
sys.stdin.readline()
for _ in range(20):
    c = socket.create_connection(l.getsockname()); a, _ = l.accept(); c.close(); a.close()
print("done", flush=True)
sys.stdin.readline()
"""


def test_tracepoint_ignores_other_namespaces():
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--events", "--source", "tracepoint", "-i", "0.05"])
    other = harness.spawn(["unshare", "-n", "sh", "-c",
                           f"ip link set lo up && exec {shutil.which('python3')} -c '{OTHER_NETNS_CHURN}'"],
                          stdin=subprocess.PIPE)
    port = harness.read_line_with_deadline(other.stdout, 10, "the other namespace's port")
    other.stdin.write(b"go\n")
    other.stdin.flush()
    harness.read_line_with_deadline(other.stdout, 10, "the other namespace's churn")
    # Ours, after theirs: once it shows, every dump that could vouch for theirs has run.
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    w.wait_line(re.escape(f"{cl} {cp} SYN_SENT -> ESTABLISHED"))
    for _ in range(3):  # three more polls: their rows are dropped after two
        n = len(w.snapshot())
        c2, a2 = connect_pair(lst)
        w.wait_line(re.escape(f"{tuple_of(c2)[0]} {tuple_of(c2)[1]} SYN_SENT -> ESTABLISHED"))
        c2.close()
        a2.close()
        del n
    theirs = [l for l in w.snapshot() if f":{port} " in l or l.endswith(f":{port}")]
    harness.check_eq(theirs, [], "events of another network namespace")
    other.stdin.close()
    for s in (c, a, lst):
        s.close()


def test_live_screen_keys_quit_and_restore_in_tmux():
    """The full-screen table at a real terminal: a socket made now gets a row, p and s
    work, q quits with status 0 and the terminal's own screen comes back."""
    harness.enter_new_netns()
    harness.need("tmux")
    sock = f"socklab-test-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    rc_file = f"/tmp/socklab-test-{os.getpid()}.rc"
    harness.on_cleanup(lambda: os.path.exists(rc_file) and os.unlink(rc_file))
    script = (f"echo shell-before-sockwatch; {harness.tool('sockwatch')} -i 0.1 --source poll; "
              f"echo rc=$? > {rc_file}; exec sleep 60")
    tmux(sock, "new-session", "-d", "-s", "w", "-x", "100", "-y", "30", "env",
         "TERM=xterm-256color", "sh", "-c", script)
    harness.wait_for(lambda: "Local Address" in capture(sock), what="the header")
    harness.check("shell-before-sockwatch" not in capture(sock), "the table owns the screen")
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    harness.wait_for(lambda: re.search(re.escape(cl) + r"\s+" + re.escape(cp) + r"\s+ESTABLISHED",
                                       capture(sock)), what="a row for the new connection")
    tmux(sock, "send-keys", "-t", "w", "p")
    harness.wait_for(lambda: "PAUSED" in capture(sock), what="p pauses")
    c.close()  # the client closes first: its row goes to TIME_WAIT, seen after the pause
    a.close()
    tmux(sock, "send-keys", "-t", "w", "p")
    harness.wait_for(lambda: "PAUSED" not in capture(sock), what="p resumes")
    harness.wait_for(lambda: re.search(re.escape(cl) + r"\s+" + re.escape(cp) + r"\s+TIME_WAIT",
                                       capture(sock)), what="the table catching up on resume")
    tmux(sock, "send-keys", "-t", "w", "s")
    harness.wait_for(lambda: "sort remote" in capture(sock), what="s sorts by remote")
    tmux(sock, "send-keys", "-t", "w", "s")
    harness.wait_for(lambda: "sort state" in capture(sock), what="s again: by state")
    tmux(sock, "send-keys", "-t", "w", "q")
    harness.wait_for(lambda: os.path.exists(rc_file) and open(rc_file).read().strip(),
                     what="the exit status after q")
    harness.check_eq(open(rc_file).read().strip(), "rc=0", "exit status after q")
    screen = capture(sock)
    harness.check("shell-before-sockwatch" in screen, f"the screen is restored: {screen!r}")
    harness.check("Local Address" not in screen, f"no table left behind: {screen!r}")
    alt = tmux(sock, "display-message", "-p", "-t", "w", "#{alternate_on}").stdout.strip()
    harness.check_eq(alt, "0", "alternate screen off after q")
    harness.run(["ss", "-K", "-tan", "state", "time-wait"])
    lst.close()


def test_live_screen_ctrl_c_at_a_pty_restores_the_terminal():
    """^C typed at the terminal ends the table within a second, status 0, screen and
    termios restored."""
    import faults
    import termios
    harness.enter_new_netns()
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    for extra in ([], ["-i", "1e9"]):
        t = faults.PtyProc([harness.tool("sockwatch"), "--source", "poll"] + extra, env=env,
                           cols=100, rows=30)
        t.read_until(rb"Local Address", what="the header")
        during = termios.tcgetattr(t.master)
        harness.check(not during[3] & termios.ICANON, "the table runs the terminal raw (cbreak)")
        t0 = time.monotonic()
        t.type(b"\x03")
        rc = t.wait(timeout=5)
        took = time.monotonic() - t0
        harness.check_eq(rc, 0, f"exit status after ^C {extra}")
        harness.check(took <= 1.0, f"^C took {took:.2f}s {extra}")
        tail = t.screen[t.screen.rfind(b"Local Address"):]
        harness.check(b"\x1b[?1049l" in tail, f"the alternate screen left: {tail[-200:]!r}")
        after = termios.tcgetattr(t.master)
        # A new pty starts cooked, with echo (what the table found, whenever it
        # started: reading it from here would race with the table's own set-up).
        harness.check_eq(after[3] & (termios.ICANON | termios.ECHO),
                         termios.ICANON | termios.ECHO, "termios restored")


def test_live_screen_without_root_says_what_it_cannot_see():
    harness.enter_new_netns()
    harness.need("tmux")
    if os.geteuid() != 0:
        raise harness.Skip("needs root to become nobody")
    import faults
    sock = f"socklab-test-nr-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    cmd = faults.nonroot(["env", "TERM=xterm-256color", harness.tool("sockwatch"), "-i", "0.1"])
    tmux(sock, "new-session", "-d", "-s", "w", "-x", "160", "-y", "30", *cmd)
    harness.wait_for(lambda: "Local Address" in capture(sock), what="the header")
    lst = harness.free_listener()
    harness.wait_for(lambda: f":{lst.getsockname()[1]}" in capture(sock), what="the listener row")
    screen = capture(sock)
    harness.check("destroy+poll" in screen, screen)
    harness.check("no tracepoint: " in screen, f"says it has no tracepoint: {screen!r}")
    tmux(sock, "send-keys", "-t", "w", "q")
    harness.wait_for(lambda: harness.run(["tmux", "-L", sock, "has-session", "-t", "w"]).returncode != 0,
                     what="q to quit")
    lst.close()


def test_stale_instance_of_killed_process_removed_by_next_start():
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--events", "--source", "tracepoint"])
    inst = instance_of(w.proc.pid)
    w.stop(signal.SIGKILL)
    harness.check(os.path.isdir(inst), "SIGKILL leaves the instance behind")
    harness.run([harness.tool("sockwatch"), "--events", "--source", "tracepoint",
                 "--duration", "0.1"], check=True)
    harness.check(not os.path.exists(inst), f"{inst} removed by the next start")


HOLD_LISTENER = "import socket,sys; l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen(); " \
                "print(l.getsockname()[1], flush=True); sys.stdin.readline()"


def test_named_netns():
    with harness.NamedNetns() as ns:
        w = Watch(["--events", "--source", "poll", "-i", "0.05", "-N", ns.name])
        p = harness.spawn(ns.exec_args([shutil.which("python3"), "-c", HOLD_LISTENER]),
                          stdin=subprocess.PIPE)
        port = harness.read_line_with_deadline(p.stdout, 10, "the listener port")
        w.wait_line(re.escape(f"NEW tcp 127.0.0.1:{port} *:* LISTEN"))
        p.stdin.close()
        w.wait_line(re.escape(f"GONE tcp 127.0.0.1:{port} *:* LISTEN -> CLOSE"))
    res = harness.run([harness.tool("sockwatch"), "--events", "-N", "no-such-netns-here"])
    harness.check_eq(res.returncode, 1)
    harness.check_eq(len(res.stderr.strip().splitlines()), 1, res.stderr)


def test_filter_expression_selects_one_port():
    harness.enter_new_netns()
    lst = harness.free_listener()
    other = harness.free_listener()
    port = lst.getsockname()[1]
    for source in (["--source", "poll", "-i", "0.02"], ["--source", "tracepoint", "-i", "0.05"]):
        if "tracepoint" in source and os.geteuid() != 0:
            continue
        w = Watch(["--events"] + source + [f"( sport = :{port} or dport = :{port} )"])
        c0, a0 = connect_pair(other)  # not selected
        c, a = connect_pair(lst)
        cl, cp = tuple_of(c)
        w.wait_line(re.escape(f"{cl} {cp} ") + r"(\S+ -> )?ESTABLISHED( |$)")
        c.close()
        a.close()
        w.wait_line(re.escape(f"CHANGE tcp {cl} {cp} ") + r"\S+ -> TIME_WAIT")
        w.stop()
        lines = w.snapshot()
        harness.check(lines, "events")
        for line in lines:
            f = line.split()
            harness.check(f[3].endswith(f":{port}") or f[4].endswith(f":{port}"),
                          f"{source}: {line!r} is not for port {port}")
        for s_ in (c0, a0):
            s_.close()
    lst.close()
    other.close()


def first_row(screen):
    lines = screen.splitlines()
    return lines[1] if len(lines) > 1 else ""


def test_live_screen_scrolls_with_keys():
    harness.enter_new_netns()
    harness.need("tmux")
    listeners = [harness.free_listener() for _ in range(40)]  # more rows than the 12-line pane
    sock = f"sockwatch-scroll-{os.getpid()}"
    harness.on_cleanup(lambda: harness.run(["tmux", "-L", sock, "kill-server"]))
    rc_file = f"/tmp/sockwatch-scroll-{os.getpid()}.rc"
    harness.on_cleanup(lambda: os.path.exists(rc_file) and os.unlink(rc_file))
    tmux(sock, "new-session", "-d", "-s", "w", "-x", "120", "-y", "12", "sh", "-c",
         f"{harness.tool('sockwatch')} -i 0.1 --source poll; echo $? > {rc_file}")
    harness.wait_for(lambda: "40 rows" in capture(sock), what="40 rows")
    top = first_row(capture(sock))
    tmux(sock, "send-keys", "-t", "w", "Down")
    harness.wait_for(lambda: first_row(capture(sock)) != top, what="Down to scroll")
    second = first_row(capture(sock))
    tmux(sock, "send-keys", "-t", "w", "NPage")
    harness.wait_for(lambda: first_row(capture(sock)) not in (top, second), what="PgDn to scroll")
    tmux(sock, "send-keys", "-t", "w", "End")
    last = sorted(l.getsockname()[1] for l in listeners)[-1]
    harness.wait_for(lambda: f":{last} " in capture(sock).splitlines()[-2], what="End: the last row")
    tmux(sock, "send-keys", "-t", "w", "PPage", "Home")
    harness.wait_for(lambda: first_row(capture(sock)) == top, what="Home: back to the top")
    tmux(sock, "send-keys", "-t", "w", "Up")  # at the top: stays
    tmux(sock, "send-keys", "-t", "w", "q")
    harness.wait_for(lambda: os.path.exists(rc_file) and open(rc_file).read().strip(), what="exit")
    harness.check_eq(open(rc_file).read().strip(), "0", "exit status after q")
    for l in listeners:
        l.close()


OWNER_CHILD = r"""
import socket, sys
out = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    l = socket.socket(fam)
    l.bind((host, 0))
    l.listen()
    c = socket.socket(fam)
    c.connect(l.getsockname()[:2])
    a, _ = l.accept()
    out.append((l, c, a))
print(" ".join(str(t[0].getsockname()[1]) for t in out), flush=True)
sys.stdin.readline()
for l, c, a in out:
    c.close(); a.close(); l.close()
print("closed", flush=True)
sys.stdin.readline()
"""


def test_tracepoint_events_carry_owner_cookie_ipv6_in_time_order():
    """As root, sockets made after start by another process: every event of them
    carries that process's pid and the socket's real cookie (one per socket, NEW to
    GONE), IPv6 ends read ::1, and the lines are in time order."""
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--jsonl", "--source", "tracepoint", "-i", "0.05"])
    v6 = Watch(["--events", "--source", "tracepoint", "-i", "0.05", "dst [::1]"])
    child = harness.spawn([shutil.which("python3"), "-c", OWNER_CHILD], stdin=subprocess.PIPE)
    ports = [int(p) for p in harness.read_line_with_deadline(child.stdout, 10, "ports").split()]

    def mine():
        objs = [json.loads(l) for l in w.snapshot()]
        return [o for o in objs if o["local_port"] in ports or o["peer_port"] in ports]
    # Both listeners and both ends of both connections: NEW ... ESTABLISHED each.
    harness.wait_for(lambda: len([o for o in mine() if o["state"] == "ESTABLISHED"]) >= 4,
                     timeout=15, what="both connections established")
    child.stdin.write(b"\n")
    child.stdin.flush()
    harness.read_line_with_deadline(child.stdout, 10, "closed")
    # Both clients in TIME_WAIT (an orphan's minisocket may pass FIN_WAIT2 first,
    # which `state time-wait` would not kill), then end them now.
    harness.wait_for(lambda: len([o for o in mine() if o["state"] == "TIME_WAIT"]) >= 2,
                     timeout=15, what="both clients in TIME_WAIT")
    v6.wait_line(r"\[::1\]:\d+ " + re.escape(f"[::1]:{ports[1]} FIN_WAIT2 -> TIME_WAIT"))
    harness.run(["ss", "-K", "-tan", "state", "time-wait"], check=True)
    # 3 sockets x 2 families, each ends with a GONE.
    harness.wait_for(lambda: len([o for o in mine() if o["event"] == "GONE"]) >= 6, timeout=15,
                     what="every socket GONE")
    events = mine()
    by_socket = {}
    for o in events:
        harness.check_eq(o.get("pid"), child.pid, f"owner pid of {o}")
        harness.check(o.get("comm") == "python3", f"comm of {o}")
        harness.check(o.get("cookie", 0) > 0, f"a real cookie: {o}")
        key = (o["local_addr"], o["local_port"], o["peer_addr"], o["peer_port"])
        by_socket.setdefault(key, set()).add(o["cookie"])
        if o["family"] == "inet6":
            harness.check(o["local_addr"] == "::1" and o["peer_addr"] in ("::1", "::"), o)
    for key, cookies in by_socket.items():
        harness.check_eq(len(cookies), 1, f"one cookie for {key}")
    harness.check(any(o["family"] == "inet6" for o in events), "IPv6 events seen")
    times = [json.loads(l)["time"] for l in w.snapshot()]
    harness.check_eq(times, sorted(times), "events in time order")
    # The filter on [::1] keeps the whole client lifecycle.
    v6.wait_line(r"GONE tcp \[::1\]:\d+ " + re.escape(f"[::1]:{ports[1]} TIME_WAIT -> CLOSE"))
    client6 = [l for l in v6.snapshot() if f"[::1]:{ports[1]}" in l.split()[4:5]]
    states = [" ".join(w for w in l.split()[5:] if "=" not in w) for l in client6]
    harness.check(states[:2] == ["SYN_SENT", "SYN_SENT -> ESTABLISHED"] and
                  states[-1] == "TIME_WAIT -> CLOSE", f"dst [::1] lifecycle: {states}")
    child.stdin.write(b"\n")
    child.stdin.flush()
    harness.check_eq(w.stop(), 0)
    harness.check_eq(v6.stop(), 0)


def test_without_root_time_wait_arrives_as_a_change():
    """No root: a connection the table knows ESTABLISHED that the client closes
    first goes to TIME_WAIT with one CHANGE, never GONE then NEW TIME_WAIT."""
    harness.enter_new_netns()
    w = Watch(["--events", "-i", "0.05"], prefix=NOBODY)
    harness.check("sources: destroy+poll" in w.sources, w.sources)
    lst = harness.free_listener()
    c, a = connect_pair(lst)
    cl, cp = tuple_of(c)
    w.wait_line(re.escape(f"NEW tcp {cl} {cp} ESTABLISHED"))
    c.close()
    harness.check_eq(a.recv(1), b"", "server sees EOF")
    a.close()
    w.wait_line(re.escape(f"tcp {cl} {cp} ") + r"\S+ -> TIME_WAIT")
    ev = events_for(w.snapshot(), cl, cp)
    harness.check_eq([e for e, _ in ev].count("NEW"), 1, f"one NEW: {ev}")
    harness.check("GONE" not in [e for e, _ in ev], f"no GONE before TIME_WAIT: {ev}")
    harness.check_eq(ev[-1][0], "CHANGE", f"TIME_WAIT as a CHANGE: {ev}")
    lst.close()


def test_tracepoint_overrun_reports_the_loss_and_resyncs():
    """A stopped sockwatch whose trace buffer overflows says how many events the
    kernel dropped (its own count) and resynchronises from a dump."""
    harness.enter_new_netns()
    need_tracefs()
    w = Watch(["--events", "--source", "tracepoint", "-i", "60"])
    inst = instance_of(w.proc.pid)
    w.proc.send_signal(signal.SIGSTOP)
    harness.on_cleanup(lambda: w.proc.poll() is None and w.proc.send_signal(signal.SIGCONT))
    # A small buffer (the kernel's minimum is a page or two per CPU) overflows fast.
    with open(f"{inst}/buffer_size_kb", "w") as f:
        f.write("8")
    lst = harness.free_listener(backlog=256)
    n = 150  # 10 transitions each: far more than 8 KiB of records per CPU
    for _ in range(n):
        c, a = connect_pair(lst)
        c.close()
        a.close()
    held = connect_pair(lst)  # alive after the churn: the resync's dump must show it
    overrun = 0
    for cpu in os.listdir(f"{inst}/per_cpu"):
        with open(f"{inst}/per_cpu/{cpu}/stats") as f:
            overrun += int(re.search(r"^overrun: (\d+)", f.read(), re.M).group(1))
    harness.check(overrun > 0, "the kernel overwrote events")
    w.proc.send_signal(signal.SIGCONT)
    line = harness.read_line_with_deadline(w.proc.stderr, 10, "the loss line")
    m = re.search(r"tracepoint buffer overran: (\d+) events lost; resynchronising from a dump",
                  line)
    harness.check(m is not None, f"loss line: {line!r}")
    harness.check(0 < int(m.group(1)) <= overrun, f"lost {m.group(1)} of the kernel's {overrun}")
    cl, cp = tuple_of(held[0])
    # With -i 60 no poll is due: the line comes from the resync's dump.
    w.wait_line(re.escape(f"{cl} {cp} ") + r"(ESTABLISHED|SYN_SENT -> ESTABLISHED)( |$)", timeout=10)
    for s_ in held + (lst,):
        s_.close()
    harness.check_eq(w.stop(), 0)


def test_traffic_bytes_each_way_and_lifetime():
    """N bytes each way show N in the events' byte keys; the GONE carries N and a
    lifetime (first seen to gone) within 50 ms of the one measured here."""
    harness.enter_new_netns()
    poll = Watch(["--jsonl", "--source", "poll", "-i", "0.02"])
    tp = Watch(["--jsonl", "-i", "0.02"]) if os.geteuid() == 0 else None
    n = 100000
    lst = harness.free_listener()
    t0 = time.monotonic()
    c, a = connect_pair(lst)
    sport, cport = a.getsockname()[1], c.getsockname()[1]
    c.sendall(b"x" * n)
    got = 0
    while got < n:
        got += len(a.recv(n - got))
    a.sendall(b"y" * n)
    got = 0
    while got < n:
        got += len(c.recv(n - got))
    c.shutdown(socket.SHUT_WR)
    harness.check_eq(a.recv(1), b"", "server sees EOF")
    pat = f'"state":"CLOSE_WAIT".*"local_port":{sport},"peer_addr":"127.0.0.1","peer_port":{cport},'
    cw = json.loads(poll.wait_line(pat)[0])
    # The kernel counts the peer's FIN as one byte received (rcv_nxt).
    harness.check_eq((cw["bytes_sent"], cw["bytes_received"]), (n, n + 1), f"server bytes: {cw}")
    harness.check(cw["segs_in"] > 0 and cw["segs_out"] > 0, cw)
    a.close()
    measured = time.monotonic() - t0  # the client's ACK of our FIN follows at once
    gone_pat = f'"event":"GONE".*"local_port":{sport},"peer_addr":"127.0.0.1","peer_port":{cport},'
    if tp is not None:
        g = json.loads(tp.wait_line(gone_pat)[0])
        harness.check(abs(g["lifetime_us"] / 1e6 - measured) < 0.05,
                      f"lifetime {g['lifetime_us']} us, measured {measured:.4f} s")
    g = json.loads(poll.wait_line(gone_pat)[0])
    # Our own FIN, once acknowledged, may count as a byte sent.
    harness.check(g["bytes_sent"] in (n, n + 1) and g["bytes_received"] == n + 1,
                  f"GONE totals: {g}")
    harness.check(g["lifetime_us"] > 0, g)
    c.close()
    lst.close()


harness.main()
