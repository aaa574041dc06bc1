"""sockcat at a terminal (a real pty as stdin): the peer's data shows at once, nothing typed."""
import os
import re
import socket
import subprocess
import time

import faults
import harness
import test_sockcat_util as u

PIPE = subprocess.PIPE
# -v wording of a listener; UDP may say nc's "Bound on".
LISTENING = r"(?:Listening|Bound) on \S+ (\d+)"


def tty_server(*flags, stdout=None):
    """`sockcat -l -v FLAGS 127.0.0.1 0` with a terminal as stdin; returns (pty, port)."""
    t = faults.PtyProc([u.sockcat(), "-l", "-v", *flags, "127.0.0.1", "0"], stdout=stdout,
                       stderr=PIPE)
    return t, u.read_port(t.proc, LISTENING)


def tcp_states(port):
    """The states of every TCP socket with `port` at either end (ss -tan)."""
    out = harness.run(["ss", "-Htan"], check=True).stdout
    states = []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and (f[3].endswith(f":{port}") or f[4].endswith(f":{port}")):
            states.append((f[0], f[3], f[4]))
    return states


def test_file_received_at_terminal_in_under_a_second():
    """`sockcat -l P > recv.bin` at a terminal: every byte of 5 MB, in under a second."""
    d = u.tmpdir()
    src, digest = u.random_file(d, "send.bin", 5 * 1000 * 1000)
    dst = os.path.join(d, "recv.bin")
    with open(dst, "wb") as out:
        t, port = tty_server(stdout=out)
    with open(src, "rb") as f:
        data = f.read()
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(data)
    c.close()
    # A peer close at a terminal ends the session: sockcat exits once all is written.
    rc = t.wait(timeout=10)
    took = time.monotonic() - t0
    harness.check_eq(rc, 0, "sockcat exit")
    harness.check_eq(u.sha256_file(dst), digest, "recv.bin differs from what was sent")
    harness.check(took < 1.0, f"5 MB took {took:.2f}s to arrive (limit 1 s)")


def test_banner_shown_to_terminal_client_within_200ms():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    t = faults.PtyProc([u.sockcat(), "127.0.0.1", str(port)])
    conn, _ = lst.accept()
    t0 = time.monotonic()
    conn.sendall(b"220 banner of the lab server\r\n")
    t.read_until(rb"220 banner of the lab server", timeout=5)
    took = time.monotonic() - t0
    harness.check(took < 0.2, f"the banner took {took * 1000:.0f} ms to show (limit 200 ms)")
    conn.close()  # the peer closes: at a terminal that ends the session
    harness.check_eq(t.wait(timeout=5), 0, "client exit after the peer closed")


def test_lab_flow_ctrl_c_server_ends_in_time_wait():
    """Server and client at two terminals, nothing typed; ^C the server."""
    srv, port = tty_server()
    cli = faults.PtyProc([u.sockcat(), "127.0.0.1", str(port)])
    harness.wait_for(lambda: sum(s[0] == "ESTAB" for s in tcp_states(port)) == 2, timeout=5,
                     what="both ends ESTABLISHED")
    srv.type(b"\x03")  # ^C at the server's terminal: SIGINT to its process group
    rc = srv.wait(timeout=2)
    harness.check(rc in (-2, 130), f"server after ^C: exit {rc}, expected death by SIGINT")
    harness.check_eq(cli.wait(timeout=2), 0, "the client sees the peer close and exits")

    def settled():
        st = tcp_states(port)
        return st if all(s[0] == "TIME-WAIT" for s in st) and st else None
    states = harness.wait_for(settled, timeout=5, what="only TIME_WAIT left")
    harness.check_eq(len(states), 1, f"one TIME_WAIT socket: {states}")
    harness.check(states[0][1].endswith(f":{port}"),
                  f"the TIME_WAIT is the server's (it closed first): {states}")


def test_tcp_both_ways_at_terminal():
    t, port = tty_server()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"from the peer\n")
    t.read_until(rb"from the peer", timeout=2)  # shown before anything is typed
    t.type(b"typed at the terminal\n")
    got = b""
    deadline = time.monotonic() + 5
    while b"typed at the terminal\n" not in got and time.monotonic() < deadline:
        got += c.recv(4096)
    harness.check_eq(got, b"typed at the terminal\n", "the typed line reached the peer")
    c.close()
    harness.check_eq(t.wait(timeout=5), 0, "server exit after the peer closed")


def test_udp_both_ways_at_terminal():
    # Listener at a terminal: the first datagram shows at once, a typed line goes back.
    t, port = tty_server("-u")
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    harness.on_cleanup(c.close)
    c.settimeout(5)
    c.sendto(b"ping over udp\n", ("127.0.0.1", port))
    t.read_until(rb"ping over udp", timeout=2)
    t.type(b"pong typed\n")
    harness.check_eq(c.recv(4096), b"pong typed\n", "the typed datagram")
    c.sendto(b"second datagram\n", ("127.0.0.1", port))
    t.read_until(rb"second datagram", timeout=2)
    t.proc.terminate()
    t.wait(timeout=5)

    # Client at a terminal: the typed line is sent, the answer shows.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    harness.on_cleanup(s.close)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    cli = faults.PtyProc([u.sockcat(), "-u", "127.0.0.1", str(s.getsockname()[1])])
    cli.type(b"hello server\n")
    data, peer = s.recvfrom(4096)
    harness.check_eq(data, b"hello server\n", "datagram typed at the client")
    s.sendto(b"answer datagram\n", peer)
    cli.read_until(rb"answer datagram", timeout=2)
    cli.proc.terminate()
    cli.wait(timeout=5)


def test_unix_both_ways_at_terminal():
    path = os.path.join(u.tmpdir(), "sock")
    t = faults.PtyProc([u.sockcat(), "-l", "-v", "-U", path], stderr=PIPE)
    harness.check(harness.read_until_line(t.proc.stderr, "Listening on"),
                  "the listening line comes first")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(path)
    c.sendall(b"unix peer says hi\n")
    t.read_until(rb"unix peer says hi", timeout=2)
    t.type(b"tty answers\n")
    harness.check_eq(c.recv(4096), b"tty answers\n", "the typed line over the unix socket")
    c.close()
    harness.check_eq(t.wait(timeout=5), 0, "exit after the peer closed")


def test_udp_listener_with_open_pipe_prints_at_once():
    """`sleep 3 | sockcat -u -l P`: datagrams print at once, stdin still open and empty."""
    r, w = os.pipe()
    harness.on_cleanup(lambda: os.close(w))
    p = harness.spawn([u.sockcat(), "-u", "-l", "-v", "127.0.0.1", "0"], stdin=r, stdout=PIPE,
                      stderr=PIPE)
    os.close(r)
    port = u.read_port(p, LISTENING)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    harness.on_cleanup(c.close)
    for i in range(3):
        c.sendto(f"datagram {i}\n".encode(), ("127.0.0.1", port))
        line = harness.read_line_with_deadline(p.stdout, 1.0, f"datagram {i} on stdout")
        harness.check_eq(line, f"datagram {i}", "datagram printed at once")


def test_tcp_with_open_pipe_shows_peer_data_at_once():
    r, w = os.pipe()
    harness.on_cleanup(lambda: os.close(w))
    p = harness.spawn([u.sockcat(), "-l", "-v", "127.0.0.1", "0"], stdin=r, stdout=PIPE,
                      stderr=PIPE)
    os.close(r)
    port = u.read_port(p)
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    harness.on_cleanup(c.close)
    c.sendall(b"early line\n")
    harness.check_eq(harness.read_line_with_deadline(p.stdout, 1.0, "the peer's line"),
                     "early line", "peer data shown while stdin is open and empty")
    os.write(w, b"late stdin\n")
    harness.check_eq(re.sub(rb"\s+$", b"", c.recv(4096)), b"late stdin", "stdin still relayed")


harness.main()
