#!/usr/bin/env bash
# A tour of the tutorial, one Part per command: Dave Peticolas's "An Introduction to Asynchronous
# Programming and Twisted", Parts 2 to 21.
#
# `scripts/tour.sh PART` does what that Part of the tutorial does, in one terminal: it starts the
# servers the Part needs on free ports, runs its clients and demos one after another, and prints
# each command before running it (with the real ports) so that it can be typed again by hand. What a
# server printed is shown after the clients that talked to it. Everything it started is stopped
# when it ends, Ctrl-C included.
#
#   scripts/tour.sh --list             the Parts, one line each
#   scripts/tour.sh 2                  Part 2 at the tutorial's pace (a send every 0.1 s)
#   scripts/tour.sh --delay 0.01 4     Part 4 ten times faster: the slow servers and the timed demos
#
# It builds what the Part needs first, optimised (`cargo build --release`, into the directory cargo
# says: CARGO_TARGET_DIR is honoured). POETRY_BIN_DIR=DIR runs the programs found in DIR instead,
# without building (the tests use it); the examples of `common` are then looked for in
# POETRY_EXAMPLE_DIR, and skipped, each with a line saying so, when it is not set.
#
# Exit status: 0 when every step ended as the tutorial says it does, 1 otherwise, 2 for a usage error.
set -euo pipefail

parts=(
    "2|Slow Poetry and the Apocalypse|three slow servers; the blocking client, then the asynchronous one"
    "3|Our Eye-beams Begin to Twist|the reactor: simple, hello, stack, countdown, exception"
    "4|Twisted Poetry|client 1.0 on the reactor (add_reader), and the broken one that blocks it"
    "5|Twistier Poetry|client 2.0: protocols and factories; its simple and stack variants"
    "6|And Then We Took It Higher|client 3.0 and 3.1: callbacks and errbacks; a Failure"
    "7|An Interlude, Deferred|the Deferred: defer-1 to defer-9"
    "8|Deferred Poetry|client 4.0: get_poetry returns a Deferred; a callback that blocks"
    "9|A Second Interlude, Deferred|an unhandled failure; the Deferred simulator"
    "10|Poetry Transformed|clients 5.0 and 5.1: a transform that may fail, errbacks that recover"
    "11|Your Poetry is Served|fastpoetry, and the slow server on the reactor (exercise 3)"
    "12|A Poetry Transformation Server|transformedpoetry, poked by hand with transform-test"
    "13|Deferred All The Way Down|client 6.0: a callback returning a Deferred; defer-10"
    "14|When a Deferred Isn't|the caching proxies 1.0 and 2.0; defer-11"
    "15|Tested Poetry|the test that runs a server and a client on one reactor"
    "16|Twisted Daemonologie|fastpoetry-2's service tree; poetryd, our twistd, in the foreground and as a daemon"
    "17|Just Another Way to Spell \"Callback\"|generators, inlineCallbacks as async/await; client 7.0"
    "18|Deferreds En Masse|DeferredList and DeferredSemaphore; client 8.0"
    "19|I Thought I Wanted It But I Changed My Mind|cancelling Deferreds; proxy 3.0 cancels for a client that left"
    "20|Wheels within Wheels: Twisted and Erlang|the client as plain tokio tasks"
    "21|Lazy is as Lazy Doesn't: Twisted and Haskell|the client as a thread per server"
)

usage() {
    echo "usage: scripts/tour.sh [--delay SECONDS] PART     (PART: 2 to 21)"
    echo "       scripts/tour.sh --list"
    echo "Runs one Part of the tutorial: its servers on free ports, then its clients and demos."
    echo "--delay: the slow servers' pause between sends (0.1, the tutorial's); the demos that wait"
    echo "         on real time are scaled by the same factor."
}

delay=0.1
part=""
while [ $# -gt 0 ]; do
    case "$1" in
        --delay) [ $# -ge 2 ] || { usage >&2; exit 2; }; delay=$2; shift 2 ;;
        --delay=*) delay=${1#--delay=}; shift ;;
        --list)
            for entry in "${parts[@]}"; do
                IFS='|' read -r number title what <<<"$entry"
                printf 'Part %-3s %s: %s\n' "$number" "$title" "$what"
            done
            exit 0
            ;;
        -h|--help) usage; exit 0 ;;
        [0-9]*) [ -z "$part" ] || { usage >&2; exit 2; }; part=$1; shift ;;
        *) usage >&2; exit 2 ;;
    esac
done
if [ -z "$part" ]; then
    usage >&2
    exit 2
fi
if ! [[ $delay =~ ^[0-9]*\.?[0-9]+$ ]] || ! [[ $part =~ ^[0-9]+$ ]] || [ "$part" -lt 2 ] || [ "$part" -gt 21 ]; then
    usage >&2
    exit 2
fi
# The demos' --time-scale: 1 at the tutorial's pace, 0.1 when the servers go ten times faster.
scale=$(awk -v d="$delay" 'BEGIN { printf "%g", d / 0.1 }')

source "$(dirname "$0")/lib.sh"
cd "$root"

unexpected=0
said=0

# say TEXT...: a line of explanation, after a blank line; the command that follows comes right
# under it.
say() {
    [ "$said" -eq 1 ] || echo
    echo "# $*"
    said=1
}

# show_command TEXT: prints a command as it can be typed, after a blank line unless it follows an
# explanation.
show_command() {
    [ "$said" -eq 1 ] || echo
    said=0
    echo "\$ $*"
}

# quoted ARG...: the arguments as a shell would need them typed.
quoted() {
    local arg out=""
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then
            out+=" $arg"
        else
            out+=" '${arg//\'/\'\\\'\'}'"
        fi
    done
    echo "${out# }"
}

# build TARGET...: builds the given targets of the root package (--bin NAME) and of common
# (--example NAME), unless POETRY_BIN_DIR says where they already are.
build() {
    [ -n "${POETRY_BIN_DIR:-}" ] && return 0
    local bins=() examples=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --bin) bins+=(--bin "$2") ;;
            --example) examples+=(--example "$2") ;;
        esac
        shift 2
    done
    echo "Building (release)..."
    if [ ${#bins[@]} -gt 0 ]; then cargo build --release --quiet "${bins[@]}"; fi
    if [ ${#examples[@]} -gt 0 ]; then cargo build --release --quiet -p common "${examples[@]}"; fi
}

if [ -n "${POETRY_BIN_DIR:-}" ]; then
    bin=$POETRY_BIN_DIR
    examples=${POETRY_EXAMPLE_DIR:-}
else
    bin=$(target_dir)/release
    examples=$bin/examples
fi

# check STATUS WANTED: notes a step whose exit status is not the one the tutorial expects
# (`0`, `fail` for any other, or `any`).
check() {
    local status=$1 wanted=$2
    # 130: the program was stopped by Ctrl-C. Bash, which was waiting for it, leaves its own INT
    # trap alone when the program exits by itself (as ours do, with 130), so the tour stops here.
    [ "$status" -eq 130 ] && exit 130
    [ "$status" -eq 0 ] || echo "(exit status $status)"
    case "$wanted" in
        0) [ "$status" -eq 0 ] || unexpected=1 ;;
        fail) [ "$status" -ne 0 ] || unexpected=1 ;;
    esac
}

# run [--fails|--any] PROGRAM ARG...: prints the command, then runs the program; it should succeed
# (or fail, or either).
run() {
    local wanted=0
    case "$1" in --fails) wanted=fail; shift ;; --any) wanted=any; shift ;; esac
    local program=$1
    shift
    show_command "$(quoted "$program" "$@")"
    local status=0
    "$bin/$program" "$@" </dev/null || status=$?
    check "$status" "$wanted"
}

# example [--any] [--stop-after SECONDS] NAME ARG...: prints and runs an example of the common
# crate. One that runs until Ctrl-C, as the tutorial's do, is stopped after SECONDS with SIGTERM
# (which our reactor takes as it takes Ctrl-C).
example() {
    local wanted=0 stop_after=""
    [ "$1" = --any ] && { wanted=any; shift; }
    [ "$1" = --stop-after ] && { stop_after=$2; shift 2; }
    local name=$1
    shift
    show_command "$(quoted cargo run --release -q -p common --example "$name" ${1+--} "$@")"
    if [ -z "$examples" ] || [ ! -x "$examples/$name" ]; then
        echo "(skipped: the example $name is not built${examples:+ in $examples})"
        return 0
    fi
    local status=0
    if [ -n "$stop_after" ]; then
        "$examples/$name" "$@" </dev/null &
        local pid=$!
        server_pids+=("$pid")
        sleep "$stop_after"
        echo "[the tour stops it, as Ctrl-C would]"
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" || status=$?
    else
        "$examples/$name" "$@" </dev/null || status=$?
    fi
    check "$status" "$wanted"
}

# server NAME PROGRAM ARG...: prints the command, starts the server in the background on the port
# it is given (0: any free one), and says which port it got, in $server_port.
server() {
    local name=$1 program=$2
    shift 2
    show_command "$(quoted "$program" "$@") &"
    start "$name" "$bin/$program" "$@"
    echo "[$name is listening on port $server_port]"
}

# output NAME [PATTERN]: what the server NAME has printed so far (the lines matching PATTERN, an
# extended regular expression, when given), each line marked with its name.
output() {
    local name=$1 pattern=${2:-.}
    said=0
    echo "[what $name printed:]"
    grep -E -- "$pattern" "$workdir/$name.log" | sed "s/^/  $name | /" || true
}

# stop_server NAME PID: stops a server, as Ctrl-C in its terminal would.
stop_server() {
    said=0
    echo "[stopping $1]"
    kill "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
}

# closed_port: a port where nothing listens (the tutorial's "10004, where there is no server").
closed_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# slow_servers: the three slow servers of Part 2, on $p1 $p2 $p3. Ecstasy is nearly five times as
# long as the other two, so it goes out 30 characters at a time and the three take about as long.
slow_servers() {
    server ecstasy slowpoetry --delay "$delay" --num-bytes 30 poetry/ecstasy.txt
    p1=$server_port
    server fascination slowpoetry --delay "$delay" poetry/fascination.txt
    p2=$server_port
    server science slowpoetry --delay "$delay" poetry/science.txt
    p3=$server_port
}

# fast_servers: a transform server on $t and two fast poetry servers on $p2 $p3 (Parts 13, 17, 18).
fast_servers() {
    server transform transformedpoetry --port 0
    t=$server_port
    transform_pid=$server_pid
    server fascination fastpoetry --port 0 poetry/fascination.txt
    p2=$server_port
    server science fastpoetry --port 0 poetry/science.txt
    p3=$server_port
}

part_2() {
    build --bin slowpoetry --bin get-poetry-blocking --bin get-poetry-async
    slow_servers
    say "The blocking client fetches the poems one after another: the total is the sum."
    run get-poetry-blocking "$p1" "$p2" "$p3"
    say "The asynchronous client waits on all three sockets at once: the total is the slowest."
    run get-poetry-async "$p1" "$p2" "$p3"
    output science '^(Serving|Somebody)'
}

part_3() {
    build --example simple --example hello --example stack --example countdown --example exception
    say "simple runs the reactor with nothing to do, until Ctrl-C; so do hello and stack, once"
    say "they have printed what they have to say."
    example --stop-after 2 simple
    example --stop-after 1 hello
    example --stop-after 1 stack
    example countdown --time-scale "$scale"
    example countdown --counters --time-scale "$scale"
    example exception
}

part_4() {
    build --bin slowpoetry --bin get-poetry-1 --bin get-poetry-1-broken
    slow_servers
    say "Client 1.0: the reactor reads our sockets (add_reader); a port with no server is one line."
    run --fails get-poetry-1 "$p1" "$p2" "$p3" "$(closed_port)"
    say "The broken client blocks in its read callback: each poem arrives in one piece."
    run get-poetry-1-broken "$p1" "$p2" "$p3"
}

part_5() {
    build --bin slowpoetry --bin get-poetry-2 --bin get-poetry-2-simple --bin get-poetry-2-stack
    slow_servers
    say "Client 2.0: the reactor connects and moves the bytes; our Protocol says what to do with them."
    run get-poetry-2 "$p1" "$p2" "$p3"
    say "The same, about poetry only: it prints the poems."
    run get-poetry-2-simple "$p1" "$p2" "$p3"
    say "The stack at the first data_received: the reactor calls our protocol."
    run get-poetry-2-stack "$p2"
}

part_6() {
    build --bin slowpoetry --bin get-poetry-3 --bin get-poetry-3-1 --example failure-examples
    slow_servers
    say "Client 3.0: get_poetry(host, port, callback). Against a dead server it would wait forever:"
    say "that is the lesson of 'When Things Go Wrong'; Ctrl-C stops it."
    run get-poetry-3 "$p1" "$p2" "$p3"
    say "Client 3.1 adds the errback: a refused connection reaches it."
    run --fails get-poetry-3-1 "$p2" "$(closed_port)"
    example failure-examples
}

part_7() {
    local args=() n
    for n in 1 2 3 4 5 6 7 8 9; do args+=(--example "defer-$n"); done
    build "${args[@]}"
    say "A Deferred: a chain of callbacks and errbacks, fired once."
    for n in 1 2 3 4 5 6 7 8 9; do example --any "defer-$n"; done
}

part_8() {
    build --bin slowpoetry --bin get-poetry-4 --bin get-poetry-4-stack --example defer-block
    slow_servers
    say "Client 4.0: get_poetry returns a Deferred; the callbacks print, the errbacks report."
    run get-poetry-4 "$p1" "$p2" "$p3"
    say "The stack of the Deferred's callback: still called by the reactor."
    run get-poetry-4-stack "$p2"
    say "A callback that sleeps blocks the whole reactor."
    example defer-block --time-scale "$scale"
}

part_9() {
    build --bin deferred-simulator --example defer-unhandled
    say "A failure nobody handled is reported when its Deferred goes away."
    example defer-unhandled
    say "The Deferred simulator: results and failures criss-crossing a chain."
    local input=$'r good f bad\nf googly p\np r fixed\n\n'
    show_command "printf 'r good f bad\\nf googly p\\np r fixed\\n\\n' | deferred-simulator"
    local status=0
    printf '%s' "$input" | "$bin/deferred-simulator" || status=$?
    check "$status" 0
}

part_10() {
    build --bin fastpoetry --bin get-poetry-5 --bin get-poetry-5-1
    server fascination fastpoetry --port 0 poetry/fascination.txt
    local port=$server_port
    say "Client 5.0 cummingsifies the poem, a transform that fails now and then; each run draws"
    say "its outcome, and --seed repeats a draw: these three seeds give the lower-cased poem,"
    say "\"Cummingsify failed!\" and the original poem, and \"The poem download failed.\""
    local seed
    for seed in 3 6 1; do run --any get-poetry-5 --seed "$seed" "$port"; done
    say "Client 5.1 sorts the failures out in an errback, which recovers with the original poem."
    run get-poetry-5-1 --seed 6 "$port"
}

part_11() {
    build --bin fastpoetry --bin slowpoetry-reactor --bin get-poetry-2
    say "Fast Poetry: a protocol and a factory on the reactor; the whole poem at once."
    server fast fastpoetry --port 0 poetry/ecstasy.txt
    run get-poetry-2 "$server_port"
    output fast
    say "Exercise 3: the slow server on the reactor serves every client at the same time."
    server slow slowpoetry-reactor --port 0 --delay "$delay" poetry/science.txt
    run get-poetry-2 "$server_port" "$server_port" "$server_port"
}

part_12() {
    build --bin transformedpoetry
    say "The transform server answers netstring requests, name.text."
    server transform transformedpoetry --port 0
    show_command "scripts/transform-test.sh $server_port"
    local status=0
    scripts/transform-test.sh "$server_port" || status=$?
    check "$status" 0
}

part_13() {
    build --bin transformedpoetry --bin fastpoetry --bin get-poetry-6 --example defer-10
    say "A callback that returns a Deferred pauses the chain until that Deferred fires."
    example defer-10
    fast_servers
    say "Client 6.0 sends each poem to the transform server before printing it."
    run get-poetry-6 "$t" "$p2" "$p3"
    say "Without the transform server, each poem comes back as it was."
    stop_server transform "$transform_pid"
    run get-poetry-6 "$t" "$p2" "$p3"
}

part_14() {
    build --bin fastpoetry --bin poetry-proxy-1 --bin poetry-proxy-2 --bin get-poetry-4 \
        --example defer-11
    server fascination fastpoetry --port 0 poetry/fascination.txt
    local upstream=$server_port proxy
    for proxy in poetry-proxy-1 poetry-proxy-2; do
        say "$proxy fetches the poem once, then serves it from its cache."
        server "$proxy" "$proxy" --port 0 "$upstream"
        run get-poetry-4 "$server_port"
        run get-poetry-4 "$server_port"
        output "$proxy"
    done
    say "Callbacks added to a Deferred that has already fired run at once; pause and unpause."
    example defer-11
}

part_15() {
    say "Part 15's program is a test: a poetry server and a client on one reactor, in one test."
    show_command "cargo test -q -p common --test test_poetry"
    local status=0
    cargo test -q -p common --test test_poetry || status=$?
    check "$status" 0
}

part_16() {
    build --bin fastpoetry-2 --bin poetryd --bin get-poetry-2 --example log
    say "Logging as twistd does: nothing until it is started."
    example log
    say "Fast Poetry 2.0: a tree of services, started by the reactor and stopped with it."
    server fastpoetry-2 fastpoetry-2 --port 0
    run get-poetry-2 "$server_port"
    stop_server fastpoetry-2 "$server_pid"
    output fastpoetry-2
    say "poetryd, our twistd, in the foreground."
    server poetryd poetryd --nodaemon --pidfile "$workdir/fg.pid" fastpoetry --port 0 \
        --poem poetry/ecstasy.txt
    run get-poetry-2 "$server_port"
    stop_server poetryd "$server_pid"
    output poetryd
    say "poetryd as a daemon: it returns at once, and logs into a file."
    mkdir "$workdir/daemon"
    local pidfile=$workdir/daemon/poetryd.pid logfile=$workdir/daemon/poetryd.log
    run poetryd --pidfile "$pidfile" --logfile "$logfile" fastpoetry --port 0 --poem poetry/ecstasy.txt
    local port="" pid=""
    for _ in $(seq 200); do
        pid=$(cat "$pidfile" 2>/dev/null || true)
        port=$(port_in "$logfile")
        [ -n "$pid" ] && [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$pid" ] && server_pids+=("$pid")
    if [ -z "$port" ]; then
        echo "tour: the daemon did not start:" >&2
        cat "$logfile" >&2 || true
        exit 1
    fi
    run get-poetry-2 "$port"
    show_command "kill \$(cat $pidfile)"
    kill "$pid"
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "[what poetryd.log holds:]"
    sed 's/^/  poetryd.log | /' "$logfile"
}

part_17() {
    local args=() name
    local demos=(gen-1 gen-2 gen-3 gen-4 inline-callbacks-1 inline-callbacks-2 inline-callbacks-tb)
    for name in "${demos[@]}"; do args+=(--example "$name"); done
    build --bin transformedpoetry --bin fastpoetry --bin get-poetry-7 "${args[@]}"
    say "Generators, and what Rust has instead; inlineCallbacks is async/await on Deferreds."
    for name in gen-1 gen-2 gen-3 gen-4; do example "$name"; done
    example inline-callbacks-1 --time-scale "$scale"
    example inline-callbacks-2 --time-scale "$scale"
    example --any inline-callbacks-tb
    fast_servers
    say "Client 7.0: the same client as an async block."
    run get-poetry-7 "$t" "$p2" "$p3"
}

part_18() {
    local args=() n
    for n in 1 2 3 4 5 6 7; do args+=(--example "deferred-list-$n"); done
    build --bin transformedpoetry --bin fastpoetry --bin get-poetry-8 --example deferred-semaphore \
        "${args[@]}"
    say "A DeferredList waits for many Deferreds, and says how each one ended."
    for n in 1 2 3 4 5 6 7; do example "deferred-list-$n"; done
    say "Further: DeferredSemaphore keeps many jobs to a few at a time."
    example deferred-semaphore --limit 2 --time-scale "$scale"
    fast_servers
    say "Client 8.0: a DeferredList stops the reactor when every poem is done."
    run get-poetry-8 "$t" "$p2" "$p3"
}

part_19() {
    local args=() n
    for n in 1 2 3 4 5 6 7 8 9 10 11 12; do args+=(--example "defer-cancel-$n"); done
    build --bin slowpoetry --bin poetry-proxy-3 --bin get-poetry-4 "${args[@]}"
    say "Cancelling a Deferred, with and without a canceller."
    for n in 1 2 3 4 5 6 7 8; do example --any "defer-cancel-$n"; done
    for n in 9 10 11; do example --any "defer-cancel-$n" --time-scale "$scale"; done
    example --any defer-cancel-12
    server fascination slowpoetry --delay "$delay" poetry/fascination.txt
    say "Proxy 3.0 cancels its download from the slow server when the client who wanted it leaves:"
    say "here a client that gives up after $(awk -v s="$scale" 'BEGIN { printf "%g", 2 * s }') s."
    server proxy poetry-proxy-3 --port 0 "$server_port"
    run --fails get-poetry-4 --timeout "$(awk -v s="$scale" 'BEGIN { printf "%g", 2 * s }')" "$server_port"

    for _ in $(seq 100); do
        grep -q 'Canceling' "$workdir/proxy.log" && break
        sleep 0.05
    done
    output proxy
}

part_20() {
    build --bin slowpoetry --bin get-poetry-tokio
    slow_servers
    say "Part 20's lesson in Rust's own model: each download a tokio task, no reactor."
    run get-poetry-tokio "$p1" "$p2" "$p3"
}

part_21() {
    build --bin slowpoetry --bin get-poetry-threads
    slow_servers
    say "Part 21's: a thread per server, blocking reads."
    run get-poetry-threads "$p1" "$p2" "$p3"
}

IFS='|' read -r _ title _ <<<"${parts[$((part - 2))]}"
echo "== Part $part: $title =="
echo "== https://krondo.com/an-introduction-to-asynchronous-programming-and-twisted/ =="
say "The programs are in $bin; with \`export PATH=\"$bin:\$PATH\"\` the commands below run as printed."
"part_$part"
if [ "$unexpected" -ne 0 ]; then
    echo "tour: a step did not end as the tutorial says it does (see its exit status above)" >&2
    exit 1
fi
