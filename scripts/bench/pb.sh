#!/usr/bin/env bash
# Perspective Broker under load, measured with examples/pb-load.rs: one client logs in as
# guest/guest and keeps IN_FLIGHT calls of `echo("hello world")` waiting for their answers on ONE
# connection for SECONDS seconds, to `pbecho-server` (talk 004's pbecho on our broker) and to
# Twisted's pbecho server (scripts/interop/twisted/pbecho_server.py), the same client for both, in
# the same run. Reports calls per second and the server's CPU time per call.
#
#   scripts/bench/pb.sh [SECONDS] [IN_FLIGHT] [--rounds N] [--no-twisted]
#                                                defaults: 5 100, 3 rounds
#
# Each round measures each server on a freshly started process (in turn, the first one first on odd
# rounds and last on even ones); the table shows medians over the rounds, and ratios taken within
# a round. The load runs on one thread, and it and the server are each pinned to a core of their
# own (see lib.sh); every answer is checked (it must be the text sent). Both servers print their
# `echoing hello world` line for every call, as the talk's does (to a file here).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_options 3 "$@"
seconds=${positional[0]:-5}
in_flight=${positional[1]:-100}
build --bin pbecho-server --example pb-load

servers=(pbecho-server)
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted)
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

# start_server NAME: starts the named server on a free port of 127.0.0.1.
start_server() {
    case "$1" in
        pbecho-server) start "$1" "${server_cpu[@]}" "$bin/pbecho-server" --port 0 ;;
        twisted) start "$1" "${server_cpu[@]}" "$python" "$root/scripts/interop/twisted/pbecho_server.py" 0 ;;
    esac
}

results=()
# measure ROUND NAME: one fresh server under the load; appends "round server calls/s CPU-us/call".
measure() {
    local round=$1 name=$2
    start_server "$name"
    local before after report
    before=$(cpu_seconds "$server_pid")
    if ! report=$("${load_cpu[@]}" "$bin/examples/pb-load" "$server_port" "$in_flight" "$seconds"); then
        echo "bench: $name did not answer every call as expected: $report" >&2
        exit 1
    fi
    after=$(cpu_seconds "$server_pid")
    stop
    results+=("$(python3 - "$round" "$name" "$before" "$after" "$report" <<'PY'
import re, sys
round_, name, before, after, report = sys.argv[1:]
calls, elapsed = re.match(r"(\d+) calls in ([\d.]+) s", report).groups()
cpu = float(after) - float(before)
print(f"{round_} {name} {int(calls) / float(elapsed):.0f} {cpu * 1e6 / int(calls):.2f}")
PY
)")
}

for round in $(seq "$rounds"); do
    echo "Round $round of $rounds..." >&2
    for name in $(in_round_order "$round" "${servers[@]}"); do
        measure "$round" "$name"
    done
done

echo "pb: echo(\"hello world\") as guest, $in_flight calls in flight on one connection," \
    "${seconds} s each, medians of $rounds round(s)"
python3 "$bench_dir/medians.py" --unit call --ours pbecho-server --other twisted --target 20 "${results[@]}"
