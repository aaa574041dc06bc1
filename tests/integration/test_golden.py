"""Golden renderings of a recorded dump: sockls --replay through every format.

The dump (tests/golden/dumps/mix.dump) holds raw netlink replies recorded in a
namespace with every kind of socket; replaying it runs the real decoder, the
filter, the block streaming and every renderer, with no live kernel involved.
SOCKLAB_UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
"""
import json
import os

import harness
from harness import check, check_eq, run, tool

DUMP = os.path.join(harness.SOURCE, "tests/golden/dumps/mix.dump")
GOLDEN = os.path.join(harness.SOURCE, "tests/golden/replay")

CASES = {
    "all.ss": ["-a", "-n"],
    "all_columns.ss": ["-a", "-n", "-e", "-o", "-i", "-m"],
    "tcp.netstat": ["-tan", "--format", "netstat"],
    "all.netstat": ["-an", "--format", "netstat"],
    "tcp.windows": ["-tan", "--format", "windows"],
    "all.jsonl": ["-a", "--jsonl", "-e", "-o", "-i", "-m"],
    "all.json": ["-a", "--json"],
    "all.csv": ["-an", "--csv", "-o", "-m"],
    "established.ss": ["-tan", "state", "established"],
    "summary.ss": ["-a", "-s"],
    "by_port.ss": ["-tan", "--by", "port"],
    "filtered.ss": ["-tan", "( sport = :80 or dport > :1024 ) and not src ::1"],
}


def render(args):
    res = run([tool("sockls"), "--replay", DUMP] + args)
    check_eq(res.returncode, 0, f"sockls --replay {args}: {res.stderr}")
    return res.stdout


def test_replayed_dump_renders_as_recorded_in_every_format():
    update = os.environ.get("SOCKLAB_UPDATE_GOLDEN") == "1"
    mismatched = []
    for name, args in CASES.items():
        got = render(args)
        path = os.path.join(GOLDEN, name)
        if update:
            with open(path, "w") as f:
                f.write(got)
            continue
        check(os.path.exists(path), f"missing golden file {path} (SOCKLAB_UPDATE_GOLDEN=1)")
        with open(path) as f:
            if f.read() != got:
                mismatched.append(name)
    check_eq(mismatched, [], "renderings that differ from tests/golden/replay")


def test_replayed_json_is_valid_and_complete():
    objs = [json.loads(line) for line in render(["-a", "--jsonl"]).splitlines()]
    arr = json.loads(render(["-a", "--json"]))
    check_eq(arr, objs, "--json and --jsonl carry the same objects")
    states = {o["state"] for o in objs if o["netid"] == "tcp"}
    for st in ("LISTEN", "ESTABLISHED", "FIN_WAIT2", "CLOSE_WAIT", "TIME_WAIT", "SYN_RECV"):
        check(st in states, f"{st} in the replayed dump: {states}")
    check({o["netid"] for o in objs} >= {"tcp", "udp", "unix"}, "every table replayed")


if __name__ == "__main__":
    harness.main()
