# examples/common.bash: what every example shares — a fresh network namespace,
# deadline waits, the port a listener chose, and cleanup. Sourced, never run.
set -euo pipefail

EXAMPLE=$(basename "$0" .sh)

# The tools: on PATH (ctest puts the build's apps dir there), else from whichever
# preset built them (scripts/find-tool: build/ci after ./scripts/demo, build/dev...).
if ! command -v sockcat >/dev/null || ! command -v sockls >/dev/null; then
    if found=$("$(dirname "$0")/../scripts/find-tool" socklab 2>/dev/null); then
        PATH="$(dirname "$found"):$PATH"
    fi
fi
for tool in sockcat sockls socklab; do
    command -v "$tool" >/dev/null || { echo "$EXAMPLE: $tool: not found (build first)" >&2; exit 1; }
done

# Re-runs the calling script (with its arguments: when sourced, "$@" is the
# script's) in a fresh network namespace with lo up: its sockets, and the
# TIME_WAITs it leaves, are its own and vanish with it.
if [[ -z "${SOCKLAB_EXAMPLE_NETNS:-}" ]]; then
    export SOCKLAB_EXAMPLE_NETNS=1
    netns_flags=-n
    [[ $EUID -eq 0 ]] || netns_flags=-rn  # without root: a user namespace maps us to root
    exec unshare "$netns_flags" -- bash "$0" "$@"
fi
ip link set lo up

WORK=$(mktemp -d)
cleanup() {
    local pids
    mapfile -t pids < <(jobs -p)
    ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "$EXAMPLE: FAILED: $*" >&2
    exit 1
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or fails.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for $what"
        sleep 0.05  # the polling interval of a deadline wait
    done
}

# count_is N COMMAND...: true when COMMAND prints the number N. wait_for runs it
# anew on every poll (a "$(...)" argument would be expanded only once).
count_is() {
    local want=$1
    shift
    [[ "$("$@")" -eq "$want" ]]
}

# listening_port FILE: the port from sockcat -v's "Listening on ADDR PORT" line.
listening_port() {
    wait_for 5 "the Listening line in $1" grep -qs 'Listening on' "$1"
    grep -o 'Listening on [^ ]* [0-9]*' "$1" | head -n1 | awk '{print $4}'
}

# show 'COMMAND LINE': prints the command as typed, then runs it, like a lab sheet.
show() {
    echo "\$ $1"
    eval "$1"
}

step() {
    echo
    echo "== $*"
}
