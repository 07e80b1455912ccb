#!/usr/bin/env bash
# How slowpoetry-reactor copes with many slow clients at once.
#
# Starts slowpoetry-reactor (--quiet) on science.txt, fetches the poem with CLIENTS simultaneous
# connections from get-poetry-async (the hand-written poll loop of Part 2, one process), and reports
# the time the last client finished against the ideal (chunks x delay), and the server's CPU time
# and peak memory read from /proc.
#
#   scripts/bench/slowpoetry-reactor-clients.sh [CLIENTS] [DELAY]     defaults: 1000 0.1
#
# Everything talks to 127.0.0.1 and stops by itself.
set -euo pipefail
clients=${1:-1000}
delay=${2:-0.1}
cd "$(dirname "$0")/../.."

cargo build --release --quiet --bin slowpoetry-reactor --bin get-poetry-async
bin=target/release
poem=poetry/science.txt
workdir=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

"$bin/slowpoetry-reactor" --quiet --delay "$delay" "$poem" >"$workdir/server.log" &
server=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n '1s/^Serving .* on port \([0-9]*\)\.$/\1/p' "$workdir/server.log")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }

addresses=$(for _ in $(seq "$clients"); do printf '%s ' "$port"; done)
# shellcheck disable=SC2086
"$bin/get-poetry-async" --time-format seconds $addresses >"$workdir/client.out"
last=$(tail -n 1 "$workdir/client.out")

chars=$(python3 -c "import sys; print(len(open(sys.argv[1], encoding='utf-8').read()))" "$poem")
chunks=$(( (chars + 9) / 10 ))
read -r utime stime < <(awk '{print $14, $15}' "/proc/$server/stat")
ticks=$(getconf CLK_TCK)
peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$server/status")
total=${last##* in }

python3 - "$clients" "$chunks" "$delay" "$total" "$utime" "$stime" "$ticks" "$peak_kb" "$last" <<'PY'
import sys
clients, chunks, delay, total, utime, stime, ticks, peak_kb, last = sys.argv[1:]
ideal = int(chunks) * float(delay)
cpu = (int(utime) + int(stime)) / int(ticks)
print(f"clients:            {clients}")
print(f"client says:        {last}")
print(f"ideal (chunks x delay): {ideal:.3f} s ({chunks} chunks of 10 characters, every {delay} s)")
print(f"last client done:   {float(total):.3f} s = {float(total) / ideal:.3f} x ideal")
print(f"server CPU:         {cpu:.2f} s (user + system)")
print(f"server peak RSS:    {int(peak_kb) / 1024:.1f} MiB")
PY
