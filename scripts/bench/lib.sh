# Shared by the benchmark scripts: build, read a process's CPU time and peak memory from /proc, and
# set up Twisted for the comparisons; `start` and `stop` (a server and its port) come from
# scripts/lib.sh. Sourced, not run.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bin=$(target_dir)/release
bench_dir=$root/scripts/bench

# build TARGET...: builds the given cargo targets (`--bin NAME`, `--example NAME`) optimised.
build() {
    echo "Building (release)..." >&2
    (cd "$root" && cargo build --release --quiet "$@")
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
