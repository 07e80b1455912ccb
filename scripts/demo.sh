#!/usr/bin/env bash
# The quick start: the lesson of Part 2 of the tutorial, in one command.
#
# Starts the three slow poetry servers of Part 2 on free ports, fetches their poems with the blocking
# client and then with the asynchronous one, and prints the two total times side by side: the
# blocking client takes about the sum of the three downloads, the asynchronous one about the
# slowest. The servers are stopped when the script ends, Ctrl-C included. Each client also draws its
# run (--timeline): blocking.svg and async.svg, one lane per poem, a tick per piece received, in the
# folder timelines/ of the current directory, to open in a browser.
#
#   scripts/demo.sh                      one send every 0.1 s, as in the tutorial (about 35 s in all)
#   scripts/demo.sh --delay 0.02         the same lesson, five times faster
#   scripts/demo.sh --timelines /tmp/t   the figures in /tmp/t instead
#
# POETRY_BIN_DIR=DIR runs the programs found in DIR instead of building them (the tests use it).
set -euo pipefail

usage() {
    echo "usage: scripts/demo.sh [--delay SECONDS] [--timelines DIR]"
    echo "Runs the Part 2 demo: three slow servers, the blocking client, then the asynchronous client."
    echo "Their figures go to DIR/blocking.svg and DIR/async.svg (DIR: timelines, by default)."
}

delay=0.1
timelines=timelines
while [ $# -gt 0 ]; do
    case "$1" in
        --delay) [ $# -ge 2 ] || { usage >&2; exit 2; }; delay=$2; shift 2 ;;
        --delay=*) delay=${1#--delay=}; shift ;;
        --timelines) [ $# -ge 2 ] || { usage >&2; exit 2; }; timelines=$2; shift 2 ;;
        --timelines=*) timelines=${1#--timelines=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
# The folder is named from where the script was started, before it moves to the project's root.
mkdir -p "$timelines"
timelines=$(cd "$timelines" && pwd -P)

cd "$(dirname "$0")/.."
if [ -n "${POETRY_BIN_DIR:-}" ]; then
    bin=$POETRY_BIN_DIR
else
    echo "Building the programs (once; later runs start at once)..."
    cargo build --release --quiet --bin slowpoetry --bin get-poetry-blocking --bin get-poetry-async
    bin=target/release
fi

workdir=$(mktemp -d)
server_pids=()
cleanup() {
    if [ ${#server_pids[@]} -gt 0 ]; then
        kill "${server_pids[@]}" 2>/dev/null || true
        wait "${server_pids[@]}" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a slow server in the background, waits for the port it reports on its first line, and
# adds that port to `ports`.
ports=()
start_server() {
    local log=$workdir/server-${#ports[@]}.log
    "$bin/slowpoetry" --delay "$delay" "$@" >"$log" 2>&1 &
    server_pids+=($!)
    local port="" tries=0
    while [ -z "$port" ]; do
        if [ $tries -ge 100 ]; then
            echo "demo: a server did not start:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.05
        tries=$((tries + 1))
        port=$(sed -n '1s/^Serving .* on port \([0-9]*\)\.$/\1/p' "$log")
    done
    ports+=("$port")
    echo "slowpoetry $* --delay $delay: listening on port $port"
}

# The three servers of Part 2. Ecstasy is about three times as long as the others, so it goes out
# 30 characters at a time and all three take about as long.
start_server poetry/ecstasy.txt --num-bytes 30
start_server poetry/fascination.txt
start_server poetry/science.txt

echo
echo "== The blocking client: one poem after another =="
"$bin/get-poetry-blocking" --timeline "$timelines/blocking.svg" "${ports[@]}" |
    tee "$workdir/blocking.out"

echo
echo "== The asynchronous client: all three at once =="
"$bin/get-poetry-async" --timeline "$timelines/async.svg" "${ports[@]}" |
    tee "$workdir/async.out"

echo
echo "== Side by side =="
printf '%-21s %s\n' "blocking client:" "$(tail -n 1 "$workdir/blocking.out")"
printf '%-21s %s\n' "asynchronous client:" "$(tail -n 1 "$workdir/async.out")"

echo
echo "== The two runs drawn (open them in a browser) =="
echo "blocking client:      $timelines/blocking.svg"
echo "asynchronous client:  $timelines/async.svg"
