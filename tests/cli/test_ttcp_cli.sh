#!/usr/bin/env bash
# The plcline command's contract for 7TTCP (see README "Command line"): serve prints
# "listening HOST:PORT"; read prints "<ADDR> <values>"; write prints nothing; failures print
# one line naming URL, address, error name and code; bad arguments exit 2.
# Usage: test_ttcp_cli.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
srv_pid="" p3=""
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    [ -n "$p3" ] && kill "$p3" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- start the simulator on a free port and wait for its announcement (no sleep) ---
exec 3< <(exec "$PL" serve -q 7ttcp://127.0.0.1:0 2>"$tmp/serve.err")
srv_pid=$!
if ! read -r -t 10 word addr <&3; then
    echo "FAIL: serve did not announce itself" >&2; cat "$tmp/serve.err" >&2; exit 1
fi
expect_eq "announcement" "listening" "$word"
expect_match "address" '^127\.0\.0\.1:[0-9]+$' "$addr"
port=${addr##*:}
url="7ttcp://127.0.0.1:$port/3"

# --- write then read back every data type ---
out=$("$PL" write "$url" W10=1,2,65535 I20=-5 D30=4000000000 L40=-100000 F50=1.5 B60=255 2>&1)
expect_eq "write exit" 0 $?
expect_eq "write prints nothing" "" "$out"
out=$("$PL" read "$url" W10,3 I20 D30 L40 F50 B60 W10/0 W10/1 2>&1)
expect_eq "read exit" 0 $?
expect_eq "read output" "W10,3 1 2 65535
I20 -5
D30 4000000000
L40 -100000
F50 1.5
B60 255
W10/0 1
W10/1 0" "$out"

# --- bit write is read-modify-write: other bits stay ---
"$PL" write "$url" W10/1=1 && ok || fail "bit write"
expect_eq "bit write result" "W10 3" "$("$PL" read "$url" W10)"

# --- swap: high word first ---
"$PL" write "$url?swap=1" D70=65536 && ok || fail "swap write"
expect_eq "swapped words" "W70,2 1 0" "$("$PL" read "$url" W70,2)"

# --- a 1000-word read is split transparently (max_block 256): every value where it belongs ---
# written as ten 100-word blocks (no splitting on the way in), each word a distinct value
args=() want="W0,1000"
for ((b = 0; b < 1000; b += 100)); do
    vals=""
    for ((i = b; i < b + 100; i++)); do
        v=$(((i * 7919 + 13) % 65536))
        vals+="${vals:+,}$v"
        want+=" $v"
    done
    args+=("W$b=$vals")
done
"$PL" write "$url" "${args[@]}" && ok || fail "write 1000 words in blocks"
expect_eq "1000 words split" "$want" "$("$PL" read "$url" W0,1000 2>&1)"

# --- nodes are independent ---
expect_eq "other node" "W10 0" "$("$PL" read "7ttcp://127.0.0.1:$port/4" W10)"

# --- failures: exit 1, one line naming URL, address, error name and code ---
out=$("$PL" read "7ttcp://127.0.0.1:$port/99?timeout=100" W0 2>&1); rc=$?
expect_eq "timeout exit" 1 $rc
expect_match "timeout message" "^plcline: 7ttcp://127\.0\.0\.1:$port/99\?timeout=100: W0: receive timeout \(0x4009 _7TTCP_RECV_TIMEOUT\)" "$out"
expect_eq "one line" 1 "$(echo "$out" | wc -l)"

# a port nothing listens on: bind one, note it, release it by ending the process
exec 4< <(exec "$PL" serve -q 7ttcp://127.0.0.1:0)
p2=$!
read -r -t 10 _ addr2 <&4
kill "$p2"; wait "$p2" 2>/dev/null
out=$("$PL" read "7ttcp://127.0.0.1:${addr2##*:}" W0 2>&1); rc=$?
expect_eq "refused exit" 1 $rc
expect_match "refused message" "connect failed \(0x4003 _7TTCP_CONNECT_SOCKET_FAILED\).*(refused|Connection refused)" "$out"

# --- bad arguments: exit 2 ---
"$PL" read "$url" Q5 >/dev/null 2>"$tmp/err"; expect_eq "bad address exit" 2 $?
expect_match "bad address message" "Q5" "$(cat "$tmp/err")"
"$PL" read "http://x" W0 >/dev/null 2>&1; expect_eq "bad scheme exit" 2 $?
"$PL" read "$url?bogus=1" W0 >/dev/null 2>"$tmp/err"; expect_eq "unknown key exit" 2 $?
expect_match "unknown key message" "bogus" "$(cat "$tmp/err")"
"$PL" write "$url" W0=70000 >/dev/null 2>&1; expect_eq "value out of range exit" 2 $?
"$PL" read >/dev/null 2>&1; expect_eq "missing arguments exit" 2 $?
"$PL" frobnicate >/dev/null 2>&1; expect_eq "unknown command exit" 2 $?

# --- simulator options are simulator keys: the URL's query and the options set them alike ---
# start_keys FD [args]: a simulator on FD, its URL in $u3 and its pid in $p3
start_keys() {
    local fd=$1
    shift
    eval "exec $fd< <(exec \"\$PL\" serve -q \"\$@\" 2>>\"\$tmp/keys.err\")"
    p3=$!
    if ! read -r -t 10 _ addr3 <&"$fd"; then
        fail "serve $* did not announce itself: $(cat "$tmp/keys.err")"; return 1
    fi
    u3="7ttcp://$addr3"
}
if start_keys 5 --ignore-node 4 --ignore-node 6 --persist "$tmp/mem" '7ttcp://127.0.0.1:0?nodes=3-6'; then
    "$PL" write "$u3/5" W1=77 >/dev/null 2>&1; expect_eq "write node 5" 0 $?
    expect_eq "node 3 served" "W0 0" "$("$PL" read "$u3/3" W0 2>&1)"
    for n in 2 4 6 7; do # 2 and 7: outside ?nodes=3-6; 4 and 6: --ignore-node, repeated
        out=$("$PL" read "$u3/$n?timeout=100" W0 2>&1)
        expect_match "node $n not answered" "0x4009" "$out"
    done
    kill -TERM "$p3"; wait "$p3"; expect_eq "keys: exit after SIGTERM" 0 $?
    [ -s "$tmp/mem" ] && ok || fail "--persist saved nothing"
    if start_keys 6 '7ttcp://127.0.0.1:0?nodes=5&persist='"$tmp/mem"; then
        expect_eq "?persist= loads the words" "W1 77" "$("$PL" read "$u3/5" W1 2>&1)"
        kill -TERM "$p3"; wait "$p3"
    fi
fi
out=$("$PL" serve '7ttcp://127.0.0.1:0?bogus=1' 2>&1); expect_eq "unknown key exit" 2 $?
expect_match "unknown key message" "'bogus' does not apply to 7ttcp" "$out"
out=$("$PL" serve --ignore-node x 7ttcp://127.0.0.1:0 2>&1); expect_eq "bad --ignore-node exit" 2 $?
expect_match "bad --ignore-node message" "^plcline serve: --ignore-node 'x': 'ignore_nodes' is 'x'" "$out"
"$PL" serve --max-block 0 7ttcp://127.0.0.1:0 >/dev/null 2>&1; expect_eq "--max-block 0 exit" 2 $?

# --- help and version ---
for cmd in read write serve; do
    "$PL" $cmd --help | grep -q "usage: plcline $cmd" && ok || fail "$cmd --help"
done
"$PL" --version | grep -Eq '^plcline [0-9]+\.[0-9]+\.[0-9]+' && ok || fail "--version"

# --- SIGTERM stops the simulator cleanly with exit 0 ---
kill -TERM "$srv_pid"
wait "$srv_pid"; rc=$?
srv_pid=""
expect_eq "serve exit after SIGTERM" 0 $rc

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
