"""sockls filters against ss on the same live sockets, kernel path against user path,
the documented differences from ss, and --kill.

Every test runs in a fresh network namespace (harness.enter_new_netns()), so the
only sockets listed are the ones the test built, and every TIME_WAIT dies with it.
"""
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile

import harness
import statemix

# ss's state column -> the JSON contract's names.
SS_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
             "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
             "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
             "LISTEN": "LISTEN", "CLOSING": "CLOSING"}


def norm_addr(text):
    """'*', '0.0.0.0' and '::' are all 'any'; everything else as an ip_address."""
    text = text.strip("[]")
    if text in ("*", "", "0.0.0.0", "::"):
        return "*"
    return str(ipaddress.ip_address(text.split("%")[0]))


def norm_endpoint(text):
    """'127.0.0.1:22', '[::1]:22', '*:*' -> (addr, port)."""
    addr, _, port = text.rpartition(":")
    return (norm_addr(addr), 0 if port == "*" else int(port))


def ss_rows(args):
    """(state or None, local, peer) for each row of `ss -tanH ARGS`."""
    res = harness.run(["ss", "-tanH"] + list(args), check=True)
    rows = set()
    for line in res.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        # ss drops the State column when the filter selects a single state.
        state = SS_STATES[f[0]] if len(f) >= 5 else None
        rows.add((state, norm_endpoint(f[-2]), norm_endpoint(f[-1])))
    return rows


def sockls_json(args, tables=("-tan",), extra=()):
    res = harness.run([harness.tool("sockls")] + list(tables) + ["--jsonl"] + list(extra) +
                      list(args))
    if res.returncode != 0:
        raise harness.TestFailure(f"sockls {args} exited {res.returncode}: {res.stderr!r}")
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def sockls_rows(args, path=None):
    extra = ["--filter-path", path] if path else []
    rows = set()
    for o in sockls_json(args, extra=extra):
        local = (norm_addr(o["local_addr"]), o["local_port"])
        peer = (norm_addr(o["peer_addr"]), o["peer_port"])
        rows.add((o["state"], local, peer))
    return rows


def same_rows(ours, theirs, what):
    """Compares with ss; ss rows without a state column compare on (local, peer)."""
    if any(state is None for state, _, _ in theirs):
        ours = {(None, l, p) for _, l, p in ours}
    harness.check_eq(sorted(ours), sorted(theirs), what)


class Lab:
    """statemix's every-state mix plus listeners with several clients, v4, v6 and v4-mapped."""

    def __init__(self):
        self.mix = statemix.build(udp=False, unix=False)
        keep = self.mix.keep
        self.l4 = keep(self.listener(socket.AF_INET, "127.0.0.1"))
        self.l6 = keep(self.listener(socket.AF_INET6, "::1"))
        self.dual = keep(self.listener(socket.AF_INET6, "::"))
        self.a = self.l4.getsockname()[1]
        self.b = self.l6.getsockname()[1]
        self.d = self.dual.getsockname()[1]
        self.clients = []
        for src in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            self.connect(socket.AF_INET, src, ("127.0.0.1", self.a), self.l4)
        for _ in range(2):
            self.connect(socket.AF_INET6, "::1", ("::1", self.b), self.l6)
        self.connect(socket.AF_INET, "127.0.0.2", ("127.0.0.1", self.d), self.dual)
        self.c = self.clients[0].getsockname()[1]
        ports = sorted({o["local_port"] for o in sockls_json(["state", "all"])})
        self.lo_port = ports[len(ports) // 3]
        self.mid = ports[len(ports) // 2]
        self.hi_port = ports[2 * len(ports) // 3]

    @staticmethod
    def listener(fam, host):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(16)
        return s

    def connect(self, fam, src, dst, lst):
        c = self.mix.keep(socket.socket(fam, socket.SOCK_STREAM))
        c.bind((src, 0))
        c.connect(dst)
        self.mix.keep(lst.accept()[0])
        self.clients.append(c)

    def table(self):
        """Expressions ss and sockls read the same way (fully bracketed)."""
        a, b, c, m = self.a, self.b, self.c, self.mid
        lo, hi = self.lo_port, self.hi_port
        return [
            f"sport = :{a}", f"dport = :{a}", f"sport == {a}", f"sport eq :{a}",
            f"sport != :{a}", f"dport ne :{a}", f"sport >= :{m}", f"sport > :{m}",
            f"sport < :{m}", f"sport <= :{m}", f"dport ge :{m}", f"dport lt :{m}",
            "src 127.0.0.1", "src 127.0.0.2", "src 127.0.0.0/8", "dst 127.0.0.0/8",
            "dst 127.0.0.3", "src [::1]", "dst [::1]", f"src [::1]:{b}", f"dst [::1]:{b}",
            f"src 127.0.0.1:{a}", f"dst 127.0.0.1:{a}", f"src *:{a}", "src 127.0.0.1:*",
            "src [::ffff:127.0.0.1]", "dst [::ffff:127.0.0.2]", "dst 127.0.0.2",
            "src 0.0.0.0/0", f"( sport = :{a} or dport = :{a} )",
            f"( sport = :{a} or sport = :{b} ) and src 127.0.0.1",
            f"sport = :{a} or ( dport = :{a} and src 127.0.0.2 )", f"not sport = :{a}",
            f"! ( dport = :{a} or dport = :{b} )", "not ( src 127.0.0.0/8 or src [::1] )",
            f"sport >= :{lo} and sport <= :{hi}",
            f"( sport >= :{lo} and sport <= :{hi} ) or ( dport >= :{lo} and dport <= :{hi} )",
            "autobound", "not autobound", "state established", "state listening",
            "state time-wait", "state connected", "state synchronized", "state bucket",
            "state big", "exclude established", f"state established sport = :{a}",
            f"state established dport = :{a} src 127.0.0.2", "sport != :ssh",
            "state syn-sent", "state syn-recv", "state close-wait state last-ack",
            "exclude listening exclude time-wait", "src 127.0.0.0/16 and not dst 127.0.0.1",
            f"state fin-wait-1 state fin-wait-2 state closing dport != :{c}",
        ]


def test_table_matches_ss_on_live_sockets():
    harness.enter_new_netns()
    lab = Lab()
    table = lab.table()
    harness.check(len(table) >= 40, "the table needs 40 expressions")
    nonempty = 0
    for expr in table:
        words = expr.split()
        theirs = ss_rows(words)
        ours = sockls_rows(words)
        same_rows(ours, theirs, f"sockls vs ss: {expr}")
        nonempty += bool(ours)
    harness.check(nonempty >= len(table) - 3, "most expressions should select something")


def test_udp_filters_match_ss():
    harness.enter_new_netns()
    mix = statemix.build(udp=True, unix=False)
    udp = [s for s in mix.socks if s.type == socket.SOCK_DGRAM]
    port = udp[0].getsockname()[1]
    for expr in (f"sport = :{port}", f"dport = :{port}", "src 127.0.0.1", "dst [::1]",
                 f"not sport = :{port} and src 127.0.0.0/8", "state established"):
        words = expr.split()
        theirs = harness.run(["ss", "-uanH"] + words, check=True).stdout.split("\n")
        theirs = {(norm_endpoint(line.split()[-2]), norm_endpoint(line.split()[-1]))
                  for line in theirs if line.strip()}
        ours = {((norm_addr(o["local_addr"]), o["local_port"]),
                 (norm_addr(o["peer_addr"]), o["peer_port"]))
                for o in sockls_json(words, tables=("-uan",))}
        harness.check_eq(sorted(ours), sorted(theirs), f"udp: {expr}")
        harness.check(ours, f"udp: {expr} selects something")


def test_kernel_and_user_paths_agree():
    harness.enter_new_netns()
    lab = Lab()
    for expr in lab.table() + [f"sport={lab.a}", "src != 127.0.0.1", f"dev lo or sport = :{lab.b}"]:
        words = expr.split()
        kernel = sockls_rows(words, path="kernel")
        user = sockls_rows(words, path="user")
        harness.check_eq(sorted(kernel), sorted(user), f"kernel vs user path: {expr}")


def test_and_binds_tighter_than_or():
    harness.enter_new_netns()
    lab = Lab()
    expr = f"sport = :{lab.a} or sport = :{lab.b} and src 127.0.0.2"
    ours = sockls_rows(expr.split())
    bracketed = ss_rows(f"sport = :{lab.a} or ( sport = :{lab.b} and src 127.0.0.2 )".split())
    same_rows(ours, bracketed, "ours reads a or (b and c)")
    harness.check(ours != ss_rows(expr.split()), "ss reads it (a or b) and c: a documented difference")


def test_operators_need_no_spaces():
    harness.enter_new_netns()
    lab = Lab()
    glued = sockls_rows([f"sport=:{lab.a}"])
    same_rows(glued, ss_rows(["sport", "=", f":{lab.a}"]), "sport=:P")
    harness.check(glued, "sport=:P selects the listener and its accepted sockets")
    harness.check(harness.run(["ss", "-tanH", f"sport=:{lab.a}"]).returncode != 0,
                  "ss rejects sport=:P (the difference we remove)")
    paren = sockls_rows([f"(dport=:{lab.a}||dport=:{lab.b})"])
    same_rows(paren, ss_rows(f"( dport = :{lab.a} or dport = :{lab.b} )".split()), "glued parens")


def test_src_not_equal_is_not_src():
    harness.enter_new_netns()
    Lab()
    same_rows(sockls_rows(["src", "!=", "127.0.0.1"]), ss_rows(["not", "src", "127.0.0.1"]),
              "src != A")


def test_empty_state_selection_is_an_error():
    harness.enter_new_netns()
    res = harness.run([harness.tool("sockls"), "-tan", "state", "listening", "exclude", "listening"])
    harness.check_eq(res.returncode, 2, "exit code")
    harness.check_eq(res.stderr.strip(), "sockls: filter: col 17: the state selection leaves no state")


def test_bad_filter_names_the_column():
    harness.enter_new_netns()
    res = harness.run([harness.tool("sockls"), "-tan", "state", "established", "( dport = : )"])
    harness.check_eq(res.returncode, 2, "exit code")
    harness.check_eq(res.stderr, "sockls: filter: col 29: expected a port after ':'\n")
    res = harness.run([harness.tool("sockls"), "-tan", "sport = :4294967296"])
    harness.check_eq(res.returncode, 2, "exit code")
    harness.check("out of range" in res.stderr and res.stderr.count("\n") == 1, res.stderr)


def test_filter_file_equals_the_words():
    harness.enter_new_netns()
    lab = Lab()
    with tempfile.NamedTemporaryFile("w", suffix=".filter", delete=False) as f:
        f.write(f"# web traffic\n( dport = :{lab.a}\n   or sport = :{lab.a} )\n")
    harness.on_cleanup(lambda: os.unlink(f.name))
    from_file = sockls_rows(["-F", f.name])
    same_rows(from_file, ss_rows(f"( dport = :{lab.a} or sport = :{lab.a} )".split()), "-F FILE")
    harness.check(from_file, "the file's filter selects sockets")


def test_unix_conditions_as_ss():
    """With -x, ss reads every operand as a path glob; without, unix "ports" are inodes."""
    harness.enter_new_netns()
    mix = statemix.build(families=(), udp=False, unix=True)
    inodes = [o["inode"] for o in sockls_json(["state", "all"], tables=("-xa",))]
    harness.check(inodes, "unix sockets listed")
    inode = inodes[0]

    def ss_inodes(tables, args):
        res = harness.run(["ss", "-H", tables] + args, check=True)
        return sorted(int(line.split()[5]) for line in res.stdout.splitlines()
                      if line.startswith("u_"))

    def our_inodes(tables, args):
        return sorted(o["inode"] for o in sockls_json(args, tables=(tables,))
                      if o["netid"] == "unix")

    glob = f"{mix.tmpdir}/stream*"
    cases = [("-xa", ["src", glob]), ("-xa", ["src", f"unix:{glob}"]),
             ("-xa", ["not", "src", glob]), ("-xa", ["sport", "=", f":{inode}"]),
             ("-xa", ["sport", "!=", f":{inode}"]), ("-txa", ["sport", "=", f":{inode}"]),
             ("-txa", ["sport", "!=", f":{inode}"]), ("-txa", ["src", f"unix:{glob}"]),
             ("-a", ["dport", "!=", ":0"])]
    # ss compares an inode over 65535 with a port; sockls refuses such a port
    # (sockls(1), DIFFERENCES), whatever tables are listed.
    res = harness.run([harness.tool("sockls"), "-a", "sport", "=", ":70000"])
    harness.check_eq(res.returncode, 2, res.stderr)
    harness.check("out of range (0-65535)" in res.stderr, res.stderr)
    selected = 0
    for tables, args in cases:
        ours = our_inodes(tables, args)
        harness.check_eq(ours, ss_inodes(tables, args), f"unix: {tables} {args}")
        selected += bool(ours)
    harness.check(selected >= 7, "most unix cases select something")


def pair():
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    c = socket.socket()
    c.connect(lst.getsockname())
    s, _ = lst.accept()
    harness.on_cleanup(lambda: [x.close() for x in (lst, c, s)])
    return lst, c, s


def kill(args, prefix=()):
    return harness.run(list(prefix) + [harness.tool("sockls"), "-t", "-K"] + list(args))


def test_autobound_uses_the_named_namespace_range():
    """`-N NETNS autobound` reads NETNS's ip_local_port_range, not the caller's."""
    with harness.NamedNetns() as ns:
        harness.run(ns.exec_args(["sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40100"]),
                    check=True)
        child = harness.spawn(ns.exec_args([sys.executable, "-c", """
import socket, sys
inside = socket.socket(); inside.bind(("127.0.0.1", 40050)); inside.listen(1)
outside = socket.socket(); outside.bind(("127.0.0.1", 50050)); outside.listen(1)
print("ready", flush=True); sys.stdin.read()
"""]), stdin=subprocess.PIPE)
        harness.read_line_with_deadline(child.stdout, what="listeners")
        res = harness.run([harness.tool("sockls"), "-N", ns.name, "-tlnH", "--filter-path",
                           "user", "autobound"], check=True)
        ports = {line.split()[3].rsplit(":", 1)[1] for line in res.stdout.splitlines()}
        harness.check_eq(ports, {"40050"}, "autobound by the namespace's 40000-40100 range")


def test_kill_established_aborts_the_owner():
    harness.enter_new_netns()
    _, c, s = pair()
    _, c2, s2 = pair()
    port = c.getsockname()[1]
    res = kill(["sport", "=", f":{port}"])
    harness.check_eq(res.returncode, 0, f"kill: {res.stderr!r}")
    harness.check(f":{port} " in res.stdout, f"the destroyed socket is listed: {res.stdout!r}")
    c.settimeout(5)
    s.settimeout(5)
    try:
        c.recv(1)
        raise harness.TestFailure("the killed socket still reads")
    except ConnectionAbortedError:
        pass
    try:
        s.recv(1)
        raise harness.TestFailure("the peer of a killed socket still reads")
    except (ConnectionResetError, ConnectionAbortedError):
        pass
    # The unmatched pair is untouched: still ESTABLISHED and passing data.
    harness.check_eq(statemix.tcp_state(c2), "ESTABLISHED")
    c2.sendall(b"ok")
    s2.settimeout(5)
    harness.check_eq(s2.recv(2), b"ok")


def test_kill_time_wait_disappears():
    harness.enter_new_netns()
    lst, c, s = pair()
    port = c.getsockname()[1]
    c.close()
    s.close()
    harness.wait_for(lambda: ss_rows(["state", "time-wait", f"sport = :{port}"]), what="TIME_WAIT")
    _, c2, s2 = pair()
    res = kill(["state", "time-wait", "sport", "=", f":{port}"])
    harness.check_eq(res.returncode, 0, f"kill: {res.stderr!r}")
    harness.check_eq(ss_rows(["state", "time-wait", f"sport = :{port}"]), set(), "TIME_WAIT gone")
    harness.check_eq(statemix.tcp_state(c2), "ESTABLISHED")


def test_kill_refused_without_cap_net_admin_exits_1():
    harness.enter_new_netns()
    _, c, s = pair()
    port = c.getsockname()[1]
    nocap = ["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"]
    res = kill(["sport", "=", f":{port}"], prefix=nocap)
    harness.check_eq(res.returncode, 1, f"refused kill: {res.stderr!r}")
    harness.check(res.stderr.startswith("sockls: ") and res.stderr.count("\n") == 1, res.stderr)
    harness.check("not permitted" in res.stderr.lower(), res.stderr)
    harness.check_eq(statemix.tcp_state(c), "ESTABLISHED", "the socket survived")


def test_kill_needs_a_filter_and_a_match():
    harness.enter_new_netns()
    pair()
    res = harness.run([harness.tool("sockls"), "-t", "-K"])
    harness.check_eq(res.returncode, 2, f"kill without a filter: {res.stderr!r}")
    res = kill(["sport", "=", ":1"])
    harness.check_eq(res.returncode, 1, f"kill matching nothing: {res.stderr!r}")
    harness.check("no socket matched" in res.stderr, res.stderr)


harness.main()
