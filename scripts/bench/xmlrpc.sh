#!/usr/bin/env bash
# XML-RPC under load, measured with wrk: calls of `echo` with a few arguments (an int, a string,
# a double, a boolean and an array of three ints) over keep-alive connections, POSTed again and
# again, to `xmlrpc-server` (talk 004's Echoer on our web layer) and to Twisted's XML-RPC server
# (twisted/xmlrpc_echo.py) in the same run. Reports calls per second and the server's CPU time
# per call.
#
#   scripts/bench/xmlrpc.sh [SECONDS] [CONNECTIONS] [--rounds N] [--no-twisted]
#                                                defaults: 5 20, 5 rounds
#
# Each round measures each server on a freshly started process (in turn, the first one first on odd
# rounds and last on even ones); the table shows medians over the rounds, and ratios taken within
# a round. wrk runs one thread, and it and the server are each pinned to a core of their own (see
# lib.sh). Before measuring, each server's answer is checked: it must be the echoed array, not a
# fault. Target: at least 20 times Twisted's calls per second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_options 5 "$@"
seconds=${positional[0]:-5}
connections=${positional[1]:-20}
need_package wrk wrk
need_package curl curl
build --bin xmlrpc-server

servers=(xmlrpc-server)
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted)
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

# The call, as Python's xmlrpc.client writes it, and the answer both servers must give.
cat >"$workdir/call.xml" <<'XML'
<?xml version='1.0'?>
<methodCall>
<methodName>echo</methodName>
<params>
<param>
<value><int>42</int></value>
</param>
<param>
<value><string>hello, world</string></value>
</param>
<param>
<value><double>3.5</double></value>
</param>
<param>
<value><boolean>1</boolean></value>
</param>
<param>
<value><array><data>
<value><int>1</int></value>
<value><int>2</int></value>
<value><int>3</int></value>
</data></array></value>
</param>
</params>
</methodCall>
XML
cat >"$workdir/answer.xml" <<'XML'
<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><array><data>
<value><int>42</int></value>
<value><string>hello, world</string></value>
<value><double>3.5</double></value>
<value><boolean>1</boolean></value>
<value><array><data>
<value><int>1</int></value>
<value><int>2</int></value>
<value><int>3</int></value>
</data></array></value>
</data></array></value>
</param>
</params>
</methodResponse>
XML
# wrk POSTs the call's bytes on every request.
python3 - "$workdir/call.xml" "$workdir/call.lua" <<'PY'
import sys
body = open(sys.argv[1], "rb").read().decode()
with open(sys.argv[2], "w") as lua:
    lua.write('wrk.method = "POST"\n')
    lua.write('wrk.headers["Content-Type"] = "text/xml"\n')
    lua.write("wrk.body = [==[%s]==]\n" % body)
PY

# start_server NAME: starts the named server on a free port of 127.0.0.1.
start_server() {
    case "$1" in
        xmlrpc-server) start "$1" "${server_cpu[@]}" "$bin/xmlrpc-server" --port 0 ;;
        twisted) start "$1" "${server_cpu[@]}" "$python" "$bench_dir/twisted/xmlrpc_echo.py" ;;
    esac
}

results=()
# measure ROUND NAME: one fresh server under wrk; appends "round server calls/s CPU-us/call".
measure() {
    local round=$1 name=$2
    start_server "$name"
    local url="http://127.0.0.1:$server_port/"
    if ! curl -s --data-binary @"$workdir/call.xml" "$url" | cmp -s - "$workdir/answer.xml"; then
        echo "bench: $name does not answer the call as expected:" >&2
        curl -s --data-binary @"$workdir/call.xml" "$url" >&2 || true
        exit 1
    fi
    local before after report
    before=$(cpu_seconds "$server_pid")
    report=$("${load_cpu[@]}" wrk -t1 -c"$connections" -d"${seconds}s" -s "$workdir/call.lua" "$url")
    after=$(cpu_seconds "$server_pid")
    stop
    if grep -q "Non-2xx\|Socket errors" <<<"$report"; then
        echo "bench: $name answered errors:" >&2
        echo "$report" >&2
        exit 1
    fi
    results+=("$(python3 - "$round" "$name" "$before" "$after" "$seconds" <<PY
import re, sys
round_, name, before, after, seconds = sys.argv[1:]
report = """$report"""
calls = int(re.search(r"(\d+) requests in", report).group(1))
cpu = float(after) - float(before)
print(f"{round_} {name} {calls / float(seconds):.0f} {cpu * 1e6 / calls:.2f}")
PY
)")
}

for round in $(seq "$rounds"); do
    echo "Round $round of $rounds..." >&2
    for name in $(in_round_order "$round" "${servers[@]}"); do
        measure "$round" "$name"
    done
done

echo "xmlrpc: echo with five arguments, $connections keep-alive connections, ${seconds} s each," \
    "medians of $rounds round(s)"
python3 "$bench_dir/medians.py" --unit call --ours xmlrpc-server --other twisted --target 20 "${results[@]}"
