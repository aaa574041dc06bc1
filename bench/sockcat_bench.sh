#!/usr/bin/env bash
# sockcat benchmark: 2 GiB one-way over loopback, from a file and from a pipe, against
# OpenBSD nc, ncat and socat -b 131072 in the same run. Each tool talks to itself
# (receiver -> /dev/null). Prints medians of RUNS runs: wall seconds, CPU seconds
# (user+sys of sender and receiver), and ratios to sockcat. Not a test.
#
#   bench/sockcat_bench.sh [SOCKCAT_BINARY]      (env: SIZE_MIB=2048 RUNS=3 MODES="file pipe")
set -euo pipefail

SOCKCAT=${1:-$("$(dirname "$0")"/../scripts/find-tool sockcat)}
SIZE_MIB=${SIZE_MIB:-2048}
RUNS=${RUNS:-3}
read -r -a modes <<<"${MODES:-file pipe}"
for p in nc.openbsd ncat socat python3 ss; do
  command -v "$p" >/dev/null || { echo "sockcat_bench: $p is not installed" >&2; exit 1; }
done
[ -x "$SOCKCAT" ] || { echo "sockcat_bench: $SOCKCAT: not built" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/data
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$data"
cat "$data" >/dev/null  # page cache: "from a file" measures the tools, not the disk

# A port the kernel hands out now (bind to 0, read it, release it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listening() {
  local port=$1 i
  for i in $(seq 500); do
    ss -Htln "sport = :$port" | grep -q . && return 0
    sleep 0.01  # polling a listener into existence, bounded to 5 s
  done
  echo "sockcat_bench: nothing listens on $port" >&2
  return 1
}

receiver() {  # tool port
  case $1 in
    sockcat) exec "$SOCKCAT" -l -d 127.0.0.1 "$2" ;;
    nc) exec nc.openbsd -l 127.0.0.1 "$2" </dev/null ;;
    ncat) exec ncat --recv-only -l 127.0.0.1 "$2" ;;
    socat) exec socat -b 131072 -u "TCP-LISTEN:$2,bind=127.0.0.1" STDOUT ;;
  esac
}

sender() {  # tool port
  case $1 in
    sockcat) exec "$SOCKCAT" 127.0.0.1 "$2" ;;
    nc) exec nc.openbsd -N 127.0.0.1 "$2" ;;
    ncat) exec ncat --send-only 127.0.0.1 "$2" ;;
    socat) exec socat -b 131072 -u STDIN "TCP:127.0.0.1:$2" ;;
  esac
}

# One transfer; prints "wall cpu" in seconds. mode: file | pipe
one_run() {
  local tool=$1 mode=$2 me=$BASHPID port start end t0 t1
  port=$(free_port)
  read -r t0 < <(awk '{print $14+$15+$16+$17}' "/proc/$me/stat")
  ( receiver "$tool" "$port" >/dev/null ) &
  local rpid=$!
  wait_listening "$port"
  start=$(date +%s.%N)
  if [ "$mode" = file ]; then
    ( sender "$tool" "$port" <"$data" )
  else
    cat "$data" | ( sender "$tool" "$port" )
  fi
  wait "$rpid"
  end=$(date +%s.%N)
  read -r t1 < <(awk '{print $14+$15+$16+$17}' "/proc/$me/stat")
  # utime+stime+cutime+cstime of this shell: the children we waited for (cat included
  # for pipes, the same cost for every tool).
  echo "$(echo "$end - $start" | bc -l) $(echo "($t1 - $t0) / $(getconf CLK_TCK)" | bc -l)"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

declare -A wall cpu
tools=(sockcat nc ncat socat)
for mode in "${modes[@]}"; do
  for tool in "${tools[@]}"; do
    ws=() cs=()
    for _ in $(seq "$RUNS"); do
      read -r w c < <(one_run "$tool" "$mode")
      ws+=("$w") cs+=("$c")
    done
    wall[$tool,$mode]=$(printf '%s\n' "${ws[@]}" | median)
    cpu[$tool,$mode]=$(printf '%s\n' "${cs[@]}" | median)
  done
done

printf '%s MiB one-way over loopback, median of %s runs (receiver -> /dev/null)\n' "$SIZE_MIB" "$RUNS"
printf '%-6s %-8s %9s %9s %9s %10s %14s\n' from tool wall_s cpu_s MiB/s wall/nc "wall/sockcat"
for mode in "${modes[@]}"; do
  for tool in "${tools[@]}"; do
    w=${wall[$tool,$mode]} c=${cpu[$tool,$mode]}
    printf '%-6s %-8s %9.3f %9.3f %9.0f %10.2f %14.2f\n' "$mode" "$tool" "$w" "$c" \
      "$(echo "$SIZE_MIB / $w" | bc -l)" "$(echo "$w / ${wall[nc,$mode]}" | bc -l)" \
      "$(echo "$w / ${wall[sockcat,$mode]}" | bc -l)"
  done
  printf '%-6s cpu ratios to sockcat:' "$mode"
  for tool in nc ncat socat; do
    printf ' %s %.2fx' "$tool" "$(echo "${cpu[$tool,$mode]} / ${cpu[sockcat,$mode]}" | bc -l)"
  done
  printf '\n'
done
