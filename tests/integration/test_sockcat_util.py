"""Helpers shared by the sockcat integration tests (no tests here): servers, ports, hashes."""
import hashlib
import os
import re
import subprocess
import tempfile

import harness

NC = "/bin/nc.openbsd"


def sockcat():
    return harness.tool("sockcat")


def tmpdir():
    d = tempfile.TemporaryDirectory(prefix="sockcat-test-")
    harness.on_cleanup(d.cleanup)
    return d.name


def random_file(directory, name, size):
    """Writes `size` random bytes to directory/name once; returns (path, sha256 hex)."""
    path = os.path.join(directory, name)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 22))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return path, h.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                return h.hexdigest()
            h.update(b)


def read_port(proc, pattern=r"(?:Listening|Bound) on \S+ (\d+)", timeout=10.0):
    """Reads stderr lines until the listening line; returns the port as an int."""
    lines = []
    while True:
        line = harness.read_line_with_deadline(proc.stderr, timeout, what=f"/{pattern}/ (saw {lines})")
        lines.append(line)
        m = re.search(pattern, line)
        if m:
            return int(m.group(1))


def start_server(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pattern=None):
    """Starts a listening sockcat/nc/socat, waits for its listening line, returns (proc, port)."""
    p = harness.spawn(args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    port = read_port(p, pattern or r"(?:Listening|Bound) on \S+ (\d+)")
    return p, port


def sockcat_server(*flags, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, host="127.0.0.1"):
    return start_server([sockcat(), "-l", "-v", *flags, host, "0"], stdin=stdin, stdout=stdout)


def wait_exit(proc, timeout=60, what="process"):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure(f"{what} did not exit within {timeout}s")


def stderr_text(proc):
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""
