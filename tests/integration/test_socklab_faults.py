"""socklab under faults: closed fds 0-2, stdout on /dev/full or a full pipe, signals
at every stage, durations too small to hold, and help/version whose output fails."""
import os
import signal
import subprocess

import faults
import harness


def socklab():
    return harness.tool("socklab")


def test_closed_stdout_is_never_reused_for_a_socket():
    # With fd 1 closed at start, the scenario's first socket would become fd 1 and
    # receive our own output; /dev/null must take the place instead.
    harness.enter_new_netns()
    for closed in (0, 1, 2):
        p = faults.start([socklab(), "run", "established", "--hold", "0"], close=(closed,))
        harness.wait_for(lambda: faults.has_socket(p.pid), what="the scenario's sockets")
        harness.check_eq(faults.fd_target(p.pid, closed), "/dev/null", f"fd {closed} after start")
        rc = faults.stop_within(p, signal.SIGTERM, 1.0, "socklab run")
        harness.check_eq(rc, 0, f"exit after SIGTERM with fd {closed} closed")


def test_stdout_on_dev_full_is_an_error():
    harness.enter_new_netns()
    for args in (["list"], ["explain", "time-wait"], ["explain"], ["--help"], ["--version"],
                 ["run", "listen", "--hold", "0.01"], ["tour", "--pause", "0"], ["doctor"]):
        rc, _, err = faults.on_dev_full([socklab()] + args, timeout=60)
        faults.check_error_line("socklab", rc, err, 1, r"^socklab: stdout: no space left on device",
                                what=f"socklab {' '.join(args)} > /dev/full")


def test_stdout_gone_ends_quietly():
    harness.enter_new_netns()
    p = faults.start([socklab(), "tour", "--pause", "0"], stdout=subprocess.PIPE)
    first = p.stdout.read(10)
    p.stdout.close()  # the reader goes away, as `socklab tour | head -c 10`
    harness.check(len(first) == 10, "some output before the reader left")
    rc = p.wait(timeout=60)
    err = p.stderr.read()
    harness.check_eq(rc, 0, f"exit after EPIPE; stderr {err!r}")
    harness.check_eq(err, b"", "nothing on stderr after EPIPE")


def test_signals_end_a_blocked_write_within_a_second():
    # stdout is a pipe nobody reads and that is already full: the very first line
    # blocks in write(2). Each stop signal must still end socklab, and release
    # the scenario's sockets.
    harness.enter_new_netns()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        for args in (["run", "listen", "--hold", "0"], ["tour", "--pause", "0"]):
            r, w = faults.full_pipe()
            p = faults.start([socklab()] + args, stdout=w)
            os.close(w)
            faults.wait_blocked_writing(p.pid)
            rc = faults.stop_within(p, sig, 1.0, f"socklab {' '.join(args)}")
            harness.check_eq(rc, 0, f"exit after {sig.name} while blocked")
            os.close(r)
            harness.check_eq(p.stderr.read(), b"", f"stderr after {sig.name}")


def test_signal_ends_a_hold_and_releases():
    harness.enter_new_netns()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p = faults.start([socklab(), "run", "close-wait", "--hold", "0"])
        harness.read_line_with_deadline(p.stdout, 10, "the first line")
        harness.wait_for(lambda: faults.has_socket(p.pid), what="the scenario's sockets")
        rc = faults.stop_within(p, sig, 1.0, "socklab run --hold 0")
        harness.check_eq(rc, 0, f"exit after {sig.name}")
        rest = p.stdout.read().decode()
        harness.check("interrupted; released: every socket closed" in rest,
                      f"says it released after {sig.name}: {rest!r}")


def test_tiny_hold_is_rounded_up_not_infinite():
    harness.enter_new_netns()
    for hold in ("0.0001", "500us", "0.0000001"):
        res = harness.run([socklab(), "run", "listen", "--hold", hold], timeout=20)
        harness.check_eq(res.returncode, 0, f"--hold {hold}: {res.stderr!r}")
        harness.check("holding for 0.001 s" in res.stdout, f"--hold {hold}: {res.stdout!r}")


def test_at_a_terminal_ctrl_c_releases():
    harness.enter_new_netns()
    t = faults.PtyProc([socklab(), "run", "time-wait", "--hold", "0"])
    t.read_until(rb"holding until Ctrl-C", 20)
    t.type(b"\x03")
    harness.check_eq(t.wait(5), 0, "exit after ^C at a terminal")
    t.read_until(rb"interrupted; released", 2)


def test_explain_rst_as_listed():
    res = harness.run([socklab(), "list"], check=True)
    harness.check("rst" in res.stdout, "list shows rst")
    res = harness.run([socklab(), "explain", "rst"])
    harness.check_eq(res.returncode, 0, f"explain rst: {res.stderr!r}")
    harness.check(res.stdout.startswith("RST close: "), f"explain rst: {res.stdout[:200]!r}")


if __name__ == "__main__":
    harness.main()
