"""socklab end to end: every state held and seen by the real ss, tour, explain, doctor.

Each test runs in a fresh network namespace (harness.enter_new_netns), so ss
shows only our sockets and every TIME_WAIT vanishes with the test.
"""
import os
import re
import signal
import socket
import subprocess
import time

import harness

# The spelling `socklab run` prints (the state table's label) -> ss's spelling.
SS_NAME = {
    "LISTEN": "LISTEN", "SYN_SENT": "SYN-SENT", "SYN_RECV": "SYN-RECV",
    "ESTABLISHED": "ESTAB", "FIN_WAIT_1": "FIN-WAIT-1", "FIN_WAIT_2": "FIN-WAIT-2",
    "CLOSE_WAIT": "CLOSE-WAIT", "CLOSING": "CLOSING", "LAST_ACK": "LAST-ACK",
    "TIME_WAIT": "TIME-WAIT",
}

# scenario -> the state of the side marked "*" (CLOSED: ss lists no such socket).
FOCUS = {
    "listen": "LISTEN", "syn-sent": "SYN_SENT", "syn-recv": "SYN_RECV",
    "established": "ESTABLISHED", "fin-wait-1": "FIN_WAIT_1", "fin-wait-2": "FIN_WAIT_2",
    "close-wait": "CLOSE_WAIT", "closing": "CLOSING", "last-ack": "LAST_ACK",
    "time-wait": "TIME_WAIT", "closed": "CLOSED", "rst": "CLOSED",
}

SIDE = re.compile(r"^([* ]) (\S(?:.*?\S)?)\s{2,}(\S+)(?: -> (\S+))?\s+([A-Z_0-9]+|gone)\b")


def socklab(*args, **kw):
    return harness.run([harness.tool("socklab")] + list(args), **kw)


def ss_rows():
    """(state, local, peer) for every TCP socket ss shows in this namespace."""
    out = harness.run(["ss", "-tanH"], check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5:
            rows.append((f[0], f[3], f[4]))
    return rows


def sockls_rows(*words):
    """The same through our sockls (FILTER words optional), once it is built (None before)."""
    path = os.path.join(harness.BIN, "sockls")
    if not os.path.exists(path):
        return None
    res = harness.run([path, "-tanH"] + list(words), check=True)
    rows = []
    for line in res.stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and not f[0].isdigit():
            rows.append((f[0], f[3], f[4]))
        elif len(f) >= 4 and f[0].isdigit():  # one state asked for: ss drops the column
            rows.append((None, f[2], f[3]))
    return rows


def start_run(state, family, hold="5"):
    """Starts `socklab run`, reads until the hold begins; returns (process, sides)."""
    p = harness.spawn([harness.tool("socklab"), "run", state, "--hold", hold, "--family", family])
    sides = []
    while True:
        line = harness.read_line_with_deadline(p.stdout, 10, f"socklab run {state} to hold")
        if line.startswith("holding"):
            return p, sides
        m = SIDE.match(line)
        if m:
            sides.append({"focus": m.group(1) == "*", "role": m.group(2), "local": m.group(3),
                          "peer": m.group(4), "state": m.group(5), "line": line})


def check_sides_in(rows, sides, tool):
    for side in sides:
        matching = [r for r in rows if r[1] == side["local"] and
                    (r[2] == side["peer"] if side["peer"] else r[2].endswith(":*"))]
        if side["state"] in SS_NAME:
            want = SS_NAME[side["state"]]
            harness.check([r for r in matching if r[0] == want],
                          f"{tool} shows no {want} row for {side['line']!r}: {rows}")
        else:  # CLOSED or gone: no listed socket has this 4-tuple
            harness.check(not matching, f"{tool} lists {side['line']!r}: {matching}")


def hold_and_check(state, family, interrupt):
    p, sides = start_run(state, family)
    focus = [s for s in sides if s["focus"]]
    harness.check(focus, f"a side marked in the state; output sides {sides}")
    for side in focus:
        harness.check_eq(side["state"], FOCUS[state], f"{state} focus side")
    if FOCUS[state] == "CLOSED":
        harness.check("(TCP_INFO)" in focus[0]["line"], f"CLOSED read by TCP_INFO: {focus[0]}")
    check_sides_in(ss_rows(), sides, "ss")
    rows = sockls_rows()
    if rows is not None:
        check_sides_in(rows, sides, "sockls")
    if state == "closed" and rows is not None:
        # ss 6.1 lists no closed socket; sockls asks sock_diag for state 13 (bound, inactive).
        closed = sockls_rows("state", "closed")
        harness.check([r for r in closed if r[0] in ("UNCONN", None) and r[1] == focus[0]["local"]],
                      f"sockls state closed shows {focus[0]['local']}: {closed}")
    if interrupt:
        p.send_signal(signal.SIGINT)
    out, err = (b.decode(errors="replace") for b in p.communicate(timeout=15))
    harness.check_eq(p.returncode, 0, f"socklab run {state} exit; stderr {err!r}")
    harness.check("released" in out, f"release reported: {out!r}")
    # Nothing of ours is left, except the TIME_WAIT that is the point of time-wait.
    left = [r for r in ss_rows() if not (state == "time-wait" and r[0] == "TIME-WAIT")]
    harness.check(not left, f"sockets left after {state} released: {left}")
    closed = sockls_rows("state", "closed")
    harness.check(not closed, f"bound sockets left after {state} released: {closed}")


def run_state(state):
    harness.enter_new_netns()
    hold_and_check(state, "4", interrupt=True)   # Ctrl-C releases early
    hold_and_check(state, "6", interrupt=False)  # the hold runs out


def test_run_listen():
    run_state("listen")


def test_run_syn_sent():
    run_state("syn-sent")


def test_run_syn_recv():
    run_state("syn-recv")


def test_run_established():
    run_state("established")


def test_run_fin_wait1():
    run_state("fin-wait-1")


def test_run_fin_wait2():
    run_state("fin-wait-2")


def test_run_close_wait():
    run_state("close-wait")


def test_run_closing():
    run_state("closing")


def test_run_last_ack():
    run_state("last-ack")


def test_run_time_wait():
    run_state("time-wait")


def test_run_closed():
    run_state("closed")


def test_run_rst():
    run_state("rst")


def test_run_accepts_spellings_people_type():
    harness.enter_new_netns()
    for word in ["FIN_WAIT_1", "LISTENING", "SYN_RECEIVED", "time_wait", "Established"]:
        res = socklab("run", word, "--hold", "0.01", timeout=20)
        harness.check_eq(res.returncode, 0, f"run {word}: {res.stderr!r}")


def test_usage_errors_exit_2_with_one_line():
    for args in (["run", "nonsense"], ["run", "listen", "--family", "5"], ["explain", "bogus"],
                 ["frobnicate"], ["run", "listen", "--hold", "-3"], []):
        res = socklab(*args)
        harness.check_eq(res.returncode, 2, f"socklab {args}: {res.stderr!r}")
        lines = res.stderr.strip().splitlines()
        harness.check(len(lines) == 1 and lines[0].startswith("socklab: "),
                      f"one 'socklab: what: why' line for {args}: {res.stderr!r}")
    for flag in ("--help", "--version"):
        res = socklab(flag)
        harness.check_eq(res.returncode, 0, flag)
        harness.check(res.stdout.strip(), f"{flag} prints something")


def test_list_and_explain_cover_every_state():
    out = socklab("list", check=True).stdout
    for name in FOCUS:
        harness.check(re.search(rf"^{name}\s", out, re.M), f"list shows {name}: {out}")
    for label in list(SS_NAME) + ["CLOSED"]:
        res = socklab("explain", label.lower().replace("_", "-"), check=True)
        harness.check(res.stdout.startswith(label + ":"), f"explain {label}: {res.stdout[:80]!r}")
        harness.check("\x1b[" not in res.stdout, "no colour into a pipe")
    tw = socklab("explain", "TIME_WAIT", check=True).stdout
    harness.check("net.ipv4.tcp_tw_reuse = " in tw, "host values shown")
    harness.check("4.12" in tw, "tcp_tw_recycle's removal is stated")
    diagram = socklab("explain", check=True).stdout
    harness.check("FIN_WAIT1" in diagram and "CLOSING" in diagram, "state diagram")


def test_tour_as_nobody_under_a_minute():
    harness.need("setpriv")
    harness.enter_new_netns()
    t0 = time.monotonic()
    res = harness.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       harness.tool("socklab"), "tour"], timeout=60)
    took = time.monotonic() - t0
    harness.check_eq(res.returncode, 0, f"tour as nobody: {res.stderr!r}")
    harness.check(took < 60, f"tour took {took:.1f}s")
    harness.check("\x1b[" not in res.stdout, "no colour when not a terminal")
    for label in list(SS_NAME) + ["CLOSED", "RST close"]:
        harness.check(label in res.stdout, f"tour shows {label}")
    harness.check_eq(res.stdout.count("[12/12]"), 1, "twelve steps")


# --- doctor -------------------------------------------------------------------

LEAKY = r"""
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"leaky-server", 0, 0, 0)  # PR_SET_NAME: the comm doctor names
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(128)
print(s.getsockname()[1], flush=True)
held = []
while len(held) < int(sys.argv[1]):
    c, _ = s.accept()
    held.append(c)  # accepted, read nothing, never closed: CLOSE_WAIT once clients close
print("held", flush=True)
sys.stdin.read()
"""


def doctor(rc=0):
    """Exit 3 when something was found, 0 when not (socklab(1))."""
    res = socklab("doctor", timeout=30)
    harness.check_eq(res.returncode, rc, f"doctor: {res.stderr!r}")
    return res.stdout


def test_doctor_names_close_wait_leak():
    harness.enter_new_netns()
    p = harness.spawn(["python3", "-c", LEAKY, "50"], stdin=subprocess.PIPE)
    port = int(harness.read_line_with_deadline(p.stdout, 10, "the leaky server's port"))
    clients = []
    for _ in range(50):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        clients.append(c)
    harness.check_eq(harness.read_line_with_deadline(p.stdout, 10, "held"), "held")
    for c in clients:
        c.close()
    harness.wait_for(lambda: sum(r[0] == "CLOSE-WAIT" for r in ss_rows()) == 50,
                     what="50 CLOSE-WAIT")
    out = doctor(rc=3)
    want = f"CLOSE_WAIT leak in pid {p.pid} (leaky-server) on port {port}: 50 sockets"
    harness.check(want in out, f"doctor names the leak ({want!r}):\n{out}")


def test_doctor_reports_syn_sent_storm():
    harness.enter_new_netns()
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)  # one connection fills the accept queue; later SYNs are dropped
    port = lst.getsockname()[1]
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    harness.wait_for(lambda: any(r[0] == "LISTEN" for r in ss_rows()), what="listener")
    pending = []
    for _ in range(30):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        pending.append(c)
    harness.wait_for(lambda: sum(r[0] == "SYN-SENT" for r in ss_rows()) >= 25, what="SYN-SENT")
    out = doctor(rc=3)
    harness.check(re.search(r"SYN_SENT storm: \d+ connection attempts unanswered, to port "
                            rf"{port}\b", out), f"doctor reports the storm:\n{out}")
    for c in pending + [first, lst]:
        c.close()


def test_doctor_without_root_says_what_it_could_not_see():
    # As nobody, /proc/PID/fd of root's leaky server is unreadable: the doctor must
    # still report the leak (without a name) and never say "nothing is wrong".
    import faults
    harness.enter_new_netns()
    p = harness.spawn(["python3", "-c", LEAKY, "12"], stdin=subprocess.PIPE)
    port = int(harness.read_line_with_deadline(p.stdout, 10, "the leaky server's port"))
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(12)]
    harness.check_eq(harness.read_line_with_deadline(p.stdout, 10, "held"), "held")
    for c in clients:
        c.close()
    harness.wait_for(lambda: sum(r[0] == "CLOSE-WAIT" for r in ss_rows()) == 12,
                     what="12 CLOSE-WAIT")
    res = harness.run(faults.nonroot([harness.tool("socklab"), "doctor"]), timeout=30)
    harness.check_eq(res.returncode, 3, f"doctor as nobody: {res.stderr!r}")
    out = res.stdout
    harness.check("nothing is wrong" not in out, f"doctor as nobody claims all is well:\n{out}")
    harness.check(re.search(r"owners unknown for 1[3-9] sockets \(run as root\)", out),
                  f"doctor says how many owners it could not see (12 + the listener):\n{out}")
    harness.check(f"CLOSE_WAIT leak in a process this user cannot see, on port {port}: 12 "
                  "sockets" in out, f"the hidden leak is reported:\n{out}")


def test_doctor_quiet_host_nothing_wrong():
    harness.enter_new_netns()
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname(), timeout=5)
    out = doctor()
    harness.check("nothing is wrong" in out, f"quiet netns:\n{out}")
    harness.check("LISTEN 1" in out, f"counts the listener:\n{out}")
    c.close()
    lst.close()


harness.main()
