#!/usr/bin/env bash
# RST versus FIN: a FIN close is orderly and leaves the closer in TIME_WAIT;
# an abortive close (SO_LINGER 0) sends RST, skips TIME_WAIT, and the peer
# sees "connection reset by peer".
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.bash"

time_wait_to() { sockls -tnH state time-wait "dport = :$1" | wc -l; }  # one state: no State column

step "1. FIN: the client sends a line and closes normally"
sockcat -v -l --discard 127.0.0.1 0 2>"$WORK/fin.err" &
fin_server=$!
fin_port=$(listening_port "$WORK/fin.err")
echo hello | timeout 10 sockcat --on-eof=close 127.0.0.1 "$fin_port"
wait "$fin_server" || fail "the FIN server exited $? (stderr: $(cat "$WORK/fin.err"))"
wait_for 5 "the client's TIME_WAIT" count_is 1 time_wait_to "$fin_port"
show "sockls -tn state time-wait 'dport = :$fin_port'"

step "2. RST: the same, but the client closes with SO_LINGER {1, 0}"
sockcat -v -l --discard 127.0.0.1 0 2>"$WORK/rst.err" &
rst_server=$!
rst_port=$(listening_port "$WORK/rst.err")
echo hello | timeout 10 sockcat --on-eof=rst 127.0.0.1 "$rst_port"
status=0
wait "$rst_server" || status=$?
echo "the server exited $status: $(grep -i reset "$WORK/rst.err" || true)"
((status == 1)) || fail "the server should exit 1 after the RST, not $status"
grep -qi 'connection reset by peer' "$WORK/rst.err" || fail "no 'connection reset by peer'"
show "sockls -tan 'dport = :$rst_port or sport = :$rst_port'"
(($(time_wait_to "$rst_port") == 0)) || fail "a RST close left a TIME_WAIT"

echo
echo "OK: FIN left the closer in TIME_WAIT; RST left nothing and reset the peer."
echo "Hold them yourself: socklab run time-wait; socklab run rst"
