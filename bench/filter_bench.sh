#!/usr/bin/env bash
# sockls -tan 'sport = :P' against ss at 100k sockets (issue 3); see bench/filter_bench.py.
# Usage: bench/filter_bench.sh [SOCKLS_BINARY] [sizes...]   (as root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sockls=${1:-$("$here"/../scripts/find-tool sockls)}
shift || true
ulimit -n 20000
exec python3 "$here/filter_bench.py" "$sockls" "$@"
