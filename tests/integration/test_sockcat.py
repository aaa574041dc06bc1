"""sockcat behaviour: half-close, clean endings, honest errors, -k, -z, services, -v, --show-state."""
import os
import re
import socket
import struct
import subprocess
import threading
import tty

import harness
import test_sockcat_util as u

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE
REPLY = 20 * 1000 * 1000


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def test_half_closing_client_gets_whole_reply():
    path, digest = u.random_file(u.tmpdir(), "reply", REPLY)
    with open(path, "rb") as f:
        srv, port = u.sockcat_server(stdin=f)
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    c.sendall(b"GET /big\r\n\r\n")
    c.shutdown(socket.SHUT_WR)  # request done: half-close, as HTTP/1.0 clients and nc -N do
    got = recv_all(c)
    c.close()
    harness.check_eq(len(got), REPLY, "reply length after our half-close")
    with open(path, "rb") as f:
        harness.check(got == f.read(), "reply bytes differ")
    harness.check_eq(u.wait_exit(srv, 30), 0, "server exit")


def test_stdin_eof_sends_fin_and_keeps_reading():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=PIPE, stdout=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(30)
    cli.stdin.write(b"question\n")
    cli.stdin.close()  # stdin EOF: sockcat must send FIN...
    harness.check_eq(recv_all(conn), b"question\n", "request before the FIN")
    answer = os.urandom(3 << 20)
    conn.sendall(answer)  # ...and keep reading what comes after it
    conn.close()
    out = cli.stdout.read()
    harness.check_eq(u.wait_exit(cli, 30), 0, "client exit")
    harness.check(out == answer, f"answer after FIN: got {len(out)} of {len(answer)} bytes")


def test_stdout_going_away_ends_cleanly():
    path, _ = u.random_file(u.tmpdir(), "reply", REPLY)
    with open(path, "rb") as f:
        srv, port = u.sockcat_server(stdin=f)
    cli = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=DEVNULL, stdout=PIPE)
    head = harness.spawn(["head", "-c1"], stdin=cli.stdout, stdout=PIPE)
    cli.stdout.close()
    harness.check_eq(len(head.stdout.read()), 1, "head got one byte")
    harness.check_eq(u.wait_exit(cli, 30), 0, "sockcat | head -c1 exit")
    harness.check_eq(u.stderr_text(cli), "", "no message when stdout goes away")


def test_output_to_append_file_and_terminal():
    """Sinks splice(2) cannot write (O_APPEND files, terminals) still get every byte."""
    d = u.tmpdir()
    path, _ = u.random_file(d, "reply", 3 << 20)
    out = os.path.join(d, "log")
    with open(out, "wb") as f:
        f.write(b"old\n")
    with open(path, "rb") as f:
        srv, port = u.sockcat_server(stdin=f)
    with open(out, "ab") as f:  # `sockcat ... >> log`
        cli = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=DEVNULL, stdout=f)
    harness.check_eq(u.wait_exit(cli, 30), 0, "append client exit")
    with open(out, "rb") as f, open(path, "rb") as want:
        harness.check(f.read() == b"old\n" + want.read(), "appended reply")
    import pty
    master, slave = pty.openpty()
    tty.setraw(slave)
    srv, port = u.sockcat_server(stdin=PIPE)
    cli = harness.spawn([u.sockcat(), "-d", "127.0.0.1", str(port)], stdout=slave)
    os.close(slave)
    srv.stdin.write(b"to the terminal\n")
    srv.stdin.close()
    with os.fdopen(master, "rb", buffering=0) as term:
        harness.check_eq(harness.read_line_with_deadline(term), "to the terminal", "terminal output")
    harness.check_eq(u.wait_exit(cli, 30), 0, "terminal client exit")


def test_devnull_stdin_ends_cleanly():
    srv, port = u.sockcat_server()
    cli = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=DEVNULL, stdout=PIPE)
    harness.check_eq(u.wait_exit(cli, 30), 0, "client exit")
    harness.check_eq(u.wait_exit(srv, 30), 0, "server exit")
    harness.check_eq(cli.stdout.read(), b"", "nothing received")


def one_line_error(args, code, pattern, **kw):
    r = harness.run(args, timeout=60, **kw)
    harness.check_eq(r.returncode, code, f"exit code of {args}: {r.stderr!r}")
    lines = r.stderr.splitlines()
    harness.check_eq(len(lines), 1, f"one line from {args}")
    harness.check(re.search(pattern, lines[0], re.I), f"{lines[0]!r} !~ /{pattern}/")
    harness.check(lines[0].startswith("sockcat: "), f"prefix: {lines[0]!r}")


def test_bad_ports_refused_never_wrapped():
    sc = u.sockcat()
    for port in ["0", "65536", "99999", "abc", "-1", ""]:
        one_line_error([sc, "127.0.0.1", port], 2, "port")
    for port in ["65536", "99999", "abc"]:
        one_line_error([sc, "-l", "127.0.0.1", port], 2, "port")
    one_line_error([sc, "-z", "127.0.0.1", "30-20"], 2, "range")


def test_unknown_host():
    # NXDOMAIN is "unknown host"; a DNS server out of reach is EAI_AGAIN (test_sockcat_cli).
    one_line_error([u.sockcat(), "nosuch.invalid", "80"], 1,
                   r"^sockcat: nosuch\.invalid: (unknown host|temporary failure in name resolution)$")
    one_line_error([u.sockcat(), "-n", "localhost", "80"], 1, "numeric")


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))  # bound, not listening: the kernel answers a SYN with RST
    port = s.getsockname()[1]
    one_line_error([u.sockcat(), "127.0.0.1", str(port)], 1,
                   rf"connect to 127\.0\.0\.1 port {port} \(tcp\): connection refused$")
    one_line_error([u.sockcat(), "-v", "-z", "127.0.0.1", str(port)], 1, "connection refused")


def test_address_in_use():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    one_line_error([u.sockcat(), "-l", "127.0.0.1", str(port)], 1, "address already in use")


def test_permission_denied_below_1024():
    harness.enter_new_netns()  # a fresh netns: ip_unprivileged_port_start is 1024, port free
    one_line_error(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    u.sockcat(), "-l", "127.0.0.1", "81"], 1, r"bind 127\.0\.0\.1 port 81.*permission denied")


def test_conflicting_flags_one_message_each():
    sc = u.sockcat()
    cases = [
        ([sc, "-s", "127.0.0.1", "-l", "5000"], "cannot use -s and -l"),
        ([sc, "-z", "-l", "5000"], "cannot use -z and -l"),
        ([sc, "--send-only", "--recv-only", "h", "1"], "cannot use --send-only and --recv-only"),
        ([sc, "--echo", "--discard", "-l", "1"], "cannot use --echo and --discard"),
        ([sc, "-u", "--keepalive", "h", "1"], "cannot use -u and --keepalive"),
        ([sc, "-k", "h", "1"], "-k needs -l"),
        ([sc, "--no-accept", "h", "1"], "--no-accept needs -l"),
        ([sc, "-4", "-6", "h", "1"], "cannot use -4 and -6"),
        ([sc, "--on-eof=maybe", "h", "1"], "--on-eof: 'maybe' is not"),
        ([sc, "--close=never", "h", "1"], "--close: 'never' is not"),
        ([sc, "--bogus", "h", "1"], "bogus"),
        ([sc, "h"], "usage"),
    ]
    for args, msg in cases:
        one_line_error(args, 2, re.escape(msg))


def test_peer_reset_mid_session_exits_1():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=PIPE, stdout=PIPE)
    conn, _ = lst.accept()
    conn.sendall(b"hello\n")
    harness.check_eq(cli.stdout.read(6), b"hello\n", "data before the reset")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST
    harness.check_eq(u.wait_exit(cli, 30), 1, "exit code after RST")
    err = u.stderr_text(cli).splitlines()
    harness.check_eq(len(err), 1, f"one line: {err}")
    harness.check(re.match(rf"sockcat: 127\.0\.0\.1:{port}: connection reset by peer$", err[0]), err[0])


def test_keep_open_echo_serves_200_concurrent_clients():
    srv, port = u.sockcat_server("-k", "--echo", "--backlog", "256")
    n, size = 200, 64 * 1024
    errors = []
    barrier = threading.Barrier(n)

    def client(i):
        try:
            data = os.urandom(size)
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            barrier.wait(timeout=60)  # every client connected before any sends: truly concurrent
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
            s.close()
            if got != data:
                errors.append(f"client {i}: {len(got)} of {size} bytes echoed")
        except Exception as e:  # collected and reported by the test thread
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    harness.check_eq(errors, [], "echo errors")
    harness.check(srv.poll() is None, "server still serving")


def test_scan_reports_exactly_the_listening_ports():
    harness.enter_new_netns()  # nothing else listens here
    a = harness.free_listener()
    base = a.getsockname()[1]
    others = []
    for off in (2, 4):
        s = socket.socket()
        s.bind(("127.0.0.1", base + off))
        s.listen(4)
        others.append(s)
    r = harness.run([u.sockcat(), "-z", "-v", "127.0.0.1", f"{base - 1}-{base + 3}", str(base + 4),
                     str(base + 5)], timeout=60)
    harness.check_eq(r.returncode, 0, r.stderr)
    found = sorted(int(m) for m in re.findall(r"Connection to 127\.0\.0\.1 (\d+) port \[tcp/\S+\] succeeded!",
                                              r.stderr))
    harness.check_eq(found, [base, base + 2, base + 4], r.stderr)
    harness.check_eq(len(re.findall("connection refused", r.stderr)), 4, r.stderr)
    quiet = harness.run([u.sockcat(), "-z", "127.0.0.1", str(base + 1)], timeout=60)
    harness.check_eq((quiet.returncode, quiet.stderr), (1, ""), "no port answered")


def test_verbose_facts_with_port_zero_resolved():
    srv, port = u.sockcat_server()
    harness.check(0 < port < 65536, f"real port printed: {port}")
    cli = harness.spawn([u.sockcat(), "-v", "127.0.0.1", str(port)], stdin=DEVNULL)
    harness.check_eq(u.wait_exit(cli, 30), 0, "client exit")
    # Without -n the peer is named as nc names it (hosts file: 127.0.0.1 is localhost).
    name = socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0]
    cport = u.read_port(srv, rf"Connection received on {re.escape(name)} (\d+)")
    harness.check(cport > 0, "client port")
    harness.check_eq(u.stderr_text(cli).strip(),
                     f"Connection to 127.0.0.1 {port} port [tcp/*] succeeded!", "client -v")


def test_show_state_narrates_transitions():
    srv, port = u.sockcat_server("--show-state", "-d")
    cli = harness.spawn([u.sockcat(), "--show-state", "127.0.0.1", str(port)], stdin=DEVNULL)
    harness.check_eq(u.wait_exit(cli, 30), 0, "client exit")
    harness.check_eq(u.wait_exit(srv, 30), 0, "server exit")
    c, s = u.stderr_text(cli), u.stderr_text(srv)
    arrow = r"127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ "
    # Loopback is fast enough for the peer to act between our syscall and our TCP_INFO
    # read, so a step may already show the next state; the end points are fixed.
    for pat in [r"SYN_SENT -> ESTABLISHED \(connected\)",
                r"ESTABLISHED -> [A-Z_12]+ \(sent FIN after stdin EOF\)",
                r"[A-Z_12]+ -> TIME_WAIT \(received FIN; the kernel keeps TIME_WAIT\)"]:
        harness.check(re.search("sockcat: " + arrow + pat, c), f"client lacks /{pat}/:\n{c}")
    for pat in [r"CLOSED -> LISTEN \(listening\)",
                r"SYN_RECV -> (ESTABLISHED|CLOSE_WAIT) \(accepted\)",
                r"-> CLOSE_WAIT \(received FIN\)",
                r"CLOSE_WAIT -> LAST_ACK \(closed, sent FIN\)"]:
        harness.check(re.search(pat, s), f"server lacks /{pat}/:\n{s}")


def test_timers_end_sessions():
    """-w ends an idle session, --close-after a busy one, -q the wait after stdin EOF."""
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    idle = harness.spawn([u.sockcat(), "-w", "0.2", "--show-state", "127.0.0.1", str(port)], stdin=PIPE)
    silent, _ = lst.accept()  # kept open and silent: only -w can end the client
    harness.check_eq(u.wait_exit(idle, 30), 0, "-w exit")
    harness.check("(idle timeout (-w))" in u.stderr_text(idle), "idle narration")
    timed = harness.spawn([u.sockcat(), "--close-after", "200ms", "--show-state", "127.0.0.1", str(port)],
                          stdin=PIPE)
    conn, _ = lst.accept()
    harness.check_eq(u.wait_exit(timed, 30), 0, "--close-after exit")
    harness.check("(--close-after expired)" in u.stderr_text(timed), "close-after narration")
    conn.settimeout(30)
    harness.check_eq(recv_all(conn), b"", "the peer saw our FIN")
    quit_ = harness.spawn([u.sockcat(), "-q", "0.2", "127.0.0.1", str(port)], stdin=DEVNULL)
    conn, _ = lst.accept()  # never closes: only -q can end the client
    harness.check_eq(u.wait_exit(quit_, 30), 0, "-q exit")


def test_on_eof_wait_sends_no_fin_and_exit_stops_a_keep_open_server():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([u.sockcat(), "--on-eof=wait", "--show-state", "127.0.0.1", str(port)],
                        stdin=PIPE, stdout=PIPE)
    conn, _ = lst.accept()
    cli.stdin.write(b"no FIN after this")
    cli.stdin.close()
    conn.settimeout(30)
    got = b""
    while len(got) < 17:
        got += conn.recv(100)
    harness.check_eq(got, b"no FIN after this", "data")
    # After the stdin EOF line, a round trip through the client's event loop proves the
    # --on-eof action has run; a FIN would then be here already (loopback delivers it
    # within shutdown(2)).
    while "(stdin EOF)" not in harness.read_line_with_deadline(cli.stderr):
        pass
    conn.sendall(b"ping")
    harness.check_eq(cli.stdout.read(4), b"ping", "the client still reads")
    conn.setblocking(False)
    try:
        conn.recv(100)
        harness.check(False, "sockcat sent a FIN (or data) despite --on-eof=wait")
    except BlockingIOError:
        pass  # open and quiet, as asked
    conn.setblocking(True)
    conn.sendall(b"reply")
    conn.close()
    harness.check_eq(cli.stdout.read(), b"reply", "still reading after stdin EOF")
    harness.check_eq(u.wait_exit(cli, 30), 0, "exit after the peer closed")

    srv, port = u.sockcat_server("-k", "--on-peer-close=exit")
    stay = socket.create_connection(("127.0.0.1", port), timeout=30)
    leave = socket.create_connection(("127.0.0.1", port), timeout=30)
    leave.shutdown(socket.SHUT_WR)
    harness.check_eq(u.wait_exit(srv, 30), 0, "the server exits at the first peer FIN")
    harness.check_eq(recv_all(stay), b"", "the other session was closed too")


def test_ipv6_loopback():
    srv, port = u.sockcat_server("-6", host="::1", stdout=PIPE)
    cli = harness.spawn([u.sockcat(), "-6", "-v", "::1", str(port)], stdin=PIPE)
    cli.stdin.write(b"over ipv6\n")
    cli.stdin.close()
    harness.check_eq(srv.stdout.read(), b"over ipv6\n", "payload")
    harness.check_eq((u.wait_exit(cli, 30), u.wait_exit(srv, 30)), (0, 0), "exits")
    harness.check_eq(u.stderr_text(cli).strip(), f"Connection to ::1 {port} port [tcp/*] succeeded!", "-v")


def test_source_discard_and_close_after_bytes():
    srv, port = u.sockcat_server("--discard")
    cli = harness.spawn([u.sockcat(), "--source", "5000000", "127.0.0.1", str(port)])
    harness.check_eq((u.wait_exit(cli, 30), u.wait_exit(srv, 30)), (0, 0), "source -> discard")
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([u.sockcat(), "--source", "1000000", "--close-after-bytes", "1234",
                         "127.0.0.1", str(port)])
    conn, _ = lst.accept()
    conn.settimeout(30)
    got = recv_all(conn)
    harness.check_eq(u.wait_exit(cli, 30), 0, "client exit")
    harness.check_eq(len(got), 1234, "bytes before the close")
    harness.check(got[:3] == b"ABC", f"pattern: {got[:8]!r}")


def test_crlf_and_hex_dump():
    d = u.tmpdir()
    dump = os.path.join(d, "dump")
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([u.sockcat(), "-c", "-o", dump, "127.0.0.1", str(port)], stdin=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(30)
    cli.stdin.write(b"a\nb\n")
    cli.stdin.close()
    harness.check_eq(recv_all(conn), b"a\r\nb\r\n", "CRLF line endings")
    conn.sendall(b"ok")
    conn.close()
    harness.check_eq(u.wait_exit(cli, 30), 0, "exit")
    with open(dump) as f:
        text = f.read()
    # The dump shows what was sent, after -c (issue 9).
    harness.check(re.search(r"^> 00000000 61 0d 0a 62 0d 0a ", text, re.M), text)
    harness.check(re.search(r"^< 00000000 6f 6b ", text, re.M), text)


def test_udp_and_unix_round_trips():
    srv, port = u.sockcat_server("-u", stdout=PIPE)
    cli = harness.spawn([u.sockcat(), "-u", "-q", "0", "127.0.0.1", str(port)], stdin=PIPE)
    cli.stdin.write(b"datagram\n")
    cli.stdin.close()
    harness.check_eq(srv.stdout.read(9), b"datagram\n", "udp payload")
    path = os.path.join(u.tmpdir(), "sock")
    usrv = harness.spawn([u.sockcat(), "-l", "-v", "-U", path], stdout=PIPE, stdin=DEVNULL)
    harness.check_eq(harness.read_line_with_deadline(usrv.stderr), f"Bound on {path}", "unix -v")
    harness.check_eq(harness.read_line_with_deadline(usrv.stderr), f"Listening on {path}", "unix -v")
    ucli = harness.spawn([u.sockcat(), "-U", path], stdin=PIPE)
    ucli.stdin.write(b"over unix\n")
    ucli.stdin.close()
    harness.check_eq(usrv.stdout.read(), b"over unix\n", "unix payload")
    harness.check_eq((u.wait_exit(ucli, 30), u.wait_exit(usrv, 30)), (0, 0), "unix exits")
    harness.check(not os.path.exists(path), "listener removed its socket file")


harness.main()
