#!/usr/bin/env bash
# Peak memory under the two loads that used to make the tutorial's programs grow without bound:
#
#  1. slowpoetry-reactor sending a 20 MB poem, 10,000 characters every millisecond, to 5 clients
#     that read nothing (the server must stop producing for them: back-pressure);
#  2. get-poetry-async and get-poetry-2 downloading from a server that never stops sending (the
#     clients must give up at --max-poem-size, 64 MiB by default).
#
# Usage: scripts/stress/memory.sh [SECONDS]   (how long the silent clients stay; default 5)
# Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
source "$(dirname "$0")/../bench/lib.sh"
seconds=${1:-5}

build --bin slowpoetry-reactor --bin get-poetry-async --bin get-poetry-2

poem=$workdir/big.txt
head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$poem"

echo "== 1. slowpoetry-reactor, a 20 MB poem, 5 clients that read nothing for ${seconds}s =="
start slowpoetry-reactor "$bin/slowpoetry-reactor" --port 0 --quiet --num-bytes 10000 \
    --delay 0.001 "$poem"
before=$(peak_rss_mib "$server_pid")
python3 - "$server_port" "$seconds" <<'PY'
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
time.sleep(seconds)
for client in clients:
    client.close()
PY
echo "server peak memory: $(peak_rss_mib "$server_pid") MiB (before the clients: $before MiB;" \
    "the poem itself is 20 MiB)"
stop

echo "== 2. clients against a server that never stops sending =="
endless_port_file=$workdir/endless.port
python3 - "$endless_port_file" <<'PY' &
import socket, sys, threading
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
open(sys.argv[1], "w").write(str(listener.getsockname()[1]))
chunk = b"a" * 65536
def flood(connection):
    try:
        for _ in range(200_000):  # 13 GB at most: the client gives up long before
            connection.sendall(chunk)
    except OSError:
        pass
    connection.close()
for _ in range(2):
    connection, _ = listener.accept()
    threading.Thread(target=flood, args=(connection,)).start()
PY
server_pids+=("$!")
for _ in $(seq 100); do [ -s "$endless_port_file" ] && break; sleep 0.05; done
endless_port=$(cat "$endless_port_file")
for client in get-poetry-async get-poetry-2; do
    python3 - "$bin/$client" "$endless_port" <<'PY'
import os, resource, subprocess, sys
program, port = sys.argv[1], sys.argv[2]
done = subprocess.run([program, port], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
said = [line for line in (done.stdout + done.stderr).splitlines() if "larger" in line]
print(f"{os.path.basename(program)}: peak memory {peak:.1f} MiB, exit status {done.returncode};"
      f" it said: {said[0] if said else '(nothing about the size)'}")
PY
done
