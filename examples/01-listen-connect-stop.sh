#!/usr/bin/env bash
# The classic exercise in Windows netstat -an layout: start a server, connect, stop
# the server, and watch LISTENING, then ESTABLISHED, then TIME_WAIT on its port.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.bash"

rows() { sockls -tan --format windows | grep ":$port " || true; }
has() { rows | grep -q "$1"; }
established() { rows | grep -c ESTABLISHED || true; }

step "1. A server listens (nc -l -p 6666 in the exercise; port 0 here: the kernel picks)"
sockcat -v -d -l 127.0.0.1 0 2>"$WORK/server.err" &
server=$!
port=$(listening_port "$WORK/server.err")
wait_for 5 "LISTENING on $port" has LISTENING
show "sockls -tan --format windows | grep ':$port '"

step "2. A client connects: both ends ESTABLISHED"
sockcat -v -d --on-peer-close=close 127.0.0.1 "$port" 2>"$WORK/client.err" &
wait_for 5 "two ESTABLISHED rows" count_is 2 established
show "sockls -tan --format windows | grep ':$port '"

step "3. Stop the server: it closes first, so its side waits in TIME_WAIT"
kill "$server"
wait "$server" 2>/dev/null || true
wait_for 5 "TIME_WAIT on port $port" has TIME_WAIT
show "sockls -tan --format windows | grep ':$port '"
rows | grep TIME_WAIT | awk '{print $2}' | grep -q ":$port\$" ||
    fail "the TIME_WAIT is not on the server's side (local port $port)"

echo
echo "OK: LISTENING -> ESTABLISHED -> TIME_WAIT, as the exercise says."
echo "The active closer (here the server) keeps TIME_WAIT for 60 s: socklab explain time-wait"
