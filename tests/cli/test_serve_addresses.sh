#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `plcline serve` on every server-mode Host form of a D2000 TCP/IP-TCP line (docs/lines.md
# "Server mode"): '*' and 'ALL' (every IPv4 interface), '[*]' and '[ALL]' (every interface,
# IPv6 and IPv4), 127.0.0.1 and [::1]. Each must print "listening ADDR:PORT" with the
# kernel-picked port, serve a `plcline read` through 127.0.0.1 (and through [::1] where it
# listens on IPv6), and exit 0 on SIGTERM. The announcement is read from the process with
# `read -t` (never sleep); each server is stopped by its own pid only.
# Usage: test_serve_addresses.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
fails=0 passes=0
ok() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect_eq() { # name expected actual
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected [$2], got [$3]"; fi
}
expect_match() { # name regex actual
    if [[ "$3" =~ $2 ]]; then ok; else fail "$1: [$3] does not match /$2/"; fi
}

tmp=$(mktemp -d)
srv_pid=""
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# serve_case HOST ADDR_REGEX V6(0|1)
serve_case() {
    local host=$1 want=$2 v6=$3 word addr port out rc
    exec 3< <(exec "$PL" serve -q "7ttcp://$host:0" 2>"$tmp/serve.err")
    srv_pid=$!
    if ! read -r -t 10 word addr <&3; then
        fail "$host: no announcement: $(cat "$tmp/serve.err")"
        kill "$srv_pid" 2>/dev/null
        wait "$srv_pid" 2>/dev/null
        srv_pid=""
        exec 3<&-
        return
    fi
    expect_eq "$host: announcement" "listening" "$word"
    expect_match "$host: address" "$want" "$addr"
    port=${addr##*:}
    if [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ]; then ok; else fail "$host: port [$port]"; fi
    out=$("$PL" read "7ttcp://127.0.0.1:$port/0?timeout=3000" W0 2>&1)
    rc=$?
    if [ "$v6" = 1 ] && [ "$host" = "[::1]" ]; then
        # listening on ::1 only: 127.0.0.1 must be refused
        expect_eq "$host: read via 127.0.0.1 refused" 1 "$rc"
    else
        expect_eq "$host: read via 127.0.0.1 exit" 0 "$rc"
        expect_eq "$host: read via 127.0.0.1" "W0 0" "$out"
    fi
    if [ "$v6" = 1 ]; then
        out=$("$PL" read "7ttcp://[::1]:$port/0?timeout=3000" W0 2>&1)
        expect_eq "$host: read via [::1] exit" 0 $?
        expect_eq "$host: read via [::1]" "W0 0" "$out"
    fi
    kill -TERM "$srv_pid"
    wait "$srv_pid"
    rc=$?
    srv_pid=""
    exec 3<&-
    expect_eq "$host: exit after SIGTERM" 0 "$rc"
}

serve_case '*' '^0\.0\.0\.0:[0-9]+$' 0
serve_case 'ALL' '^0\.0\.0\.0:[0-9]+$' 0
serve_case '[*]' '^\[::\]:[0-9]+$' 1
serve_case '[ALL]' '^\[::\]:[0-9]+$' 1
serve_case '127.0.0.1' '^127\.0\.0\.1:[0-9]+$' 0
serve_case '[::1]' '^\[::1\]:[0-9]+$' 1

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
