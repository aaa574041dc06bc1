#!/usr/bin/env bash
# A full accept queue: a server that never accept()s, backlog 1. The kernel
# completes two connections into the queue, then drops further SYNs: those
# clients sit in SYN_SENT, retransmitting, until they time out.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.bash"

# Lines, not the word: with one state asked for, sockls (like ss) drops the State column.
syn_sent() { sockls -tnH state syn-sent "dport = :$port" | wc -l; }
clients() { sockls -tnH state established state syn-sent "dport = :$port" | wc -l; }

step "1. A listener with backlog 1 that never calls accept()"
sockcat -v -l --no-accept --backlog 1 127.0.0.1 0 2>"$WORK/server.err" &
port=$(listening_port "$WORK/server.err")

step "2. Four clients connect, one after the other"
for i in 1 2 3 4; do
    sockcat -d -w 30 127.0.0.1 "$port" 2>/dev/null &
    wait_for 5 "client $i to connect or get stuck" count_is "$i" clients
done
wait_for 5 "two clients stuck in SYN_SENT" count_is 2 syn_sent

step "3. The listener's Recv-Q is its full accept queue; Send-Q the backlog"
show "sockls -ltn 'sport = :$port'"
step "4. The clients the queue took are ESTABLISHED; the others wait in SYN_SENT"
show "sockls -tn state established state syn-sent 'dport = :$port'"

echo
echo "OK: $(syn_sent) clients stuck in SYN_SENT behind a full accept queue."
echo "Hold it yourself: socklab run syn-sent; why: socklab explain syn-sent"
