#!/usr/bin/env bash
# Chat servers under load: USERS users on one server, one of them saying RATE short messages a
# second for SECONDS seconds, every other user receiving each one. For `catchat` (talk 002), a
# plain tokio chat server (examples/reference-chat.rs) and Twisted's (twisted/chat.py), in the
# same run: messages delivered per second, the time from a message's sending to its delivery to
# the last user (p50, p99), and the server's CPU time per delivered message.
#
#   scripts/bench/chat.sh [USERS] [RATE] [SECONDS] [--no-twisted]      defaults: 1000 1000 10
#
# The load is examples/chat-load.rs (tokio, one thread), which checks that every message reaches
# every other user once and in order. catchat logs every message, as the talk's does (to a file
# here); the two references log nothing. Target: catchat's CPU per delivered message at most 1.2
# times the tokio reference's, and every message delivered.
set -euo pipefail
twisted=yes
positional=()
for arg in "$@"; do
    case "$arg" in
        --no-twisted) twisted=no ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) positional+=("$arg") ;;
    esac
done
users=${positional[0]:-1000}
rate=${positional[1]:-1000}
seconds=${positional[2]:-10}
source "$(dirname "$0")/lib.sh"
build --bin catchat --example reference-chat --example chat-load

servers=(catchat tokio-reference)
if [ "$twisted" = yes ]; then
    python=$(twisted_python)
    if [ -n "$python" ]; then
        servers+=(twisted)
    else
        echo "(Twisted could not be installed: its row is left out)" >&2
    fi
fi

# start_server NAME: starts the named chat server on a free port of 127.0.0.1.
start_server() {
    case "$1" in
        # catchat's log goes to a file of its own; its first line on stderr names the chat's port.
        catchat) start "$1" sh -c "exec '$bin/catchat' --chat tcp:0 --api tcp:0 >'$workdir/catchat.out'" ;;
        tokio-reference) start "$1" "$bin/examples/reference-chat" ;;
        twisted) start "$1" "$python" "$bench_dir/twisted/chat.py" ;;
    esac
}

echo "chat: $users users, one saying $rate messages/s for $seconds s (9 bytes each)"
printf '%-16s %12s %10s %10s %22s %s\n' server "delivered/s" "p50 ms" "p99 ms" "server CPU us/message" "all delivered"
declare -A cpu_per_message
for name in "${servers[@]}"; do
    start_server "$name"
    before=$(cpu_seconds "$server_pid")
    report=$("$bin/examples/chat-load" "$server_port" "$users" "$rate" "$seconds") || true
    after=$(cpu_seconds "$server_pid")
    stop
    # "delivered D of E in S s (sending took T s): R/s; send-to-last-delivery p50 X ms p99 Y ms; ..."
    read -r delivered expected per_second p50 p99 complete < <(python3 -c "
import re, sys
text = sys.argv[1]
d, e = re.search(r'delivered (\d+) of (\d+)', text).groups()
rate = re.search(r': (\d+)/s', text).group(1)
p50, p99 = re.search(r'p50 ([\d.na]+) ms p99 ([\d.na]+) ms', text).groups()
print(d, e, rate, p50, p99, 'yes' if d == e else 'NO')" "$report")
    cpu=$(python3 -c "print(f'{($after - $before) * 1e6 / max($delivered, 1):.3f}')")
    cpu_per_message[$name]=$cpu
    printf '%-16s %12s %10s %10s %22s %s\n' "$name" "$per_second" "$p50" "$p99" "$cpu" "$complete ($delivered of $expected)"
done
python3 -c "
ours, tokio = ${cpu_per_message[catchat]}, ${cpu_per_message[tokio-reference]}
print(f'catchat / tokio reference, CPU per delivered message: {ours / tokio:.2f} (target: at most 1.2)')"
