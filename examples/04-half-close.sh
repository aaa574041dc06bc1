#!/usr/bin/env bash
# Half-close: a client sends its whole request, shuts down its sending side
# (FIN), and still receives the whole answer. An echo server that finishes
# sending after the peer's FIN returns every byte; nothing is truncated.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.bash"

step "1. An echo server that finishes its answer after the client's FIN"
sockcat -v -l --echo --on-peer-close=finish 127.0.0.1 0 2>"$WORK/server.err" &
port=$(listening_port "$WORK/server.err")

step "2. The client sends 1 MB, then shutdown(SHUT_WR) at EOF, and keeps reading"
head -c 1000000 /dev/urandom >"$WORK/request"
show "timeout 20 sockcat --show-state --on-eof=shutdown 127.0.0.1 $port <'$WORK/request' >'$WORK/answer' 2>'$WORK/client.err'"
cat "$WORK/client.err"
grep -q 'sent FIN after stdin EOF' "$WORK/client.err" || fail "the client never half-closed"
sent=$(stat -c %s "$WORK/request")
got=$(stat -c %s "$WORK/answer")
echo "sent $sent bytes, got $got back"
cmp -s "$WORK/request" "$WORK/answer" || fail "the answer differs from the request ($got of $sent bytes)"

echo
echo "OK: the client got its whole answer after shutting its sending side."
echo "FIN means 'I am done sending', not 'stop sending to me': socklab run fin-wait-2"
