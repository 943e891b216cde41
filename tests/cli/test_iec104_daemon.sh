#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# plcline run with an IEC 104 line, end to end on loopback against `plcline serve iec104://`:
# the event-driven tags (no scan class) get good values from the general interrogation, a
# spontaneous change of the animated station arrives, a write to a command tag through stdin
# is answered ok (ACT_CON + ACT_TERM), a write to a monitoring point is refused, and killing
# the station turns the tags bad. No sleeps: every wait reads output until a pattern or a
# deadline.
# Usage: test_iec104_daemon.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

exec {sfd}< <(exec "$PL" serve iec104://127.0.0.1:0 --ca 3 --animate 200 \
    --points "M_ME_NC_1:1001-1003 C_SE_NC_1:5001" 2>>"$tmp/sim.log")
spid=$!
pids+=("$spid")
if ! read -r -t 10 _ addr <&"$sfd"; then
    echo "FAIL: the station did not start" >&2; cat "$tmp/sim.log" >&2; exit 1
fi
port=${addr##*:}

cfg=$tmp/plant.yaml
cat > "$cfg" <<EOF2
lines:
  - {name: l1, protocol: iec104, host: 127.0.0.1, port: $port, connect_timeout: 200ms, options: "t1=2000&t2=500&t3=1000"}
devices:
  - {name: st, line: l1, ca: 3}
tags:
  - {name: p1001, device: st, address: "1001"}
  - {name: p1002, device: st, address: "M_ME_NC_1:1002"}
  - {name: sp, device: st, address: "C_SE_NC_1:5001", writable: true}
  - {name: p1003, device: st, address: "1003", writable: true}
EOF2
out=$("$PL" run --check "$cfg" 2>&1) && ok || fail "--check: $out"

# the line's options reach the client: t2 must be below t1
sed 's/options: "t1=2000&t2=500&t3=1000"/options: "t1=1000\&t2=1000"/' "$cfg" > "$tmp/bad.yaml"
out=$(timeout 10 "$PL" run --json "$tmp/bad.yaml" 2>&1 </dev/null)
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && [[ "$out" == *"cannot create the IEC 104 client"* ]] && ok || \
    fail "options t1=t2 refused (exit $rc): $out"

coproc D { exec "$PL" run --json "$cfg" 2>"$tmp/daemon.log"; }
dpid=$D_PID
pids+=("$dpid")
log=$tmp/out.jsonl
: > "$log"

cli_daemon_log=$log

cli_wait_next '"tag":"p1001".*"quality":"good"' 10 && ok || fail "p1001 good from the interrogation"
first=$LINE
cli_wait_next '"tag":"p1002".*"quality":"good"' 10 && ok || fail "p1002 good from the interrogation"
# the station animates 1001..1003 in turn: a spontaneous value of 1001 that differs
v1=$(sed -E 's/.*"value":([^,]*),.*/\1/' <<<"$first")
changed=0
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && cli_wait_next '"tag":"p1001".*"quality":"good"' 2; do
    v=$(sed -E 's/.*"value":([^,]*),.*/\1/' <<<"$LINE")
    if [ "$v" != "$v1" ]; then changed=1; break; fi
done
[ $changed = 1 ] && ok || fail "a spontaneous change of p1001 (first value $v1)"

echo '{"write":"sp","value":1.5,"id":"w1"}' >&"${D[1]}"
cli_wait_next '"result":"ok","write":"sp","id":"w1"' 10 && ok || fail "write to the command tag"
echo '{"write":"p1001","value":2,"id":"w2"}' >&"${D[1]}"
cli_wait_next '"result":"error","write":"p1001","id":"w2".*PL_EREADONLY' 10 && ok || fail "write to a read-only tag refused"
echo '{"write":"p1003","value":2,"id":"w3"}' >&"${D[1]}"
cli_wait_next '"result":"error","write":"p1003","id":"w3".*not a command point' 10 && ok || \
    fail "write to a monitoring point refused by the driver"

cli_stop "$spid"
cli_wait_next '"tag":"p1001".*"quality":"bad"' 10 && ok || fail "p1001 bad after the station died"

kill "$dpid"
wait "$dpid" 2>/dev/null
if [ "$fails" -ne 0 ]; then
    echo "--- daemon output" >&2; cat "$log" >&2
    echo "--- daemon log" >&2; tail -20 "$tmp/daemon.log" >&2
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
