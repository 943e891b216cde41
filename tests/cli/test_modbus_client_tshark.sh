#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of plcline's Modbus client on the wire: tshark captures loopback while
# `plcline read` and `plcline write` talk to the libmodbus test server (tests/interop/
# modbus_test_server.c), then its Modbus/TCP dissector must read every request the client
# sent (function codes 1, 2, 3, 4, 5, 6, 15, 16, 22, unit 7, transaction ids counting up),
# pair every answer with its request, and raise no warning, error or malformed mark.
# Capturing needs the right to open lo (root or CAP_NET_RAW); without it the test says SKIP
# and passes (the frames themselves are covered by test_modbus_tshark.sh from a written
# capture). A missing tshark FAILS the test.
# Usage: test_modbus_client_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
SRV=$(dirname "$PL")/modbus_test_server
. "$(dirname "$0")/lib.sh"
expect_eq() { # name expected actual
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected
$2
got
$3"; fi
}
command -v tshark >/dev/null || { echo "FAIL: tshark is not installed" >&2; exit 1; }
[ -x "$SRV" ] || { echo "FAIL: $SRV not built" >&2; exit 1; }

cli_workdir

exec {sfd}< <(exec "$SRV" --lifetime 60)
pids+=("$!")
read -r -t 10 port <&"$sfd" || { echo "FAIL: the test server did not start" >&2; exit 1; }
cap=$tmp/client.pcapng
# tshark prints each packet (-P, line-buffered) as it writes it, dissected as Modbus/TCP
mkfifo "$tmp/ts.err" "$tmp/ts.out"
tshark -i lo -f "tcp port $port" -o "mbtcp.tcp.port:$port" -l -P -w "$cap" \
    2>"$tmp/ts.err" >"$tmp/ts.out" &
tpid=$!
pids+=("$tpid")
exec {tfd}<"$tmp/ts.err" # opened in the order tshark's redirections open them
exec {ofd}<"$tmp/ts.out"
cat <&"$tfd" >"$tmp/ts.log" &
# "Capturing on" comes before the capture really runs: probe with unit 99 until tshark
# shows a packet (at most 20 probes, each waiting 1 s for a line)
live=0
for _ in $(seq 20); do
    "$PL" read "modbus://127.0.0.1:$port/99" hr0 >/dev/null 2>&1
    if read -r -t 1 line <&"$ofd"; then live=1; break; fi
    kill -0 "$tpid" 2>/dev/null || break
done
if [ "$live" -ne 1 ]; then
    echo "SKIP: cannot capture on lo here: $(head -c 300 "$tmp/ts.log")"
    exit 0
fi

url="modbus://127.0.0.1:$port/7"
"$PL" read "$url" hr0,3 co0,9 di1,3 ir2 >/dev/null && ok || fail "read"
"$PL" write "$url" hr10=1 hr11,2=1,2 co3=1 co4,3=1,0,1 hr12/2=1 && ok || fail "write"
# a last request, unit 98: once tshark shows its answer, everything before is written
"$PL" read "modbus://127.0.0.1:$port/98" hr0 >/dev/null 2>&1
marker=0
while read -r -t 10 line <&"$ofd"; do
    [[ "$line" =~ Response:.*Unit:\ +98, ]] && { marker=1; break; }
done
expect_eq "the last answer captured" 1 "$marker"
kill -INT "$tpid"
cat <&"$ofd" >/dev/null
wait "$tpid" 2>/dev/null

fields() {
    tshark -r "$cap" -o "mbtcp.tcp.port:$port" -Y "mbtcp.unit_id == 7" -T fields -e mbtcp.trans_id \
        -e mbtcp.unit_id -e modbus.func_code -e _ws.malformed -e _ws.expert.severity 2>/dev/null
}
# each request then its answer: tid, unit, function, nothing malformed, no expert info
expect_eq "dissected" "1	7	3		
1	7	3		
2	7	1		
2	7	1		
3	7	2		
3	7	2		
4	7	4		
4	7	4		
1	7	6		
1	7	6		
2	7	16		
2	7	16		
3	7	5		
3	7	5		
4	7	15		
4	7	15		
5	7	22		
5	7	22		" "$(fields)"
paired=$(tshark -r "$cap" -o "mbtcp.tcp.port:$port" -Y "mbtcp.unit_id == 7 && modbus.request_frame" \
    -T fields -e frame.number 2>/dev/null | wc -l)
expect_eq "answers paired with requests" 9 "$paired"
expert=$(tshark -r "$cap" -o "mbtcp.tcp.port:$port" -q -z expert 2>/dev/null |
    grep -E "^(Errors|Warns)" || true)
expect_eq "no warnings or errors" "" "$expert"

echo "test_modbus_client_tshark: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
