#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of the IEC 60870-5-104 controlling station's own frames. `plcline read`
# (STARTDT act, clock synchronisation, general interrogation, S-frames with a small w) and
# `plcline write` (set points with select-before-operate, single, double, regulating step
# and bitstring commands, a time-tagged one) talk to `plcline serve iec104://` while tshark
# captures loopback on the station's port. Then the redundancy path: `plcline read` in
# parallel redundancy against a primary that never confirms STARTDT (127.0.0.1) and a
# backup (127.0.0.2): TESTFR act on the standby, STARTDT act on both, STOPDT act to the
# primary after its t1. Every frame the client sent must dissect as IEC 104 without
# malformed packets or expert warnings, the client's N(S) must count 0, 1, 2, ... on each
# connection, and the types, causes and U-frames it sent must all be there.
#
# Capturing needs privileges a build machine may not give: without them the test is
# skipped (exit 77, shown by ctest). A missing tshark FAILS the test.
# Usage: test_iec104_client_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

tmp=$(mktemp -d)
pids=()
capture_pid=
cleanup() {
    if [ -n "$capture_pid" ]; then kill "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

command -v tshark >/dev/null || { fail "tshark is not installed (scripts/deps.sh installs it)"; summary; exit 1; }
if ! timeout 10 tshark -i lo -a duration:1 -c 1 -w "$tmp/probe.pcapng" >/dev/null 2>&1; then
    echo "skipped: live capture on loopback (tshark -i lo is not allowed here)"
    exit 77
fi

exec 3< <(exec "$PL" serve -q iec104://127.0.0.1:0 \
    --points 'M_ME_NC_1:1001-1200 M_SP_NA_1:2001-2100 M_ME_TF_1:1301-1310 C_SE_NC_1:5001 C_SC_NA_1:5002 C_DC_NA_1:5003 C_RC_NA_1:5004 C_BO_NA_1:5005 C_SE_NA_1:5006 C_SE_NB_1:5007' \
    2>"$tmp/serve.err")
pids+=($!)
if ! read -r -t 10 word addr <&3; then
    fail "serve did not announce itself: $(cat "$tmp/serve.err")"; summary; exit 1
fi
port=${addr##*:}
# the redundancy path's two stations: a primary that never confirms STARTDT, a backup
exec 5< <(exec "$PL" serve -q iec104://127.0.0.1:0 --ignore-startdt 2>"$tmp/serve1.err")
pids+=($!)
exec 6< <(exec "$PL" serve -q iec104://127.0.0.2:0 2>"$tmp/serve2.err")
pids+=($!)
if ! read -r -t 10 word addr1 <&5 || ! read -r -t 10 word addr2 <&6; then
    fail "the redundancy stations did not announce themselves: $(cat "$tmp"/serve?.err)"; summary; exit 1
fi
port1=${addr1##*:} port2=${addr2##*:}
decode=(-d "tcp.port==$port,iec60870_104" -d "tcp.port==$port1,iec60870_104" -d "tcp.port==$port2,iec60870_104")
live="$tmp/live.pcapng"
pause() { read -r -t 0.1 <> <(:) || true; }
count() { # FILTER: frames of the capture that match
    timeout 10 tshark -r "$live" "${decode[@]}" -Y "$1" 2>/dev/null | grep -c .
}
tshark -i lo -f "tcp port $port or tcp port $port1 or tcp port $port2" -a duration:60 -w "$live" \
    >/dev/null 2>"$tmp/capture.err" &
capture_pid=$!
# a knock (a connection opened and closed) shows when packets are really being captured
deadline=$((SECONDS + 20))
knocked=0
until [ $SECONDS -ge $deadline ] || ! kill -0 "$capture_pid" 2>/dev/null; do
    if grep -q "Capturing on" "$tmp/capture.err"; then
        { exec 4<>"/dev/tcp/127.0.0.1/$port" && exec 4>&-; } 2>/dev/null
        [ "$(count 'tcp.flags.syn == 1')" -ge 1 ] && { knocked=1; break; }
    fi
    pause
done
[ "$knocked" = 1 ] || { fail "the capture did not start: $(tr '\n' ' ' <"$tmp/capture.err")"; summary; exit 1; }

url="iec104://$addr"
"$PL" read "$url?w=2&time_sync=1" --all >"$tmp/read.out" 2>&1 || fail "read: $(cat "$tmp/read.out")"
"$PL" write "$url" C_SE_NC_1:5001:sbo=1.5 C_SC_NA_1:5002:q1=1 C_DC_NA_1:5003=2 C_RC_NA_1:5004=2 \
    C_BO_NA_1:5005=305419896 C_SE_NA_1:5006=-0.5 C_SE_NB_1:5007=-1234 C_SE_TC_1:5001=2.5 \
    >"$tmp/write.out" 2>&1 || fail "write: $(cat "$tmp/write.out")"
"$PL" read "iec104://$addr1/1?backup=$addr2&redundancy=parallel&t1=1000&t2=100" --all \
    >"$tmp/read2.out" 2>&1 || fail "read in parallel redundancy: $(cat "$tmp/read2.out")"
# until the write's last ACT_TERM and the backup's general interrogation ACT_TERM (the last
# frames of the two sessions) are in the capture file: the capture writes its file behind
# the traffic, and stopping it at the first one left the redundancy read out at times
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ]; do
    [ "$(count "tcp.srcport == $port && iec60870_asdu.typeid == 63 && iec60870_asdu.causetx == 10")" -ge 1 ] &&
        [ "$(count "tcp.srcport == $port2 && iec60870_asdu.typeid == 100 && iec60870_asdu.causetx == 10")" -ge 1 ] &&
        break
    pause
done
kill "$capture_pid" 2>/dev/null
deadline=$((SECONDS + 10))
while kill -0 "$capture_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do pause; done
wait "$capture_pid" 2>/dev/null
capture_pid=

ts() { TZ=UTC timeout 60 tshark -r "$live" "${decode[@]}" "$@" 2>>"$tmp/tshark.err"; }
# the client's APDUs (to the station's port), one row each: source port (the connection),
# kind (0 I, 1 S, 3 U), N(S), U type, type id, cause
ts -Y "iec60870_104 && (tcp.dstport == $port || tcp.dstport == $port1 || tcp.dstport == $port2)" -T fields -E separator='|' -E occurrence=a \
    -E aggregator=';' -e tcp.srcport -e iec60870_104.type -e iec60870_104.tx \
    -e iec60870_104.utype -e iec60870_asdu.typeid -e iec60870_asdu.causetx >"$tmp/rows"
awk -F'|' '{
    n = split($2, kind, ";"); split($3, tx, ";"); split($4, ut, ";");
    split($5, ty, ";"); split($6, co, ";");
    ia = 0; iu = 0;
    for (i = 1; i <= n; i++) {
        k = substr(kind[i], length(kind[i])); t = ""; c = ""; u = ""; s = "";
        if (k == "0") { ia++; t = ty[ia]; c = co[ia]; s = tx[ia] }
        if (k == "3") { iu++; u = ut[iu] }
        print $1 "|" k "|" s "|" u "|" t "|" c
    }
}' "$tmp/rows" >"$tmp/apdus"
n=$(grep -c . "$tmp/apdus")
[ "$n" -ge 15 ] && ok || fail "only $n client APDUs dissected"
expect_eq "client N(S) sequence per connection" "" "$(awk -F'|' '
    $2 == "0" { want = next_ns[$1] + 0; if ($3 != want) print $1 ": N(S) " $3 " where " want " was due"; next_ns[$1] = want + 1 }' "$tmp/apdus")"
[ "$(awk -F'|' '$2 == "1"' "$tmp/apdus" | grep -c .)" -ge 5 ] && ok || fail "too few client S-frames"
[ "$(awk -F'|' '$2 == "3" && $4 ~ /^0x0*1$/' "$tmp/apdus" | grep -c .)" -ge 2 ] && ok \
    || fail "no STARTDT act from the client: $(awk -F'|' '$2 == "3"' "$tmp/apdus" | sort | uniq -c | tr '\n' ' ')"
# the redundancy path: TESTFR act to the standby, STOPDT act to the primary given up, and on
# the primary's connection STARTDT act and STOPDT act and no I-frame
u_of() { awk -F'|' -v u="$1" '$2 == "3" && $4 ~ ("^0x0*" u "$")' "$tmp/apdus" | grep -c .; }
[ "$(u_of 10)" -ge 1 ] && ok || fail "no TESTFR act from the client"
[ "$(u_of 4)" -ge 1 ] && ok || fail "no STOPDT act from the client"
[ "$(count "tcp.dstport == $port1 && iec60870_104.utype == 0x04")" -ge 1 ] && ok \
    || fail "no STOPDT act to the primary that never confirmed STARTDT"
[ "$(count "tcp.dstport == $port2 && iec60870_104.utype == 0x10")" -ge 1 ] && ok \
    || fail "no TESTFR act to the standby backup"
[ "$(count "tcp.srcport == $port2 && iec60870_104.utype == 0x20")" -ge 1 ] && ok \
    || fail "no TESTFR con from the standby backup"
[ "$(count "tcp.dstport == $port2 && iec60870_asdu.typeid == 100")" -ge 1 ] && ok \
    || fail "no general interrogation to the backup after the switch"
[ "$(count "tcp.dstport == $port2 && iec60870_104.type == 0")" -ge 1 ] && ok \
    || fail "no I-frame to the backup (the filter below would prove nothing)"
expect_eq "I-frames to the primary that was never started" 0 \
    "$(count "tcp.dstport == $port1 && iec60870_104.type == 0")"
for tc in "100|6" "103|6" "50|6" "45|6" "46|6" "47|6" "51|6" "48|6" "49|6" "63|6"; do
    t=${tc%|*} c=${tc#*|}
    [ "$(awk -F'|' -v t="$t" -v c="$c" '$5 == t && $6 == c' "$tmp/apdus" | grep -c .)" -ge 1 ] \
        && ok || fail "the client sent no ASDU of type $t with cause $c"
done
expect_eq "malformed frames" "" "$(ts -Y '_ws.malformed')"
expert=$(ts -q -z expert,warn)
expect_eq "IEC 104 warnings and errors" "" \
    "$(grep -E '^ +[0-9]+ ' <<<"$expert" | grep -vE '^ +[0-9]+ +[A-Za-z]+ +TCP ')"
expect_eq "tshark errors" "" "$(grep -v 'Running as user' "$tmp/tshark.err" 2>/dev/null)"
summary
