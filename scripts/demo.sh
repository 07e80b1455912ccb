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

source "$(dirname "$0")/lib.sh"
cd "$root"
if [ -n "${POETRY_BIN_DIR:-}" ]; then
    bin=$POETRY_BIN_DIR
else
    echo "Building the programs (once; later runs start at once)..."
    cargo build --release --quiet --bin slowpoetry --bin get-poetry-blocking --bin get-poetry-async
    bin=$(target_dir)/release
fi

# Starts a slow server in the background and adds the port it reports to `ports`.
ports=()
start_server() {
    start "server-${#ports[@]}" "$bin/slowpoetry" --delay "$delay" "$@"
    ports+=("$server_port")
    echo "slowpoetry $* --delay $delay: listening on port $server_port"
}

# The three servers of Part 2. Ecstasy is nearly five times as long as the others, so it goes out
# 30 characters at a time: 100 sends, against 63 and 65 for the other two.
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
