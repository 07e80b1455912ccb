#!/usr/bin/env bash
# Pokes the poetry transform server by hand: tutorial Part 12 (`twisted-server-1/transform-test`).
#
# Sends one request, the netstring `27:cummingsify.HERE IS MY POEM,`, to the transform server on
# 127.0.0.1:PORT and prints the server's raw reply, then a newline:
#
#   cargo run --bin transformedpoetry -- --port 10001     # terminal 1
#   scripts/transform-test.sh 10001                       # terminal 2: prints 15:here is my poem,
#
# The original uses netcat; this needs nothing but bash (its /dev/tcp). It gives up waiting for the
# reply after 10 seconds. Exit status: 0 with a reply, 1 when there is no server or no reply, 2 for a
# usage error.
set -u

name=transform-test.sh
usage_line="usage: scripts/$name PORT"

case $# in
    1) ;;
    *) echo "$usage_line" >&2; exit 2 ;;
esac
case $1 in
    -h|--help)
        echo "$usage_line"
        echo "Sends a cummingsify request to the transform server on 127.0.0.1:PORT and prints the reply."
        exit 0
        ;;
    ''|*[!0-9]*) echo "$usage_line" >&2; exit 2 ;;
esac
# Leading zeros would make bash read the number as octal.
port=$((10#$1))
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "$usage_line" >&2
    exit 2
fi

# Bash's own messages for a failed connection take two lines; ours takes one.
if ! { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
    echo "$name: cannot connect to 127.0.0.1:$port (is the transform server running?)" >&2
    exit 1
fi

request='27:cummingsify.HERE IS MY POEM,'
printf '%s' "$request" >&3

# The server closes the connection after its reply, so read everything until end of file (a reply
# holds no NUL byte, so `-d ''` never stops early). `read` fails at end of file, which is expected
# here, and returns more than 128 when the time runs out. A reset connection (a server that is not
# a transform server, and did not read the request) is treated as the end too.
reply=''
IFS= read -r -d '' -t 10 reply <&3 2>/dev/null
status=$?
exec 3<&-
if [ "$status" -gt 128 ]; then
    printf '%s\n' "$reply"
    echo "$name: no complete reply from 127.0.0.1:$port within 10 seconds" >&2
    exit 1
fi
if [ -z "$reply" ]; then
    echo "$name: 127.0.0.1:$port closed the connection without a reply" >&2
    exit 1
fi
printf '%s\n' "$reply"
