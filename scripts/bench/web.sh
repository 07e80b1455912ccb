#!/usr/bin/env bash
# Web servers under load, measured with wrk: (a) talk 001's hello page with keep-alive connections,
# requests per second and server CPU time per request, for `hello-web` (a resource on our Site), a
# minimal hyper server (examples/reference-hyper.rs) and Twisted Web (twisted/hello_web.py); (b) a
# 1 MiB static file, MB/s, for `static-site`, nginx with one worker (when installed) and Twisted
# (twisted/static_web.py). All in the same run.
#
#   scripts/bench/web.sh [SECONDS] [CONNECTIONS] [FILE_CONNECTIONS] [--rounds N] [--no-twisted]
#                                                defaults: 5 50 20, 3 rounds
#
# Each round measures every server on a freshly started process; the table shows medians over the
# rounds, and ratios taken within a round. wrk runs one thread, so that on a 2-core machine it and
# the server each have a core. Targets: hello-web's CPU per request at most 1.2 times the hyper
# reference's; static-site's MB/s at least half of nginx's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_options 3 "$@"
seconds=${positional[0]:-5}
connections=${positional[1]:-50}
file_connections=${positional[2]:-20}
need_package wrk wrk
build --bin hello-web --bin static-site --example reference-hyper

servers=(hello-web hyper-reference)
file_servers=(static-site)
if command -v nginx >/dev/null; then
    file_servers+=(nginx)
else
    echo "(nginx is not installed: its row is left out; apt-get install nginx-light adds it)" >&2
fi
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted)
        file_servers+=(twisted)
    else
        echo "(Twisted could not be installed: its rows are left out)" >&2
    fi
fi

folder=$workdir/site
mkdir -p "$folder"
head -c $((1024 * 1024)) /dev/urandom >"$folder/big.bin"
# nginx's worker may run as another user (nobody, when started as root): let it read the file.
chmod go+rx "$workdir" "$folder"
chmod go+r "$folder/big.bin"

# start_nginx: nginx with one worker serving $folder on a free port; sets $server_pid (the worker,
# whose CPU time is the server's) and $server_port.
start_nginx() {
    server_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$workdir/nginx"
    cat >"$workdir/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $workdir/nginx/nginx.pid;
error_log $workdir/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $workdir/nginx;
    proxy_temp_path $workdir/nginx;
    fastcgi_temp_path $workdir/nginx;
    uwsgi_temp_path $workdir/nginx;
    scgi_temp_path $workdir/nginx;
    server { listen 127.0.0.1:$server_port; root $folder; }
}
CONF
    nginx -c "$workdir/nginx/nginx.conf" -p "$workdir/nginx" >"$workdir/nginx.log" 2>&1 &
    local master=$!
    server_pids+=("$master")
    for _ in $(seq 100); do
        server_pid=$(pgrep -P "$master" | head -1 || true)
        [ -n "$server_pid" ] && return 0
        sleep 0.05
    done
    echo "bench: nginx did not start:" >&2
    cat "$workdir/nginx.log" "$workdir/nginx/error.log" >&2 || true
    exit 1
}

# start_server NAME: starts the named server on a free port of 127.0.0.1.
start_server() {
    case "$1" in
        hello-web) start "$1" "$bin/hello-web" --port 0 ;;
        hyper-reference) start "$1" "$bin/examples/reference-hyper" ;;
        twisted) start "$1" "$python" "$bench_dir/twisted/hello_web.py" ;;
        static-site) start "$1" "$bin/static-site" --port 0 "$folder" ;;
        nginx) start_nginx ;;
        twisted-static) start "$1" "$python" "$bench_dir/twisted/static_web.py" "$folder" ;;
    esac
}

# stop_server NAME: stops it (nginx through its master, which takes its worker along).
stop_server() {
    if [ "$1" = nginx ]; then
        kill "${server_pids[-1]}" 2>/dev/null || true
        wait "${server_pids[-1]}" 2>/dev/null || true
    else
        stop
    fi
}

results=()
# measure ROUND WORKLOAD NAME PATH CONNECTIONS: one fresh server under wrk; appends
# "round workload server requests/s MB/s server-CPU-us/request" to results.
measure() {
    local round=$1 workload=$2 name=$3 path=$4 count=$5
    local process=$name
    [ "$workload" = file ] && [ "$name" = twisted ] && process=twisted-static
    start_server "$process"
    local before after report
    before=$(cpu_seconds "$server_pid")
    report=$(wrk -t1 -c"$count" -d"${seconds}s" "http://127.0.0.1:$server_port$path")
    after=$(cpu_seconds "$server_pid")
    stop_server "$process"
    if grep -q "Non-2xx" <<<"$report"; then
        echo "bench: $name answered errors:" >&2
        echo "$report" >&2
        exit 1
    fi
    results+=("$(python3 - "$round" "$workload" "$name" "$before" "$after" "$seconds" <<PY
import re, sys
round_, workload, name, before, after, seconds = sys.argv[1:]
report = """$report"""
requests = int(re.search(r"(\d+) requests in", report).group(1))
number, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", report).groups()
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
cpu = float(after) - float(before)
print(f"{round_} {workload} {name} {requests / float(seconds):.0f} "
      f"{float(number) * scale / 1e6:.1f} {cpu * 1e6 / requests:.2f}")
PY
)")
}

for round in $(seq "$rounds"); do
    echo "Round $round of $rounds..." >&2
    for name in "${servers[@]}"; do
        measure "$round" hello "$name" / "$connections"
    done
    for name in "${file_servers[@]}"; do
        measure "$round" file "$name" /big.bin "$file_connections"
    done
done

echo "web: (hello) the hello page, $connections keep-alive connections; (file) a 1 MiB file," \
    "$file_connections connections; ${seconds} s each, medians of $rounds round(s)"
python3 - "${results[@]}" <<'PY'
import statistics, sys
rows = [row.split() for row in sys.argv[1:]]
table = {}
for round_, workload, server, *figures in rows:
    table.setdefault((workload, server), {})[round_] = [float(f) for f in figures]
print(f"{'workload':<9} {'server':<16} {'requests/s':>11} {'MB/s':>9} {'server CPU us/request':>22}")
for (workload, server), runs in table.items():
    medians = [statistics.median(run[i] for run in runs.values()) for i in range(3)]
    print(f"{workload:<9} {server:<16} {medians[0]:>11.0f} {medians[1]:>9.1f} {medians[2]:>22.2f}")

def ratio(workload, a, b, field):
    first, second = table.get((workload, a), {}), table.get((workload, b), {})
    values = [first[r][field] / second[r][field] for r in first if r in second]
    return statistics.median(values) if values else None

line = ratio("hello", "hello-web", "hyper-reference", 2)
if line is not None:
    print(f"(hello) hello-web / hyper reference, CPU per request: {line:.2f} (target: at most 1.2)")
twisted = ratio("hello", "twisted", "hello-web", 2)
if twisted is not None:
    print(f"(hello) twisted / hello-web, CPU per request: {twisted:.1f}")
nginx = ratio("file", "static-site", "nginx", 1)
if nginx is not None:
    print(f"(file) static-site / nginx, MB/s: {nginx:.2f} (target: at least 0.5)")
twisted = ratio("file", "static-site", "twisted", 1)
if twisted is not None:
    print(f"(file) static-site / twisted, MB/s: {twisted:.1f}")
PY
