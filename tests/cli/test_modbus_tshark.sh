#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of plcline's Modbus frames: test_modbus_pcap (built beside the plcline
# binary from tests/integration/test_modbus_pcap.c) writes a capture of one TCP connection
# to port 502 carrying a request and a response encoded by plcline's codec for every
# function code (1, 2, 3, 4, 5, 6, 15, 16, 22, 23, 43/14) and three exception responses.
# tshark's Modbus/TCP dissector must decode each frame with the intended fields (transaction
# and unit id, function code, reference number, word/bit/byte counts, masks, the FC 23
# read/write fields, device identification objects, exception codes), pair every normal
# response with its request, mark nothing malformed and raise no warning or error. Needs tshark
# (scripts/deps.sh); a missing tshark FAILS the test.
# Usage: test_modbus_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
gen="$(dirname "$PL")/test_modbus_pcap"
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }
expect_eq() { # name expected actual
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected
$2
got
$3"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v tshark >/dev/null; then
    fail "tshark is not installed (scripts/deps.sh installs it)"
    summary; exit 1
fi
if [ ! -x "$gen" ]; then
    fail "$gen is not built (it is the test_modbus_pcap test of the same build)"
    summary; exit 1
fi
cap="$tmp/modbus.pcap"
if ! "$gen" --write "$cap"; then
    fail "test_modbus_pcap could not write the capture"; summary; exit 1
fi
ok

ts() { tshark -r "$cap" "$@" 2>>"$tmp/tshark.err"; }

# One line per Modbus frame: trans_id, unit_id, func_code, reference_num, word_cnt, bit_cnt,
# byte_cnt, exception_code, and_mask, or_mask, read_reference_num, write_reference_num,
# read_word_cnt, write_word_cnt, read_device_id, num_objects, object_str_value.
want='256,17,1,19,,19,,,,,,,,,,,
256,17,1,,,,3,,,,,,,,,,
257,17,2,196,,22,,,,,,,,,,,
257,17,2,,,,3,,,,,,,,,,
258,17,3,107,3,,,,,,,,,,,,
258,17,3,,,,6,,,,,,,,,,
259,17,4,8,1,,,,,,,,,,,,
259,17,4,,,,2,,,,,,,,,,
260,17,5,172,,,,,,,,,,,,,
260,17,5,172,,,,,,,,,,,,,
261,17,6,1,,,,,,,,,,,,,
261,17,6,1,,,,,,,,,,,,,
262,17,15,19,,10,2,,,,,,,,,,
262,17,15,19,,10,,,,,,,,,,,
263,17,16,1,2,,4,,,,,,,,,,
263,17,16,1,2,,,,,,,,,,,,
264,17,22,4,,,,,0x00f2,0x0025,,,,,,,
264,17,22,4,,,,,0x00f2,0x0025,,,,,,,
265,17,23,,,,6,,,,3,14,6,3,,,
265,17,23,,,,12,,,,,,,,,,
266,17,43,,,,,,,,,,,,1,,
266,17,43,,,,,,,,,,,,1,3,plcline,test,0.1
267,17,1,1185,,1,,,,,,,,,,,
267,17,1,,,,,2,,,,,,,,,
268,17,3,0,125,,,,,,,,,,,,
268,17,3,,,,,11,,,,,,,,,
269,17,43,,,,,,,,,,,,4,,
269,17,43,,,,,3,,,,,,,,,'
got=$(ts -Y modbus -T fields -E separator=, -e mbtcp.trans_id -e mbtcp.unit_id \
    -e modbus.func_code -e modbus.reference_num -e modbus.word_cnt -e modbus.bit_cnt \
    -e modbus.byte_cnt -e modbus.exception_code -e modbus.and_mask -e modbus.or_mask \
    -e modbus.read_reference_num -e modbus.write_reference_num -e modbus.read_word_cnt \
    -e modbus.write_word_cnt -e modbus.read_device_id -e modbus.num_objects \
    -e modbus.object_str_value)
expect_eq "Modbus fields, frame by frame" "$want" "$got"

# MBAP: protocol id 0 everywhere; every response paired with the request just before it
expect_eq "protocol id not 0" "" "$(ts -Y 'mbtcp.prot_id != 0')"
pairs=$(ts -Y 'modbus.request_frame' -T fields -E separator=, -e frame.number \
    -e modbus.request_frame | awk -F, '$2 != $1 - 1')
expect_eq "responses not paired with the request before them" "" "$pairs"
# (Wireshark 4.0 links normal responses to their request, not exception responses)
expect_eq "responses paired" 11 "$(ts -Y 'modbus.request_frame' | grep -c .)"
expect_eq "exception responses" 3 "$(ts -Y 'modbus.exception_code' | grep -c .)"
expect_eq "frames the dissector could not classify" "" "$(ts -Y 'mbtcp.cannot_classify')"

# nothing malformed; no note, warning or error from the Modbus dissectors
expect_eq "malformed packets" "" "$(ts -Y '_ws.malformed')"
expert=$(ts -q -z expert,note)
expect_eq "Modbus notes, warnings and errors" "" \
    "$(grep -E '^ +[0-9]+ ' <<<"$expert" | grep -vE '^ +[0-9]+ +[A-Za-z]+ +TCP ')"
expect_eq "tshark errors" "" "$(grep -v 'Running as user' "$tmp/tshark.err")"

summary
