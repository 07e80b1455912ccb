#!/usr/bin/env bash
# Echo servers under load: throughput, server CPU time per MiB echoed and peak memory, for
# `echo-server` (talk 004), a minimal tokio echo server (examples/reference-echo.rs) and Twisted
# (twisted/echo.py), in the same run.
#
#   scripts/bench/echo.sh [STREAM_MIB] [CONNECTIONS] [MIB_EACH] [AT_ONCE] [--rounds N] [--no-twisted]
#                                                   defaults: 1024 1000 1 100, 3 rounds
#
# Two workloads, each on a freshly started server: (a) one connection streams STREAM_MIB through
# the server; (b) CONNECTIONS connections each echo MIB_EACH, AT_ONCE of them open at a time. The
# load comes from examples/echo-load.rs (tokio, one thread), which writes and reads at once and
# checks every byte. Each round measures every server on both workloads; the table shows medians
# over the rounds, ratios included (each ratio is taken within a round). 1 MiB = 1,048,576 bytes.
# Target: echo-server's CPU per MiB at most 1.15 times the tokio reference's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_options 3 "$@"
stream_mib=${positional[0]:-1024}
connections=${positional[1]:-1000}
mib_each=${positional[2]:-1}
at_once=${positional[3]:-100}
build --bin echo-server --example reference-echo --example echo-load
mib=$((1024 * 1024))

servers=(echo-server tokio-reference)
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted)
    else
        echo "(Twisted could not be installed: its rows are left out)" >&2
    fi
fi

# start_server NAME: starts the named echo server on a free port of 127.0.0.1.
start_server() {
    case "$1" in
        echo-server) start "$1" "$bin/echo-server" --port 0 ;;
        tokio-reference) start "$1" "$bin/examples/reference-echo" ;;
        twisted) start "$1" "$python" "$bench_dir/twisted/echo.py" ;;
    esac
}

results=()
# measure ROUND WORKLOAD SERVER BYTES CONNECTIONS AT_ONCE: one fresh server under one workload;
# appends "round workload server MiB/s CPU-us/MiB peak-RSS client-CPU" to results.
measure() {
    local round=$1 workload=$2 name=$3 bytes=$4 count=$5 concurrency=$6
    start_server "$name"
    local before after report
    before=$(cpu_seconds "$server_pid")
    if ! report=$("$bin/examples/echo-load" "$server_port" "$bytes" "$count" "$concurrency" 300); then
        echo "bench: $name failed workload $workload (round $round); its log:" >&2
        cat "$workdir/$name.log" >&2
        exit 1
    fi
    after=$(cpu_seconds "$server_pid")
    local rss
    rss=$(peak_rss_mib "$server_pid")
    stop
    # "echoed B bytes over N connections in S seconds, client CPU C seconds"
    local total seconds client
    read -r total seconds client < <(awk '{ print $2, $8, $12 }' <<<"$report")
    results+=("$(python3 -c "
total, seconds, cpu = $total / $mib, $seconds, $after - $before
print(f'$round $workload $name {total / seconds:.1f} {cpu * 1e6 / total:.1f} $rss $client')")")
}

for round in $(seq "$rounds"); do
    echo "Round $round of $rounds..." >&2
    for name in "${servers[@]}"; do
        measure "$round" a "$name" $((stream_mib * mib)) 1 1
        measure "$round" b "$name" $((mib_each * mib)) "$connections" "$at_once"
    done
done

echo "echo: (a) 1 connection streaming $stream_mib MiB; (b) $connections connections echoing" \
    "$mib_each MiB each, $at_once at a time; medians of $rounds round(s)"
python3 - "${results[@]}" <<'PY'
import statistics, sys
rows = [row.split() for row in sys.argv[1:]]
# (workload, server) -> the rows of every round
table = {}
for round_, workload, server, *figures in rows:
    table.setdefault((workload, server), []).append((round_, [float(f) for f in figures]))
print(f"{'workload':<9} {'server':<16} {'MiB/s':>9} {'server CPU us/MiB':>18} {'peak RSS':>12} {'client CPU s':>13}")
for (workload, server), runs in table.items():
    medians = [statistics.median(run[1][i] for run in runs) for i in range(4)]
    print(f"{workload:<9} {server:<16} {medians[0]:>9.0f} {medians[1]:>18.1f} "
          f"{medians[2]:>8.1f} MiB {medians[3]:>13.2f}")
for workload in sorted({key[0] for key in table}):
    ours = dict((r, f[1]) for r, f in table.get((workload, "echo-server"), []))
    tokio = dict((r, f[1]) for r, f in table.get((workload, "tokio-reference"), []))
    twisted = dict((r, f[1]) for r, f in table.get((workload, "twisted"), []))
    ratios = [ours[r] / tokio[r] for r in ours if r in tokio]
    line = (f"({workload}) echo-server / tokio reference, CPU per MiB: "
            f"{statistics.median(ratios):.2f} (target: at most 1.15)")
    if twisted:
        line += f"; twisted / echo-server: {statistics.median(twisted[r] / ours[r] for r in ours if r in twisted):.1f}"
    print(line)
PY
