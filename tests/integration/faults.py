"""Using the tools as people do: at a terminal (a pty), and under faults.

- PtyProc: the tool's stdin (and by default stdout and stderr) is a real
  terminal whose controlling process group is the tool's, so ^C typed at the
  master is SIGINT, exactly as at a shell prompt.
- start(): fault set-ups in one place: fds 0-2 closed, stdout on /dev/full,
  a small `ulimit -n`, not root (setpriv to nobody).
- wait_blocked_writing(): waits until a process sits in a write to a full pipe.
- bad_input_table(): runs a table of bad command lines and checks each one
  gives exit 2 (usage) or 1 (runtime) and exactly one clean `tool: what: why`
  line on stderr, never a crash, a hang or a traceback.
"""
import fcntl
import os
import re
import resource
import select
import shlex
import signal
import subprocess
import termios
import time

import harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def nonroot(args):
    """The command run as nobody (uid 65534), with no supplementary groups."""
    harness.need("setpriv")
    return NOBODY + list(args)


class PtyProc:
    """A process whose stdin is a pty slave (stdout/stderr too unless given).

    read_until() collects what the tool shows on the terminal; type() sends
    keys (b"\\x03" is ^C, b"\\x04" is ^D at the start of a line).
    """

    def __init__(self, args, stdout=None, stderr=None, env=None, cols=80, rows=24, cwd=None):
        self.master, slave = os.openpty()
        # The window size a terminal has, so curses and line layouts behave.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, bytes(
            __import__("struct").pack("HHHH", rows, cols, 0, 0)))

        def child_setup():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args, stdin=slave,
            stdout=slave if stdout is None else stdout,
            stderr=slave if stderr is None else stderr,
            env=env, cwd=cwd, preexec_fn=child_setup, close_fds=True)
        os.close(slave)
        harness._procs.append(self.proc)
        harness.on_cleanup(self.close)
        self.screen = b""

    def type(self, data):
        os.write(self.master, data)

    def _pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not r:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the slave side is closed (the process ended)
            return None
        if not chunk:
            return None
        self.screen += chunk
        return True

    def read_until(self, pattern, timeout=10.0, what=None):
        """Waits until the terminal output matches `pattern` (bytes regex)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not rx.search(self.screen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise harness.TestFailure(
                    f"timed out after {timeout}s waiting for {what or pattern!r} on the terminal;"
                    f" screen so far: {self.screen[-2000:]!r}")
            if self._pump(min(left, 0.2)) is None and not rx.search(self.screen):
                raise harness.TestFailure(
                    f"terminal closed waiting for {what or pattern!r}; got {self.screen[-2000:]!r}")
        return rx.search(self.screen)

    def drain(self, timeout=0.0):
        while self._pump(timeout):
            pass

    def wait(self, timeout=10.0):
        """Waits for the exit status, reading the terminal meanwhile (so the tool never blocks)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise harness.TestFailure(f"{self.proc.args} still running after {timeout}s")
            if self._pump(0.05) is None:
                try:
                    return self.proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
                except subprocess.TimeoutExpired:
                    raise harness.TestFailure(f"{self.proc.args} still running after {timeout}s")
        self.drain()
        return self.proc.returncode

    def close(self):
        try:
            os.close(self.master)
        except OSError:
            pass


def _limits_and_closes(close=(), nofile=None):
    def setup():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        for fd in close:
            try:
                os.close(fd)
            except OSError:
                pass
    return setup


def start(args, close=(), nofile=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
          stdin=subprocess.DEVNULL, **kw):
    """Starts `args` with fds in `close` closed and RLIMIT_NOFILE `nofile`.

    A closed fd is closed in the child just before exec, as a shell's `>&-` does.
    """
    p = subprocess.Popen(args, stdin=stdin, stdout=stdout, stderr=stderr,
                         preexec_fn=_limits_and_closes(close, nofile), **kw)
    harness._procs.append(p)
    return p


def run(args, timeout=20, **kw):
    """start() to completion; returns (rc, stdout bytes, stderr bytes)."""
    p = start(args, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise harness.TestFailure(f"{args} still running after {timeout}s; stderr {err!r}")
    return p.returncode, out or b"", err or b""


def on_dev_full(args, timeout=20, **kw):
    """Runs with stdout on /dev/full (every write fails with ENOSPC)."""
    with open("/dev/full", "wb") as full:
        return run(args, timeout=timeout, stdout=full, **kw)


def wchan(pid):
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_blocked_writing(pid, timeout=20.0):
    """Waits until process `pid` (or one of its threads) sleeps in pipe_write."""
    def blocked():
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                    if "pipe_write" in f.read():
                        return True
            except OSError:
                pass
        return False
    harness.wait_for(blocked, timeout=timeout, what=f"pid {pid} blocked writing to a full pipe")


def stop_within(proc, sig, limit=1.0, what="the tool"):
    """Sends `sig` and checks the process leaves within `limit` seconds; returns rc."""
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=limit + 4)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure(f"{what} ignored {signal.Signals(sig).name} for {limit + 4}s")
    took = time.monotonic() - t0
    harness.check(took <= limit, f"{what} took {took:.2f}s to leave after "
                                 f"{signal.Signals(sig).name} (limit {limit}s)")
    return rc


ONE_LINE = re.compile(rb"^([a-z]+): [^\n]+\n\Z")


def check_error_line(tool, rc, err, want_rc, pattern=None, what=""):
    """rc is want_rc and stderr is exactly one `tool: what: why` line."""
    harness.check(rc == want_rc, f"{what}: exit {rc}, expected {want_rc}; stderr {err!r}")
    m = ONE_LINE.match(err)
    harness.check(m is not None, f"{what}: stderr is not one clean line: {err!r}")
    harness.check(m.group(1).decode() == tool, f"{what}: stderr does not start with '{tool}: ': {err!r}")
    if pattern:
        harness.check(re.search(pattern, err.decode(errors="replace")),
                      f"{what}: stderr {err!r} does not match {pattern!r}")


def bad_input_table(tool, path, timeout=10):
    """Runs every row of a bad-input table and returns (tried, clean).

    Rows: `RC<TAB>ARGS<TAB>REGEX`: the exit code, the arguments as shell words
    (no shell runs them; `{tmp}` is a scratch directory, `{nl}` a newline), a regex the
    single stderr line must match. Blank lines and `#` lines are skipped.
    Every failure is collected and reported together.
    """
    import tempfile
    tmp = harness.temp_dir(f"badinput-{tool}-")
    failures = []
    tried = 0
    with open(path, encoding="utf-8") as f:
        rows = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#")]
    for row in rows:
        parts = row.split("\t")
        if len(parts) != 3:
            failures.append(f"malformed row: {row!r}")
            continue
        want, argtext, pattern = parts
        args = [a.replace("{tmp}", tmp).replace("{nl}", "\n") for a in shlex.split(argtext)]
        tried += 1
        try:
            rc, _, err = run([harness.tool(tool)] + args, timeout=timeout)
            check_error_line(tool, rc, err, int(want), pattern, what=f"{tool} {argtext}")
        except harness.TestFailure as e:
            failures.append(str(e))
    if failures:
        raise harness.TestFailure(f"{len(failures)} of {tried} bad inputs misbehaved:\n  "
                                  + "\n  ".join(failures))
    print(f"{tool}: {tried} bad inputs tried, {tried} clean", flush=True)
    return tried


def full_pipe():
    """A pipe whose buffer is already full: (read_fd, write_fd).

    Give write_fd to a tool as its stdout and its very first write blocks, as
    when the reader of `tool | slow-reader` stops reading. Both fds are closed
    at cleanup (close write_fd in the parent yourself after starting the tool).
    """
    r, w = os.pipe()
    os.set_blocking(w, False)
    chunk = b"x" * 65536
    try:
        while True:
            os.write(w, chunk)
    except BlockingIOError:
        pass
    try:  # fill the last partial page too
        while True:
            os.write(w, b"x")
    except BlockingIOError:
        pass
    os.set_blocking(w, True)

    def close_both():
        for fd in (r, w):
            try:
                os.close(fd)
            except OSError:
                pass
    harness.on_cleanup(close_both)
    return r, w


def fd_target(pid, fd):
    """What fd `fd` of process `pid` points to ("/dev/null", "socket:[123]"...)."""
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def has_socket(pid):
    """True once process `pid` holds at least one socket."""
    try:
        return any((fd_target(pid, int(fd)) or "").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False
