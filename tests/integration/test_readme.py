"""Every command the README shows works as written after its first command.

The README's sh blocks are read; each command of ours runs with the built tools
on PATH, in a fresh network namespace of its own, from a scratch directory
holding the files the examples name (big.bin, request). A client example gets
a listener on its port inside that namespace. A command passes when it exits 0
(3 for a --warn threshold), or is still running after a few seconds (holds,
listeners, live views): that is what it is for. A usage error, an unknown
command or a runtime failure fails the test.
"""
import os
import re
import socket
import subprocess

import harness

SKIP = (
    "./scripts/demo", "./scripts/test",  # the two set-up commands themselves
    "scripts/deps", "cmake --workflow",  # what they run, already exercised by CI
    "export PATH",  # applied below
)
RUNNING_OK = 124  # timeout(1): still running when the few seconds were up


def readme_commands():
    text = open(os.path.join(harness.SOURCE, "README.md"), encoding="utf-8").read()
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                line = line[2:]
            elif not line or line.startswith(("#", " ")) or re.match(r"^\d{4}-", line):
                continue  # comments and sample output
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith(SKIP):
                cmds.append(line)
    return cmds


def run_one(cmd, work):
    if " -z" in cmd:  # a scan: a listener on its last port (a number or a service name)
        last = cmd.split()[-1]
        port = last if last.isdigit() else str(socket.getservbyname(last, "tcp"))
    else:
        m = re.search(r"127\.0\.0\.1 (\d+)", cmd)
        port = m.group(1) if m else None
    setup = "ip link set lo up"
    if port and " -l" not in cmd:  # a client or a scan: give it a server
        setup += f"; sockcat -lk --echo {port} </dev/null >/dev/null 2>&1 &" \
                 f" for i in $(seq 100); do sockls -tlnH 'sport = :{port}' | grep -q . && break;" \
                 " sleep 0.05; done"  # bounded wait for the listener, inside the namespace
    if cmd.startswith(("ctest", "cmake", "scripts/", "bench/")):
        work = harness.SOURCE  # the developer commands run from the checkout
    # The helper listener must not outlive the command (nor keep the namespace alive).
    script = f"{setup}; timeout -s INT 3 bash -c {shquote(cmd)}; rc=$?;" \
             " kill $(jobs -p) 2>/dev/null; wait; exit $rc"
    env = dict(os.environ, PATH=f"{harness.BIN}:{os.environ['PATH']}")
    return subprocess.run(["unshare", "-n", "bash", "-c", script], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def test_every_readme_command_works_as_written():
    cmds = readme_commands()
    harness.check(len(cmds) >= 25, f"found only {len(cmds)} README commands: {cmds}")
    work = harness.temp_dir("readme-")
    with open(os.path.join(work, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    with open(os.path.join(work, "request"), "wb") as f:
        f.write(b"GET / HTTP/1.0\r\n\r\n")
    made_ns = subprocess.run(["ip", "netns", "add", "myns"], capture_output=True).returncode == 0
    if made_ns:  # `sockls -N myns` in the README
        harness.on_cleanup(lambda: subprocess.run(["ip", "netns", "delete", "myns"]))
    bad = []
    for cmd in cmds:
        res = run_one(cmd, work)
        ok = res.returncode in (0, RUNNING_OK) or (res.returncode == 3 and "--warn" in cmd) \
            or (res.returncode == 130 and "sockcat" in cmd)
        if not ok:
            bad.append(f"{cmd!r}: exit {res.returncode}: {res.stderr.strip()[-300:]!r}")
    harness.check(not bad, f"{len(bad)} of {len(cmds)} README commands fail:\n  " + "\n  ".join(bad))
    print(f"{len(cmds)} README commands run", flush=True)


if __name__ == "__main__":
    harness.main()
