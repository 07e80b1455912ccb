#!/usr/bin/env bash
# Installs the system packages that the tests use and that a fresh machine may lack, from Debian's
# packages: the Redis server (tests/catchat_redis.rs starts its own on a free port), Chromium
# with its WebDriver (tests/catchat_browser.rs drives the dashboard in a real browser), and
# memcached with libmemcached's tools (tests/memcached_server.rs compares our server's answers with
# a real memcached's and runs memccapable, memcached's conformance tests, against ours;
# tests/memcached_clients.rs runs the training's clients against a real one).
#
#   scripts/ci/install-deps.sh           # called by .ci/run; safe to run again: installs only what is missing
#
# `apt-get update` runs once, and only if something is missing. When a package cannot be
# installed (no network, not root and no sudo), the script says so and exits 0: the tests that
# need it then skip with a message naming what is missing.
set -uo pipefail

# command package: what each test needs, by the command that shows it is there.
wanted=(
    "redis-server redis-server"
    "chromium chromium"
    "chromedriver chromium-driver"
    "memcached memcached"
    "memccapable libmemcached-tools"
)

missing=()
for pair in "${wanted[@]}"; do
    read -r command package <<<"$pair"
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo -n"
    else
        echo "install-deps: not root and no sudo: cannot install ${missing[*]}" >&2
        exit 0
    fi
fi
echo "install-deps: installing ${missing[*]} (apt-get)..." >&2
log=$(mktemp)
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    echo "install-deps: could not install ${missing[*]}:" >&2
    tail -5 "$log" >&2
fi
rm -f "$log"
exit 0
