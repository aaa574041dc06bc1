"""sockwatch under faults: closed fds 0-2, stdout on /dev/full, a full stdout pipe
and a signal, deadlines whatever -i is, stale tracefs instances, not root.

Each test runs in a fresh network namespace (the tracepoint is global: checks
select the test's own ports or instances).
"""
import fcntl
import glob
import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time

import faults
import harness

TRACEFS = "/sys/kernel/tracing"
F_SETPIPE_SZ = 1031  # <linux/fcntl.h>: F_LINUX_SPECIFIC_BASE + 7


def sockwatch(*args):
    return [harness.tool("sockwatch")] + list(args)


def need_tracefs():
    """Root and a tracefs we may write: mounted here when it is not (as sockwatch does)."""
    if os.geteuid() != 0:
        raise harness.Skip("the tracepoint source needs root")
    if not os.path.isdir(f"{TRACEFS}/instances"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=False)
    if not os.path.isdir(f"{TRACEFS}/instances"):
        raise harness.Skip("no tracefs instances here")


def instances_of(pid):
    """Our instance of process `pid` (`sockwatch-PID-START`, or older `sockwatch-PID`)."""
    return glob.glob(f"{TRACEFS}/instances/sockwatch-{pid}-*") + \
        glob.glob(f"{TRACEFS}/instances/sockwatch-{pid}")


def stop_at_cleanup(p):
    """SIGTERM (so the tracefs instance goes), SIGKILL only if that fails."""
    harness.terminate_at_cleanup(p)


def fd_target(pid, fd):
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def has_netlink(pid):
    """True once the process holds a socket (its netlink sockets: it has started)."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if (fd_target(pid, fd) or "").startswith("socket:"):
            return True
    return False


# ---- fds 0-2 closed at start ------------------------------------------------------------------

def test_closed_std_fds_get_dev_null_not_our_sockets():
    """With 0, 1, 2 or all three closed, no netlink socket lands there: /dev/null does."""
    harness.enter_new_netns()
    for closed in ((1,), (0,), (2,), (0, 1, 2)):
        p = faults.start(sockwatch("--events", "--source", "poll", "-i", "0.02", "--duration", "1.5"),
                         close=closed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop_at_cleanup(p)
        harness.wait_for(lambda: has_netlink(p.pid), timeout=10, what=f"sockwatch started ({closed})")
        for fd in closed:
            harness.check_eq(fd_target(p.pid, fd), "/dev/null", f"fd {fd} with {closed} closed")
        # Events happen while fd 1 is closed: they go to /dev/null, the tool runs on.
        lst = harness.free_listener()
        c = socket.create_connection(lst.getsockname())
        a, _ = lst.accept()
        for s in (c, a, lst):
            s.close()
        harness.check_eq(p.wait(timeout=10), 0, f"exit status with {closed} closed")


def test_closed_stdout_events_still_counted_by_warn():
    """fd 1 closed: --warn still sees the sockets (our netlink socket is not on fd 1)."""
    harness.enter_new_netns()
    lst = harness.free_listener()
    rc, _, err = faults.run(sockwatch("--counts", "--warn", "LISTEN>0", "-i", "0.05"),
                            close=(1,), timeout=10)
    harness.check_eq(rc, 3, err)
    harness.check(b"sockwatch: warn: LISTEN count 1 exceeds 0" in err, err)
    lst.close()


# ---- few descriptors ----------------------------------------------------------------------

def test_small_fd_limits_fail_cleanly_or_run_with_fewer_sources():
    """`ulimit -n N` for N from 4 up: exit 1 with one clean line, or run with the
    sources that fit (said once) and exit 0; never a crash, a hang or a stray instance."""
    if harness.sanitized():
        raise harness.Skip("a tight ulimit -n leaves the sanitizer runtime no fds of its own")
    harness.enter_new_netns()
    ran = failed = 0
    for n in range(4, 17):  # below 4 the dynamic loader itself cannot open libfmt
        p = faults.start(sockwatch("--events", "-i", "0.05", "--duration", "0.2"), nofile=n)
        stop_at_cleanup(p)
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            raise harness.TestFailure(f"ulimit -n {n}: still running after 10s")
        if p.returncode == 1:
            faults.check_error_line("sockwatch", p.returncode, err, 1, r"too many open files",
                                    what=f"ulimit -n {n}")
            failed += 1
        else:
            harness.check_eq(p.returncode, 0, f"ulimit -n {n}: {err!r}")
            harness.check(re.match(rb"^sockwatch: sources: [^\n]+\n\Z", err),
                          f"ulimit -n {n}: one sources line: {err!r}")
            ran += 1
        harness.check_eq(instances_of(p.pid), [], f"ulimit -n {n}: no instance left")
    harness.check(failed and ran, f"both outcomes seen ({failed} failed, {ran} ran)")
    print(f"fd limits 4-16: {failed} clean failures, {ran} runs", flush=True)


# ---- write errors -----------------------------------------------------------------------------

def last_line(err):
    lines = err.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def test_dev_full_counts_and_events_exit_1_with_a_message():
    harness.enter_new_netns()
    rc, _, err = faults.on_dev_full(sockwatch("--counts", "-i", "0.05", "--count", "3"))
    harness.check_eq(rc, 1, err)
    harness.check_eq(last_line(err), "sockwatch: stdout: no space left on device")
    rc, _, err = faults.on_dev_full(sockwatch("--counts", "--jsonl", "-i", "10"), timeout=5)
    harness.check_eq(rc, 1, err)
    harness.check_eq(last_line(err), "sockwatch: stdout: no space left on device")
    # The event stream: the first event's write fails.
    with open("/dev/full", "wb") as full:
        p = faults.start(sockwatch("--events", "--source", "poll", "-i", "0.02"), stdout=full)
    stop_at_cleanup(p)
    harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    lst = harness.free_listener()
    harness.check_eq(p.wait(timeout=10), 1)
    err = p.stderr.read()
    harness.check_eq(err, b"sockwatch: stdout: no space left on device\n")
    lst.close()


def test_dev_full_with_warn_crossed_exits_3_with_both_lines():
    harness.enter_new_netns()
    lst = harness.free_listener()
    rc, _, err = faults.on_dev_full(sockwatch("--counts", "--warn", "LISTEN>0", "-i", "0.05"),
                                    timeout=10)
    harness.check_eq(rc, 3, err)
    text = err.decode()
    harness.check("sockwatch: warn: LISTEN count 1 exceeds 0\n" in text, text)
    harness.check("sockwatch: stdout: no space left on device\n" in text, text)
    lst.close()


def test_help_and_version_to_dev_full_fail():
    for flag in ("--help", "-h", "--version"):
        rc, _, err = faults.on_dev_full(sockwatch(flag))
        faults.check_error_line("sockwatch", rc, err, 1, r"^sockwatch: stdout: no space left on device",
                                what=flag)
    # ... and a reader that went away is not an error.
    p = subprocess.run(f"{harness.tool('sockwatch')} --help | head -c 1 > /dev/null",
                       shell=True, capture_output=True, timeout=10)
    harness.check_eq(p.stderr, b"", "--help into a closed pipe")


# ---- signals while stdout is blocked ----------------------------------------------------------

def queued(fd):
    """Bytes waiting in a pipe (FIONREAD on its read end)."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)


def wait_stdout_full(pid, r, timeout=20.0):
    """Waits until process `pid`, which prints every 10 ms (-i 0.01), stops adding to
    the pipe `r` nobody reads: it is blocked on it, in write(2) (pipe_write) or, as
    sockwatch does, in poll(2) waiting for room. (A 4 KiB pipe is one page: poll(2)
    says it has room only when that page is free.)"""
    harness.wait_for(lambda: queued(r) > 0, timeout=timeout, what=f"pid {pid} writing")
    harness.wait_stable(lambda: queued(r), timeout=timeout, interval=0.1,
                        what=f"the pipe of pid {pid}")
    w = faults.wchan(pid)
    harness.check("pipe_write" in w or "poll" in w, f"pid {pid} sleeps in {w!r}")


def blocked_sockwatch(extra):
    """sockwatch --counts writing into a 4 KiB pipe nobody reads, until it blocks."""
    r, w = os.pipe()
    fcntl.fcntl(r, F_SETPIPE_SZ, 4096)
    p = faults.start(sockwatch("--counts", "-i", "0.01", *extra), stdout=w)
    os.close(w)
    harness.on_cleanup(lambda: os.close(r))
    stop_at_cleanup(p)
    wait_stdout_full(p.pid, r)
    return p


def test_signals_end_a_blocked_writer_within_a_second():
    harness.enter_new_netns()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p = blocked_sockwatch(["--source", "poll"])
        rc = faults.stop_within(p, sig, 1.0, what=f"sockwatch blocked on stdout ({sig.name})")
        harness.check_eq(rc, 0, f"exit status after {sig.name}")
        err = p.stderr.read()
        harness.check(err.startswith(b"sockwatch: sources: "), err)
        harness.check(b"stdout" not in err, f"a stop is not a write error: {err!r}")


def test_duration_ends_a_blocked_writer():
    """--duration is kept while stdout is a full pipe nobody reads: the wait for room
    is a poll with the deadline, not a blocking write."""
    harness.enter_new_netns()
    r, w = os.pipe()
    fcntl.fcntl(r, F_SETPIPE_SZ, 4096)
    t0 = time.monotonic()
    p = faults.start(sockwatch("--counts", "-i", "0.01", "--duration", "1.5"), stdout=w)
    os.close(w)
    harness.on_cleanup(lambda: os.close(r))
    stop_at_cleanup(p)
    wait_stdout_full(p.pid, r)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure("--duration 1.5 ignored while stdout is blocked")
    took = time.monotonic() - t0
    harness.check_eq(rc, 0, p.stderr.read())
    harness.check(took <= 1.5 + 0.5, f"--duration 1.5 with a blocked stdout took {took:.2f}s")


def test_signal_ends_a_batch_bigger_than_the_pipe():
    """One batch bigger than the pipe (200 NEW lines, 12 KiB against 4 KiB): a plain
    write(2) would copy what fits and block, and a signal would make it return that
    partial count, not EINTR. sockwatch writes a pipe in pieces it has room for and
    waits in poll: the signal ends it either way."""
    harness.enter_new_netns()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        r, w = os.pipe()
        fcntl.fcntl(r, F_SETPIPE_SZ, 4096)
        p = faults.start(sockwatch("--events", "--source", "poll", "-i", "0.5"), stdout=w)
        os.close(w)
        stop_at_cleanup(p)
        harness.read_line_with_deadline(p.stderr, 10, "the sources line")
        # 200 NEW lines of about 60 bytes in one or two polls: 12 KiB against 4 KiB.
        listeners = [harness.free_listener() for _ in range(200)]
        wait_stdout_full(p.pid, r, timeout=10)
        rc = faults.stop_within(p, sig, 1.0, what=f"sockwatch with a batch over the pipe ({sig.name})")
        harness.check_eq(rc, 0, f"exit status after {sig.name}")
        got = os.read(r, 65536)
        harness.check(got.endswith(b"\n") and b" NEW tcp " in got,
                      f"whole lines only, none cut by the stop: ...{got[-80:]!r}")
        os.close(r)
        for l in listeners:
            l.close()


def test_signals_end_a_blocked_writer_and_remove_the_instance():
    harness.enter_new_netns()
    need_tracefs()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p = blocked_sockwatch(["--source", "tracepoint"])
        inst = instances_of(p.pid)
        harness.check_eq(len(inst), 1, f"one instance of pid {p.pid}: {inst}")
        rc = faults.stop_within(p, sig, 1.0, what=f"sockwatch --source tracepoint ({sig.name})")
        harness.check_eq(rc, 0, f"exit status after {sig.name}")
        harness.check(not os.path.exists(inst[0]), f"{inst[0]} removed after {sig.name}")


def test_signal_while_polling_at_a_long_interval():
    """Not blocked at all, only waiting for a poll 1e9 s away: the signal still ends it."""
    harness.enter_new_netns()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p = faults.start(sockwatch("--events", "-i", "1e9"))
        stop_at_cleanup(p)
        harness.read_line_with_deadline(p.stderr, 10, "the sources line")
        harness.check_eq(faults.stop_within(p, sig, 1.0, what=f"sockwatch -i 1e9 ({sig.name})"), 0)


# ---- deadlines whatever -i is -----------------------------------------------------------------

def timed(args, timeout=15):
    """Runs sockwatch; returns (rc, stdout, seconds from the sources line to the exit)."""
    p = faults.start(args)
    stop_at_cleanup(p)
    harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    t0 = time.monotonic()
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise harness.TestFailure(f"{args[1:]} still running after {timeout}s")
    return p.returncode, out, time.monotonic() - t0


# The 100 ms the issue allows; the sanitizers' start-up and leak check at exit add
# their own few hundred ms, which say nothing about sockwatch's deadlines.
EXIT_SLACK = 0.6 if harness.sanitized() else 0.1


def test_duration_is_kept_whatever_the_interval():
    harness.enter_new_netns()
    for interval, duration in (("5", 1.0), ("1e9", 0.3), ("10", 0.05)):
        for mode in ("--events", "--counts"):
            rc, _, took = timed(sockwatch(mode, "-i", interval, "--duration", str(duration)))
            harness.check_eq(rc, 0)
            harness.check(took <= duration + EXIT_SLACK,
                          f"{mode} -i {interval} --duration {duration} took {took:.3f}s")


def test_live_screen_duration_whatever_the_interval():
    """At a terminal too: `-i 1e9 --duration 0.5` leaves after half a second, status 0."""
    harness.enter_new_netns()
    env = dict(os.environ, TERM="xterm-256color")
    t = faults.PtyProc(sockwatch("--source", "poll", "-i", "1e9", "--duration", "0.5"), env=env,
                       cols=100, rows=30)
    t0 = time.monotonic()
    t.read_until(rb"Local Address", what="the header")
    rc = t.wait(timeout=5)
    took = time.monotonic() - t0
    harness.check_eq(rc, 0)
    harness.check(took <= 0.5 + EXIT_SLACK, f"the live table took {took:.3f}s for --duration 0.5")


def test_live_screen_with_stdin_not_a_terminal_does_not_spin():
    """stdout a terminal, stdin /dev/null (always readable): the table still waits in
    poll, not in a busy loop. A second of -i 1e9 costs next to no CPU time (about
    15 ms here, against 0.3-0.6 s for the busy loop on a loaded machine)."""
    harness.enter_new_netns()
    master, slave = os.openpty()
    harness.on_cleanup(lambda: os.close(master))
    p = subprocess.Popen(sockwatch("--source", "poll", "-i", "1e9", "--duration", "1"),
                         stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=dict(os.environ, TERM="xterm-256color"))
    harness._procs.append(p)
    os.close(slave)
    deadline = time.monotonic() + 10
    status = None
    while status is None and time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                os.read(master, 65536)  # keep the terminal drained
            except OSError:
                pass
        pid, st, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status, cpu = st, usage.ru_utime + usage.ru_stime
    harness.check(status is not None, "sockwatch still running 10s after --duration 1")
    p.returncode = os.waitstatus_to_exitcode(status)
    harness.check_eq(p.returncode, 0)
    print(f"CPU {cpu:.3f}s", flush=True)
    harness.check(cpu < (0.3 if harness.sanitized() else 0.1), f"{cpu:.2f}s of CPU in one idle second: a busy loop")


def test_counts_first_line_at_once_and_count_honoured():
    harness.enter_new_netns()
    lst = harness.free_listener()
    rc, out, took = timed(sockwatch("--counts", "-i", "10", "--count", "1"))
    harness.check_eq(rc, 0)
    harness.check(took <= 0.1, f"--counts -i 10 --count 1 took {took:.3f}s")
    lines = out.decode().splitlines()
    harness.check_eq(len(lines), 1, lines)
    harness.check(re.search(r" LISTEN=1 ", lines[0]), lines[0])
    # The first line comes before the first interval has passed.
    p = faults.start(sockwatch("--counts", "-i", "1e9"))
    stop_at_cleanup(p)
    harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    first = harness.read_line_with_deadline(p.stdout, 1.0, "the first counts line")
    harness.check(" LISTEN=1 " in first, first)
    harness.check_eq(faults.stop_within(p, signal.SIGTERM, 1.0), 0)
    lst.close()


def test_count_of_events_ends_at_the_event_not_the_poll():
    """The destroy groups report a closed socket at once: --count 1 ends then, not at -i 1e9
    (as root the tracepoint's events wait for that same destroy message)."""
    harness.enter_new_netns()
    p = faults.start(sockwatch("--events", "-i", "1e9", "--count", "1"))
    stop_at_cleanup(p)
    sources = harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    if "destroy" not in sources:
        raise harness.Skip(f"no destroy groups here: {sources}")
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname())
    a, _ = lst.accept()
    t0 = time.monotonic()
    a.close()
    c.close()
    out, _ = p.communicate(timeout=10)
    took = time.monotonic() - t0
    harness.check_eq(p.returncode, 0)
    harness.check_eq(len(out.splitlines()), 1, out)
    # As root the tracepoint's held events come first (released by the same destroy
    # message); without root the destroy message itself: GONE.
    port = str(lst.getsockname()[1]).encode()
    harness.check(b" tcp " in out and b":" + port in out, out)
    harness.check(took <= 1.0, f"--count 1 took {took:.3f}s after the close")
    lst.close()


# ---- stale tracefs instances ------------------------------------------------------------------

def make_instance(name):
    path = f"{TRACEFS}/instances/{name}"
    os.mkdir(path)

    def rm():
        if os.path.isdir(path):
            os.rmdir(path)
    harness.on_cleanup(rm)
    return path


def in_pid_namespace(args, death="SIGTERM"):
    """`args` as pid 1 of a new PID namespace. unshare ignores SIGTERM and SIGINT while
    it waits; when it dies (SIGKILL at cleanup) the kernel sends `death` to its child."""
    harness.need("unshare")
    p = faults.start(["unshare", "--pid", "--fork", "--mount-proc", f"--kill-child={death}"] + args)

    def stop():
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    harness.on_cleanup(stop)
    return p


def child_of(unshare):
    """The pid (in our namespace) of unshare's child."""
    def child():
        with open(f"/proc/{unshare.pid}/task/{unshare.pid}/children") as f:
            words = f.read().split()
        return int(words[0]) if words else None
    return harness.wait_for(child, timeout=5, what="unshare's child")


def test_stale_instance_named_after_a_live_pid_is_removed():
    """An orphan of a PID namespace is `sockwatch-1` (and pid 1 is alive here): the PID
    proves nothing, the lock nobody holds does."""
    harness.enter_new_netns()
    need_tracefs()
    orphans = [make_instance("sockwatch-1"), make_instance(f"sockwatch-{os.getpid()}"),
               make_instance("sockwatch-1-4242")]
    foreign = make_instance(f"sockwatch-test-{os.getpid()}")  # not a name of ours
    rc, _, err = faults.run(sockwatch("--events", "--source", "tracepoint", "--duration", "0.1"))
    harness.check_eq(rc, 0, err)
    for path in orphans:
        harness.check(not os.path.exists(path), f"stale {path} removed")
    harness.check(os.path.isdir(foreign), f"{foreign} is not ours and stays")


def test_live_instance_in_another_pid_namespace_is_kept():
    """A live sockwatch that is pid 1 of its own PID namespace keeps its instance (and
    its events) while another sockwatch starts and sweeps."""
    harness.enter_new_netns()
    need_tracefs()
    harness.need("unshare")
    inner = in_pid_namespace(sockwatch("--events", "--source", "tracepoint", "-i", "0.05"))
    harness.read_line_with_deadline(inner.stderr, 15, "the inner sources line")
    live = glob.glob(f"{TRACEFS}/instances/sockwatch-1-*")
    harness.check(live, "the inner sockwatch's instance (pid 1 of its namespace)")
    rc, _, err = faults.run(sockwatch("--events", "--source", "tracepoint", "--duration", "0.1"))
    harness.check_eq(rc, 0, err)
    for path in live:
        harness.check(os.path.isdir(path), f"live {path} kept")
    # ... and it still works: a connection made now shows up through its tracepoint.
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname())
    a, _ = lst.accept()
    local = "%s:%d" % c.getsockname()
    deadline = time.monotonic() + 10
    seen = b""
    while local.encode() not in seen and time.monotonic() < deadline:
        seen += (harness.read_line_with_deadline(inner.stdout, 10, "inner events") + "\n").encode()
    harness.check(local.encode() in seen, f"the inner sockwatch saw {local}: {seen[-500:]!r}")
    os.kill(child_of(inner), signal.SIGTERM)  # unshare itself ignores SIGTERM
    harness.check_eq(inner.wait(timeout=10), 0)
    for path in live:
        harness.check(not os.path.exists(path), f"{path} removed at the inner exit")
    for s in (c, a, lst):
        s.close()


def test_killed_sockwatch_in_pid_namespace_is_swept():
    harness.enter_new_netns()
    need_tracefs()
    harness.need("unshare")
    before = set(glob.glob(f"{TRACEFS}/instances/sockwatch-1-*"))
    inner = in_pid_namespace(sockwatch("--events", "--source", "tracepoint"), death="SIGKILL")
    harness.read_line_with_deadline(inner.stderr, 15, "the inner sources line")
    mine = set(glob.glob(f"{TRACEFS}/instances/sockwatch-1-*")) - before
    harness.check_eq(len(mine), 1, f"one new instance: {mine}")
    child = child_of(inner)
    inner.kill()  # unshare dies; --kill-child SIGKILLs sockwatch: no cleanup
    inner.wait(timeout=10)
    harness.wait_for(lambda: not os.path.exists(f"/proc/{child}"), timeout=10,
                     what="the killed sockwatch gone")
    path = mine.pop()
    harness.check(os.path.isdir(path), "SIGKILL leaves the instance behind")
    harness.on_cleanup(lambda: os.path.isdir(path) and os.rmdir(path))
    rc, _, err = faults.run(sockwatch("--events", "--source", "tracepoint", "--duration", "0.1"))
    harness.check_eq(rc, 0, err)
    harness.check(not os.path.exists(path), f"{path} removed by the next start")


# ---- without root -----------------------------------------------------------------------------

def test_without_root_works_and_says_once_what_it_cannot_see():
    harness.enter_new_netns()
    if os.geteuid() != 0:
        raise harness.Skip("needs root to become nobody")
    p = faults.start(faults.nonroot(sockwatch("--events", "-i", "0.05", "--duration", "3")))
    stop_at_cleanup(p)
    first = harness.read_line_with_deadline(p.stderr, 10, "the sources line")
    harness.check(re.match(r"^sockwatch: sources: destroy\+poll every 0\.05s \(tracepoint: .+\)$",
                           first), first)
    lst = harness.free_listener()
    c = socket.create_connection(lst.getsockname())
    a, _ = lst.accept()
    local = "%s:%d" % c.getsockname()
    line = ""
    deadline = time.monotonic() + 10
    while local not in line and time.monotonic() < deadline:
        line = harness.read_line_with_deadline(p.stdout, 10, f"an event for {local}")
    harness.check(local in line, line)
    p.send_signal(signal.SIGTERM)
    harness.check_eq(p.wait(timeout=10), 0)
    harness.check_eq(p.stderr.read(), b"", "one line about the sources, nothing more")
    for s in (c, a, lst):
        s.close()


if __name__ == "__main__":
    harness.main()
