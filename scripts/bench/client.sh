#!/usr/bin/env bash
# The load generator's own cost: CPU time per request of `timing-client` (on the project's reactor)
# against a plain tokio client doing the same (examples/reference-client.rs), both fetching from the
# same plain tokio fast poetry server, in the same run.
#
#   scripts/bench/client.sh [REQUESTS] [CONCURRENCY]     defaults: 20000 50
#
# Target: timing-client's CPU per request at most 1.3 times the reference client's.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
requests=${1:-20000}
concurrency=${2:-50}
source "$(dirname "$0")/lib.sh"
build --bin timing-client --example reference-client --example reference-fastpoetry
start server "$bin/examples/reference-fastpoetry" "$root/poetry/science.txt"

# cpu_of COMMAND...: runs the command and prints its user + system CPU seconds.
cpu_of() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{usage.ru_utime + usage.ru_stime:.3f}")
PY
}

ours=$(cpu_of "$bin/timing-client" --kind poetry -n "$requests" -c "$concurrency" --json "$server_port")
reference=$(cpu_of "$bin/examples/reference-client" "$server_port" "$requests" "$concurrency")
echo "clients: $requests requests, $concurrency at a time, science.txt"
python3 - "$ours" "$reference" "$requests" <<'PY'
import sys
ours, reference, requests = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"{'client':<18} {'CPU (s)':>10} {'CPU us/request':>16}")
print(f"{'timing-client':<18} {ours:>10.3f} {ours * 1e6 / requests:>16.1f}")
print(f"{'tokio reference':<18} {reference:>10.3f} {reference * 1e6 / requests:>16.1f}")
print(f"timing-client / tokio reference: {ours / reference:.2f} (target: at most 1.3)")
PY
