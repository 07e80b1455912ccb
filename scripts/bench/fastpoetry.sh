#!/usr/bin/env bash
# The fast poetry server under load: the server's CPU time per request, for `fastpoetry`, for a
# minimal tokio server doing the same (examples/reference-fastpoetry.rs), and for Twisted
# (twisted/fastpoetry.py, in a virtualenv made once with pip), all in the same run.
#
#   scripts/bench/fastpoetry.sh [REQUESTS] [CONCURRENCY] [--no-twisted]     defaults: 20000 50
#
# The load comes from timing-client (-n REQUESTS -c CONCURRENCY) on 127.0.0.1; everything stops by
# itself. Target: fastpoetry's CPU per request at most 1.15 times the tokio reference's.
set -euo pipefail
twisted=yes
positional=()
for arg in "$@"; do
    case "$arg" in
        --no-twisted) twisted=no ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) positional+=("$arg") ;;
    esac
done
requests=${positional[0]:-20000}
concurrency=${positional[1]:-50}
source "$(dirname "$0")/lib.sh"
poem=$root/poetry/science.txt
build --bin fastpoetry --bin timing-client --example reference-fastpoetry

results=()
# measure NAME COMMAND...: one server under the load; appends "name rps cpu_us" to results.
measure() {
    local name=$1
    shift
    start "$name" "$@"
    local before after
    before=$(cpu_seconds "$server_pid")
    "$bin/timing-client" --kind poetry -n "$requests" -c "$concurrency" --json \
        "$server_port" >"$workdir/$name.json" || true
    after=$(cpu_seconds "$server_pid")
    stop
    local rps failed
    rps=$(json_field "$workdir/$name.json" requests_per_second)
    failed=$(json_field "$workdir/$name.json" failed)
    local us
    us=$(python3 -c "print(f'{($after - $before) * 1e6 / $requests:.1f}')")
    results+=("$name $rps $us $failed")
}

measure fastpoetry "$bin/fastpoetry" --iface 127.0.0.1 "$poem"
measure tokio-reference "$bin/examples/reference-fastpoetry" "$poem"
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        measure twisted "$python" "$bench_dir/twisted/fastpoetry.py" "$poem"
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

echo "fastpoetry: $requests requests, $concurrency at a time, $(basename "$poem")"
printf '%-18s %14s %22s %8s\n' server requests/s "server CPU us/request" failed
for row in "${results[@]}"; do
    read -r name rps us failed <<<"$row"
    printf '%-18s %14.0f %22s %8s\n' "$name" "$rps" "$us" "$failed"
done
python3 - "${results[@]}" <<'PY'
import sys
rows = {row.split()[0]: row.split() for row in sys.argv[1:]}
ours = float(rows["fastpoetry"][2])
tokio = float(rows["tokio-reference"][2])
print(f"fastpoetry / tokio reference, CPU per request: {ours / tokio:.2f} (target: at most 1.15)")
if "twisted" in rows:
    print(f"twisted / fastpoetry, CPU per request: {float(rows['twisted'][2]) / ours:.1f}")
PY
