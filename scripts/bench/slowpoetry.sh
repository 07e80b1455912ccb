#!/usr/bin/env bash
# The slow poetry server with many clients at once: when does the last client get the whole poem,
# and what does it cost the server? For `slowpoetry-reactor`, a paced tokio server doing the same
# (examples/reference-slowpoetry.rs) and Twisted (twisted/slowpoetry.py), in the same run.
#
#   scripts/bench/slowpoetry.sh [CLIENTS] [DELAY_MS] [--no-twisted]     defaults: 10000 100
#
# Every client connects at once (timing-client -n CLIENTS -c CLIENTS) and reads science.txt, sent 10
# characters every DELAY_MS. Targets for slowpoetry-reactor: every client gets the whole poem; the
# last one finishes within 1.10 x the ideal (chunks x delay); server CPU at most 1.05 x the tokio
# reference's; peak RSS under 20 MB.
set -euo pipefail
twisted=yes
positional=()
for arg in "$@"; do
    case "$arg" in
        --no-twisted) twisted=no ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) positional+=("$arg") ;;
    esac
done
clients=${positional[0]:-10000}
delay_ms=${positional[1]:-100}
source "$(dirname "$0")/lib.sh"
poem=$root/poetry/science.txt
build --bin slowpoetry-reactor --bin timing-client --example reference-slowpoetry
delay=$(python3 -c "print($delay_ms / 1000)")
chunks=$(python3 -c "import sys; print(-(-len(open(sys.argv[1], encoding='utf-8').read()) // 10))" "$poem")
ideal=$(python3 -c "print($chunks * $delay)")

results=()
# measure NAME COMMAND...: appends "name succeeded last_done cpu rss" to results.
measure() {
    local name=$1
    shift
    start "$name" "$@"
    "$bin/timing-client" --kind poetry -n "$clients" -c "$clients" --timeout 600s --json \
        "$server_port" >"$workdir/$name.json" || true
    local cpu rss
    cpu=$(cpu_seconds "$server_pid")
    rss=$(peak_rss_mib "$server_pid")
    stop
    local succeeded last
    succeeded=$(json_field "$workdir/$name.json" succeeded)
    last=$(json_field "$workdir/$name.json" total_seconds)
    results+=("$name $succeeded $last $cpu $rss")
}

measure slowpoetry-reactor "$bin/slowpoetry-reactor" --quiet --iface 127.0.0.1 \
    --delay "$delay" "$poem"
measure tokio-reference "$bin/examples/reference-slowpoetry" "$poem" "$delay_ms" 10
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        measure twisted "$python" "$bench_dir/twisted/slowpoetry.py" "$poem" "$delay" 10
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

echo "slowpoetry: $clients clients at once, $(basename "$poem"): $chunks chunks every $delay s, ideal $ideal s"
printf '%-20s %10s %16s %12s %14s %10s\n' server "got poem" "last done (s)" "x ideal" "server CPU (s)" "peak RSS"
for row in "${results[@]}"; do
    read -r name succeeded last cpu rss <<<"$row"
    ratio=$(python3 -c "print(f'{$last / $ideal:.3f}')")
    printf '%-20s %10s %16.3f %12s %14s %7s MiB\n' "$name" "$succeeded/$clients" "$last" "$ratio" "$cpu" "$rss"
done
python3 - "${results[@]}" <<'PY'
import sys
rows = {row.split()[0]: row.split() for row in sys.argv[1:]}
ours, tokio = float(rows["slowpoetry-reactor"][3]), float(rows["tokio-reference"][3])
print(f"slowpoetry-reactor / tokio reference, server CPU: {ours / max(tokio, 0.01):.2f} (target: at most 1.05)")
PY
