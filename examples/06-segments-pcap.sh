#!/usr/bin/env bash
# The segments behind a state: socklab captures the CLOSING scenario in a private
# namespace (no root), prints the ladder, writes a pcap; tcpdump reads it back and
# sees the same segments, and the filter `socklab explain closing` names picks the
# two FINs that cross.
#
# Unlike the others it does not re-run itself in a namespace (common.bash): socklab
# makes its own private one, and tcpdump -r as root drops to its own user, which a
# user namespace cannot map.
set -euo pipefail
EXAMPLE=$(basename "$0" .sh)
if ! command -v socklab >/dev/null; then
    found=$("$(dirname "$0")/../scripts/find-tool" socklab) || { echo "$EXAMPLE: socklab: not found (build first)" >&2; exit 1; }
    PATH="$(dirname "$found"):$PATH"
fi
fail() {
    echo "$EXAMPLE: FAILED: $*" >&2
    exit 1
}
step() { printf '\n== %s\n' "$*"; }
command -v tcpdump >/dev/null || fail "tcpdump: not found (scripts/deps test installs it)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"  # tcpdump -r as root reads as its own user

step "1. socklab run closing --segments --pcap closing.pcap"
socklab run closing --segments --hold 0.01 --pcap "$WORK/closing.pcap" >"$WORK/ladder.txt"
sed -n '/^segments on lo/,/^our state machine/p' "$WORK/ladder.txt"
grep -q 'agree on every side' "$WORK/ladder.txt" || fail "our state machine and the kernel differ"
ladder_count=$(sed -n 's/^\([0-9]*\) segments, .*/\1/p' "$WORK/ladder.txt")

step "2. tcpdump -nn -r closing.pcap: the same segments"
tcpdump -nn -r "$WORK/closing.pcap" 2>/dev/null | tee "$WORK/all.txt"
pcap_count=$(wc -l <"$WORK/all.txt")
((pcap_count == ladder_count)) || fail "tcpdump read $pcap_count segments, the ladder has $ladder_count"

step "3. the filter socklab explain closing names, on the file"
filter=$(socklab explain closing | sed -n "s/^    tcpdump -n -i any '\(.*\)'$/\1/p")
port=$(sed -n '1s/.* > [^ ]*\.\([0-9]*\): .*/\1/p' "$WORK/all.txt")
echo "tcpdump -nn -r closing.pcap '${filter//PORT/$port}'"
tcpdump -nn -r "$WORK/closing.pcap" "${filter//PORT/$port}" 2>/dev/null | tee "$WORK/fins.txt"
(($(grep -c 'Flags \[F' "$WORK/fins.txt") == 2)) || fail "not both FINs"

echo
echo "OK: the ladder, tcpdump and the explain filter agree: both FINs crossed, one ACK lost."
echo "Try: socklab run last-ack --segments --pcap last-ack.pcap; wireshark last-ack.pcap"
