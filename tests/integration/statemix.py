"""Builds a live socket mix holding every TCP state ss can show, plus UDP and unix.

Used by the sockls differential tests. Call from inside a fresh network
namespace (harness.enter_new_netns()) so nothing else is listed and every
TIME_WAIT dies with the namespace. All sockets are returned in a SocketMix,
which keeps them open until close_all().

How each state is held (Linux, no root needed):
- LISTEN: a listener.  ESTABLISHED: an accepted pair.
- SYN_SENT: listen(0) accepts one connection into its queue and then drops
  SYNs (sk_acceptq_is_full), so a second non-blocking connect stays SYN_SENT.
- SYN_RECV: TCP_DEFER_ACCEPT makes the listener drop the bare final ACK and
  keep the request socket in SYN_RECV until data arrives.
- FIN_WAIT1: the peer's receive buffer (SO_RCVBUF 4096 before the handshake)
  is full and never read, so our FIN queues behind unsent data, never ACKed.
- FIN_WAIT2 / CLOSE_WAIT: shutdown(SHUT_WR) on one side; the other holds.
- LAST_ACK: in CLOSE_WAIT, fill the peer's window, then shutdown: the FIN waits.
- CLOSING: FIN_WAIT1 as above, then the peer shuts down: our side gets the
  peer's FIN while its own is still unacknowledged.
- TIME_WAIT: the active closer after both sides closed.
"""
import os
import socket
import struct
import tempfile
import time

import harness

TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING"}
TCP_DEFER_ACCEPT = 9


def tcp_state(s):
    """The kernel's state of a socket, from TCP_INFO (first byte of struct tcp_info)."""
    return TCP_STATES.get(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0], "?")


class SocketMix:
    def __init__(self):
        self.socks = []
        self.tmpdir = tempfile.mkdtemp(prefix="socklab-mix-")
        self.expected = []  # (family, state) we intend to hold, for the test's own sanity

    def keep(self, *socks):
        self.socks.extend(socks)
        return socks[0] if len(socks) == 1 else socks

    def close_all(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.socks.clear()
        for name in os.listdir(self.tmpdir):
            os.unlink(os.path.join(self.tmpdir, name))
        os.rmdir(self.tmpdir)


def _loop(fam):
    return "127.0.0.1" if fam == socket.AF_INET else "::1"


def _listener(fam, backlog=16, rcvbuf=None, defer=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if defer:
        s.setsockopt(socket.IPPROTO_TCP, TCP_DEFER_ACCEPT, defer)
    s.bind((_loop(fam), 0))
    s.listen(backlog)
    return s


def pair(fam, server_rcvbuf=None, client_rcvbuf=None):
    """An ESTABLISHED (client, server) pair; the listener is closed."""
    lst = _listener(fam, rcvbuf=server_rcvbuf)
    c = socket.socket(fam, socket.SOCK_STREAM)
    if client_rcvbuf:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, client_rcvbuf)
    c.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    lst.close()
    return c, srv


def fill(s, limit=4096):
    """Writes until the send buffer is full (bounded); returns bytes queued."""
    s.setblocking(False)
    chunk = b"x" * 65536
    total = 0
    for _ in range(limit):
        try:
            total += s.send(chunk)
        except BlockingIOError:
            break
    s.setblocking(True)
    return total


def wait_state(s, state, what):
    harness.wait_for(lambda: tcp_state(s) == state, timeout=10, what=f"{what} in {state}")


def build_tcp(mix, fam):
    name = "v4" if fam == socket.AF_INET else "v6"
    # LISTEN
    mix.keep(_listener(fam))
    # ESTABLISHED
    mix.keep(*pair(fam))
    # SYN_SENT: fill a listen(0) queue, then connect again.
    full = mix.keep(_listener(fam, backlog=0))
    first = mix.keep(socket.socket(fam, socket.SOCK_STREAM))
    first.connect(full.getsockname()[:2])
    second = mix.keep(socket.socket(fam, socket.SOCK_STREAM))
    second.setblocking(False)
    try:
        second.connect(full.getsockname()[:2])
    except BlockingIOError:
        pass
    wait_state(second, "SYN_SENT", f"{name} second client")
    # SYN_RECV: deferred accept, silent client.
    deferred = mix.keep(_listener(fam, defer=30))
    silent = mix.keep(socket.socket(fam, socket.SOCK_STREAM))
    silent.connect(deferred.getsockname()[:2])
    # FIN_WAIT2 / CLOSE_WAIT
    c, srv = mix.keep(*pair(fam))
    c.shutdown(socket.SHUT_WR)
    wait_state(c, "FIN_WAIT2", f"{name} half-closer")
    wait_state(srv, "CLOSE_WAIT", f"{name} passive side")
    # FIN_WAIT1: our data is stuck behind the peer's full window.
    c, srv = mix.keep(*pair(fam, server_rcvbuf=4096))
    fill(c)
    c.shutdown(socket.SHUT_WR)
    wait_state(c, "FIN_WAIT1", f"{name} stuck closer")
    # LAST_ACK: passive closer with data stuck behind the peer's full window.
    c, srv = mix.keep(*pair(fam, client_rcvbuf=4096))
    c.shutdown(socket.SHUT_WR)
    wait_state(srv, "CLOSE_WAIT", f"{name} server before LAST_ACK")
    fill(srv)
    srv.shutdown(socket.SHUT_WR)
    wait_state(srv, "LAST_ACK", f"{name} server")
    # CLOSING: FIN_WAIT1 side receives the peer's FIN.
    c, srv = mix.keep(*pair(fam, server_rcvbuf=4096))
    fill(c)
    c.shutdown(socket.SHUT_WR)
    wait_state(c, "FIN_WAIT1", f"{name} before CLOSING")
    srv.shutdown(socket.SHUT_WR)
    wait_state(c, "CLOSING", f"{name} simultaneous closer")
    # TIME_WAIT: the active closer, after both closed.
    c, srv = pair(fam)
    c.close()
    srv.close()


def build_udp(mix, fam):
    unconn = mix.keep(socket.socket(fam, socket.SOCK_DGRAM))
    unconn.bind((_loop(fam), 0))
    conn = mix.keep(socket.socket(fam, socket.SOCK_DGRAM))
    conn.bind((_loop(fam), 0))
    conn.connect(unconn.getsockname()[:2])


def build_unix(mix):
    path = os.path.join(mix.tmpdir, "stream.sock")
    lst = mix.keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    lst.bind(path)
    lst.listen(4)
    c = mix.keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    c.connect(path)
    mix.keep(lst.accept()[0])
    d = mix.keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    d.bind(os.path.join(mix.tmpdir, "dgram.sock"))
    mix.keep(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)).bind(
        os.path.join(mix.tmpdir, "seq.sock"))


def build(families=(socket.AF_INET, socket.AF_INET6), udp=True, unix=True):
    """Builds the whole mix in the current namespace; caller must close_all()."""
    mix = SocketMix()
    harness.on_cleanup(mix.close_all)
    for fam in families:
        build_tcp(mix, fam)
        if udp:
            build_udp(mix, fam)
    if unix:
        build_unix(mix)
    wait_settled()
    return mix


def wait_settled():
    """Waits until two ss dumps agree, queues included: after fill() the stuck
    sockets' Send-Q still moves for a moment (zero-window probes), and tests
    that compare two listings must not see it move."""
    harness.wait_stable(lambda: harness.run(["ss", "-tuxan"], check=True).stdout, timeout=20,
                        what="the socket mix")


if __name__ == "__main__":
    harness.enter_new_netns()
    m = build()
    print(harness.run(["ss", "-an"]).stdout)
    m.close_all()
