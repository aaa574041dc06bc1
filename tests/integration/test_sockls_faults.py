"""sockls under faults: closed fds 0-2, stdout on /dev/full, hostile -F and --replay
files, a small `ulimit -n`, no root, and stop signals while stdout is a full pipe."""
import os
import resource
import signal
import socket
import subprocess
import time

import faults
import harness
from harness import check, check_eq, tool

TOOL = "sockls"


def sockls(*args):
    return [tool(TOOL)] + list(args)


def listener():
    """A TCP listener on loopback (port 0, read back), closed at the end of the test."""
    lst = harness.free_listener()
    harness.on_cleanup(lst.close)
    return lst.getsockname()[1]


def scratch():
    d = harness.temp_dir("sockls-faults-")
    return d


def test_closed_std_fds_never_receive_our_sockets():
    """With fd 0, 1 or 2 closed the listing still goes where it should (or nowhere)."""
    harness.enter_new_netns()
    port = listener()
    want = f"127.0.0.1:{port}"
    # stdin or stderr closed: the netlink socket must not take their place; the
    # listing is whole on stdout.
    for closed in ((0,), (2,), (0, 2)):
        rc, out, err = faults.run(sockls("-tln"), close=closed)
        check_eq(rc, 0, f"fds {closed} closed: exit (stderr {err!r})")
        check(want.encode() in out, f"fds {closed} closed: listener listed: {out!r}")
    # stdout closed: fd 1 becomes /dev/null, not our netlink socket (whose writes
    # would fail or feed the kernel our own listing): a clean, silent exit 0.
    for closed in ((1,), (0, 1), (1, 2), (0, 1, 2)):
        rc, out, err = faults.run(sockls("-tlnp"), close=closed)
        check_eq((rc, err), (0, b""), f"fds {closed} closed: exit and stderr")
    # Seen from outside: --record into a FIFO holds sockls in open(2) with its
    # netlink socket already made; fds 0-2 must then be /dev/null, not that socket.
    d = scratch()
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    for closed in ((1,), (0, 1, 2)):
        p = faults.start(sockls("-tln", "--record", fifo), close=closed)

        def fd_links():
            try:
                return {int(n): os.readlink(f"/proc/{p.pid}/fd/{n}")
                        for n in os.listdir(f"/proc/{p.pid}/fd")}
            except OSError:
                return {}
        links = harness.wait_for(
            lambda: (lambda l: l if any(v.startswith("socket:") for v in l.values()) else None)(
                fd_links()), what="sockls holding its netlink socket")
        for fd in closed:
            check_eq(links.get(fd), "/dev/null", f"fds {closed} closed: fd {fd} while running")
        with open(fifo, "rb") as reader:  # let it write the dump and finish
            reader.read()
        check_eq(p.wait(timeout=10), 0, f"fds {closed} closed: --record into a FIFO")
    # stdout closed while --record writes a file: the file is the dump, and the
    # listing did not go into it or into the socket.
    rec = os.path.join(d, "rec.dump")
    rc, _, err = faults.run(sockls("-tln", "--record", rec), close=(1,))
    check_eq((rc, err), (0, b""), "record with stdout closed")
    rc, out, err = faults.run(sockls("-tln", "--replay", rec))
    check_eq(rc, 0, f"replay of what was recorded with stdout closed: {err!r}")
    check(want.encode() in out, f"the recording holds the listener: {out!r}")


def test_write_errors_are_reported():
    """stdout on /dev/full: `sockls: stdout: no space left on device`, exit 1, every mode."""
    harness.enter_new_netns()
    listener()
    # Each mode has something to print (the listener, or a header).
    for args in (["-tan"], ["-tln"], ["--json", "-tl"], ["--jsonl", "-tl"], ["--csv", "-tl"],
                 ["-s"], ["-tl", "--by", "port"], ["-tl", "--by", "process"],
                 ["--format", "netstat", "-tl"],
                 ["--format", "windows", "-tl"], ["-tlnp"], ["-tlnpeoim"], ["-xa"], ["-tl", "-O"],
                 ["-s", "--format", "netstat"], ["-tl", "--source", "proc"],
                 ["-a", "--replay", os.path.join(harness.SOURCE, "tests/golden/dumps/mix.dump")],
                 ["--help"],
                 ["--version"], ["-V"], ["-h"]):
        rc, _, err = faults.on_dev_full(sockls(*args))
        faults.check_error_line(TOOL, rc, err, 1, r"^sockls: stdout: no space left on device$",
                                what=f"sockls {' '.join(args)} > /dev/full")


def test_reader_going_away_is_quiet():
    """EPIPE is not an error: `sockls | head -c1` ends 0 with nothing on stderr."""
    harness.enter_new_netns()
    for _ in range(50):
        listener()
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first write
    try:
        rc, _, err = faults.run(sockls("-tln"), stdout=w)
    finally:
        os.close(w)
    check_eq((rc, err), (0, b""), "EPIPE ends quietly")


def run_measured(args, timeout=10, **kw):
    """Runs with the child's peak RSS (KiB, GNU time's %M) and the wall time."""
    gnu_time = harness.need("/usr/bin/time")
    d = scratch()
    rss_file = os.path.join(d, "rss")
    t0 = time.monotonic()
    rc, out, err = faults.run([gnu_time, "-o", rss_file, "-f", "%M"] + args,
                              timeout=timeout, **kw)
    took = time.monotonic() - t0
    with open(rss_file) as f:
        lines = f.read().split()
    # GNU time writes "Command exited with non-zero status N" before %M.
    return rc, out, err, int(lines[-1]), took


def test_hostile_files_are_checked_before_reading():
    """-F and --replay of a directory, /dev/zero, a FIFO, a 4 GiB sparse file: one line,
    exit 1, at once and in little memory (the bug: 4.2 GB RSS, or an abort)."""
    d = scratch()
    sparse = os.path.join(d, "sparse")
    subprocess.run(["truncate", "-s", "4G", sparse], check=True)
    dumpish = os.path.join(d, "dumpish")  # the right magic, then 4 GiB of nothing
    with open(dumpish, "wb") as f:
        f.write(b"SOCKLAB-DUMP-1\n")
    subprocess.run(["truncate", "-s", "4G", dumpish], check=True)
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    nul = os.path.join(d, "nul")
    with open(nul, "wb") as f:
        f.write(b"# ok\nsport = :22\ndst 10.0.0.1\0rest\n")
    cases = [
        (["-tan", "-F", "/"], r"^sockls: -F: /: is a directory$"),
        (["-tan", "-F", d], r"is a directory$"),
        (["-tan", "-F", "/dev/zero"], r"^sockls: -F: /dev/zero: longer than 1024 KiB$"),
        (["-tan", "-F", sparse], r"^sockls: -F: .*/sparse: longer than 1024 KiB$"),
        (["-tan", "-F", nul], r"^sockls: -F: .*/nul: line 3: a NUL byte \(not a text file\)$"),
        (["-tan", "-F", "/dev/sda"] if os.path.exists("/dev/sda") else ["-tan", "-F", "/dev/loop0"],
         r"^sockls: -F: /dev/\w+: (not a regular file or a pipe|no such file or directory|"
         r"permission denied)$"),
        (["--replay", "/dev/zero"], r"^sockls: replay: dump /dev/zero: not a regular file$"),
        (["--replay", "/"], r"^sockls: replay: dump /: is a directory$"),
        (["--replay", sparse], r"^sockls: replay: dump .*/sparse: not a socklab dump \(bad magic\)$"),
        (["--replay", dumpish], r"^sockls: replay: dump .*/dumpish: larger than 256 MiB$"),
        (["--replay", fifo], r"^sockls: replay: dump .*/fifo: not a regular file$"),
        (["--replay", nul], r"bad magic"),
    ]
    for args, pattern in cases:
        rc, _, err, rss_kib, took = run_measured(sockls(*args))
        faults.check_error_line(TOOL, rc, err, 1, pattern, what=f"sockls {' '.join(args)}")
        check(took < 3.0, f"sockls {' '.join(args)} took {took:.1f}s")
        check(rss_kib < 32 * 1024 + harness.RSS_SLACK_KIB, f"sockls {' '.join(args)} peaked at {rss_kib} KiB")


def test_filter_file_from_a_pipe_is_bounded():
    """`-F -` reads stdin as a filter, up to the same bound."""
    harness.enter_new_netns()
    port = listener()
    p = faults.start(sockls("-tln", "-F", "-"), stdin=subprocess.PIPE)
    out, err = p.communicate(f"# from a pipe\nsport = :{port}\n".encode(), timeout=10)
    check_eq(p.returncode, 0, f"-F -: {err!r}")
    check(f"127.0.0.1:{port}".encode() in out, out)
    with open("/dev/zero", "rb") as zero:
        rc, _, err, rss_kib, took = run_measured(sockls("-tln", "-F", "-"), stdin=zero)
    faults.check_error_line(TOOL, rc, err, 1, r"^sockls: -F: -: longer than 1024 KiB$",
                            what="-F - < /dev/zero")
    check(rss_kib < 32 * 1024 + harness.RSS_SLACK_KIB and took < 3.0, f"{rss_kib} KiB, {took:.1f}s")


def owner_lines(err):
    return [ln for ln in err.decode(errors="replace").splitlines() if ln.startswith("sockls: -p:")]


def test_p_without_root_says_once_what_it_could_not_see():
    """As nobody, -tanp lists every socket and says once that owners are hidden."""
    harness.enter_new_netns()
    port = listener()  # held by this (root) process
    rc, out, err = faults.run(faults.nonroot(sockls("-tanp")))
    check_eq(rc, 0, f"exit as nobody: {err!r}")
    row = [ln for ln in out.decode().splitlines() if f"127.0.0.1:{port}" in ln]
    check(row and "users:" not in row[0], f"the root-owned listener, without owner: {out!r}")
    lines = owner_lines(err)
    check_eq(len(err.decode().splitlines()), 1, f"one line on stderr: {err!r}")
    check(lines and "owners of 1 socket unknown: " in lines[0] and "run as root" in lines[0],
          f"the hidden owners are said: {err!r}")
    # As root the same listing has the owner and no such line.
    rc, out, err = faults.run(sockls("-tanp"))
    check_eq((rc, owner_lines(err)), (0, []), f"as root: {err!r}")
    check(f"pid={os.getpid()}," in out.decode(), "as root the owner is shown")
    # Nobody's own socket keeps its owner: only the hidden ones are counted.
    helper = harness.spawn(faults.nonroot(["python3", "-c", (
        "import socket,sys\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(1)\n"
        "print(s.getsockname()[1],flush=True);sys.stdin.read()")]), stdin=subprocess.PIPE)
    mine = harness.read_line_with_deadline(helper.stdout, what="nobody's port").strip()
    mine = mine.decode() if isinstance(mine, bytes) else mine
    rc, out, err = faults.run(faults.nonroot(sockls("-tlnp")))
    check_eq(rc, 0, err)
    row = [ln for ln in out.decode().splitlines() if f"127.0.0.1:{mine}" in ln]
    check(row and "python3" in row[0], f"nobody sees its own socket's owner: {out!r}")
    check("owners of 1 socket unknown" in err.decode(), f"still one hidden: {err!r}")


def test_p_out_of_fds_says_so():
    if harness.sanitized():
        raise harness.Skip("ulimit -n 5 leaves the sanitizer runtime no fds of its own")
    """With a tiny `ulimit -n` the owners that could not be looked up are said, exit 0."""
    harness.enter_new_netns()
    port = listener()
    # fds 0-2, the netlink socket and /proc: /proc/PID/fd is the first to fail.
    rc, out, err = faults.run(sockls("-tlnp"), nofile=5)
    check_eq(rc, 0, f"exit with ulimit -n 5: {err!r}")
    check(f"127.0.0.1:{port}".encode() in out, f"the listener is still listed: {out!r}")
    lines = owner_lines(err)
    check(len(lines) == 1 and "owners of 1 socket unknown: out of file descriptors" in lines[0],
          f"said once: {err!r}")
    check_eq(len(err.splitlines()), 1, f"nothing else on stderr: {err!r}")
    # --by process uses the same scan and says the same.
    rc, out, err = faults.run(sockls("-tln", "--by", "process"), nofile=5)
    check_eq(rc, 0, err)
    check(any("out of file descriptors" in ln for ln in owner_lines(err)), err)


def many_listeners(n):
    """n TCP listeners in this (private) namespace: a listing far larger than a pipe."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        socks.append(s)
    harness.on_cleanup(lambda: [s.close() for s in socks])


def test_stop_signals_while_stdout_is_a_full_pipe():
    """SIGINT, SIGTERM and SIGHUP end sockls within a second while its write blocks."""
    harness.enter_new_netns()
    many_listeners(3000)  # ~3000 lines of ~100 bytes: well past a 64 KiB pipe
    # A signal ignored by whoever started us (a background job's SIGINT) stays ignored
    # across exec, as it would for any tool: give sockls the default dispositions.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)
    rec = os.path.join(scratch(), "many.dump")
    rc, _, err = faults.run(sockls("-tln", "--record", rec), stdout=subprocess.DEVNULL)
    check_eq(rc, 0, f"recording the listeners: {err!r}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        for args in (["-tln"], ["-tlnp"], ["--jsonl", "-tl"], ["-tln", "--replay", rec]):
            p = faults.start(sockls(*args), stdout=subprocess.PIPE)  # never read
            faults.wait_blocked_writing(p.pid)
            rc = faults.stop_within(p, sig, 1.0, what=f"sockls {' '.join(args)}")
            # Default death by the signal (nothing to clean up), as a shell expects.
            check_eq(rc, -sig, f"sockls {' '.join(args)} ended by {signal.Signals(sig).name}")
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    harness.main()
