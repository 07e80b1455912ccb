# Shared by the benchmark scripts: build, and read a process's CPU time and peak memory from /proc;
# `start` and `stop` (a server and its port) and `twisted_python` (Twisted for the comparisons)
# come from scripts/lib.sh. Sourced, not run.

source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bin=$(target_dir)/release
bench_dir=$root/scripts/bench

# Where a server under load and its load generator run: on a machine of two cores or more, each
# on a core of its own (server_cpu and load_cpu are command prefixes), so that the scheduler never
# puts them on one core and the figures do not depend on where it happened to put them. Every
# server of a comparison runs on the same core. Without taskset, or on one core, they are empty.
server_cpu=()
load_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    server_cpu=(taskset -c 1)
    load_cpu=(taskset -c 0)
fi

# in_round_order ROUND NAME...: the names, in the order given on odd rounds and reversed on even
# ones, so that a machine that slows down or speeds up during a run does not always favour the
# server measured first.
in_round_order() {
    local round=$1
    shift
    if [ $((round % 2)) -eq 1 ]; then
        printf '%s\n' "$@"
    else
        printf '%s\n' "$@" | tac
    fi
}

# bench_options DEFAULT_ROUNDS ARG...: reads the options every comparison takes into `rounds`
# (--rounds N), `twisted` (yes, or no with --no-twisted) and `positional` (the other arguments, in
# order); --help prints the script's header comment and exits.
bench_options() {
    rounds=$1
    shift
    twisted=yes
    positional=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --no-twisted) twisted=no ;;
            --rounds) rounds=${2:?--rounds needs a number}; shift ;;
            -h|--help) sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
            *) positional+=("$1") ;;
        esac
        shift
    done
}

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
