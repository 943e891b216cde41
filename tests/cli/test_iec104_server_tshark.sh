#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wireshark's view of a session with the IEC 60870-5-104 simulator. The integration test
# binary test_iec104_server (built next to plcline) runs one session on loopback -- STARTDT,
# general and counter interrogation, numbered spontaneous events, a set point with its
# confirmation and termination, a command to an unknown address, S-frames, TESTFR, STOPDT --
# and writes every frame exchanged, in its direction, as a text2pcap dump. tshark dissects
# the capture ("104apci"/"104asdu"): every frame must be IEC 104, the station's N(S) must
# count 0, 1, 2, ... and the client's N(R) never acknowledge more than was sent, the types
# and causes the session is made of must all be there, and nothing may be malformed or carry
# an expert warning from the IEC 104 dissectors.
#
# When this host lets tshark capture on the loopback interface (root), the same session is
# also captured live on its real port and held to the same rules; otherwise that part is
# reported as skipped (capturing needs privileges a build machine may not give).
# A missing tshark or text2pcap FAILS the test.
# Usage: test_iec104_server_tshark.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
gen="$(dirname "$PL")/test_iec104_server"
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

tmp=$(mktemp -d)
capture_pid=
cleanup() {
    if [ -n "$capture_pid" ]; then kill "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

for tool in tshark text2pcap; do
    if ! command -v "$tool" >/dev/null; then
        fail "$tool is not installed (scripts/deps.sh installs it)"
        summary; exit 1
    fi
done
if [ ! -x "$gen" ]; then
    fail "$gen is not built (cmake --build BUILD --target test_iec104_server)"
    summary; exit 1
fi

# check_capture NAME CAPTURE PORT: the rules every capture of the session must meet
check_capture() {
    local name=$1 cap=$2 port=$3 n_frames
    ts() { TZ=UTC timeout 60 tshark -r "$cap" -d "tcp.port==$port,iec60870_104" "$@" 2>>"$tmp/tshark.err"; }
    # one row per APDU: direction (destination port), kind (0 I, 1 S, 3 U), N(S), N(R), type,
    # cause, P/N
    ts -Y iec60870_104 -T fields -E separator='|' -E occurrence=a -E aggregator=';' \
        -e tcp.dstport -e iec60870_104.type -e iec60870_104.tx -e iec60870_104.rx \
        -e iec60870_asdu.typeid -e iec60870_asdu.causetx -e iec60870_asdu.nega \
        >"$tmp/$name.rows"
    # several APDUs may share a segment: split the aggregated columns into one row each
    awk -F'|' '{
        n = split($2, kind, ";"); split($3, tx, ";"); split($4, rx, ";");
        split($5, ty, ";"); split($6, co, ";"); split($7, ng, ";");
        ia = 0;
        for (i = 1; i <= n; i++) {
            t = ""; c = ""; g = "";
            k = substr(kind[i], length(kind[i])) # 0x00000000 I, ...01 S, ...03 U
            if (k == "0") { ia++; t = ty[ia]; c = co[ia]; g = ng[ia] }
            print $1 "|" k "|" tx[i] "|" rx[i] "|" t "|" c "|" g
        }
    }' "$tmp/$name.rows" >"$tmp/$name.apdus"
    n_frames=$(grep -c . "$tmp/$name.apdus")
    [ "$n_frames" -ge 30 ] && ok || fail "$name: only $n_frames APDUs dissected"
    # the station's I-frames (from its port) are numbered 0, 1, 2, ...
    expect_eq "$name: station N(S) sequence" "" "$(awk -F'|' -v p="$port" \
        '$1 != p && $2 == "0" { if ($3 != want) print "N(S) " $3 " where " want " was due"; want++ }
         BEGIN { want = 0 }' "$tmp/$name.apdus")"
    # the client never acknowledges more than the station sent
    expect_eq "$name: client N(R) within what was sent" "" "$(awk -F'|' -v p="$port" '
        $1 != p && $2 == "0" { sent = $3 + 1 }
        $1 == p && ($2 == "0" || $2 == "1") && $4 > sent { print "N(R) " $4 " > " sent }
        BEGIN { sent = 0 }' "$tmp/$name.apdus")"
    # the session's content: U functions, types and causes
    expect_eq "$name: U-frames" "6" "$(awk -F'|' '$2 == "3"' "$tmp/$name.apdus" | grep -c .)"
    for tc in "100|7" "100|10" "101|7" "101|10" "13|20" "1|20" "36|20" "15|37" \
        "15|3" "50|7" "50|10" "45|47"; do
        t=${tc%|*} c=${tc#*|}
        [ "$(awk -F'|' -v t="$t" -v c="$c" '$5 == t && $6 == c' "$tmp/$name.apdus" | grep -c .)" -ge 1 ] \
            && ok || fail "$name: no ASDU of type $t with cause $c"
    done
    expect_eq "$name: negative confirmations" "1" \
        "$(awk -F'|' '$7 == "1" || $7 == "True"' "$tmp/$name.apdus" | grep -c .)"
    expect_eq "$name: malformed frames" "" "$(ts -Y '_ws.malformed')"
    local expert
    expert=$(ts -q -z expert,warn)
    expect_eq "$name: IEC 104 warnings and errors" "" \
        "$(grep -E '^ +[0-9]+ ' <<<"$expert" | grep -vE '^ +[0-9]+ +[A-Za-z]+ +TCP ')"
}

# --- the session as the test writes it ---
if ! "$gen" --frames "$tmp" >/dev/null; then
    fail "test_iec104_server --frames failed"; summary; exit 1
fi
if ! text2pcap -q -D -T 2404,40404 -4 192.0.2.1,192.0.2.2 "$tmp/frames.txt" "$tmp/dump.pcapng" \
    2>"$tmp/text2pcap.err"; then
    fail "text2pcap: $(cat "$tmp/text2pcap.err")"; summary; exit 1
fi
check_capture dump "$tmp/dump.pcapng" 2404

# --- the same session captured live on loopback, when this host allows capturing ---
# The session's binary prints its port and waits; the capture, filtered on that port (other
# tests may be busy on loopback), starts; a knock (a TCP connection opened and closed) shows
# when packets are really being captured; then the session runs. Every wait is for a
# condition, bounded by a deadline; the capture also stops by itself after 60 s.
live="$tmp/live.pcapng"
pause() { read -r -t 0.1 <> <(:) || true; }
stop_capture() {
    local deadline=$((SECONDS + 10))
    kill "$capture_pid" 2>/dev/null
    while kill -0 "$capture_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do pause; done
    kill -KILL "$capture_pid" 2>/dev/null
    wait "$capture_pid" 2>/dev/null
    capture_pid=
}
count() { # FILTER: frames of the live capture that match
    timeout 10 tshark -r "$live" -d "tcp.port==$port,iec60870_104" -Y "$1" 2>/dev/null | grep -c .
}
if timeout 10 tshark -i lo -a duration:1 -c 1 -w "$tmp/probe.pcapng" >/dev/null 2>&1; then
    mkdir -p "$tmp/live-run"
    coproc GEN { timeout 60 "$gen" --frames "$tmp/live-run" --wait; }
    gen_pid=$GEN_PID
    port=
    read -r -t 30 line <&"${GEN[0]}" && port=${line#port }
    if [ -z "$port" ]; then
        fail "live session: no port"
    else
        tshark -i lo -f "tcp port $port" -a duration:60 -w "$live" >/dev/null \
            2>"$tmp/capture.err" &
        capture_pid=$!
        deadline=$((SECONDS + 20))
        knocked=0
        until [ $SECONDS -ge $deadline ] || ! kill -0 "$capture_pid" 2>/dev/null; do
            if grep -q "Capturing on" "$tmp/capture.err"; then
                { exec 3<>"/dev/tcp/127.0.0.1/$port" && exec 3>&-; } 2>/dev/null
                [ "$(count 'tcp.flags.syn == 1')" -ge 1 ] && { knocked=1; break; }
            fi
            pause
        done
        echo go >&"${GEN[1]}"
        wait "$gen_pid" || fail "live session failed"
        last=0
        deadline=$((SECONDS + 20))
        while [ "$knocked" = 1 ] && [ $SECONDS -lt $deadline ]; do # until STOPDT con is in
            last=$(count "tcp.srcport == $port && iec60870_104.utype == 0x20")
            [ "${last:-0}" -ge 1 ] && break
            pause
        done
        stop_capture
        if [ "$knocked" != 1 ]; then
            fail "live capture: the capture did not start within 20 s: $(tr '\n' ' ' <"$tmp/capture.err")"
        elif [ "${last:-0}" -ge 1 ]; then
            check_capture live "$live" "$port"
        else
            fail "live capture: STOPDT con not captured within 20 s: $(tr '\n' ' ' <"$tmp/capture.err")"
        fi
    fi
else
    echo "skipped: live capture on loopback (tshark -i lo is not allowed here)"
fi

expect_eq "tshark errors" "" "$(grep -v 'Running as user' "$tmp/tshark.err" 2>/dev/null)"
summary
