"""sockcat under faults: closed fds 0-2, /dev/full, a small fd limit, signals, stdout at peer FIN."""
import fcntl
import os
import select
import signal
import socket
import subprocess
import termios
import threading
import time

import faults
import harness
import test_sockcat_util as u

PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
F_GETPIPE_SZ = 1032
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def recv_all(s, limit=1 << 24):
    chunks = []
    while sum(map(len, chunks)) < limit:
        try:
            b = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def wait_listening(proc):
    return u.read_port(proc)


# ---------------------------------------------------------------- fds 0-2 closed at start

def test_stdout_closed_at_start_never_echoes_to_the_peer():
    """With fd 1 closed the connected socket used to become stdout: the peer's data went back."""
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    p = faults.start([u.sockcat(), "127.0.0.1", str(port)], close=(1,), stdin=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(10)
    conn.sendall(b"secret for stdout only\n")
    conn.shutdown(socket.SHUT_WR)
    p.stdin.write(b"")  # stdin stays open while the peer's data arrives...
    harness.wait_for(lambda: "CLOSE-WAIT" in harness.run(["ss", "-Htan", f"dport = :{port}"]).stdout,
                     timeout=10, what="sockcat has read the peer's FIN")
    p.stdin.close()  # ...then ends: our FIN follows whatever we sent
    back = recv_all(conn)
    harness.check_eq(back, b"", "bytes sent back to the peer")
    rc = u.wait_exit(p, 10)
    err = p.stderr.read()
    harness.check_eq(rc, 0, f"exit with stdout closed; stderr {err!r}")


def test_stdin_closed_at_start_reads_as_empty():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    p = faults.start([u.sockcat(), "127.0.0.1", str(port)], close=(0,), stdin=None)
    conn, _ = lst.accept()
    conn.settimeout(10)
    harness.check_eq(recv_all(conn), b"", "an empty stdin: nothing, then our FIN")
    conn.sendall(b"answer after FIN\n")
    conn.close()
    out, err = p.communicate(timeout=10)
    harness.check_eq(p.returncode, 0, f"exit; stderr {err!r}")
    harness.check_eq(out, b"answer after FIN\n", "stdout")


def test_stderr_closed_at_start_keeps_messages_off_the_socket():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    p = faults.start([u.sockcat(), "-v", "--show-state", "127.0.0.1", str(port)], close=(2,),
                     stdin=PIPE, stderr=None)
    conn, _ = lst.accept()
    conn.settimeout(10)
    p.stdin.write(b"only this\n")
    p.stdin.close()
    got = recv_all(conn)
    conn.close()
    harness.check_eq(got, b"only this\n", "the peer gets stdin only, no -v or state lines")
    harness.check_eq(u.wait_exit(p, 10), 0, "exit with stderr closed")


def test_closed_fds_when_listening():
    for fd in (0, 1, 2):
        stderr = None if fd == 2 else PIPE
        p = faults.start([u.sockcat(), "-l", "-v", "127.0.0.1", "0"], close=(fd,), stdin=DEVNULL,
                         stderr=stderr, stdout=PIPE if fd != 1 else None)
        if fd == 2:
            # No -v line to read: find the port from the listener the kernel shows.
            def port_of():
                out = harness.run(["ss", "-Htlnp"]).stdout
                for line in out.splitlines():
                    if f"pid={p.pid}," in line:
                        return int(line.split()[3].rsplit(":", 1)[1])
                return None
            port = harness.wait_for(port_of, timeout=10, what="the listener")
        else:
            port = wait_listening(p)
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"to the listener\n")
        c.shutdown(socket.SHUT_WR)
        back = recv_all(c)
        c.close()
        harness.check_eq(back, b"", f"fd {fd} closed: bytes sent back to the client")
        out, err = p.communicate(timeout=10)
        harness.check_eq(p.returncode, 0, f"fd {fd} closed: exit; stderr {err!r}")
        if fd != 1:
            harness.check_eq(out, b"to the listener\n", f"fd {fd} closed: stdout")


# ---------------------------------------------------------------- stdout errors

def test_stdout_on_dev_full_is_one_error_line():
    path, _ = u.random_file(u.tmpdir(), "reply", 1 << 20)
    with open(path, "rb") as f:
        srv, port = u.sockcat_server(stdin=f)
    rc, _, err = faults.on_dev_full([u.sockcat(), "-d", "127.0.0.1", str(port)])
    faults.check_error_line("sockcat", rc, err, 1, r"^sockcat: stdout: no space left on device",
                            what="sockcat > /dev/full")
    rc, _, err = faults.on_dev_full([u.sockcat(), "--help"])
    faults.check_error_line("sockcat", rc, err, 1, r"^sockcat: stdout: ", what="--help > /dev/full")


def test_hex_dump_on_dev_full_is_reported_and_data_goes_on():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    p = harness.spawn([u.sockcat(), "-o", "/dev/full", "127.0.0.1", str(port)], stdin=PIPE,
                      stdout=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(10)
    p.stdin.write(b"logged nowhere\n")
    p.stdin.close()
    harness.check_eq(recv_all(conn), b"logged nowhere\n", "the data still flows")
    conn.sendall(b"reply")
    conn.close()
    out = p.stdout.read()
    u.wait_exit(p, 10)
    err = p.stderr.read()
    harness.check_eq(out, b"reply", "stdout")
    faults.check_error_line("sockcat", p.returncode, err, 1,
                            r"^sockcat: hex dump: no space left on device$", what="-o /dev/full")


def test_stdout_closed_at_peer_fin_while_stdin_stays_open():
    """`sockcat -l P | tar x`: the reader sees EOF at the peer's FIN, as with nc."""
    r, w = os.pipe()
    p = harness.spawn([u.sockcat(), "-l", "-v", "127.0.0.1", "0"], stdin=r, stdout=PIPE,
                      stderr=PIPE)
    os.close(r)
    stdin = os.fdopen(w, "wb", buffering=0)
    harness.on_cleanup(stdin.close)
    port = wait_listening(p)
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    harness.on_cleanup(c.close)
    c.sendall(b"archive bytes")
    c.shutdown(socket.SHUT_WR)
    got = b""
    deadline = time.monotonic() + 2
    while True:
        left = deadline - time.monotonic()
        rd, _, _ = select.select([p.stdout], [], [], max(left, 0))
        if not rd:
            raise harness.TestFailure(f"stdout still open 2 s after the peer's FIN; got {got!r}")
        b = os.read(p.stdout.fileno(), 65536)
        if not b:
            break
        got += b
    harness.check_eq(got, b"archive bytes", "stdout up to the peer's FIN, then EOF")
    harness.check(p.poll() is None, "sockcat still runs: it finishes sending its stdin")
    stdin.write(b"the rest of stdin\n")
    stdin.close()
    harness.check_eq(recv_all(c), b"the rest of stdin\n", "stdin still sent after the FIN")
    harness.check_eq(u.wait_exit(p, 10), 0, "exit")


# ---------------------------------------------------------------- -k and stdout going away

def test_keep_open_exits_when_stdout_goes_away():
    """`sockcat -lk | head -c 10` ends when head does; later clients are refused, not dropped."""
    p = harness.spawn([u.sockcat(), "-l", "-k", "-v", "127.0.0.1", "0"], stdout=PIPE, stderr=PIPE)
    head = harness.spawn(["head", "-c", "10"], stdin=p.stdout, stdout=PIPE)
    p.stdout.close()
    port = wait_listening(p)
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    harness.on_cleanup(c.close)
    c.sendall(b"0123456789abcdefghij")  # head takes 10 bytes and leaves
    harness.check_eq(head.stdout.read(), b"0123456789", "head's 10 bytes")
    harness.check_eq(u.wait_exit(p, 3, "sockcat -lk after head left"), 0, "exit")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        raise harness.TestFailure("a later client was accepted after stdout went away")
    except ConnectionRefusedError:
        pass


# ---------------------------------------------------------------- fd limit with -lk

def test_keep_open_at_the_fd_limit_serves_everyone_in_turn():
    if harness.sanitized():
        raise harness.Skip("a tight ulimit -n leaves the sanitizer runtime no fds of its own")
    # Two limits: fd counts of either parity once hit a client accepted but not watchable.
    for nofile in (31, 32):
        keep_open_at_fd_limit(nofile, clients=40)


def keep_open_at_fd_limit(nofile, clients):
    p = faults.start([u.sockcat(), "-l", "-k", "-v", "127.0.0.1", "0"], nofile=nofile,
                     stdout=PIPE, stderr=PIPE)
    port = wait_listening(p)
    out = bytearray()
    err_lines = []

    def reader(stream, sink):
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            sink(chunk)
    threading.Thread(target=reader, args=(p.stdout, out.extend), daemon=True).start()
    threading.Thread(target=reader, args=(p.stderr, lambda b: err_lines.extend(
        b.decode(errors="replace").splitlines())), daemon=True).start()
    conns = []
    for i in range(clients):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(f"client {i} was here\n".encode())
        conns.append(c)
    harness.on_cleanup(lambda: [c.close() for c in conns])
    # The first ones are served; the rest wait in the accept queue, the server lives.
    harness.wait_for(lambda: any("too many open files" in line for line in err_lines),
                     timeout=10, what="the fd-limit line")
    harness.check(p.poll() is None, f"the -k server ended at the fd limit: {err_lines[-5:]}")
    for i, c in enumerate(conns):  # each session that ends frees fds for a queued client
        c.close()
        harness.check(p.poll() is None, f"the server ended after client {i} left: {err_lines[-5:]}")
    served = lambda: all(f"client {i} was here\n".encode() in out for i in range(clients))
    harness.wait_for(served, timeout=15, what=f"every client's line on stdout ({bytes(out)[-300:]!r})")
    late = socket.create_connection(("127.0.0.1", port), timeout=5)
    late.sendall(b"a later client\n")
    late.close()
    harness.wait_for(lambda: b"a later client\n" in out, timeout=10, what="a later client served")
    said = [line for line in err_lines if "accept" in line]
    harness.check_eq(len(said), 1, f"the accept failure is said once: {said[:5]}")
    failed = [line for line in err_lines if line.startswith("sockcat:") and "accept" not in line]
    harness.check_eq(failed, [], f"nofile {nofile}: sessions cut short at the limit")
    harness.check(len(err_lines) < 3 * clients, f"{len(err_lines)} stderr lines: {err_lines[:10]}")
    harness.check(p.poll() is None, "the server still serves")
    p.terminate()
    u.wait_exit(p, 5)


# ---------------------------------------------------------------- signals

def flood(port, stop):
    """Connects and sends until `stop` is set or the peer goes away."""
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    chunk = b"x" * 65536

    def run():
        try:
            while not stop.is_set():
                c.sendall(chunk)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    harness.on_cleanup(lambda: (stop.set(), c.close()))
    return c


def pipe_full(fd):
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little") >= fcntl.fcntl(fd, F_GETPIPE_SZ)


def test_signal_ends_a_write_blocked_on_a_full_pipe():
    """Blocked in write(2) on a full stdout pipe (the copy path, -o): each signal ends it."""
    for sig in STOP_SIGNALS:
        p = harness.spawn([u.sockcat(), "-l", "-v", "-o", "/dev/null", "127.0.0.1", "0"],
                          stdout=PIPE, stderr=PIPE)
        port = wait_listening(p)
        stop = threading.Event()
        flood(port, stop)
        faults.wait_blocked_writing(p.pid)
        rc = faults.stop_within(p, sig, 1.0, what=f"sockcat blocked writing, {sig.name}")
        stop.set()
        harness.check_eq(rc, -sig, f"{sig.name}: dies by the signal after cleanup, as nc")


def test_signal_ends_a_splice_waiting_on_a_full_pipe():
    """The zero-copy path waits in the event loop on a full pipe: each signal ends it too."""
    for sig in STOP_SIGNALS:
        p = harness.spawn([u.sockcat(), "-l", "-v", "127.0.0.1", "0"], stdout=PIPE, stderr=PIPE)
        port = wait_listening(p)
        stop = threading.Event()
        flood(port, stop)
        harness.wait_for(lambda: pipe_full(p.stdout.fileno()), timeout=10, what="stdout pipe full")
        rc = faults.stop_within(p, sig, 1.0, what=f"sockcat on a full pipe, {sig.name}")
        stop.set()
        harness.check_eq(rc, -sig, f"{sig.name}: exit status")


def test_signal_while_connecting_or_holding():
    # --no-accept holds the listener until a signal.
    p = harness.spawn([u.sockcat(), "-l", "-v", "--no-accept", "127.0.0.1", "0"], stderr=PIPE)
    wait_listening(p)
    harness.check_eq(faults.stop_within(p, signal.SIGTERM, 1.0, "--no-accept"), -signal.SIGTERM,
                     "--no-accept exit")
    # A UDP listener waiting for its first datagram.
    p = harness.spawn([u.sockcat(), "-u", "-l", "-v", "127.0.0.1", "0"], stderr=PIPE)
    u.read_port(p, r"(?:Listening|Bound) on \S+ (\d+)")
    harness.check_eq(faults.stop_within(p, signal.SIGINT, 1.0, "-u -l"), -signal.SIGINT,
                     "-u -l exit")


def test_signal_while_connecting():
    """A connect stuck in SYN_SENT (the listener's accept queue is full) ends at a signal."""
    lst, port = u.start_server([u.sockcat(), "-l", "-v", "--no-accept", "--backlog", "0",
                                "127.0.0.1", "0"])
    fillers = []
    harness.on_cleanup(lambda: [f.close() for f in fillers])

    def syn_sent():
        out = harness.run(["ss", "-Htn", "state", "syn-sent", f"dport = :{port}"]).stdout
        return out.strip()
    for _ in range(8):  # the kernel drops SYNs once the queue is full: clients sit in SYN_SENT
        if syn_sent():
            break
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
        harness.wait_for(lambda: harness.run(["ss", "-Htn", f"dport = :{port}"]).stdout.count(
            "\n") >= len(fillers), timeout=5, what="the filler connection")
    harness.check(syn_sent(), "no connection held in SYN_SENT")
    for sig in STOP_SIGNALS:
        p = harness.spawn([u.sockcat(), "127.0.0.1", str(port)], stdin=PIPE)
        harness.wait_for(lambda: f"pid={p.pid}," in harness.run(
            ["ss", "-Htnp", "state", "syn-sent", f"dport = :{port}"]).stdout, timeout=5,
            what="sockcat in SYN_SENT")
        harness.check_eq(faults.stop_within(p, sig, 1.0, f"connecting, {sig.name}"), -sig,
                         f"{sig.name} while connecting")


def test_unix_socket_file_removed_after_each_signal():
    path = os.path.join(u.tmpdir(), "lab.sock")
    for sig in STOP_SIGNALS:
        for keep in ([], ["-k"]):
            p = harness.spawn([u.sockcat(), "-l", "-v", *keep, "-U", path], stderr=PIPE)
            harness.read_until_line(p.stderr, "Listening on")
            harness.check(os.path.exists(path), "the socket file while listening")
            rc = faults.stop_within(p, sig, 1.0, what=f"-l {' '.join(keep)} -U, {sig.name}")
            harness.check_eq(rc, -sig, f"{sig.name} exit status")
            harness.check(not os.path.exists(path),
                          f"{sig.name}{' -k' if keep else ''}: the socket file is left behind")
    # ...and with a session running, the next listener binds the same path.
    p = harness.spawn([u.sockcat(), "-l", "-v", "-U", path], stdin=PIPE, stderr=PIPE)
    harness.read_until_line(p.stderr, "Listening on")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    harness.on_cleanup(c.close)
    c.connect(path)
    harness.wait_for(lambda: "Connection received" in harness.read_line_with_deadline(
        p.stderr, 5, "Connection received"), timeout=5, what="the session")
    faults.stop_within(p, signal.SIGHUP, 1.0, "-U session, SIGHUP")
    harness.check(not os.path.exists(path), "the socket file after SIGHUP mid-session")
    again = harness.spawn([u.sockcat(), "-l", "-v", "-U", path], stderr=PIPE)
    harness.check(harness.read_until_line(again.stderr, "Listening on"),
                  "the next listener binds the same path")
    again.terminate()


# ---------------------------------------------------------------- -6 listeners

def test_v6_listener_refuses_ipv4_clients():
    if not socket.has_ipv6:
        raise harness.Skip("no IPv6")
    p = harness.spawn([u.sockcat(), "-6", "-l", "-v", "0"], stdout=PIPE, stderr=PIPE)
    port = wait_listening(p)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        raise harness.TestFailure("-6 -l accepted an IPv4 client")
    except ConnectionRefusedError:
        pass
    c = socket.create_connection(("::1", port), timeout=5)
    c.sendall(b"v6 client\n")
    c.close()
    harness.check_eq(p.stdout.read(), b"v6 client\n", "the IPv6 client is served")
    harness.check_eq(u.wait_exit(p, 5), 0, "exit")


# ---------------------------------------------------------------- -c with -o

def test_crlf_converts_bare_lf_only_and_logs_what_is_sent():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    log = os.path.join(u.tmpdir(), "dump")
    p = harness.spawn([u.sockcat(), "-c", "-o", log, "127.0.0.1", str(port)], stdin=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(10)
    p.stdin.write(b"dos line\r\nunix line\n")
    p.stdin.close()
    harness.check_eq(recv_all(conn), b"dos line\r\nunix line\r\n", "bytes sent with -c")
    conn.close()
    harness.check_eq(u.wait_exit(p, 10), 0, "exit")
    with open(log) as f:
        dump = f.read()
    # "dos line\r\n" is 10 bytes, "unix line\r\n" 11: 0d 0a at offsets 8 and 19 of what was sent.
    sent_hex = " ".join(ln[11:58] for ln in dump.splitlines() if ln.startswith(">"))
    harness.check(sent_hex.split()[8:10] == ["0d", "0a"] and sent_hex.split()[19:21] == ["0d", "0a"],
                  f"the hex dump shows the bytes sent, after -c: {dump!r}")
    harness.check_eq(len(sent_hex.split()), 21, f"bytes logged: {dump!r}")


# ---------------------------------------------------------------- not root

def test_not_root_gets_one_line_for_what_it_may_not_do():
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 80:
            raise harness.Skip("port 80 is unprivileged on this host")
    rc, _, err = faults.run(faults.nonroot([u.sockcat(), "-l", "127.0.0.1", "80"]))
    faults.check_error_line("sockcat", rc, err, 1, r"^sockcat: bind 127\.0\.0\.1 port 80 \(tcp\): "
                            r"permission denied$", what="nobody: sockcat -l 80")
    d = u.tmpdir()  # mode 0700, root's: nobody may not create a socket file there
    rc, _, err = faults.run(faults.nonroot([u.sockcat(), "-l", "-U", os.path.join(d, "s")]))
    faults.check_error_line("sockcat", rc, err, 1, r"^sockcat: bind .*: permission denied$",
                            what="nobody: sockcat -l -U in a directory it cannot write")


harness.main()
