#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# plcline run with an IEC 104 line in parallel redundancy, end to end on loopback: a
# primary station on 127.0.0.1 and a backup on 127.0.0.2 (`plcline serve iec104://`, both
# animating). The tags get good values from the primary; the primary is killed: the daemon
# logs the switchover, the tags get good values from the backup and never turn bad in
# between (the standby took over); the backup is killed too: now the tags turn bad. No
# sleeps: every wait reads output until a pattern or a deadline.
# Usage: test_iec104_daemon_redundancy.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

start_station() { # ADDR LOG: sets SPID and SADDR
    exec {sfd}< <(exec "$PL" serve "iec104://$1:0" --ca 3 --animate 100 \
        --points "M_ME_NC_1:1001-1003" 2>>"$2")
    SPID=$!
    pids+=("$SPID")
    if ! read -r -t 10 _ SADDR <&"$sfd"; then
        echo "FAIL: the station on $1 did not start" >&2; cat "$2" >&2; exit 1
    fi
}
start_station 127.0.0.1 "$tmp/sim1.log"
p_pid=$SPID p_port=${SADDR##*:}
start_station 127.0.0.2 "$tmp/sim2.log"
b_pid=$SPID b_port=${SADDR##*:}

cfg=$tmp/plant.yaml
cat > "$cfg" <<EOF2
lines:
  - {name: l1, protocol: iec104, host: 127.0.0.1, port: $p_port, backup: 127.0.0.2,
     backup_port: $b_port, redundancy: parallel, connect_timeout: 200ms,
     backoff_min: 2s, backoff_max: 4s, options: "t1=2000&t2=500&t3=1000"}
devices:
  - {name: st, line: l1, ca: 3}
tags:
  - {name: p1001, device: st, address: "1001"}
EOF2
out=$("$PL" run --check "$cfg" 2>&1) && ok || fail "--check: $out"

coproc D { exec "$PL" run --json "$cfg" 2>"$tmp/daemon.log"; }
dpid=$D_PID
pids+=("$dpid")
log=$tmp/out.jsonl
: > "$log"

cli_daemon_log=$log
# log_has REGEX SECONDS: the daemon's log shows the pattern within the deadline, reading
# (and keeping) its output meanwhile
log_has() {
    local deadline=$((SECONDS + $2)) line
    while [ $SECONDS -lt $deadline ]; do
        grep -qE "$1" "$tmp/daemon.log" && return 0
        if IFS= read -r -t 0.2 -u "${D[0]}" line; then echo "$line" >> "$log"; fi
    done
    return 1
}

cli_wait_next '"tag":"p1001".*"quality":"good"' 10 && ok || fail "p1001 good from the primary"
log_has 'iec104: the backup connection is the standby' 10 && ok || fail "the backup is the standby"

mark=$(wc -l < "$log")
kill -9 "$p_pid"; wait "$p_pid" 2>/dev/null
log_has 'iec104: switchover 1 to the backup connection' 10 && ok || fail "the switchover is logged"
log_has 'iec104: the backup connection is started' 10 && ok || fail "the backup is started"
# two values from the backup's animation after the switch (the first may be the last value
# the engine held already), and not one bad value since the kill
n=0
deadline=$((SECONDS + 10))
while [ $n -lt 2 ] && [ $SECONDS -lt $deadline ] && cli_wait_next '"tag":"p1001".*"quality":"good"' 5; do
    n=$((n + 1))
done
[ $n -ge 2 ] && ok || fail "p1001 good values from the backup after the switch ($n)"
bad=$(tail -n +$((mark + 1)) "$log" | grep -c '"tag":"p1001".*"quality":"bad"')
[ "$bad" = 0 ] && ok || fail "p1001 turned bad across the switchover ($bad lines)"

kill -9 "$b_pid"; wait "$b_pid" 2>/dev/null
cli_wait_next '"tag":"p1001".*"quality":"bad"' 10 && ok || fail "p1001 bad once both stations died"

kill "$dpid"
wait "$dpid" 2>/dev/null
if [ "$fails" -ne 0 ]; then
    echo "--- daemon output" >&2; cat "$log" >&2
    echo "--- daemon log" >&2; tail -20 "$tmp/daemon.log" >&2
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
