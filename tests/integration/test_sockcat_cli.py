"""sockcat's command line as nc users type it: service names, -C, -U as a flag, -l -p
with a second port, nc's -v wording (compared with netcat-openbsd on this machine),
resolver errors that say what went wrong, and help/version with a failing stdout."""
import os
import re
import socket
import subprocess

import faults
import harness
import test_sockcat_util as u

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE


def sc():
    return u.sockcat()


def lines_until(proc, pattern, timeout=10.0):
    """Stderr lines of proc up to the first matching `pattern`; returns (lines, match)."""
    seen = []
    while True:
        line = harness.read_line_with_deadline(proc.stderr, timeout, what=f"/{pattern}/ (saw {seen})")
        text = line.decode(errors="replace") if isinstance(line, bytes) else line
        seen.append(text.rstrip("\n"))
        m = re.search(pattern, text)
        if m:
            return seen, m


def in_netns(ns, args, **kw):
    return harness.spawn(ns.exec_args(args), **kw)


def test_service_names_for_ports():
    # Port 80 only inside a private namespace (house rule: no fixed ports outside one).
    with harness.NamedNetns("sockcat-svc") as ns:
        srv = in_netns(ns, [sc(), "-l", "-v", "-n", "127.0.0.1", "http"], stdout=PIPE)
        _, m = lines_until(srv, r"Listening on 127\.0\.0\.1 (\d+)")
        harness.check_eq(m.group(1), "80", "-l 127.0.0.1 http listens on 80")
        cli = in_netns(ns, [sc(), "-v", "127.0.0.1", "http"], stdin=PIPE)
        cli.stdin.write(b"GET\n")
        cli.stdin.close()
        harness.check_eq(srv.stdout.read(), b"GET\n", "data over the named port")
        harness.check_eq(u.wait_exit(cli, 20), 0, "client exit")
        harness.check_eq(u.stderr_text(cli).strip(),
                         "Connection to 127.0.0.1 80 port [tcp/http] succeeded!", "client -v")
        u.wait_exit(srv, 20)
        # -z takes names alone and as range ends; 80 answers, 21 (ftp) does not.
        lst = in_netns(ns, [sc(), "-l", "-k", "-v", "-n", "127.0.0.1", "http"])
        lines_until(lst, r"Listening on")
        for spec in (["http"], ["ftp-http"], ["21", "http"]):
            r = harness.run(ns.exec_args([sc(), "-z", "-v", "127.0.0.1", *spec]), timeout=20)
            harness.check_eq(r.returncode, 0, f"-z {spec}: {r.stderr}")
            harness.check(re.search(r"Connection to 127\.0\.0\.1 80 port \[tcp/http\] succeeded!",
                                    r.stderr), f"-z {spec}: {r.stderr!r}")
        # UDP names come from the udp column of /etc/services.
        usrv = in_netns(ns, [sc(), "-u", "-l", "-v", "-n", "127.0.0.1", "domain"])
        _, m = lines_until(usrv, r"Bound on 127\.0\.0\.1 (\d+)")
        harness.check_eq(m.group(1), "53", "-u -l domain binds 53")


def test_capital_c_sends_crlf():
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    cli = harness.spawn([sc(), "-C", "127.0.0.1", str(port)], stdin=PIPE)
    conn, _ = lst.accept()
    conn.settimeout(20)
    cli.stdin.write(b"one\ntwo\n")
    cli.stdin.close()
    got = b""
    while True:
        b = conn.recv(4096)
        if not b:
            break
        got += b
    conn.close()
    harness.check_eq(got, b"one\r\ntwo\r\n", "nc -C: LF goes out as CRLF")
    harness.check_eq(u.wait_exit(cli, 20), 0, "client exit")


def test_unix_flag_then_listen_then_path():
    d = u.tmpdir()
    for order in (["-U", "-l", "-v"], ["-lvU"], ["-l", "-v", "-U"]):
        path = os.path.join(d, "s" + "".join(order).replace("-", ""))
        srv = harness.spawn([sc(), *order, path], stdout=PIPE)
        seen, _ = lines_until(srv, r"Listening on ")
        harness.check_eq(seen, [f"Bound on {path}", f"Listening on {path}"], f"{order}: nc's two lines")
        cli = harness.spawn([harness.need("nc"), "-N", "-U", path], stdin=PIPE)
        cli.stdin.write(b"over unix\n")
        cli.stdin.close()
        harness.check_eq(srv.stdout.read(), b"over unix\n", f"{order}: payload from nc -U")
        harness.check_eq(u.wait_exit(srv, 20), 0, f"{order}: server exit")
        lines_until(srv, r"Connection received on " + re.escape(path))
        u.wait_exit(cli, 20)


def test_listen_with_p_and_a_second_port_is_refused():
    r = harness.run([sc(), "-l", "-p", "6666", "7777"], timeout=20)
    faults.check_error_line("sockcat", r.returncode, r.stderr.encode(), 2,
                            r"-p 6666 and operand 7777: more than one port", "-l -p 6666 7777")
    # ncat's -l -p PORT HOST still binds HOST.
    srv = harness.spawn([sc(), "-l", "-v", "-n", "-p", "0", "127.0.0.2"])
    _, m = lines_until(srv, r"Listening on (\S+) (\d+)")
    harness.check_eq(m.group(1), "127.0.0.2", "-l -p 0 127.0.0.2 binds 127.0.0.2")


def nc_line(args, pattern, stdin=DEVNULL):
    p = harness.spawn(args, stdin=stdin)
    _, m = lines_until(p, pattern)
    return p, m


def test_verbose_words_match_netcat_openbsd():
    nc = harness.need("nc")
    # The same listening lines, name and all (127.0.0.1 is "localhost" in /etc/hosts).
    for extra, word in (([], "Listening"), (["-u"], "Bound")):
        for name_flag in ([], ["-n"]):
            theirs, tm = nc_line([nc, "-l", "-v", *extra, *name_flag, "127.0.0.1", "0"],
                                 r"(\w+) on (\S+) (\d+)")
            ours, om = nc_line([sc(), "-l", "-v", *extra, *name_flag, "127.0.0.1", "0"],
                               r"(\w+) on (\S+) (\d+)")
            harness.check_eq(om.group(1, 2), tm.group(1, 2), f"listen {extra} {name_flag}")
            harness.check_eq(om.group(1), word, "nc's word")
            harness.check(int(om.group(3)) > 0, "port 0 printed as the real port")
            theirs.kill()
            # Someone connects to ours: "Connection received on NAME PORT" as nc says it.
            if extra:
                c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                c.sendto(b"x", ("127.0.0.1", int(om.group(3))))
            else:
                c = socket.create_connection(("127.0.0.1", int(om.group(3))), timeout=10)
            _, rm = lines_until(ours, r"Connection received on (\S+) (\d+)")
            harness.check_eq((rm.group(1), int(rm.group(2))),
                             ("127.0.0.1" if name_flag else "localhost", c.getsockname()[1]),
                             f"received {extra} {name_flag}")
            c.close()
            ours.kill()
    # The connect line: "Connection to localhost (127.0.0.1) P port [tcp/*] succeeded!".
    lst = harness.free_listener()
    port = lst.getsockname()[1]
    lines = {}
    for who in (nc, sc()):
        for host in ("localhost", "127.0.0.1"):
            p = harness.spawn([who, "-v", "-4", "-N", host, str(port)])
            conn, _ = lst.accept()
            conn.close()
            u.wait_exit(p, 20, f"{who} -v {host}")
            lines[(who, host)] = u.stderr_text(p).strip()
    for host in ("localhost", "127.0.0.1"):
        harness.check_eq(lines[(sc(), host)], lines[(nc, host)], f"connect -v to {host}")
    harness.check_eq(lines[(sc(), "localhost")],
                     f"Connection to localhost (127.0.0.1) {port} port [tcp/*] succeeded!", "the words")


def test_dns_unreachable_is_not_unknown_host():
    # A fresh namespace has only lo: the resolver cannot reach its server (EAI_AGAIN),
    # which is not the same as a name that does not exist (EAI_NONAME).
    with harness.NamedNetns("sockcat-dns") as ns:
        r = harness.run(ns.exec_args([sc(), "nosuch.invalid", "80"]), timeout=60)
        faults.check_error_line("sockcat", r.returncode, r.stderr.encode(), 1,
                                r"^sockcat: nosuch\.invalid: temporary failure in name resolution$",
                                "DNS unreachable")
        theirs = harness.run(ns.exec_args([harness.need("nc"), "nosuch.invalid", "80"]), timeout=60)
        harness.check("Temporary failure in name resolution" in theirs.stderr,
                      f"nc agrees it is a temporary failure: {theirs.stderr!r}")
        # -v's reverse lookup of an address the hosts file does not name fails the same
        # way: nc exits ("getnameinfo: ..."), sockcat prints the number and listens.
        srv = in_netns(ns, [sc(), "-l", "-v", "127.0.0.2", "0"])
        _, m = lines_until(srv, r"Listening on (\S+) (\d+)")
        harness.check_eq(m.group(1), "127.0.0.2", "unnamed address shown as a number")
        harness.check(srv.poll() is None, "still listening")
    # Names the hosts file knows still work without DNS, and a -n literal never asks.
    r = harness.run([sc(), "-n", "localhost", "1"], timeout=20)
    faults.check_error_line("sockcat", r.returncode, r.stderr.encode(), 1, r"not a numeric address")


def test_family_mismatch_is_said():
    cases = [
        (["-4", "::1", "1"], r"^sockcat: ::1: address family mismatch: an IPv6 address where IPv4"),
        (["-l", "-6", "127.0.0.1", "0"], r"^sockcat: 127\.0\.0\.1: address family mismatch: an IPv4"),
        (["-s", "::1", "127.0.0.1", "1"], r"^sockcat: source address ::1: address family mismatch"),
    ]
    for args, pattern in cases:
        r = harness.run([sc(), *args], timeout=20)
        faults.check_error_line("sockcat", r.returncode, r.stderr.encode(), 1, pattern, str(args))
        harness.check("unknown host" not in r.stderr and "not a numeric" not in r.stderr, r.stderr)


def test_help_and_version_check_their_write():
    for flag in ("--help", "--version"):
        rc, out, err = faults.on_dev_full([sc(), flag])
        faults.check_error_line("sockcat", rc, err, 1, r"^sockcat: stdout: no space left on device",
                                f"{flag} > /dev/full")
        r = harness.run([sc(), flag], timeout=20)
        harness.check_eq(r.returncode, 0, f"{flag} to a pipe")
        harness.check("sockcat" in r.stdout, f"{flag} printed")


def test_newline_inside_an_argument_stays_one_line():
    for args in (["127.0.0.1\nfake", "1"], ["-w", "1\n2", "127.0.0.1", "1"],
                 ["127.0.0.1", "8\n0"], ["--on-eof", "a\nb", "127.0.0.1", "1"]):
        rc, _, err = faults.run([sc(), *args])
        harness.check(rc in (1, 2), f"{args!r}: exit {rc}")
        faults.check_error_line("sockcat", rc, err, rc, r"\\n", repr(args))


def test_quit_takes_numbers_only():
    r = harness.run([sc(), "-q", "-abc", "127.0.0.1", "1"], timeout=20)
    faults.check_error_line("sockcat", r.returncode, r.stderr.encode(), 2, r"-q: '-abc' is not a number")
    # -q -1 (never quit after EOF) is still nc's: the peer's close ends it.
    lst = harness.free_listener()
    cli = harness.spawn([sc(), "-q", "-1", "127.0.0.1", str(lst.getsockname()[1])])
    conn, _ = lst.accept()
    conn.sendall(b"bye\n")
    conn.close()
    harness.check_eq(cli.stdout.read(), b"bye\n", "data before the peer's close")
    harness.check_eq(u.wait_exit(cli, 20), 0, "-q -1 exit")


if __name__ == "__main__":
    harness.main()
