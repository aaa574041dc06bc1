#!/usr/bin/env bash
# A full accept queue: a server that never accept()s, backlog 1. The kernel
# completes two connections into the queue, then drops further SYNs: those
# clients sit in SYN_SENT, retransmitting, until they time out.
source "$(dirname "$0")/common.bash"

syn_sent() { sockls -tnH state syn-sent "dport = :$port" | grep -c SYN-SENT || true; }

step "1. A listener with backlog 1 that never calls accept()"
sockcat -v -l --no-accept --backlog 1 127.0.0.1 0 2>"$WORK/server.err" &
port=$(listening_port "$WORK/server.err")

step "2. Four clients connect"
for _ in 1 2 3 4; do
    sockcat -d -w 30 127.0.0.1 "$port" 2>/dev/null &
done
wait_for 10 "two clients stuck in SYN_SENT" test "$(syn_sent)" -ge 2

step "3. The listener's Recv-Q is its full accept queue; Send-Q the backlog"
show "sockls -ltn 'sport = :$port'"
step "4. The clients the queue took are ESTABLISHED; the others wait in SYN_SENT"
show "sockls -tn state established state syn-sent 'dport = :$port'"

echo
echo "OK: $(syn_sent) clients stuck in SYN_SENT behind a full accept queue."
echo "Hold it yourself: socklab run syn-sent; why: socklab explain syn-sent"
