"""Shared helpers for integration tests: binaries, deadlines, namespaces, cleanup.

Each test file defines `def test_<name>():` functions and ends with
`harness.main()`. CMake registers every function as its own ctest test
(`integration.<file>.<name>`), run as `python3 test_<file>.py test_<name>`.

Rules of the house (ARCHITECTURE.md, tests/): loopback or namespaces we create only,
port 0 and read it back, wait for conditions with deadlines (never bare
sleeps), and clean up every process, socket and namespace we made.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

BIN = os.environ.get("SOCKLAB_BIN", os.path.join(os.path.dirname(__file__), "../../build/dev/apps"))
SOURCE = os.environ.get("SOCKLAB_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))

_procs = []
_cleanups = []


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    """Raised when a prerequisite the test cannot provide is missing (reported, counted).

    A run whose tests all skipped exits SKIP_CODE, which CMake declares as the
    SKIP_RETURN_CODE: ctest then reports the test as skipped, never as passed."""


SKIP_CODE = 77


def sanitized():
    """True under the ASan+UBSan preset (its test preset sets ASAN_OPTIONS): memory
    ceilings mean nothing there and the sanitizer runtime needs fds of its own."""
    return "ASAN_OPTIONS" in os.environ


# A memory ceiling that ASan's shadow memory and quarantine do not break.
RSS_SLACK_KIB = 96 * 1024 if "ASAN_OPTIONS" in os.environ else 0


def tool(name):
    """Absolute path of one of our binaries."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise TestFailure(f"binary not built: {path}")
    return path


def need(program):
    path = shutil.which(program)
    if not path:
        raise TestFailure(f"{program} is not installed (the README's test command installs it)")
    return path


def run(args, timeout=60, check=False, input=None, env=None, text=True):
    """Runs a command to completion with a deadline; returns CompletedProcess."""
    res = subprocess.run(args, capture_output=True, timeout=timeout, input=input, env=env, text=text)
    if check and res.returncode != 0:
        raise TestFailure(f"{args} exited {res.returncode}: {res.stderr!r}")
    return res


def spawn(args, **kw):
    """Starts a process that is killed at the end of the test."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = subprocess.Popen(args, **kw)
    _procs.append(p)
    return p


def on_cleanup(fn):
    _cleanups.append(fn)


def temp_dir(prefix):
    """A new private directory, removed with everything in it at the end of the test."""
    path = tempfile.mkdtemp(prefix=prefix)
    on_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def terminate_at_cleanup(p, timeout=10):
    """At the end of the test: SIGTERM (so the process can clean up after itself),
    SIGKILL only if it has not ended within `timeout` seconds."""
    def stop():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
    on_cleanup(stop)


def wait_for(cond, timeout=10.0, interval=0.01, what="condition"):
    """Polls cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)  # polling interval of a deadline wait, not synchronisation
        delay = min(delay * 2, 0.2)


def wait_stable(read, timeout=15.0, interval=0.05, what="a reading"):
    """Calls read() until two readings in a row agree, with a deadline; returns it.

    For kernel figures that move for a moment after a change (the Send-Q of a
    socket whose peer's window just filled), so two listings compare equal.
    """
    last = [None]

    def agreed():
        now = read()
        same, last[0] = now == last[0], now
        return same
    wait_for(agreed, timeout=timeout, interval=interval, what=f"{what} to settle")
    return last[0]


def read_line_with_deadline(stream, timeout=10.0, what="a line"):
    """Reads one line from a pipe with a deadline (uses select)."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure(f"timed out waiting for {what}; got {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        ch = os.read(fd, 1)
        if not ch:
            raise TestFailure(f"EOF while waiting for {what}; got {buf!r}")
        if ch == b"\n":
            return buf.decode(errors="replace")
        buf += ch


def read_until_line(stream, prefix, timeout=10.0, limit=20):
    """Reads lines (at most `limit`) until one starts with `prefix`; returns it.

    A unix listener says "Bound on PATH" before "Listening on PATH", as nc does."""
    deadline = time.monotonic() + timeout
    for _ in range(limit):
        line = read_line_with_deadline(stream, max(deadline - time.monotonic(), 0.01), prefix)
        if line.startswith(prefix):
            return line
    raise TestFailure(f"no line starting with {prefix!r} in the first {limit}")


CLONE_NEWNET = 0x40000000


def enter_new_netns():
    """Moves this process into a fresh network namespace with lo up.

    Everything we start afterwards lives there too; the namespace (and every
    TIME_WAIT in it) disappears when the last process in it exits.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise TestFailure(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())} (needs root)")
    run(["ip", "link", "set", "lo", "up"], check=True)


class NamedNetns:
    """`ip netns add` a uniquely named namespace; deleted on exit."""

    def __init__(self, prefix="socklab-test"):
        self.name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def __enter__(self):
        run(["ip", "netns", "add", self.name], check=True)
        run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        on_cleanup(self.delete)
        return self

    def exec_args(self, args):
        return ["ip", "netns", "exec", self.name] + list(args)

    def delete(self):
        run(["ip", "netns", "delete", self.name])

    def __exit__(self, *exc):
        self.delete()


def free_listener(host="127.0.0.1", family=socket.AF_INET, backlog=16):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(backlog)
    return s


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def check_eq(a, b, msg=""):
    if a != b:
        raise TestFailure(f"{msg}\n  left:  {a!r}\n  right: {b!r}")


def _cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except Exception:
            pass
    for fn in reversed(_cleanups):
        try:
            fn()
        except Exception:
            traceback.print_exc()
    _procs.clear()
    _cleanups.clear()


def main():
    """Runs the named test functions (default: all) of the calling module."""
    mod = sys.modules["__main__"]
    names = sys.argv[1:] or sorted(n for n in dir(mod) if n.startswith("test_"))
    passed = failed = skipped = 0
    for n in names:
        fn = getattr(mod, n, None)
        if fn is None:
            print(f"no such test: {n}", file=sys.stderr)
            failed += 1
            continue
        t0 = time.monotonic()
        try:
            fn()
            passed += 1
            print(f"PASS {n} ({time.monotonic() - t0:.2f}s)", flush=True)
        except Skip as e:
            skipped += 1
            print(f"SKIP {n}: {e}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {n}", flush=True)
            traceback.print_exc()
        finally:
            _cleanup()
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    sys.exit(1 if failed else (SKIP_CODE if skipped and not passed else 0))
