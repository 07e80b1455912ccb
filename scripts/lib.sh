# Shared by the scripts (the demo, the tour, the benchmarks, the interoperability set-up): where
# cargo put the programs, starting a server and reading the port it reports, and a Python with
# Twisted. Sourced, not run.
#
# Sourcing it sets `root` (the top of the project), `workdir` (a temporary directory) and traps that
# stop every server started with `start` and remove `workdir` when the script ends, Ctrl-C included.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

# target_dir: prints the directory cargo builds into. Cargo decides (CARGO_TARGET_DIR, a config
# file's build.target-dir, or target/ by default): ask it rather than guess, so that a script runs
# what it has just built.
target_dir() {
    (cd "$root" && cargo metadata --format-version 1 --no-deps) |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# port_in FILE: prints the first port a server's output reports ("on port N.", "port=N).", twistd's
# "PoetryFactory starting on N", or the talks' "listening on HOST:N"); nothing if none yet.
port_in() {
    sed -n -e 's/.*port[= ]\([0-9][0-9]*\)[.)]*$/\1/p' \
        -e 's/.* starting on \([0-9][0-9]*\)$/\1/p' \
        -e 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1
}

# start NAME COMMAND...: starts a server in the background, its output in $workdir/NAME.log, and
# waits for the line that gives its port (see port_in); sets $server_pid and $server_port. A
# server that does not say its port within 10 s, or ends first, is an error: its output is shown
# and the script stops.
start() {
    local name=$1
    shift
    local log=$workdir/$name.log
    "$@" >"$log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    server_port=""
    for _ in $(seq 200); do
        server_port=$(port_in "$log")
        [ -n "$server_port" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "${0##*/}: $name did not start:" >&2
    cat "$log" >&2
    exit 1
}

# stop: stops the last server started.
stop() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# The virtual environment with Twisted that the benchmarks compare against and the PB
# interoperability tests talk to. It lives in the user's cache, outside any clone, so that every
# clone, worktree and CI run on this machine installs it once.
twisted_venv=${XDG_CACHE_HOME:-$HOME/.cache}/twisted-intro/twisted-venv

# twisted_ready: whether the virtual environment exists and imports Twisted.
twisted_ready() {
    [ -x "$twisted_venv/bin/python" ] && "$twisted_venv/bin/python" -c 'import twisted' 2>/dev/null
}

# twisted_python: prints the path of a Python with Twisted, creating the virtual environment the
# first time (pip install twisted, from PyPI); prints nothing if that fails, having said why on
# stderr.
twisted_python() {
    if ! twisted_ready; then
        echo "Setting up Twisted in $twisted_venv (once)..." >&2
        mkdir -p "$(dirname "$twisted_venv")"
        if ! { python3 -m venv "$twisted_venv" && "$twisted_venv/bin/pip" install --quiet twisted; } >&2; then
            echo "Twisted could not be installed (is PyPI reachable?)" >&2
            return 0
        fi
    fi
    echo "$twisted_venv/bin/python"
}
