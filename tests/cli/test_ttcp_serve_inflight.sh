#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `plcline serve 7ttcp://` as a node that serves one request at a time (docs/7ttcp.md, "The
# node simulator"): max_inflight and inflight_drop, from the URL's query, the options and a
# configuration's 'simulators:' entry alike. A raw client (bash's /dev/tcp, frames written
# by hand) sends two read requests in one write: with inflight_drop the first is answered
# and the second never, the connection stays; without, the first is answered and the
# connection closed. plcline read against such a node reads. Bad values exit 2.
# Usage: test_ttcp_serve_inflight.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

# start_sim FD [serve arguments]: a simulator announcing itself on FD; sets $port
start_sim() {
    local fd=$1 word addr
    shift
    eval "exec $fd< <(exec \"\$PL\" serve -q \"\$@\" 2>>\"\$tmp/serve.err\")"
    pids+=($!)
    if ! read -r -t 10 word addr <&"$fd"; then
        fail "serve $* did not announce itself: $(cat "$tmp/serve.err")"; cli_finish; exit 1
    fi
    expect_eq "listening line" listening "$word"
    port=${addr##*:}
}

# req OFFSET: a one-word read request of node 0 at OFFSET (< 256), as printf escapes
# (length 28, opcode 0, node 0, group 0, offset, type 1 read, count 1; little-endian)
req() {
    printf '\\x1c\\x00\\x00\\x00%s\\x%02x\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00' \
        "$(printf '\\x00%.0s' $(seq 1 12))" "$1"
}

# hex N: the next N bytes from the connection on fd 5, as hex pairs (deadline 10 s)
hex() { timeout 10 head -c "$1" <&5 | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

# answer OFFSET: the hex of the answer to req OFFSET when the word there is 0
answer() {
    printf '1e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 %02x 00 00 00 01 00 00 00 01 00 00 00 00 00' "$1"
}

# --- inflight_drop from the URL's query: the second of one write is never answered ---
start_sim 3 '7ttcp://127.0.0.1:0?max_inflight=1&inflight_drop=1'
exec 5<>"/dev/tcp/127.0.0.1/$port"
printf %b "$(req 1)$(req 2)" >&5
expect_eq "drop: the first answered" "$(answer 1)" "$(hex 30)"
printf %b "$(req 3)" >&5 # sent after the first answer: served, the connection is still there
expect_eq "drop: the second never, the third after it" "$(answer 3)" "$(hex 30)"
exec 5<&-

# --- closing, from the options: the first answered, then the end of the connection ---
start_sim 4 --max-inflight 1 7ttcp://127.0.0.1:0
exec 5<>"/dev/tcp/127.0.0.1/$port"
printf %b "$(req 1)$(req 2)" >&5
out=$(timeout 10 cat <&5 | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
expect_eq "close: the end of the connection came" 0 "${PIPESTATUS[0]}"
expect_eq "close: the first answered, nothing after it" "$(answer 1)" "$out"
exec 5<&-
# a client that sends one request at a time reads from it (three blocks of 256 words)
out=$("$PL" read "7ttcp://127.0.0.1:$port/0" W0,600 2>&1)
expect_eq "plcline read exit" 0 $?
expect_match "plcline read output" '^W0,600( 0){600}$' "$out"

# --- bad values and keys: exit 2, the key named ---
for bad in '?max_inflight=x' '?max_inflight=1025' '?inflight_drop=2' '?inflight_drops=1'; do
    out=$("$PL" serve "7ttcp://127.0.0.1:0$bad" 2>&1)
    expect_eq "serve $bad exit" 2 $?
    expect_match "serve $bad message" "'(max_inflight|inflight_drop|inflight_drops)'" "$out"
done
for bad in "--max-inflight x" "--max-inflight -1" "--max-inflight"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    "$PL" serve $bad 7ttcp://127.0.0.1:0 >/dev/null 2>&1
    expect_eq "serve $bad exit" 2 $?
done
"$PL" serve --inflight-drop pccc://127.0.0.1:0 >/dev/null 2>&1
expect_eq "--inflight-drop is 7ttcp's" 2 $?

# --- a configuration's simulator takes the same keys under their names ---
cat >"$tmp/plant.yaml" <<YAML
simulators:
  - {name: strict, protocol: 7ttcp, port: 0, max_inflight: 1, inflight_drop: false}
YAML
"$PL" run --check "$tmp/plant.yaml" >/dev/null 2>&1
expect_eq "config check" 0 $?
exec 6< <(exec timeout 30 "$PL" run "$tmp/plant.yaml" 2>&1 >/dev/null)
pids+=($!)
dport=
while read -r -t 10 line <&6; do
    if [[ "$line" =~ "simulator strict: 7TTCP nodes 0-7 on 127.0.0.1:"([0-9]+) ]]; then
        dport=${BASH_REMATCH[1]}
        break
    fi
done
if [ -n "$dport" ]; then
    exec 5<>"/dev/tcp/127.0.0.1/$dport"
    printf %b "$(req 4)$(req 5)" >&5
    out=$(timeout 10 cat <&5 | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
    expect_eq "daemon's simulator: closed" 0 "${PIPESTATUS[0]}"
    expect_eq "daemon's simulator: the first answered" "$(answer 4)" "$out"
    exec 5<&-
else
    fail "the daemon did not log its simulator's address"
fi
printf 'simulators:\n  - {name: s, protocol: 7ttcp, port: 0, max_inflight: many}\n' >"$tmp/bad.yaml"
out=$("$PL" run --check "$tmp/bad.yaml" 2>&1)
expect_eq "config bad max_inflight exit" 2 $?
expect_match "config bad max_inflight message" "'max_inflight' is 'many'" "$out"

cli_finish
