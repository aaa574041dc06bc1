"""sockls against the real ss and netstat on the same live sockets (issue 2).

Every test runs in a fresh network namespace holding the socket mix of
statemix.py: every TCP state ss can show over IPv4 and IPv6, UDP and unix.
"""
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys

import harness
import statemix
from harness import check, check_eq, run, tool

SS_TO_JSON = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV",
              "FIN-WAIT-1": "FIN_WAIT1", "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT",
              "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK",
              "LISTEN": "LISTEN", "CLOSING": "CLOSING"}
TCP_STATES_SS_SHOWS = {"LISTEN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
                       "CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT"}


def parse_ss_rows(text, netid=None, state=None):
    """(netid, state, local, peer) tuples from ss-format text (ours or ss's).

    ss drops the Netid column when one table is shown and the State column when
    one state is selected: the caller names them then.
    """
    rows = []
    lines = text.splitlines()
    if not lines:
        return rows
    header = lines[0].split()
    has_netid = header[0] == "Netid"
    has_state = "State" in header[:2]
    for line in lines[1:]:
        t = line.split()
        if not t:
            continue
        if not has_state:
            t = [state] + t
        if not has_netid:
            t = [netid] + t
        if t[0].startswith("u_"):
            rows.append((t[0], t[1], f"{t[4]} {t[5]}", f"{t[6]} {t[7]}"))
        else:
            rows.append((t[0], t[1], t[4], t[5]))
    return rows


def sockls(*args, check_rc=True):
    res = run([tool("sockls")] + list(args))
    if check_rc and res.returncode != 0:
        raise harness.TestFailure(f"sockls {args} exited {res.returncode}: {res.stderr}")
    return res


def with_mix():
    harness.enter_new_netns()
    return statemix.build()


def test_all_states_match_ss():
    with_mix()
    ss = parse_ss_rows(run(["ss", "-tuxan"], check=True).stdout)
    ours = parse_ss_rows(sockls("-tuxan").stdout)
    check(ours, "sockls listed nothing")
    tcp_states = {(r[1], ":" in r[2] and "[" in r[2]) for r in ss if r[0] == "tcp"}
    for st in TCP_STATES_SS_SHOWS:
        check((st, False) in tcp_states and (st, True) in tcp_states,
              f"the mix should hold {st} over IPv4 and IPv6; ss shows {sorted(tcp_states)}")
    check_eq(sorted(ours), sorted(ss), "sockls -tuxan rows differ from ss -tuxan")
    # Defaults: -a over the default tables equals ss -a over the same tables.
    check_eq(sorted(parse_ss_rows(sockls("-a", "-n").stdout)), sorted(ss))


def test_default_and_listening_sets_match_ss():
    with_mix()
    cases = [(["-tn"], "tcp", None), (["-tln"], "tcp", "LISTEN"), (["-uan"], "udp", None),
             (["-xn"], None, None), (["-4tan"], "tcp", None), (["-6tan"], "tcp", None),
             (["-tn", "state", "established"], "tcp", "ESTAB"),
             (["-tan", "state", "fin-wait-1"], "tcp", "FIN-WAIT-1"),
             (["-tn", "state", "bucket"], "tcp", None), (["-an"], None, None),
             (["-ln"], None, None), (["-n"], None, None)]
    for args, netid, state in cases:
        # ss also lists netlink and packet sockets, which sockls does not cover.
        want = sorted(r for r in parse_ss_rows(run(["ss"] + args, check=True).stdout, netid, state)
                      if r[0] in ("tcp", "udp", "raw", "u_str", "u_dgr", "u_seq"))
        got = sorted(parse_ss_rows(sockls(*args).stdout, netid, state))
        check_eq(got, want, f"rows for {args}")


def json_tuple(o):
    def ep(addr, port, uni):
        return f"{addr} {port}" if uni else (addr, port)
    uni = o["netid"] == "unix"
    return (o["netid"], o["state"], ep(o["local_addr"], o["local_port"], uni),
            ep(o["peer_addr"], o["peer_port"], uni))


def ss_tuple_as_json(r):
    netid, state, local, peer = r
    def split(ep):
        host, _, port = ep.rpartition(":")
        host = host.strip("[]")
        if host == "*":
            host = None
        return host, 0 if port == "*" else int(port)
    if netid.startswith("u_"):
        lp, li = local.split()
        pp, pi = peer.split()
        return ("unix", SS_TO_JSON[state], f"{'' if lp == '*' else lp} {li}", f"{pi}")
    lh, lport = split(local)
    ph, pport = split(peer)
    return (netid, SS_TO_JSON[state], (lh, lport), (ph, pport))


def test_jsonl_and_json_follow_the_contract():
    with_mix()
    lines = sockls("-tuan", "--jsonl").stdout.splitlines()
    objs = [json.loads(line) for line in lines]
    arr = json.loads(sockls("-tuan", "--json").stdout)
    check_eq(arr, objs, "--json is the same objects as --jsonl")
    required = ["netid", "family", "state", "local_addr", "local_port", "peer_addr",
                "peer_port", "recv_q", "send_q", "inode", "uid", "cookie"]
    for o in objs:
        for k in required:
            check(k in o, f"key {k} missing in {o}")
        for k in ("local_port", "peer_port", "recv_q", "send_q", "inode", "uid", "cookie"):
            check(isinstance(o[k], int), f"{k} must be a number: {o}")
        check(o["state"] in SS_TO_JSON.values(), f"state spelling {o['state']}")
        check(o["family"] in ("inet", "inet6"), o["family"])
    ss = parse_ss_rows(run(["ss", "-tuan"], check=True).stdout)
    check(len(ss) > 20, "the mix is listed")
    want = sorted((r[0], SS_TO_JSON[r[1]], r[2].rsplit(":", 1)[1], r[3].rsplit(":", 1)[1])
                  for r in ss)
    got = sorted((o["netid"], o["state"], "*" if o["local_port"] == 0 else str(o["local_port"]),
                  "*" if o["peer_port"] == 0 else str(o["peer_port"])) for o in objs)
    check_eq(got, want, "jsonl (netid, state, ports) differ from ss")
    # -p, -o, -i and -m add their objects.
    # (A connection still in an accept queue has no fd, so no owner: look at all.)
    objs = [json.loads(x) for x in sockls("-tan", "-p", "-o", "-i", "-m", "--jsonl", "state",
                                          "established").stdout.splitlines()]
    for o in objs:
        for k in ("processes", "timer", "tcp_info", "memory"):
            check(k in o, f"{k} missing with -p -o -i -m: {o}")
    check(any(p["pid"] == os.getpid() for o in objs for p in o["processes"]),
          "our pid owns some of the established sockets")


def test_unix_json_puts_the_path_in_local_addr():
    mix = with_mix()
    objs = [json.loads(x) for x in sockls("-xa", "--jsonl").stdout.splitlines()]
    paths = {o["local_addr"] for o in objs}
    check(os.path.join(mix.tmpdir, "stream.sock") in paths, f"unix paths: {paths}")
    check(all(o["family"] == "unix" and o["netid"] == "unix" for o in objs), "unix netid/family")


def test_csv_parses_and_matches_jsonl():
    with_mix()
    rows = list(csv.DictReader(io.StringIO(sockls("-tuan", "--csv").stdout)))
    objs = [json.loads(x) for x in sockls("-tuan", "--jsonl").stdout.splitlines()]
    check_eq(len(rows), len(objs), "csv and jsonl row counts")
    for r, o in zip(sorted(rows, key=lambda r: r["cookie"]), sorted(objs, key=lambda o: str(o["cookie"]))):
        for k in ("netid", "state", "local_addr", "peer_addr"):
            check_eq(r[k], str(o[k]), f"csv {k}")
        check_eq(int(r["local_port"]), o["local_port"], "csv local_port")


def netstat_rows(text):
    """Rows without the two header lines; netstat pads the State column to 11
    characters even on the last column, sockls never pads past the last column."""
    return sorted(l.rstrip() for l in text.splitlines()[2:] if l.strip())


def stable_netstat(args):
    """netstat's rows once two runs agree (stuck sockets' Send-Q settles)."""
    return harness.wait_stable(lambda: netstat_rows(run(["netstat"] + args, check=True).stdout),
                               interval=0.1, what="netstat rows")


def test_netstat_format_rows_equal_netstat():
    with_mix()
    want = stable_netstat(["-tan"])
    got_text = sockls("--format", "netstat", "-tan").stdout
    check(got_text.startswith("Active Internet connections"), got_text[:80])
    got = netstat_rows(got_text)
    check_eq(got, want, "sockls --format netstat -tan vs netstat -tan")
    want_u = stable_netstat(["-uan"])
    check_eq(netstat_rows(sockls("--format", "netstat", "-uan").stdout), want_u, "udp")


USERS = re.compile(r'\("([^"]*)",pid=(\d+),fd=(\d+)\)')


def owners_by_tuple(text):
    out = {}
    for line in text.splitlines()[1:]:
        t = line.split()
        if len(t) < 5:
            continue
        key = (t[0], t[3], t[4])
        out[key] = sorted(USERS.findall(line))
    return out


def test_processes_match_ss_p():
    harness.enter_new_netns()
    child = harness.spawn([sys.executable, "-c", """
import os, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
pid = os.fork()      # the listener has two owners: parent and child
if pid == 0:
    os.read(0, 1); os._exit(0)
print("ready", flush=True); sys.stdin.read()
"""], stdin=subprocess.PIPE)
    harness.read_line_with_deadline(child.stdout, what="child ready")
    want = owners_by_tuple(run(["ss", "-tanp"], check=True).stdout)
    got = owners_by_tuple(sockls("-tanp").stdout)
    check_eq(got, want, "owners per socket")
    check(any(len(v) >= 2 for v in got.values()), f"a shared socket lists every owner: {got}")


def test_netlink_and_proc_sources_agree():
    with_mix()
    def key(o):
        # /proc/net/unix has no peer inode: the unix peer_port is netlink's alone.
        peer_port = None if o["netid"] == "unix" else o["peer_port"]
        return (o["netid"], o["state"], o["local_addr"], o["local_port"], o["peer_addr"],
                peer_port, o["inode"], o["uid"])
    for tables in ("-tuan", "-xa"):
        nl = sorted(key(json.loads(x)) for x in sockls(tables, "--jsonl", "--source", "netlink").stdout.splitlines())
        pr = sorted(key(json.loads(x)) for x in sockls(tables, "--jsonl", "--source", "proc").stdout.splitlines())
        check_eq(pr, nl, f"proc vs netlink for {tables}")
        check(len(nl) > 0, "some sockets listed")


def test_summary_counts_match_ss():
    with_mix()
    counts = {}
    for r in parse_ss_rows(run(["ss", "-tan"], check=True).stdout, "tcp"):
        counts[SS_TO_JSON[r[1]]] = counts.get(SS_TO_JSON[r[1]], 0) + 1
    got = json.loads(sockls("-tan", "-s", "--json").stdout)
    got_states = got.get("states", got)
    for st, n in counts.items():
        check_eq(got_states.get(st), n, f"count of {st}")


def test_by_port_groups():
    harness.enter_new_netns()
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    accepted = [lst.accept()[0] for _ in conns]
    text = sockls("-tan", "--by", "port").stdout
    line = [l for l in text.splitlines() if re.search(rf"\b{port}\b", l)]
    check(line, f"port {port} in --by port output:\n{text}")
    # The listener, the 3 accepted ends and the 3 clients: all under the listening port,
    # no row for a client's ephemeral port.
    check(re.search(r"\b7\b", line[0]), f"count on {line[0]!r}")
    for c in conns:
        check(not re.search(rf"\b{c.getsockname()[1]}\b", text), f"client port row:\n{text}")
    for s in conns + accepted + [lst]:
        s.close()


def test_windows_format():
    harness.enter_new_netns()
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    text = sockls("--format", "windows", "-tan").stdout
    check("Active Connections" in text, text)
    check(re.search(rf"TCP\s+127\.0\.0\.1:{port}\s+0\.0\.0\.0:0\s+LISTENING", text), text)
    lst.close()


def test_pipe_output_is_unpadded_and_head_is_clean():
    with_mix()
    text = sockls("-tuxan").stdout
    for line in text.splitlines():
        check(line == line.rstrip(), f"trailing spaces: {line!r}")
    p = subprocess.run(f"{tool('sockls')} -tuxan | head -c1", shell=True, capture_output=True,
                       text=True, timeout=30)
    check_eq(p.returncode, 0, "pipeline exit")
    check_eq(p.stderr, "", "no error when the reader goes away")


def test_bad_input_is_one_line_and_exit_2():
    for args in (["--no-such-flag"], ["state", "establishd"], ["--format", "xml"], ["-a", "-l"],
                 ["state"], ["--by", "colour"], ["--json", "--csv"]):
        res = sockls(*args, check_rc=False)
        check_eq(res.returncode, 2, f"exit code for {args} (stderr {res.stderr!r})")
        lines = res.stderr.strip().splitlines()
        check_eq(len(lines), 1, f"one line on stderr for {args}: {res.stderr!r}")
        check(lines[0].startswith("sockls: "), lines[0])
        check_eq(res.stdout, "", f"nothing on stdout for {args}")
    res = sockls("-N", "socklab-no-such-netns", check_rc=False)
    check_eq(res.returncode, 1, "missing netns is a runtime failure")
    check(res.stderr.startswith("sockls: netns socklab-no-such-netns: "), res.stderr)


def test_p_without_rights_still_prints_rows():
    harness.enter_new_netns()
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    res = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", tool("sockls"),
               "-tlnp"])
    check_eq(res.returncode, 0, res.stderr)
    line = [l for l in res.stdout.splitlines() if f":{port}" in l]
    check(line, f"the listener is listed without rights:\n{res.stdout}")
    check("users:" not in line[0], f"no owners without rights: {line[0]}")
    lst.close()


def test_named_netns():
    with harness.NamedNetns() as ns:
        child = harness.spawn(ns.exec_args([sys.executable, "-c", """
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print(l.getsockname()[1], flush=True); sys.stdin.read()
"""]), stdin=subprocess.PIPE)
        port = harness.read_line_with_deadline(child.stdout, what="port").strip()
        inside = sockls("-N", ns.name, "-tln").stdout
        check(f"127.0.0.1:{port}" in inside, inside)
        outside = sockls("-tln").stdout
        check(f"127.0.0.1:{port}" not in outside, "the host does not list the namespace's socket")


def test_help_and_version():
    res = sockls("--help")
    check("state" in res.stdout.lower() or "filter" in res.stdout.lower(), res.stdout)
    res = sockls("--version")
    check(res.stdout.startswith("sockls "), res.stdout)


if __name__ == "__main__":
    harness.main()
