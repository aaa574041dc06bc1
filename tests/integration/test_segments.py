"""socklab run/tour --segments: the segments behind every state, without root.

Every scenario, IPv4 and IPv6, as root and as nobody: the ladder has the segments
that define the state, our state machine agrees with the kernel on every side, the
relative numbers start at 0 on each SYN, and the pcap file is read by tcpdump -r and
tshark -r with the same segments and flags. socklab makes its own private
namespaces (they vanish with it), so nothing here touches the host's network.
Scenarios run side by side to keep the whole matrix fast.
"""
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import harness

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
SCENARIOS = ["listen", "syn-sent", "syn-recv", "established", "fin-wait-1", "fin-wait-2",
             "close-wait", "closing", "last-ack", "time-wait", "closed", "rst"]

SEGMENT = re.compile(r"^\s*(\d+\.\d{6})  (\S.*?)\s+> (\S.*?)\s+([A-Z-]+|none)\s+(\d+)\s+(\d+|-)"
                     r"\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)$")
BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20,
        "ECE": 0x40, "CWR": 0x80}


def flag_bits(text):
    return 0 if text == "none" else sum(BITS[f] for f in text.split("-"))


def tcpdump_letters(bits):
    """tcpdump's [S.] spelling of a flag set."""
    out = "".join(l for b, l in ((0x02, "S"), (0x01, "F"), (0x08, "P"), (0x04, "R"),
                                 (0x20, "U"), (0x40, "E"), (0x80, "W")) if bits & b)
    return "[" + out + ("." if bits & 0x10 else "") + "]"


def parse(out):
    """The ladder's segments: dicts with src, dst, flags (bits), seq, ack, len, fate."""
    segs = []
    for line in out.splitlines():
        m = SEGMENT.match(line)
        if m:
            segs.append({"src": m.group(2), "dst": m.group(3), "flags": flag_bits(m.group(4)),
                         "seq": int(m.group(5)), "ack": m.group(6), "len": int(m.group(8)),
                         "fate": "delivered", "retrans": False, "line": line})
        elif segs and line.strip().startswith("^ DROPPED"):
            segs[-1]["fate"] = "dropped"
        elif segs and line.strip().startswith("^ ignored"):
            segs[-1]["fate"] = "ignored"
        elif segs and line.strip() == "^ retransmission":
            segs[-1]["retrans"] = True
    return segs


def has(segs, src, bits, dst=None, none_of=0):
    return [s for s in segs if s["src"] == src and (s["flags"] & bits) == bits
            and not s["flags"] & none_of and (dst is None or s["dst"] == dst)]


def check_defining(name, segs, out):
    """The segments that define each state (the issue's acceptance list)."""
    S, A, F, R = 0x02, 0x10, 0x01, 0x04
    ok = lambda cond, what: harness.check(cond, f"{name}: {what}\n{out}")
    if name in ("listen", "closed"):
        ok(segs == [], "a scenario without a connection sends no segment")
        return
    if name == "syn-sent":
        syns = has(segs, "second client", S, none_of=A)
        ok(len(syns) >= 2, "at least one SYN retransmission of the second client")
        ok(any(s["retrans"] for s in syns), "the retransmission is marked")
        ok(not has(segs, "listener", S | A, dst="second client"), "no SYN-ACK to the second client")
        return
    ok(has(segs, "client", S, none_of=A) and has(segs, "server", S | A) and
       has(segs, "client", A, none_of=S | F | R), "the three-way handshake")
    if name == "syn-recv":
        ok(all(s["len"] == 0 for s in segs), "no data under TCP_DEFER_ACCEPT")
        ok(any(s["fate"] == "ignored" for s in has(segs, "client", A, none_of=S)),
           "the bare ACK is marked as ignored by TCP_DEFER_ACCEPT")
    if name == "established":
        ok(not any(s["flags"] & (F | R) for s in segs), "no FIN or RST")
    if name == "fin-wait-1":
        ok(has(segs, "client", F), "the client's FIN is on the wire")
        ok(any(s["fate"] == "dropped" for s in has(segs, "server", A, dst="client")),
           "the server's ACK of it is dropped on purpose")
    if name in ("fin-wait-2", "close-wait"):
        fin = has(segs, "client", F)
        ok(fin and has(segs, "server", A, dst="client"), "the client's FIN and the server's ACK")
    if name == "closing":
        cfin, sfin = has(segs, "client", F), has(segs, "server", F)
        ok(cfin and sfin, "both FINs are on the wire")
        # The server's FIN does not acknowledge the client's FIN (relative seq 1).
        ok(all(s["ack"] == "1" for s in sfin), "the server's FIN does not ACK the client's")
        first_ack_of_fin = [i for i, s in enumerate(segs) if s["src"] == "client"
                            and s["flags"] & A and not s["flags"] & F and s["ack"] == "2"]
        ok(first_ack_of_fin and segs.index(sfin[0]) < first_ack_of_fin[0],
           "both FINs are sent before either is acknowledged")
    if name == "last-ack":
        ok(has(segs, "server", F), "the server's FIN is on the wire")
        ok(any(s["fate"] == "dropped" for s in has(segs, "client", A, dst="server")),
           "the client's last ACK is dropped on purpose")
    if name == "time-wait":
        ok(has(segs, "server", F) and has(segs, "client", F), "both FINs")
    if name == "rst":
        ok(has(segs, "client", R) and not any(s["flags"] & F for s in segs), "a RST and no FIN")
    for s in segs:
        if s["flags"] & S:
            ok(s["seq"] == 0, f"relative seq 0 on each SYN: {s['line']}")
        if s["flags"] & S and s["flags"] & A:
            ok(s["ack"] == "1", f"the SYN-ACK acknowledges J+1: {s['line']}")


def explain_filter(name):
    """The tcpdump filter `socklab explain NAME` names ("" for none)."""
    text = harness.run([harness.tool("socklab"), "explain", name], check=True).stdout
    m = re.search(r"^segments on a real host.*\n    tcpdump -n -i any '([^']*)'$", text, re.M)
    return m.group(1) if m else ""


def read_pcap(name, path, out, segs):
    """tcpdump -r and tshark -r see the ladder's segments, same count, same flags; the
    filter `socklab explain` names picks the segments it says out of them."""
    td = harness.run(["tcpdump", "-nn", "-r", path], check=True).stdout
    letters = re.findall(r"Flags (\[[^\]]*\])", td)
    harness.check_eq(letters, [tcpdump_letters(s["flags"]) for s in segs], f"tcpdump -r\n{out}")
    flt = explain_filter(name)
    harness.check(bool(flt) == (name != "closed"), f"{name}: a filter unless CLOSED: {flt!r}")
    if segs:
        port = re.search(r"> \S+\.(\d+):", td).group(1)
        picked = harness.run(["tcpdump", "-nn", "-r", path, flt.replace("PORT", port)],
                             check=True).stdout
        want = 0x01 | 0x04 if "tcp-fin" in flt else 0x02 | 0x04 if "tcp-syn" in flt else \
            0x04 if "tcp-rst" in flt else 0xff
        harness.check_eq(len(picked.splitlines()), len([s for s in segs if s["flags"] & want]),
                         f"{name}: tcpdump with {flt!r}\n{picked}\n{out}")
    ts = harness.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "tcp.flags"],
                     check=True, env=dict(os.environ, HOME=os.path.dirname(path))).stdout
    harness.check_eq([int(v, 16) for v in ts.split()], [s["flags"] for s in segs],
                     f"tshark -r\n{out}")


def one(name, family, prefix, folder):
    pcap = os.path.join(folder, f"{name}-{family}.pcap")
    res = harness.run(prefix + [harness.tool("socklab"), "run", name, "--segments", "--family",
                                family, "--hold", "0.01", "--pcap", pcap], timeout=30)
    harness.check(res.returncode == 0, f"{name} -{family}: exit {res.returncode}: {res.stderr}")
    out = res.stdout
    harness.check("our state machine and the kernel agree on every side" in out,
                  f"{name} -{family}: the machine and the kernel disagree\n{out}")
    harness.check("DIFFER" not in out, f"{name} -{family}\n{out}")
    segs = parse(out)
    total = re.search(r"^(\d+) segments, ", out, re.M)
    harness.check(total and int(total.group(1)) == len(segs), f"{name}: every segment parsed\n{out}")
    check_defining(name, segs, out)
    harness.check(re.search(r"nsenter -t \d+ (-U )?-n ss -tan", out), "the nsenter line")
    harness.check(re.search(r"look: nsenter -t \d+ (-U )?-n sockls -tan ", out),
                  "the look line enters the namespace too")
    return name, pcap, out, segs


def matrix(family, as_nobody):
    harness.need("tcpdump")
    harness.need("tshark")
    prefix = []
    if as_nobody:
        if os.geteuid() == 0:
            harness.need("setpriv")
            prefix = NOBODY
    elif os.geteuid() != 0:
        raise harness.Skip("needs root (the nobody variant runs without it)")
    folder = harness.temp_dir("socklab-seg-")
    os.chmod(folder, 0o777)
    with ThreadPoolExecutor(max_workers=6) as pool:
        runs = list(pool.map(lambda n: one(n, family, prefix, folder), SCENARIOS))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda r: read_pcap(*r), runs))


def test_every_scenario_ipv4_root():
    matrix("4", False)


def test_every_scenario_ipv6_root():
    matrix("6", False)


def test_every_scenario_ipv4_nobody():
    matrix("4", True)


def test_every_scenario_ipv6_nobody():
    matrix("6", True)


def test_queued_fin_is_explained():
    """The default recipes' FIN is queued: the kernel's state differs, and we say why."""
    prefix = NOBODY if os.geteuid() == 0 else []
    res = harness.run(prefix + [harness.tool("socklab"), "run", "fin-wait-1", "--segments",
                                "--queued-fin", "--hold", "0.01"], timeout=30)
    harness.check_eq(res.returncode, 0, res.stderr)
    segs = parse(res.stdout)
    harness.check(not any(s["flags"] & 0x01 for s in segs), f"no FIN left\n{res.stdout}")
    harness.check(re.search(r"client\s+ours ESTABLISHED\s+kernel FIN_WAIT_1 .*DIFFER", res.stdout),
                  f"the disagreement is printed\n{res.stdout}")
    harness.check("why: the kernel enters FIN_WAIT_1 when shutdown() queues" in res.stdout,
                  f"and explained\n{res.stdout}")
    harness.check("differ on 1 side" in res.stdout, res.stdout)


def test_tour_segments_under_a_minute_without_root():
    prefix = NOBODY if os.geteuid() == 0 else []
    t0 = time.monotonic()
    res = harness.run(prefix + [harness.tool("socklab"), "tour", "--segments", "--pause", "0"],
                      timeout=90)
    took = time.monotonic() - t0
    harness.check_eq(res.returncode, 0, res.stderr)
    harness.check(took < 60, f"tour --segments took {took:.1f}s")
    harness.check_eq(res.stdout.count("our state machine and the kernel agree on every side"),
                     len(SCENARIOS), res.stdout)
    print(f"tour --segments without root: {took:.2f}s")


def test_bad_segment_flags():
    res = harness.run([harness.tool("socklab"), "run", "established", "--pcap", "/tmp/x.pcap"])
    harness.check_eq(res.returncode, 2, res.stderr)
    harness.check(res.stderr.startswith("socklab: usage: ") and "--segments" in res.stderr,
                  res.stderr)
    res = harness.run([harness.tool("socklab"), "run", "established", "--segments", "--hold",
                       "0.01", "--pcap", "/nonexistent/dir/x.pcap"])
    harness.check_eq(res.returncode, 1, res.stderr)
    harness.check(res.stderr.startswith("socklab: --pcap: /nonexistent/dir/x.pcap"), res.stderr)
    harness.check_eq(res.stderr.count("\n"), 1, res.stderr)


if __name__ == "__main__":
    harness.main()
