#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of the IEC 60870-5-104 codec: the unit test binary test_iec104_codec
# (built next to plcline) writes every golden vector as the codec's encoders produce it --
# S- and U-frames, and I-frames of every supported type in both directions -- as a
# text2pcap hex dump with a direction per frame, and the row of fields Wireshark must show
# for each. text2pcap wraps them into TCP segments between port 2404 and a client port;
# tshark dissects them ("104apci"/"104asdu") and every row must match: frame kind, U
# function, N(S), N(R), type id, cause, P/N, test, originator, common address, count, SQ,
# every IOA, every value, quality bit and CP56Time2a field, and the instant the time tag
# names (computed by the codec's calendar arithmetic, formatted by the C library). Nothing may be malformed or
# carry an expert warning from the IEC 104 dissectors, and the control direction must go
# to port 2404. This is the codec's independent check: no other IEC 104 implementation is
# packaged for Debian or npm here. A missing tshark or text2pcap FAILS the test.
# Usage: test_iec104_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
gen="$(dirname "$PL")/test_iec104_codec"
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in tshark text2pcap; do
    if ! command -v "$tool" >/dev/null; then
        fail "$tool is not installed (scripts/deps.sh installs it)"
        summary; exit 1
    fi
done
if [ ! -x "$gen" ]; then
    fail "$gen is not built (cmake --build BUILD --target test_iec104_codec)"
    summary; exit 1
fi

# --- the frames, and what they must show ---
if ! "$gen" --frames "$tmp"; then
    fail "test_iec104_codec --frames failed"; summary; exit 1
fi
cap="$tmp/iec104.pcapng"
if ! text2pcap -q -D -T 2404,40404 -4 192.0.2.1,192.0.2.2 "$tmp/frames.txt" "$cap" \
    2>"$tmp/text2pcap.err"; then
    fail "text2pcap: $(cat "$tmp/text2pcap.err")"; summary; exit 1
fi
read -r -a fields < <(head -n 1 "$tmp/expect.txt")
tail -n +2 "$tmp/expect.txt" >"$tmp/want.txt"
n_want=$(grep -c . "$tmp/want.txt")
[ "$n_want" -ge 40 ] && ok || fail "only $n_want frames written"

# Wireshark turns CP56Time2a into an instant with the local time zone's rules: use UTC
ts() { TZ=UTC tshark -r "$cap" "$@" 2>>"$tmp/tshark.err"; }
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
ts -T fields -E separator='|' -E aggregator=';' "${args[@]}" >"$tmp/got.txt"
expect_eq "frames dissected" "$n_want" "$(grep -c . "$tmp/got.txt")"
expect_eq "frames dissected as IEC 104" "$n_want" "$(ts -Y iec60870_104 | grep -c .)"
expect_eq "I-frames dissected as ASDUs" "$(grep -c '^0x00000000|' "$tmp/want.txt")" \
    "$(ts -Y iec60870_asdu | grep -c .)"
# row by row: every field as intended
if diff "$tmp/want.txt" "$tmp/got.txt" >"$tmp/diff.txt"; then
    ok
else
    fail "tshark shows other fields than intended (< intended, > tshark; columns: ${fields[*]}):
$(cat "$tmp/diff.txt")"
fi
# the direction of each frame: the controlling station's ("O") go to port 2404
want_dir=$(awk '/^[IO] / { print ($1 == "O") ? "2404" : "40404" }' "$tmp/frames.txt")
expect_eq "destination ports" "$want_dir" "$(ts -T fields -e tcp.dstport)"
# nothing malformed; no warning or error from the IEC 104 dissectors (TCP's own analysis of
# the synthetic segments is not the codec's business)
expect_eq "malformed frames" "" "$(ts -Y '_ws.malformed')"
expert=$(ts -q -z expert,warn)
expect_eq "IEC 104 warnings and errors" "" \
    "$(grep -E '^ +[0-9]+ ' <<<"$expert" | grep -vE '^ +[0-9]+ +[A-Za-z]+ +TCP ')"
expect_eq "tshark errors" "" "$(grep -v 'Running as user' "$tmp/tshark.err")"

summary
