"""Every TCP state made with sockcat flags only and seen by the real `ss`, each test in a fresh netns."""
import os
import re
import subprocess

import harness
import test_sockcat_util as u

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE
QUEUED = 512 * 1024      # more than the --no-read peer's window, less than our --sndbuf
BIG_SNDBUF = "2097152"   # fixed SO_SNDBUF (the kernel doubles it): QUEUED always fits


def ss_rows():
    out = harness.run(["ss", "-tanH"], check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split()
        rows.append((f[0], int(f[3].rsplit(":", 1)[1]), int(f[4].rsplit(":", 1)[1]) if f[4][-1] != "*" else 0))
    return rows


def wait_state(state, local=None, peer=None, timeout=10.0):
    """Waits until ss shows `state` (ss spelling) with the given local/peer port."""
    def found():
        return [r for r in ss_rows()
                if r[0] == state and (local is None or r[1] == local) and (peer is None or r[2] == peer)]
    return harness.wait_for(found, timeout=timeout, what=f"{state} local={local} peer={peer}; ss: {ss_rows()}")


def client(port, *flags, stdin=DEVNULL):
    return harness.spawn([u.sockcat(), *flags, "127.0.0.1", str(port)], stdin=stdin, stdout=DEVNULL)


def queued_data():
    path, _ = u.random_file(u.tmpdir(), "queued", QUEUED)
    return path


def test_listen_and_established():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--show-state", stdin=PIPE)
    wait_state("LISTEN", local=port)
    cli = client(port, stdin=PIPE)
    wait_state("ESTAB", peer=port)
    wait_state("ESTAB", local=port)
    harness.check(not [r for r in ss_rows() if r[0] == "LISTEN"], "nc habit: one client, listener closed")
    cli.stdin.close()
    srv.stdin.close()
    harness.check_eq((u.wait_exit(cli), u.wait_exit(srv)), (0, 0), "exits")


def test_syn_sent_when_accept_queue_is_full():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--no-accept", "--backlog", "0")
    # backlog 0 admits one connection to the accept queue; once it is full the
    # listener drops SYNs (tcp_conn_request: sk_acceptq_is_full), so the next client
    # retransmits its SYN and sits in SYN_SENT.
    first = client(port, "-d")
    wait_state("ESTAB", peer=port)
    second = client(port, "-d")
    wait_state("SYN-SENT", peer=port)
    harness.check(first.poll() is None and second.poll() is None, "clients still waiting")


def test_syn_recv_with_defer_accept_and_a_silent_client():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--defer-accept", "30")
    client(port, "-d")  # connects, never sends: the server keeps the request in SYN_RECV
    wait_state("SYN-RECV", local=port)
    wait_state("ESTAB", peer=port)


def test_fin_wait2_and_close_wait_with_hold():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--on-peer-close=hold", "--show-state", stdin=PIPE)
    cli = client(port)  # stdin /dev/null: FIN at once, then keeps reading
    wait_state("FIN-WAIT-2", peer=port)
    wait_state("CLOSE-WAIT", local=port)
    harness.check(cli.poll() is None and srv.poll() is None, "both ends still open")
    line = ""
    for _ in range(8):
        line = harness.read_line_with_deadline(srv.stderr)
        if "holding" in line:
            break
    harness.check("CLOSE_WAIT -> CLOSE_WAIT (holding after peer FIN" in line, line)


def test_time_wait_on_the_active_closer():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("-d")
    cli = client(port)  # FIN first: the client is the active closer
    harness.check_eq((u.wait_exit(cli), u.wait_exit(srv)), (0, 0), "exits")
    rows = wait_state("TIME-WAIT", peer=port)
    harness.check_eq(len(rows), 1, f"one TIME_WAIT: {ss_rows()}")
    harness.check(not [r for r in ss_rows() if r[0] == "TIME-WAIT" and r[1] == port], "server side has none")


def test_rst_close_leaves_no_time_wait():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("-d")
    cli = harness.spawn([u.sockcat(), "--show-state", "--close=rst", "--on-eof=close", "127.0.0.1",
                         str(port)], stdin=DEVNULL)
    harness.check_eq(u.wait_exit(cli), 0, "client exit")
    harness.check("ESTABLISHED -> CLOSED (sent RST (SO_LINGER 0))" in u.stderr_text(cli), "narration")
    harness.check_eq(u.wait_exit(srv), 1, "server sees the reset")
    harness.check("connection reset by peer" in u.stderr_text(srv), "server message")
    harness.check_eq(ss_rows(), [], "no socket left, no TIME_WAIT")


def test_fin_wait1_with_data_queued_to_a_no_read_peer():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("-d", "--no-read", "--rcvbuf", "4096")
    with open(queued_data(), "rb") as f:
        client(port, "--sndbuf", BIG_SNDBUF, stdin=f)
    # our FIN waits behind data the zero window will not take: FIN_WAIT_1 stays
    wait_state("FIN-WAIT-1", peer=port)


def test_closing_when_both_fins_cross_with_data_queued():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--no-read", "--rcvbuf", "4096", stdin=PIPE)
    with open(queued_data(), "rb") as f:
        client(port, "--sndbuf", BIG_SNDBUF, stdin=f)
    wait_state("FIN-WAIT-1", peer=port)
    srv.stdin.close()  # the server's FIN now reaches a client whose own FIN is still queued
    wait_state("CLOSING", peer=port)
    wait_state("FIN-WAIT-2", local=port)


def test_last_ack_with_data_queued_to_a_no_read_peer():
    harness.enter_new_netns()
    srv, port = u.sockcat_server("--no-read", "--rcvbuf", "4096")  # stdin EOF: FIN at once
    cli = client(port, "--sndbuf", BIG_SNDBUF, "--show-state", stdin=PIPE)
    wait_state("CLOSE-WAIT", peer=port)
    with open(queued_data(), "rb") as f:
        cli.stdin.write(f.read())
    cli.stdin.close()  # finish: send the rest, then close behind the queued data
    wait_state("LAST-ACK", peer=port)
    harness.check_eq(u.wait_exit(cli), 0, "client exit")
    err = u.stderr_text(cli)
    harness.check(re.search(r"-> CLOSE_WAIT \((connected|received FIN)\)", err), err)
    harness.check("CLOSE_WAIT -> LAST_ACK (closed, sent FIN)" in err, err)


def test_socket_options_seen_by_ss():
    harness.enter_new_netns()
    srv, port = u.sockcat_server(stdin=PIPE)
    client(port, "--keepalive=30,5,3", "--rcvbuf", "8192", "--sndbuf", "16384", stdin=PIPE)
    wait_state("ESTAB", peer=port)

    def details():
        out = harness.run(["ss", "-tnmoH", "state", "established", "dport", "=", f":{port}"], check=True).stdout
        return out if "timer:(keepalive" in out else None
    out = harness.wait_for(details, what="a keepalive timer on the client socket")
    # socket(7): the kernel doubles SO_RCVBUF/SO_SNDBUF; ss shows the doubled rb/tb.
    harness.check("rb16384" in out and "tb32768" in out, out)


harness.main()
