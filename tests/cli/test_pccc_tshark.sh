#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of a PCCC session with the simulator: tshark captures the loopback port
# of `plcline serve pccc://` while nodepccc (tests/interop/nodepccc_rw.js) writes and reads
# N, F and B files; then the capture is dissected (EtherNet/IP on that port, Wireshark's
# CIP PCCC dissector "cippccc") and the fields are checked against what was sent:
#   cip.pccc.sc 0x4b, cip.pccc.req.id.len 7, cip.pccc.cip.vend.id 0x0000 and
#   cip.pccc.cip.serial.num 0x04030201 (nodepccc's requestor ID), cip.pccc.cmd.code 0x0f,
#   cip.pccc.fnc.code_0f 0xa2/0xaa/0xab, cip.pccc.byte.size, cip.pccc.file.num,
#   cip.pccc.file.type 0x89/0x8a/0x85, cip.pccc.element.num, cip.pccc.data (the masked
#   write, which Wireshark 4.0 leaves undissected), the replies' cip.sc/cip.genstat/cip.data,
# and that nothing is malformed or carries a warning or error (_ws.malformed,
# _ws.expert.severity). It waits for tshark's "Capturing on" line and for the connections'
# FINs in its packet list instead of sleeping. Needs root (capture on lo) and tshark
# (scripts/deps.sh); a missing tshark FAILS the test.
# Usage: test_pccc_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
interop="$here/../interop"
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

tmp=$(mktemp -d)
srv_pid="" ts_pid=""
cleanup() {
    [ -n "$ts_pid" ] && kill "$ts_pid" 2>/dev/null
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v tshark >/dev/null; then
    fail "tshark is not installed (scripts/deps.sh installs it)"
    summary; exit 1
fi
# shellcheck source=../interop/ensure_nodepccc.sh
. "$interop/ensure_nodepccc.sh"
if ! ensure_nodepccc; then
    fails=$((fails + 1)); summary; exit 1
fi

# --- the simulator on a free port ---
# nodepccc puts a sender context into RegisterSession and keeps up to 4 requests in
# flight: the simulator's strict defaults refuse both (docs/pccc-simulator.md), so relax them
exec 3< <(exec "$PL" serve -q --lax-register --max-inflight 0 'pccc://127.0.0.1:0?plc=slc500' \
    2>"$tmp/serve.err")
srv_pid=$!
if ! read -r -t 10 _ addr <&3; then
    fail "serve did not announce itself: $(cat "$tmp/serve.err")"; summary; exit 1
fi
port=${addr##*:}

# --- tshark on lo, that port only; wait until it says it captures ---
cap="$tmp/pccc.pcapng"
exec 4< <(exec tshark -i lo -f "tcp port $port" -w "$cap" -P -l 2>&1)
ts_pid=$!
capturing=0
while read -r -t 15 line <&4; do
    if [[ $line == *"Capturing on"* ]]; then capturing=1; break; fi
done
if [ $capturing -ne 1 ]; then
    fail "tshark did not start capturing"; summary; exit 1
fi
ok

# --- drive the session ---
out=$(cd "$interop" && timeout 60 node nodepccc_rw.js "$port" 2>&1); rc=$?
expect_eq "nodepccc session" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out" >&2
# both connections end with a FIN each way: once tshark has listed the 4 FINs, every packet
# before them is in the file
fins=0
while [ $fins -lt 4 ] && read -r -t 15 line <&4; do
    [[ $line == *FIN* ]] && fins=$((fins + 1))
done
expect_eq "FINs seen by tshark" 4 "$fins"
kill -INT "$ts_pid"
wait "$ts_pid"
ts_pid=""
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null; srv_pid=""

# --- dissect ---
ts() { tshark -r "$cap" -d "tcp.port==$port,enip" "$@" 2>>"$tmp/tshark.err"; }
# A segment may carry several EtherNet/IP messages (nodepccc sends up to 4 at once): each
# field then lists one value per message, ';'-separated; one line per message from here on.
per_msg() {
    awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { c[i] = split($i, v, ";"); if (c[i] > n) n = c[i] }
               for (k = 1; k <= n; k++) { line = ""
                   for (i = 1; i <= NF; i++) { split($i, v, ";"); line = line (i > 1 ? "," : "") v[k] }
                   print line } }'
}
reqs=$(ts -Y cippccc -T fields -E separator=, -E aggregator=';' -e cip.pccc.sc -e cip.pccc.req.id.len \
    -e cip.pccc.cip.vend.id -e cip.pccc.cip.serial.num -e cip.pccc.cmd.code \
    -e cip.pccc.gs.status -e cip.pccc.fnc.code_0f -e cip.pccc.byte.size -e cip.pccc.file.num \
    -e cip.pccc.file.type -e cip.pccc.element.num -e cip.pccc.subelement.num | per_msg)
n_req=$(grep -c . <<<"$reqs")
[ "$n_req" -ge 10 ] && ok || fail "only $n_req PCCC requests dissected"
# every request: Execute PCCC with nodepccc's requestor ID, CMD 0x0f, STS 0
bad=$(grep -vc '^0x4b,0x07,0x0000,0x04030201,0x0f,0x00,' <<<"$reqs")
expect_eq "requests with another service, requestor ID, CMD or STS" 0 "$bad"
has() { # name pattern: a request line (from the function code on) matching pattern
    if grep -qx "$2" <<<"$(cut -d, -f7- <<<"$reqs")"; then ok; else fail "$1: no request $2 in
$reqs"; fi
}
has "write N7:0,5" "0xaa,0x0a,0x07,0x89,0x00,0x00"
has "write N7:10" "0xaa,0x02,0x07,0x89,0x0a,0x00"
has "write F8:0" "0xaa,0x04,0x08,0x8a,0x00,0x00"
has "write F8:1" "0xaa,0x04,0x08,0x8a,0x01,0x00"
has "read N7:0..10" "0xa2,0x16,0x07,0x89,0x00,0x00"
has "read F8:0..1" "0xa2,0x08,0x08,0x8a,0x00,0x00"
has "read B3:0" "0xa2,0x02,0x03,0x85,0x00,0x00"
# masked write B3:0/5 := 1: size 2, file 3, type 0x85, element 0, sub 0, mask 0x0020, data 0x0020
masked=$(ts -Y 'cip.pccc.fnc.code_0f == 0xab' -T fields -E aggregator=';' -e cip.pccc.data |
    per_msg | tr -d ':')
grep -qx "020385000020002000" <<<"$masked" && ok || fail "masked write B3:0/5: [$masked]"
# replies: one per request, Execute PCCC answered with general status 0
reps=$(ts -Y 'cip.rr == 1' -T fields -E separator=, -E aggregator=';' -e cip.sc -e cip.genstat |
    per_msg)
expect_eq "replies" "$n_req" "$(grep -c '^0x4b,0x00$' <<<"$reps")"
expect_eq "replies that are not 0x4b success" 0 "$(grep -vc '^0x4b,0x00$' <<<"$reps")"
# the N7:0..10 read reply: requestor ID echoed, CMD 0x4f STS 0, then 11,22,33,-44,5555,...,32767
data=$(ts -Y 'cip.rr == 1' -T fields -E aggregator=';' -e cip.data | per_msg | tr -d ':')
grep -Eq '^070000010203044f00[0-9a-f]{4}0b0016002100d4ffb315(0000){5}ff7f$' <<<"$data" && ok ||
    fail "no reply carrying N7:0..10 as written in
$data"
# nothing malformed; no warning or error from the EtherNet/IP, CIP or CIP PCCC dissectors
# (TCP's own analysis of loopback timing is not the simulator's business)
expect_eq "malformed packets" "" "$(ts -Y '_ws.malformed')"
expert=$(ts -q -z expert,warn)
expect_eq "EtherNet/IP or CIP warnings and errors" "" \
    "$(grep -E '^ +[0-9]+ ' <<<"$expert" | grep -vE '^ +[0-9]+ +[A-Za-z]+ +TCP ')"
expect_eq "tshark errors" "" "$(grep -v 'Running as user' "$tmp/tshark.err")"

summary
