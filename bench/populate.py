#!/usr/bin/env python3
"""Holds N established TCP sockets (N/2 loopback pairs), spread over several
processes because the open-file limit is 20000. Run it inside a network
namespace (the benches do): it widens the namespace's ephemeral port range.

Prints "ready N" once every socket is up, then holds them until stdin closes.
Used by the sockls, filter and sockwatch benchmarks.
"""
import os
import socket
import sys

PER_PROC_PAIRS = 8000  # 16000 fds + a listener, under the 20000 limit


def worker(index, pairs, wfd):
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((f"127.0.1.{index + 1}", 0))
    lst.listen(4096)
    addr = lst.getsockname()
    held = []
    src = f"127.0.2.{index + 1}"
    for _ in range(pairs):
        c = socket.socket()
        c.bind((src, 0))
        c.connect(addr)
        s, _ = lst.accept()
        held += [c, s]
    os.write(wfd, b"x")
    os.read(0, 1)  # hold until stdin closes
    os._exit(0)


def main():
    total = int(sys.argv[1])
    pairs = total // 2
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("10000 65000")
    rfd, wfd = os.pipe()
    kids = []
    i = 0
    while pairs > 0:
        n = min(PER_PROC_PAIRS, pairs)
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            worker(i, n, wfd)
        kids.append(pid)
        pairs -= n
        i += 1
    os.close(wfd)
    for _ in kids:
        if os.read(rfd, 1) != b"x":
            sys.exit("populate: a worker failed")
    print(f"ready {total}", flush=True)
    sys.stdin.read()
    for pid in kids:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
