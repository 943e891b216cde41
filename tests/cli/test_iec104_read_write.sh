#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `plcline read` and `plcline write` on iec104:// against `plcline serve iec104://`: read
# --all prints the general interrogation's whole answer (IOA, type, value, quality, time),
# read IOA... prints those values, an IOA the station does not have or of another type is
# an error (exit 1); write sends commands (direct and select-before-operate) and reports a
# refused one with its named error; a wrong common address and a station that is not there
# fail with exit 1; bad arguments exit 2.
# Usage: test_iec104_read_write.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

cli_workdir

exec 3< <(exec "$PL" serve -q iec104://127.0.0.1:0 --ca 4 --require-select \
    --points 'M_ME_NC_1:1001-1002 M_SP_NA_1:2001 M_DP_NA_1:2101 M_ME_TF_1:1101 M_IT_NA_1:3001 C_SE_NC_1:5001 C_SC_NA_1:5002' \
    2>"$tmp/serve.err")
pids+=($!)
if ! read -r -t 10 word addr <&3; then
    fail "serve did not announce itself: $(cat "$tmp/serve.err")"; summary; exit 1
fi
url="iec104://$addr/4"

# --all: every monitoring object but the counter (counter interrogation), by IOA
out=$("$PL" read "$url" --all 2>&1)
expect_eq "read --all exit" 0 $?
expect_eq "read --all objects" "1001 M_ME_NC_1 0 - -
1002 M_ME_NC_1 0 - -
2001 M_SP_NA_1 0 - -
2101 M_DP_NA_1 0 - -" "$(grep -v ' M_ME_TF_1 ' <<<"$out")"
expect_match "read --all time tag" "^1101 M_ME_TF_1 0 - 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$" \
    "$(grep ' M_ME_TF_1 ' <<<"$out")"

out=$("$PL" read "$url" 1002 M_SP_NA_1:2001 2>&1)
expect_eq "read IOAs" "1002 0
M_SP_NA_1:2001 0" "$out"
out=$("$PL" read "$url" 1003 2>&1)
expect_eq "read absent IOA exit" 1 $?
expect_match "read absent IOA message" "PL_EIEC104_UNKNOWN_IOA.*IOA 1003 is not in the general interrogation's answer" "$out"
out=$("$PL" read "$url" M_ME_NC_1:2001 2>&1)
expect_eq "read wrong type exit" 1 $?
expect_match "read wrong type message" "IOA 2001 is M_SP_NA_1, not M_ME_NC_1" "$out"
out=$("$PL" read "${url%/4}/9" 1001 2>&1)
expect_eq "read wrong CA exit" 1 $?
expect_match "read wrong CA message" "PL_EIEC104_UNKNOWN_CA" "$out"
out=$("$PL" read "$url" M_XX_NA_1:1 2>&1)
expect_eq "read bad address exit" 2 $?
out=$("$PL" read "$url?k=0" 1001 2>&1)
expect_eq "read bad key exit" 2 $?
expect_match "read bad key message" "k=0: out of range 1..32767" "$out"

# write: the station requires select-before-operate
out=$("$PL" write "$url" C_SE_NC_1:5001:sbo=1.5 C_SC_NA_1:5002:sbo:q1=1 2>&1)
expect_eq "write sbo" "0 " "$? $out"
out=$("$PL" write "$url" C_SE_NC_1:5001=1.5 2>&1)
expect_eq "write without select exit" 1 $?
expect_match "write without select message" "PL_EIEC104_NEGATIVE.*negative confirmation" "$out"
out=$("$PL" write "$url" C_SE_NC_1:5999:sbo=1 2>&1)
expect_eq "write unknown IOA exit" 1 $?
expect_match "write unknown IOA message" "PL_EIEC104_UNKNOWN_IOA.*IOA 5999" "$out"
out=$("$PL" write "$url" C_SC_NA_1:5002:sbo=2 2>&1)
expect_eq "write value out of range exit" 2 $?
out=$("$PL" write "$url" M_ME_NC_1:1001=1 2>&1)
expect_eq "write monitoring type exit" 2 $?
expect_match "write monitoring type message" "TYPE:IOA" "$out"

# nobody there: a closed port, a short timeout
exec 4< <(exec "$PL" serve -q iec104://127.0.0.1:0 2>/dev/null)
spid=$!
read -r -t 10 word addr2 <&4
cli_stop "$spid"
out=$("$PL" read "iec104://$addr2?timeout=500" 1001 2>&1)
expect_eq "no station exit" 1 $?
expect_match "no station message" "iec104://$addr2" "$out"

out=$("$PL" bench "$url" 1001 2>&1)
expect_eq "bench exit" 2 $?
expect_match "bench message" "'bench' does not speak protocol 'iec104' yet" "$out"

summary
