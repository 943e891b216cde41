#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `plcline serve iec104://` (the IEC 60870-5-104 controlled station started through the
# protocol's descriptor): it announces its real port, answers STARTDT and a general
# interrogation from a raw client (bash's /dev/tcp, bytes written by hand) with the points
# of --points and the common address of --ca, refuses bad simulator keys (exit 2); the
# daemon's 'simulators:' entry starts it with the same keys; a line of the protocol with
# bad options is refused by name (the engine driver itself: test_iec104_daemon.sh).
# Usage: test_iec104_serve.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

cli_workdir

# start_sim FD URL [options]: a station announcing itself on FD; sets $port
start_sim() {
    local fd=$1 url=$2 word addr
    shift 2
    eval "exec $fd< <(exec \"\$PL\" serve -q \"\$@\" \"\$url\" 2>>\"\$tmp/serve.err\")"
    pids+=($!)
    if ! read -r -t 10 word addr <&"$fd"; then
        fail "serve $url did not announce itself: $(cat "$tmp/serve.err")"; summary; exit 1
    fi
    expect_eq "listening line" listening "$word"
    port=${addr##*:}
}

# hex N: the next N bytes from the connection on fd 5, as hex pairs (deadline 10 s)
hex() { timeout 10 head -c "$1" <&5 | od -An -v -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

# raw_session PORT CA: STARTDT, then a general interrogation of common address CA; prints
# the STARTDT answer, then each I-frame's type, cause and common address until ACT_TERM
raw_session() {
    local ca=$2 len head body i
    exec 5<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf '\x68\x04\x07\x00\x00\x00' >&5
    echo "startdt $(hex 6)"
    # C_IC_NA_1 (100), SQ 0 count 1, COT 6 act, OA 0, CA, IOA 0, QOI 20
    printf "\\x68\\x0e\\x00\\x00\\x00\\x00\\x64\\x01\\x06\\x00\\x$(printf %02x "$ca")\\x00\\x00\\x00\\x00\\x14" >&5
    for i in $(seq 1 40); do
        head=$(hex 2)
        [ -n "$head" ] || break
        len=$((16#${head#68 }))
        body=$(hex "$len")
        read -r -a b <<<"$body"
        echo "i type=$((16#${b[4]})) n=$((16#${b[5]} & 127)) cot=$((16#${b[6]} & 63)) ca=$((16#${b[8]}))"
        [ "$((16#${b[6]} & 63))" -eq 10 ] && break
    done
    exec 5<&-
}

start_sim 3 'iec104://127.0.0.1:0?ca=7' --points 'M_ME_NC_1:1001-1003 M_SP_NA_1:2001-2002 C_SE_NC_1:5001'
out=$(raw_session "$port" 7)
expect_eq "STARTDT con" "startdt 68 04 0b 00 00 00" "$(head -1 <<<"$out")"
expect_eq "GI answer" "i type=100 n=1 cot=7 ca=7
i type=13 n=3 cot=20 ca=7
i type=1 n=2 cot=20 ca=7
i type=100 n=1 cot=10 ca=7" "$(tail -n +2 <<<"$out")"

# a GI for another common address is refused with a negative confirmation (COT 46)
out=$(raw_session "$port" 9 | sed -n 2p)
expect_eq "other CA refused" "i type=100 n=1 cot=46 ca=9" "$out"

# bad simulator keys and options: exit 2, the key named
out=$("$PL" serve 'iec104://127.0.0.1:0?grouping=all' 2>&1)
expect_eq "bad grouping exit" 2 $?
expect_match "bad grouping message" "'grouping' is 'all', expected one, address or connection" "$out"
out=$("$PL" serve iec104://127.0.0.1:0 --points 'M_XX_NA_1:1' 2>&1)
expect_eq "bad points exit" 2 $?
expect_match "bad points message" "M_XX_NA_1" "$out"
out=$("$PL" serve iec104://127.0.0.1:0 --k 0 2>&1)
expect_eq "bad k exit" 2 $?
expect_match "bad k message" "'k' is '0'" "$out"

# the daemon's simulators: the same keys under their names, the station's address logged
cat >"$tmp/plant.yaml" <<YAML
simulators:
  - {name: rtu, protocol: iec104, port: 0, ca: 3, points: "M_SP_NA_1:1-4", grouping: address}
YAML
out=$("$PL" run --check "$tmp/plant.yaml" 2>&1)
expect_eq "daemon simulator check" "0" "$?"
exec 4< <(exec timeout 30 "$PL" run "$tmp/plant.yaml" 2>&1 >/dev/null)
pids+=($!)
dport=
while read -r -t 10 line <&4; do
    if [[ "$line" =~ "simulator rtu: IEC 60870-5-104 controlled station, common address 3, on 127.0.0.1:"([0-9]+) ]]; then
        dport=${BASH_REMATCH[1]}
        break
    fi
done
if [ -n "$dport" ]; then
    out=$(raw_session "$dport" 3 | sed -n '2,3p')
    expect_eq "daemon's station" "i type=100 n=1 cot=7 ca=3
i type=1 n=4 cot=20 ca=3" "$out"
else
    fail "the daemon did not log its simulator's address"
fi
printf 'simulators:\n  - {name: rtu, protocol: iec104, port: 0, grouping: every}\n' >"$tmp/bad.yaml"
out=$(timeout 10 "$PL" run "$tmp/bad.yaml" 2>&1)
expect_eq "daemon bad grouping exit" 1 $?
expect_match "daemon bad grouping message" "simulator 'rtu': .*'grouping' is 'every'" "$out"

# a line of the protocol: its options are checked, by name
printf 'lines: [{name: a, protocol: iec104, host: 127.0.0.1, options: "k=0"}]\n' >"$tmp/line.yaml"
out=$("$PL" run --check "$tmp/line.yaml" 2>&1)
expect_eq "line refused exit" 2 $?
expect_match "line refused message" "line 'a': 'k' is '0'" "$out"
printf 'lines: [{name: a, protocol: iec104, host: 127.0.0.1, options: "k=20"}]\n' >"$tmp/line.yaml"
out=$("$PL" run --check "$tmp/line.yaml" 2>&1)
expect_eq "line accepted exit" 0 $?

summary
