#!/usr/bin/env bash
# Key-value servers under load, measured with examples/keyvalue-load.rs: CONNECTIONS clients each
# sending one request at a time for SECONDS seconds, 90% gets and 10% sets of 100-byte values on
# 10,000 keys. For `keyvalue-server --protocol memcached` and a real `memcached -t 1` (one worker
# thread: a fair match for one reactor) on memcached's text protocol, and for `keyvalue-server` and
# Twisted's key-value server (twisted/keyvalue_server.py) on the training's line protocol, in the
# same run. Reports requests per second and the server's CPU time per request.
#
#   scripts/bench/keyvalue.sh [SECONDS] [CONNECTIONS] [--rounds N] [--no-twisted]
#                                                defaults: 5 50, 3 rounds
#
# Each round measures each server on a freshly started process; the table shows medians over the
# rounds, and ratios taken within a round. The load runs on one thread, so that on a 2-core machine
# it and the server each have a core; every answer is checked (a get must find its 100-byte value).
# keyvalue-server on the line protocol logs every request, as the training's does (to a file
# here); the memcached protocol logs none, nor do memcached and the Twisted script. Target: at
# least 0.8 times memcached's requests per second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_options 3 "$@"
seconds=${positional[0]:-5}
connections=${positional[1]:-50}
need_package memcached memcached
build --bin keyvalue-server --example keyvalue-load

servers=(ours-memcached memcached ours-line)
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted-line)
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

# free_port: a TCP port of 127.0.0.1 that nothing listens on (memcached takes no port 0).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_memcached: starts memcached on a free port, and waits until it accepts connections.
start_memcached() {
    local port
    port=$(free_port)
    memcached -u nobody -l 127.0.0.1 -p "$port" -U 0 -t 1 >"$workdir/memcached.log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    server_port=$port
    for _ in $(seq 200); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" \
            2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench: memcached did not start:" >&2
    cat "$workdir/memcached.log" >&2
    exit 1
}

# start_server NAME: starts the named server on a free port of 127.0.0.1; sets $protocol.
start_server() {
    case "$1" in
        # keyvalue-server's log goes to a file of its own; stderr names its port.
        ours-memcached)
            protocol=memcached
            start "$1" sh -c "exec '$bin/keyvalue-server' --port 0 --protocol memcached >'$workdir/$1.out'" ;;
        memcached)
            protocol=memcached
            start_memcached ;;
        ours-line)
            protocol=line
            start "$1" sh -c "exec '$bin/keyvalue-server' --port 0 >'$workdir/$1.out'" ;;
        twisted-line)
            protocol=line
            start "$1" "$python" "$bench_dir/twisted/keyvalue_server.py" ;;
    esac
}

results=()
# measure ROUND NAME: one fresh server under load; appends "round server requests/s CPU-us/request".
measure() {
    local round=$1 name=$2
    start_server "$name"
    local before after report
    before=$(cpu_seconds "$server_pid")
    if ! report=$("$bin/examples/keyvalue-load" "$protocol" "$server_port" "$connections" "$seconds"); then
        echo "bench: $name gave wrong answers: $report" >&2
        exit 1
    fi
    after=$(cpu_seconds "$server_pid")
    stop
    # "R requests in S s: X/s; errors 0"; the CPU time includes the 10,000 first sets.
    results+=("$(python3 - "$round" "$name" "$before" "$after" "$report" <<'PY'
import re, sys
round_, name, before, after, report = sys.argv[1:]
requests, rate = re.search(r"(\d+) requests in [\d.]+ s: (\d+)/s", report).groups()
cpu = float(after) - float(before)
print(f"{round_} {name} {rate} {cpu * 1e6 / (int(requests) + 10000):.2f}")
PY
)")
}

for round in $(seq "$rounds"); do
    echo "Round $round of $rounds..." >&2
    for name in "${servers[@]}"; do
        measure "$round" "$name"
    done
done

echo "keyvalue: 90% gets, 10% sets of 100-byte values on 10,000 keys, $connections connections" \
    "one request at a time, ${seconds} s each, medians of $rounds round(s)"
python3 - "${results[@]}" <<'PY'
import statistics, sys
rows = [row.split() for row in sys.argv[1:]]
table = {}
for round_, server, *figures in rows:
    table.setdefault(server, {})[round_] = [float(f) for f in figures]
labels = {
    "ours-memcached": "keyvalue-server --protocol memcached",
    "memcached": "memcached -t 1",
    "ours-line": "keyvalue-server (line, logging)",
    "twisted-line": "Twisted keyvalue_server.py (line)",
}
print(f"{'server':<38} {'requests/s':>11} {'server CPU us/request':>23}")
for server, runs in table.items():
    medians = [statistics.median(run[i] for run in runs.values()) for i in range(2)]
    print(f"{labels[server]:<38} {medians[0]:>11.0f} {medians[1]:>23.2f}")

def ratio(a, b, field):
    first, second = table.get(a, {}), table.get(b, {})
    values = [first[r][field] / second[r][field] for r in first if r in second]
    return statistics.median(values) if values else None

rate = ratio("ours-memcached", "memcached", 0)
print(f"ours / memcached, requests per second: {rate:.2f} (target: at least 0.8)")
cpu = ratio("ours-memcached", "memcached", 1)
print(f"ours / memcached, CPU per request: {cpu:.2f}")
line = ratio("ours-line", "twisted-line", 0)
if line is not None:
    print(f"ours / Twisted on the line protocol, requests per second: {line:.1f}")
PY
