# SPDX-License-Identifier: MIT
# Shared by the command-line tests (each sources it after `set -uo pipefail`):
#   ok; fail MESSAGE              count a check that passed or failed (FAIL lines on stderr)
#   expect_eq NAME WANT GOT       ok when GOT is WANT
#   expect_match NAME REGEX GOT   ok when GOT matches REGEX (bash =~)
#   cli_workdir                   $tmp, a fresh directory, and pids=(): both are cleaned up
#                                 at exit (the processes in pids, which the test started,
#                                 are sent SIGTERM and waited for, 5 s at most each, then
#                                 SIGKILL; the directory is removed)
#   cli_stop PID [SECONDS]        sends SIGTERM to a process the test started and waits for
#                                 it to end, at most SECONDS (10): one that does not is a
#                                 failure and gets SIGKILL (a deadline, never a pause)
#   cli_refusing_port             sets $refusing_port: a loopback port bound for the rest of
#                                 the test but never listening, so a connect to it is
#                                 refused and no other test can take it (needs cli_workdir)
#   cli_finish                    prints "N passed, M failed"; the status is 0 only when
#                                 none failed
# For a daemon run as `coproc D` (its stdout on ${D[0]}); both append every line they read
# to $cli_daemon_log when it is set, and set LINE to the line that matched:
#   cli_wait_for REGEX SECONDS    the first daemon line that matches, among the lines read
#                                 earlier and matched by no wait yet (a daemon prints its
#                                 devices' values in any order), else among the lines still
#                                 to come; each line satisfies one wait at most
#   cli_wait_next REGEX SECONDS   the next daemon line that matches; the lines before it are
#                                 passed over
fails=0 passes=0
ok() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect_eq() {
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected [$2], got [$3]"; fi
}
expect_match() {
    if [[ "$3" =~ $2 ]]; then ok; else fail "$1: [$3] does not match /$2/"; fi
}

cli_cleanup() {
    local p left=()
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && left+=("$p"); done
    # none outlives the test: a process still holding the test's output would keep the
    # runner waiting for its end (ctest reads until every writer is gone)
    for p in "${left[@]}"; do
        timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
cli_workdir() {
    tmp=$(mktemp -d)
    pids=()
    trap cli_cleanup EXIT
}
cli_stop() {
    local pid=$1 secs=${2:-10}
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! timeout "$secs" tail --pid="$pid" -f /dev/null; then
        fail "process $pid did not end within $secs s of SIGTERM"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}
cli_refusing_port() {
    local fd
    exec {fd}< <(exec python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(3600)' 2>>"$tmp/refusing.err")
    pids+=($!)
    read -r -t 10 refusing_port <&"$fd" || { echo "FAIL: no refusing port" >&2; exit 1; }
}
cli_pending=()
cli_daemon_log=
LINE=
cli_read_daemon() { # reads one daemon line into cli_line within a second; 1 when none came
    IFS= read -r -t 1 -u "${D[0]}" cli_line || return 1
    [ -z "$cli_daemon_log" ] || echo "$cli_line" >> "$cli_daemon_log"
}
cli_wait_for() {
    local re=$1 deadline=$((SECONDS + $2)) i
    for i in "${!cli_pending[@]}"; do
        if [[ "${cli_pending[$i]}" =~ $re ]]; then
            LINE=${cli_pending[$i]}
            unset "cli_pending[$i]"
            return 0
        fi
    done
    while [ $SECONDS -lt $deadline ]; do
        if cli_read_daemon; then
            if [[ "$cli_line" =~ $re ]]; then LINE=$cli_line; return 0; fi
            cli_pending+=("$cli_line")
        fi
    done
    return 1
}
cli_wait_next() {
    local re=$1 deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        if cli_read_daemon && [[ "$cli_line" =~ $re ]]; then LINE=$cli_line; return 0; fi
    done
    return 1
}
cli_finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}
