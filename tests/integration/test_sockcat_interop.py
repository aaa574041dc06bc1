"""sockcat against OpenBSD nc, socat and itself: 256 MiB each way, SHA-256 equal on both ends."""
import os
import subprocess

import harness
import test_sockcat_util as u

SIZE = 256 << 20
DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE


def one_way(server, client, data, digest, to_client, pattern):
    """Runs one transfer; `client` may contain "{port}". Returns nothing; asserts integrity."""
    out = os.path.join(os.path.dirname(data), "received")
    with open(data, "rb") as src, open(out, "wb") as dst:
        srv, port = u.start_server(server, stdin=src if to_client else DEVNULL,
                                   stdout=DEVNULL if to_client else dst, pattern=pattern)
        cli = harness.spawn([a.replace("{port}", str(port)) for a in client],
                            stdin=DEVNULL if to_client else src, stdout=dst if to_client else DEVNULL)
        rc_client = u.wait_exit(cli, 180, "client")
        rc_server = u.wait_exit(srv, 180, "server")
    harness.check_eq(os.path.getsize(out), SIZE, f"bytes received: {server} / {client}")
    harness.check_eq(u.sha256_file(out), digest, f"sha256: {server} / {client}")
    harness.check_eq((rc_server, rc_client), (0, 0), f"exit codes: {server} / {client}")
    os.unlink(out)


def data_file():
    return u.random_file(u.tmpdir(), "data", SIZE)


SC_LISTEN = r"Listening on \S+ (\d+)"


def test_with_openbsd_nc():
    data, digest = data_file()
    sc = u.sockcat()
    nc_listen = [u.NC, "-v", "-l", "127.0.0.1", "0"]
    # nc quits at the network EOF and truncates what it still has to send (the reason
    # sockcat exists), so the sockcat receiver facing an nc sender does not read stdin (-d).
    one_way(nc_listen, [sc, "127.0.0.1", "{port}"], data, digest, False, SC_LISTEN)
    one_way([u.NC, "-N", "-v", "-l", "127.0.0.1", "0"], [sc, "-d", "127.0.0.1", "{port}"], data,
            digest, True, SC_LISTEN)
    one_way([sc, "-l", "-v", "127.0.0.1", "0"], [u.NC, "-N", "127.0.0.1", "{port}"], data, digest,
            True, SC_LISTEN)
    one_way([sc, "-l", "-v", "-d", "127.0.0.1", "0"], [u.NC, "-N", "127.0.0.1", "{port}"], data,
            digest, False, SC_LISTEN)


def test_with_socat():
    data, digest = data_file()
    sc = u.sockcat()
    pat = r"listening on AF=\d+ [\d.]+:(\d+)"
    one_way(["socat", "-d", "-d", "-u", "TCP-LISTEN:0,bind=127.0.0.1", "STDOUT"],
            [sc, "127.0.0.1", "{port}"], data, digest, False, pat)
    one_way(["socat", "-d", "-d", "-u", "STDIN", "TCP-LISTEN:0,bind=127.0.0.1"],
            [sc, "-d", "127.0.0.1", "{port}"], data, digest, True, pat)
    one_way([sc, "-l", "-v", "127.0.0.1", "0"], ["socat", "-u", "TCP:127.0.0.1:{port}", "STDOUT"],
            data, digest, True, SC_LISTEN)
    one_way([sc, "-l", "-v", "-d", "127.0.0.1", "0"], ["socat", "-u", "STDIN", "TCP:127.0.0.1:{port}"],
            data, digest, False, SC_LISTEN)


def test_with_itself_both_ways_at_once():
    """One connection, 256 MiB each way at the same time: files on the server (sendfile,
    splice through a pipe), pipes on the client (splice straight from/to the pipes)."""
    d = u.tmpdir()
    a, digest_a = u.random_file(d, "a", SIZE)
    b, digest_b = u.random_file(d, "b", SIZE)
    got_a, got_b = os.path.join(d, "got_a"), os.path.join(d, "got_b")
    sc = u.sockcat()
    with open(a, "rb") as fa, open(got_b, "wb") as fb:
        srv, port = u.sockcat_server(stdin=fa, stdout=fb)
    feeder = harness.spawn(["cat", b], stdout=PIPE)
    cli = harness.spawn([sc, "127.0.0.1", str(port)], stdin=feeder.stdout, stdout=PIPE)
    feeder.stdout.close()
    with open(got_a, "wb") as fa_out:
        sink = harness.spawn(["cat"], stdin=cli.stdout, stdout=fa_out)
    cli.stdout.close()
    harness.check_eq(u.wait_exit(cli, 180, "client"), 0, "client exit")
    harness.check_eq(u.wait_exit(srv, 180, "server"), 0, "server exit")
    u.wait_exit(sink, 60, "cat")
    harness.check_eq(u.sha256_file(got_a), digest_a, "server -> client")
    harness.check_eq(u.sha256_file(got_b), digest_b, "client -> server")


harness.main()
