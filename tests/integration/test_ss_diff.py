"""sockls against the real ss 6.1, case by case (issue 11).

One private network namespace holds the sockets of iproute2's own ss test
(testsuite/tests/ss/ssfilter.t: a listener on 0.0.0.0:22, 10.0.0.1 talking to
itself on port 22, 10.0.0.2:50312 talking to 10.0.0.1:22), rebuilt live here,
plus statemix.py's sockets in every TCP state over IPv4 and IPv6, UDP and unix,
and a v6only and a dual-stack wildcard listener. Each case of the table runs
`ss ARGS` and `sockls ARGS` on those sockets and compares the header and every
row (timer countdowns masked), or that both refuse the input. ssfilter.t's
expressions also run on dumps written at test time by `ss -D`, replayed by both
(TCPDIAG_FILE) and by `sockls --replay`. Every deliberate difference is a test
of its own below, named as in sockls(1), DIFFERENCES.
"""
import os
import re
import socket
import tempfile

import harness
import statemix
from harness import check, check_eq, run, tool

# iproute2's ssfilter.t, every expression (our words, their cases).
SSFILTER_T = [
    ("dport = 22",),
    ("dport 22",),
    ("( dport = 22 )",),
    ("src = 0.0.0.0",),
    ("src 0.0.0.0",),
    ("src 0.0.0.0 sport = 22",),
    ("src 0.0.0.0 and sport = 22",),
    ("src 10.0.0.1 and sport = 22 and dport = 50312",),
    ("src 10.0.0.1 and sport = 22 and ( dport = 50312 )",),
    ("src 10.0.0.1 and ( sport = 22 and dport = 50312 )",),
    ("( src 10.0.0.1 and sport = 22 ) and dport = 50312",),
    ("( src 0.0.0.0 or src 10.0.0.1 ) and dst 10.0.0.2",),
]

# Expressions over the live mix: ss(8)'s examples and filter words, the forms
# issue 11 found, ports in every base, prefixes in every spelling ss takes.
EXPRESSIONS = [e[0] for e in SSFILTER_T] + [
    "", "state established", "state listening", "state all", "state connected",
    "state synchronized", "state bucket", "state big", "state syn-sent", "state syn-recv",
    "state syn-rcv", "state fin-wait-1", "state fin-wait-2", "state time-wait", "state closed",
    "state close-wait", "state last-ack", "state closing", "exclude listening",
    "exclude established", "state established state time-wait",
    "state established '( dport = :ssh or sport = :ssh )'",
    "'( dport = :ssh or sport = :ssh )'", "'( sport = :http or sport = :https )'",
    "state fin-wait-1 '( sport = :http or sport = :https )' dst 193.233.7/24",
    "dst 193.233.7/24", "dst 10/8", "src 0/0", "dst 127.1", "dst 127.0.0.1",
    "src 127.0.0.0/8", "dst 10.0.0.2", "src 10.0.0.0/8", "dst 10.0.0.0/24",
    "dst [::1]", "src [::1]", "dst [::ffff:10.0.0.0/120]", "dst [::/0]", "src [::/0]",
    "'dst [::/0]'", "'src [fd00::/16]'", "dst [fd00::/16]",
    "sport = :026", "sport = :0x16", "dport = :0x16", "sport = 22", "sport == 22",
    "sport eq 22", "sport != :22", "sport ne 22", "sport > :1024", "sport gt 1024",
    "sport < :1024", "sport lt 1024", "sport >= :22", "sport ge 22", "sport <= :22",
    "sport le 22", "dport > :1024", "dport < :1024", "dport >= :50312", "dport <= :22",
    "sport = :ssh", "dport = :ssh", "sport = *", "dport = :*", "src *", "dst *",
    "src *:22", "dst *:22", "src 10.0.0.1:22", "dst 10.0.0.1:22", "src 0.0.0.0:22",
    "dst 10.0.0.2:50312", "src 127.0.0.1:*", "'dst [::1]:*'",
    "not dport = 22", "! dport = 22", "not src 10.0.0.1", "not ( sport = 22 or dport = 22 )",
    "'( sport = 22 )' or '( dport = 22 )'", "sport = 22 and not dst 10.0.0.2",
    "'( src 10.0.0.1 or src 10.0.0.2 ) and ( dport = 22 or sport = 22 )'",
    "sport = 22 || dport = 22", "sport = 22 && dport = 50312", "sport = 22 & dport = 50312",
    "sport = 22 | dport = 22", "autobound", "not autobound", "dst default", "src any",
    "dst all",
    # Refused by both, each in its own words.
    "sport = :08", "dst 256.1", "dst 1.2.3.4.5", "src 10/33", "dst 08.1",
    "state nosuch", "state bound-inactive", "dst [fd00::/16", "sport = :nosuchservice",
    "'( sport = 22'", "and", "src", "state",
]

FLAGS = [["-tan"], ["-tn"], ["-tln"], ["-4tan"], ["-6tan"], ["-tan", "-H"]]
# Without expressions, the listings of every table and flag ss(8) shows.
PLAIN = [["-t"], ["-ta"], ["-u"], ["-ua"], ["-uan"], ["-w"], ["-wa"], ["-uw"], ["-tu"],
         ["-tua"], ["-x"], ["-xa"], ["-xl"], ["-tl"], ["-ul"], ["-4"], ["-6"], ["-4a"],
         ["-6a"], ["-tn4"], ["-tn6"], ["-tlnH"], ["-uln"], ["-xan"], ["-tunl"], ["-tuna"],
         ["-o", "state", "established"], ["-tao"], ["-t", "-a", "-n", "-o"],
         ["-f", "inet", "-an"], ["-f", "inet6", "-tan"], ["-f", "unix", "-a"],
         ["-f", "inet", "-tln"],
         # ss's -A QUERY: every table word, lists, '!', repeated -A, its long names.
         ["-A", "tcp", "-an"], ["-A", "udp", "-an"], ["-A", "raw", "-a"], ["-A", "inet", "-an"],
         ["-A", "all", "-an"], ["-A", "unix", "-a"], ["-A", "unix_dgram", "-a"],
         ["-A", "unix_stream", "-an"], ["-A", "unix_seqpacket", "-a"], ["-A", "tcp,udp", "-an"],
         ["-A", "all,!tcp", "-an"], ["-A", "inet,!udp", "-n"], ["-A", "unix,!unix_dgram", "-a"],
         ["-A", "unix_stream,unix_dgram", "-a"], ["-A", "tcp", "-A", "udp", "-n"],
         ["--query=tcp", "-ln"], ["--socket", "udp", "-an"], ["-A", "inet", "-4", "-an"],
         ["-A", "udp", "-t", "-an"], ["-A", "unix_stream", "-l"],
         ["-A", "foo"], ["-A", "tcp,"], ["-A", "tcp,nosuch", "-an"]]

TIMER = re.compile(r"timer:\([^)]*\)")
SS_ONLY_NETIDS = ("nl", "p_raw", "p_dgr", "mptcp", "sctp", "dccp", "v_str", "v_dgr", "tipc",
                  "xdp")


def words(expr):
    """The expression as the shell passes it: quoted parts stay one word."""
    out, cur, quoted = [], "", False
    for c in expr:
        if c == "'":
            quoted = not quoted
            if not quoted:
                out.append(cur)
                cur = ""
        elif c == " " and not quoted:
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += c
    if cur:
        out.append(cur)
    return out


def listing(res):
    """(ok, header words, sorted rows) of one run; rows are their words, timers masked.
    ss lists netlink and packet sockets too (sockls(1), DIFFERENCES): not compared."""
    if res.returncode != 0:
        return (False, None, None)
    lines = [TIMER.sub("timer:(...)", line) for line in res.stdout.splitlines()]
    head = lines[0].split() if lines and lines[0].split()[:1] in (["Netid"], ["State"],
                                                                   ["Recv-Q"]) else None
    body = lines[1:] if head else lines
    rows = sorted(line.split() for line in body
                  if line.strip() and line.split()[0] not in SS_ONLY_NETIDS)
    return (True, head, rows)


def compare(name, args, env=None, ss_args=None, ours_args=None):
    """Runs both and returns a failure text, or None when equal. A case that differs
    is run once more: a socket of the mix may change state between the two runs
    (statemix's SYN_RECV is accepted when TCP_DEFER_ACCEPT runs out)."""
    for _ in range(2):
        ss = run(["ss"] + (ss_args or args), env=env)
        ours = run([tool("sockls")] + (ours_args or args), env=env)
        a, b = listing(ss), listing(ours)
        if a == b:
            break
    if a == b:
        if not a[0]:
            check(ours.returncode == 2 and ours.stderr.startswith("sockls: ")
                  and ours.stderr.count("\n") == 1,
                  f"{name}: a refusal is one line and exit 2, got {ours.returncode} {ours.stderr!r}")
        return None
    return f"{name}: ss {args}\n  ss:     {a}\n  sockls: {b}\n  stderr: {ours.stderr!r}"


def build_hosts():
    """The namespace: 10.0.0.1 and 10.0.0.2 on lo, ssfilter.t's sockets, statemix's mix,
    a v6only and a dual-stack listener on [::]."""
    harness.enter_new_netns()
    for addr in ("10.0.0.1/8", "10.0.0.2/8"):
        run(["ip", "addr", "add", addr, "dev", "lo"], check=True)
    keep = []
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("0.0.0.0", 22))  # a private namespace: fixed ports are ours
    lst.listen(128)
    keep.append(lst)
    for src in (("10.0.0.1", 0), ("10.0.0.2", 50312)):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.bind(src)
        c.connect(("10.0.0.1", 22))
        a, _ = lst.accept()
        keep += [c, a]
    for only in (1, 0):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, only)
        s.bind(("::", 0))
        s.listen(8)
        keep.append(s)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    u6.bind(("::", 0))
    keep.append(u6)
    mix = statemix.build()
    mix.keep(*keep)
    return mix


def ss_dump(path, *args):
    """`ss -D path ARGS`: ss writes the raw netlink replies of its TCP dumps."""
    run(["ss", "-D", path] + list(args), check=True)
    check(os.path.getsize(path) >= 16, f"ss -D {args} wrote nothing")


def test_table_of_cases_equals_ss():
    build_hosts()
    cases = []
    for flags in FLAGS:
        for expr in EXPRESSIONS:
            cases.append((f"{' '.join(flags)} {expr}".strip(), flags + words(expr)))
    for flags in PLAIN:
        cases.append((" ".join(flags), flags))
    names = [c[0] for c in cases]
    check_eq(len(names), len(set(names)), "every case has its own name")
    check(len(cases) >= 300, f"the table holds {len(cases)} cases, fewer than 300")
    failures = [f for f in (compare(n, a) for n, a in cases) if f]
    print(f"{len(cases)} cases, {len(cases) - len(failures)} equal to ss")
    check(not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures))


NETSTAT_FLAGS = [["-tan"], ["-tn"], ["-tln"], ["-tl"], ["-ta"], ["-uan"], ["-uln"], ["-tuan"],
                 ["-tun"], ["-4tan"], ["-6tan"], ["-6tln"], ["-6uan"]]


def netstat_rows(text):
    """The Internet table's rows of netstat's text (ours or netstat's), as words."""
    rows = []
    for line in text.splitlines():
        t = line.split()
        if t and t[0] in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
            rows.append(t)
    return sorted(rows)


def test_netstat_format_equals_netstat():
    build_hosts()
    failures = []
    for flags in NETSTAT_FLAGS:
        want = netstat_rows(run(["netstat"] + flags, check=True).stdout)
        # netstat resolves host names unless -n; sockls only with -r (sockls(1), DIFFERENCES).
        ours = flags + ([] if "n" in flags[0] else ["-r"])
        got = netstat_rows(run([tool("sockls"), "--format", "netstat"] + ours, check=True).stdout)
        check(want, f"netstat {flags} listed nothing")
        if got != want:
            failures.append(f"{flags}:\n  netstat: {want}\n  sockls:  {got}")
    check(not failures, f"{len(failures)} of {len(NETSTAT_FLAGS)} differ:\n" + "\n".join(failures))


def test_difference_netstat_format_resolves_hosts_with_r_only():
    build_hosts()
    netstat = netstat_rows(run(["netstat", "-tl"], check=True).stdout)
    ours = netstat_rows(run([tool("sockls"), "--format", "netstat", "-tl"], check=True).stdout)
    check(any("localhost:" in r[3] for r in netstat), "netstat names 127.0.0.1")
    check(not any("localhost:" in r[3] for r in ours), "sockls keeps the address")
    check(any(r[3].startswith("127.0.0.1:") for r in ours), f"{ours}")


def test_ssfilter_t_on_ss_dumps_v4_and_v6():
    """ssfilter.t's way: a dump from `ss -D`, replayed by ss (TCPDIAG_FILE) and by
    sockls (TCPDIAG_FILE and --replay), for IPv4 and for IPv6 dumps."""
    build_hosts()
    tmp = harness.temp_dir("socklab-ssdump-")
    v6_exprs = ["", "dport = 22", "src [::1]", "dst [::1]", "src [::/0]", "sport > :1024",
                "'( dport = :ssh or sport = :ssh )'", "dst [::ffff:0.0.0.0/96]"]
    failures, count = [], 0
    for fam, exprs in (("-4", [e[0] for e in SSFILTER_T] + [""]), ("-6", v6_exprs)):
        path = os.path.join(tmp, f"ss{fam}.dump")
        ss_dump(path, "-tan", fam)
        env = dict(os.environ, TCPDIAG_FILE=path)
        for expr in exprs:
            args = ["-Htna"] + words(expr)
            rows = listing(run(["ss"] + args, env=env))
            check(rows[0] and (rows[2] or expr), f"ss {fam} {args} gave nothing")
            for how, f in (("TCPDIAG_FILE", compare(f"{fam} {expr}", args, env=env)),
                           ("--replay", compare(f"{fam} {expr} --replay", args, env=env,
                                                ours_args=["--replay", path] + args))):
                count += 1
                if f:
                    failures.append(f"{how}: {f}")
    check(not failures, f"{len(failures)} of {count} replays differ:\n" + "\n".join(failures))


# ---- The deliberate differences of sockls(1), each shown to hold. ----

def both(args, env=None):
    return run(["ss"] + args, env=env), run([tool("sockls")] + args, env=env)


def test_difference_port_over_65535_is_an_error():
    build_hosts()
    ss, ours = both(["-tan", "sport", "=", ":65536"])
    check(ss.returncode == 0, "ss takes :65536 (and matches nothing)")
    check_eq(ours.returncode, 2)
    check("out of range" in ours.stderr, ours.stderr)


def test_difference_and_binds_tighter_than_or():
    build_hosts()
    text = ["sport", "=", ":22", "or", "dport", "=", ":22", "and", "src", "10.0.0.2"]
    ss, ours = both(["-tan"] + text)
    ss_reading = run([tool("sockls"), "-tan", "(", "sport", "=", ":22", "or", "dport", "=",
                      ":22", ")", "and", "src", "10.0.0.2"])
    our_reading = run(["ss", "-tan", "sport", "=", ":22", "or", "(", "dport", "=", ":22",
                       "and", "src", "10.0.0.2", ")"])
    check_eq(listing(ss), listing(ss_reading), "ss reads it left to right")
    check_eq(listing(ours), listing(our_reading), "sockls binds and tighter")
    check(listing(ss) != listing(ours), "the mix tells the two readings apart")


def test_difference_glued_operators_and_bracket_forms():
    build_hosts()
    for expr in (["sport=:22"], ["src", "!=", "10.0.0.1"], ["src", "::1"],
                 ["dst", "[fd00::]/16"], ["src", "[::1]/128"]):
        ss, ours = both(["-tan"] + expr)
        check(ss.returncode != 0, f"ss refuses {expr}")
        check_eq(ours.returncode, 0, f"sockls takes {expr}: {ours.stderr}")
    # Each means what its ss spelling means.
    for ours_words, ss_words in ((["sport=:22"], ["sport", "=", ":22"]),
                                 (["src", "::1"], ["src", "[::1]"]),
                                 (["dst", "[fd00::]/16"], ["dst", "[fd00::/16]"]),
                                 (["src", "[::1]/128"], ["src", "[::1/128]"]),
                                 (["src", "!=", "10.0.0.1"], ["not", "src", "10.0.0.1"])):
        check_eq(listing(run([tool("sockls"), "-tan"] + ours_words)),
                 listing(run(["ss", "-tan"] + ss_words)), f"{ours_words}")


def test_difference_tcpdiag_file_keeps_states_and_families():
    """ss lists every socket of TCPDIAG_FILE whatever -l, state or -6 say; sockls
    applies them, as it does live."""
    build_hosts()
    with tempfile.NamedTemporaryFile(prefix="socklab-ssdump-") as f:
        ss_dump(f.name, "-tan", "-4")
        env = dict(os.environ, TCPDIAG_FILE=f.name)
        ss, ours = both(["-tln"], env=env)
        check(any(r[0] == "ESTAB" for r in listing(ss)[2]), "ss shows ESTAB under -l")
        check(all(r[0] == "LISTEN" for r in listing(ours)[2]) and listing(ours)[2],
              "sockls -l shows the listeners only")
        check_eq(listing(ours), listing(run(["ss", "-tln4"])), "as live")


def test_difference_replay_reads_every_dump_of_an_ss_file():
    """`ss -D` writes one dump per family; ss replays the first only."""
    build_hosts()
    with tempfile.NamedTemporaryFile(prefix="socklab-ssdump-") as f:
        ss_dump(f.name, "-tan")
        env = dict(os.environ, TCPDIAG_FILE=f.name)
        ss, ours = both(["-tan"], env=env)
        check(not any("[" in " ".join(r) for r in listing(ss)[2]), "ss shows no IPv6 row")
        check_eq(listing(ours), listing(run(["ss", "-tan"])), "sockls shows both, as live")


SS_S_PER_NETNS = re.compile(r"^(RAW|UDP|TCP|INET|FRAG)\t|^TCP: .*\(estab (\d+),.*timewait (\d+)\)")


def ss_s_numbers(text):
    """ss -s's per-namespace numbers: the Transport rows, and estab and timewait.
    Total, the TCP total, closed and orphaned count host-wide sockets (sockls(1))."""
    out = []
    for line in text.splitlines():
        m = SS_S_PER_NETNS.match(line)
        if m and m.group(2):
            out.append(("estab", m.group(2), "timewait", m.group(3)))
        elif m:
            out.append(tuple(line.split()))
    return out


def test_summary_prints_ss_s_numbers_then_the_histogram():
    build_hosts()
    for _ in range(2):  # a mix socket may change state between the two runs
        ss, ours = both(["-s"])
        check_eq(ours.returncode, 0, ours.stderr)
        if ss_s_numbers(ss.stdout) == ss_s_numbers(ours.stdout):
            break
    got = ss_s_numbers(ours.stdout)
    check_eq(got, ss_s_numbers(ss.stdout), "ss -s's per-namespace numbers")
    check_eq(len(got), 6, f"the TCP line and five Transport rows: {got}")
    check(any(row[0] == "TCP" and int(row[1]) > 0 for row in got), f"the mix's TCP: {got}")
    lines = ours.stdout.splitlines()
    check_eq(lines[:len(ss.stdout.splitlines())][3], "Transport Total     IP        IPv6")
    hist = [i for i, line in enumerate(lines) if line.split()[:2] == ["State", "Count"]]
    check_eq(len(hist), 1, f"the histogram follows: {lines}")
    check(hist[0] > lines.index("Transport Total     IP        IPv6"), "after ss's totals")
    check(lines[-1].startswith("Total ") and int(lines[-1].split()[1]) > 0, lines[-1])


def test_difference_query_packet_netlink_refused_and_order_free():
    """-A packet/netlink are refused (sockls lists neither), a query left with no
    table is an error, and -A adds to the tables -t/-u/-w/-x named before it."""
    build_hosts()
    for query in ("packet", "packet_raw", "packet_dgram", "netlink", "tcp,netlink"):
        ss, ours = both(["-A", query, "-an"])
        check_eq(ss.returncode, 0, f"ss takes -A {query}")
        check_eq(ours.returncode, 2, f"-A {query}")
        check(ours.stderr.startswith("sockls: -A: ") and "not listed" in ours.stderr,
              ours.stderr)
    ss, ours = both(["-A", "!tcp", "-an"])
    check(ss.returncode == 0 and "no socket tables" in ss.stderr, ss.stderr)
    check_eq(ours.returncode, 2)
    check_eq(ours.stderr, "sockls: -A: no socket tables to show with such query\n")
    ss, ours = both(["-t", "-A", "udp", "-an"])
    check_eq(listing(ss), listing(run(["ss", "-A", "udp", "-an"])), "ss drops -t")
    check_eq(listing(ours), listing(run(["ss", "-A", "udp,tcp", "-an"])), "sockls keeps it")
    check(listing(ss) != listing(ours), "the mix tells the two apart")


def test_difference_state_closed_lists_bound_sockets():
    harness.enter_new_netns()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    ss, ours = both(["-tan", "state", "closed"])
    check(f":{port}" not in ss.stdout, "ss 6.1 never asks for bound, inactive sockets")
    check(f"127.0.0.1:{port}" in ours.stdout, f"sockls lists it: {ours.stdout!r}")
    s.close()


def test_replay_with_p_attaches_no_live_process():
    build_hosts()
    with tempfile.NamedTemporaryFile(prefix="socklab-ssdump-") as f:
        ss_dump(f.name, "-tan", "-4")
        ours = run([tool("sockls"), "--replay", f.name, "-tanp"])
        check_eq(ours.returncode, 0, ours.stderr)
        check("users:" not in ours.stdout, f"owners attached to a recorded dump:\n{ours.stdout}")
        check("users:" in run([tool("sockls"), "-tanp"]).stdout, "live -p shows owners")


def test_ss_dump_cut_or_foreign_is_refused():
    with tempfile.TemporaryDirectory(prefix="socklab-ssdump-") as d:
        harness.enter_new_netns()
        lst = harness.free_listener()
        path = os.path.join(d, "ok.dump")
        ss_dump(path, "-tln", "-4")
        data = open(path, "rb").read()
        cut = os.path.join(d, "cut.dump")
        with open(cut, "wb") as f:
            f.write(data[:-20])
        res = run([tool("sockls"), "--replay", cut, "-tan"])
        check_eq(res.returncode, 1, res.stderr)
        check(res.stderr.startswith("sockls: replay: dump ") and res.stderr.count("\n") == 1,
              res.stderr)
        ok = run([tool("sockls"), "--replay", path, "-tln"], check=True)
        check(f":{lst.getsockname()[1]}" in ok.stdout, ok.stdout)


if __name__ == "__main__":
    harness.main()
