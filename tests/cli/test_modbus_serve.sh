#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `plcline serve modbus://` (the Modbus TCP server started through the protocol's
# descriptor) against an independent client, mbpoll (libmodbus), and plcline's own client:
# units served and not served, a write read back by the other client, an exception for an
# address range, the simulator keys in the URL's query, bad options (exit 2); then the
# daemon's 'simulators:' entry with a device polling it.
# Usage: test_modbus_serve.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }
command -v mbpoll >/dev/null || { fail "mbpoll is not installed (scripts/deps.sh)"; summary; exit 1; }

cli_workdir

# start_sim FD URL [options]: a server announcing itself on FD; sets $port
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

start_sim 3 'modbus://127.0.0.1:0?units=1,2' --unit 7 --exception hr100,10=4
url="modbus://127.0.0.1:$port"

# mbpoll writes holding register 8 (1-based: hr7) of unit 2; plcline reads it back
out=$(mbpoll -m tcp -p "$port" -a 2 -t 4 -r 8 -1 127.0.0.1 4321 2>&1)
expect_eq "mbpoll write exit" 0 $?
out=$("$PL" read "$url/2" hr7 2>&1)
expect_eq "read back" "hr7 4321" "$out"
# plcline writes a 32-bit float into unit 1; mbpoll reads the two registers
"$PL" write "$url/1" hr20:f32=1.5 2>&1
expect_eq "write exit" 0 $?
out=$(mbpoll -m tcp -p "$port" -a 1 -t 4:float -B -r 21 -c 1 -1 127.0.0.1 2>&1)
expect_match "mbpoll reads the float" "\[21\]:[[:space:]]+1\.5" "$out"
# unit 7 came from --unit, units 1 and 2 from the URL's query
out=$("$PL" read "$url/7" hr0 2>&1)
expect_eq "unit from --unit" "hr0 0" "$out"
# a unit not served gets no answer: the read times out
out=$("$PL" read "$url/9?timeout=200" hr0 2>&1)
expect_eq "unserved exit" 1 $?
expect_match "unserved unit times out" "PL_ETIMEOUT" "$out"
# the exception range
out=$("$PL" read "$url/1" hr105 2>&1)
expect_eq "exception exit" 1 $?
expect_match "exception named" "PL_EMODBUS_X_SERVER_DEVICE_FAILURE" "$out"
out=$(mbpoll -m tcp -p "$port" -a 1 -t 4 -r 101 -1 127.0.0.1 2>&1)
expect_match "mbpoll sees the exception" "[Ss]lave device or server failure|failure" "$out"

# bad simulator options and keys exit 2 with a message
out=$("$PL" serve 'modbus://127.0.0.1:0' --exception hr1=0 2>&1)
expect_eq "bad exception exit" 2 $?
expect_match "bad exception message" "'exception' is 'hr1=0'" "$out"
out=$("$PL" serve 'modbus://127.0.0.1:0?units=256' 2>&1)
expect_eq "bad unit exit" 2 $?
expect_match "bad unit message" "'units'" "$out"

# the daemon's simulators: a Modbus server and a device polling it
cat >"$tmp/plant.yaml" <<YAML
simulators:
  - {name: mb, protocol: modbus, units: '1,3', animate: 50ms}
lines:
  - {name: l, protocol: modbus, simulator: mb}
devices:
  - {name: d3, line: l, unit: 3}
scan_classes:
  - {name: fast, period: 50ms}
tags:
  - {name: d3.counter, device: d3, address: ir0, scan: fast}
YAML
exec {dfd}< <(exec timeout 20 "$PL" run --json "$tmp/plant.yaml" 2>"$tmp/run.err")
pids+=("$!")
seen=""
while read -r -t 10 line <&"$dfd"; do
    if [[ "$line" == *'"tag":"d3.counter"'*'"quality":"good"'* ]]; then
        v=$(sed 's/.*"value":\([0-9]*\).*/\1/' <<<"$line")
        if [ -n "$seen" ] && [ "$v" != "$seen" ]; then seen=changed; break; fi
        seen=$v
    fi
done
expect_eq "daemon polls the animated counter of unit 3" changed "$seen"
summary
