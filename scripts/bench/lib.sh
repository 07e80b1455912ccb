# Shared by the benchmark scripts: build, start a server and read its port, read a process's CPU
# time and peak memory from /proc, and set up Twisted for the comparisons. Sourced, not run.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Cargo decides where the binaries go (CARGO_TARGET_DIR, a config file's build.target-dir, or
# target/ by default): ask it rather than guess, so that the scripts run what `build` just built.
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/release
bench_dir=$root/scripts/bench
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

# build TARGET...: builds the given cargo targets (`--bin NAME`, `--example NAME`) optimised.
build() {
    echo "Building (release)..." >&2
    (cd "$root" && cargo build --release --quiet "$@")
}

# start NAME COMMAND...: starts a server whose first line ends with its port ("on port N.",
# "port=N)." or the talks' "listening on HOST:N"), and sets $server_pid and $server_port.
start() {
    local name=$1
    shift
    local log=$workdir/$name.log
    "$@" >"$log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    server_port=""
    for _ in $(seq 200); do
        server_port=$(sed -n -e '1{s/.*port[= ]\([0-9][0-9]*\)[.)]*$/\1/p' \
            -e 's/^listening on .*:\([0-9][0-9]*\)$/\1/p}' "$log")
        [ -n "$server_port" ] && return 0
        sleep 0.05
    done
    echo "bench: $name did not start:" >&2
    cat "$log" >&2
    exit 1
}

# stop: stops the last server started.
stop() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# cpu_seconds PID: user + system CPU time of a running process, in seconds.
cpu_seconds() {
    awk -v ticks="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / ticks }' "/proc/$1/stat"
}

# peak_rss_mib PID: the peak resident memory of a running process.
peak_rss_mib() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# json_field FILE KEY...: a number from a timing-client --json report.
json_field() {
    python3 - "$@" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    value = value[key]
print(value)
PY
}

# twisted_python: prints the path of a Python with Twisted, creating a virtualenv in
# scripts/bench/.venv the first time (pip install twisted); prints nothing if that fails.
twisted_python() {
    local venv=$bench_dir/.venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import twisted' 2>/dev/null; then
        echo "Setting up Twisted in $venv (once)..." >&2
        python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet twisted >&2 || return 0
    fi
    echo "$venv/bin/python"
}

# need_package COMMAND PACKAGE: installs the Debian PACKAGE (apt-get update first) when COMMAND is
# missing; a benchmark that cannot get its tool says so and stops.
need_package() {
    command -v "$1" >/dev/null && return 0
    echo "Installing $2 (apt-get)..." >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2"; } >"$workdir/apt.log" 2>&1; then
        echo "bench: $1 is needed and $2 could not be installed:" >&2
        tail -5 "$workdir/apt.log" >&2
        exit 1
    fi
}
