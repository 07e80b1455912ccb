#!/usr/bin/env bash
# Sets up the real Twisted that tests/pb_interop.rs talks to: a Python virtual environment with
# Twisted from PyPI, made once in the user's cache (${XDG_CACHE_HOME:-~/.cache}/twisted-intro/
# twisted-venv, shared with the benchmarks) and reused after that. Prints the path of its Python.
#
#   scripts/interop/pb.sh            # creates the environment if needed; .ci/run calls it before the tests
#   scripts/interop/pb.sh --check    # prints the path and exits 0 if it is ready, exits 1 otherwise
#
# Without network access to PyPI it says so and exits 1; the interoperability tests then skip with
# a message, or fail when REQUIRE_TWISTED=1 is set (as .ci/run does, after stopping on that exit
# status). The Python peers themselves are in scripts/interop/twisted/.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

case "${1:-}" in
    --check)
        twisted_ready || exit 1
        echo "$twisted_venv/bin/python"
        ;;
    "")
        python=$(twisted_python)
        if [ -z "$python" ]; then
            echo "interop: no Twisted: the PB interoperability tests will skip (fail with REQUIRE_TWISTED=1)" >&2
            exit 1
        fi
        echo "$python"
        ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) echo "usage: scripts/interop/pb.sh [--check]" >&2; exit 2 ;;
esac
