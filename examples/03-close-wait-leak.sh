#!/usr/bin/env bash
# Hunting a CLOSE_WAIT leak to its process: a server that never closes the
# connections its clients closed. sockls -p and socklab doctor name it.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.bash"

close_wait() { sockls -tnH state close-wait "sport = :$port" | wc -l; }  # one state: no State column

step "1. A leaky server: keeps every connection open after the peer's FIN"
sockcat -v -l -k -d --on-peer-close=hold 127.0.0.1 0 2>"$WORK/server.err" &
server=$!
port=$(listening_port "$WORK/server.err")

step "2. Twelve clients connect and close at once"
for _ in $(seq 12); do
    timeout 10 sockcat --on-eof=close 127.0.0.1 "$port" </dev/null
done
wait_for 10 "12 CLOSE_WAIT sockets" count_is 12 close_wait

step "3. Which process holds them? (netstat -tnp | grep CLOSE_WAIT, lsof -i)"
show "sockls -tnp state close-wait | head -n 4"

step "4. The doctor counts per port and process and names the leak"
rc=0
socklab doctor >"$WORK/doctor.txt" || rc=$?
[ "$rc" -eq 3 ] || fail "socklab doctor exited $rc, not 3 (found)"
cat "$WORK/doctor.txt"
grep -q "CLOSE_WAIT leak in pid $server (sockcat) on port $port" "$WORK/doctor.txt" ||
    fail "socklab doctor did not name pid $server on port $port"

echo
echo "OK: the leak is pid $server (sockcat), port $port. Only the application's close()"
echo "ends CLOSE_WAIT; no sysctl does (socklab explain close-wait)."
