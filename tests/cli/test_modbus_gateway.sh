#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Units behind a gateway, end to end: `plcline serve modbus://` serves units 1..4, ignores
# unit 2 (a dead serial device) and accepts one connection only, as small gateways do;
# `plcline run` polls three devices of one line (units 1, 2, 3). The daemon gets in with
# its one connection; units 1 and 3 are polled and written while unit 2's tag goes bad
# with a timeout; a SIGHUP that drops unit 2 and adds unit 4 keeps the connection (the
# server logs one connection in all). No sleeps: every wait reads output until a pattern
# or a deadline.
# Usage: test_modbus_gateway.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

exec {sfd}< <(exec "$PL" serve --max-conns 1 \
    'modbus://127.0.0.1:0?units=1,2,3,4&ignore_units=2' 2>>"$tmp/gw.log")
pids+=("$!")
read -r -t 10 _ addr <&"$sfd" || { echo "FAIL: the simulator did not start" >&2; exit 1; }
port=${addr##*:}
url="modbus://127.0.0.1:$port"
for u in 1 3 4; do
    "$PL" write "$url/$u" hr0=$((u * 10)) && ok || fail "preset unit $u"
done

cfg=$tmp/plant.yaml
write_cfg() { # the devices and tags after the line, as $1
    cat > "$cfg" <<EOF
scan_classes:
  - {name: fast, period: 50ms}
lines:
  - {name: gw, protocol: modbus, host: 127.0.0.1, port: $port, timeout: 200ms, inflight: 2}
$1
EOF
}
write_cfg "devices:
  - {name: u1, line: gw, unit: 1}
  - {name: u2, line: gw, unit: 2, demote_after: 2, demote_for: 60s}
  - {name: u3, line: gw, unit: 3}
tags:
  - {name: t1, device: u1, address: hr0, scan: fast, writable: true}
  - {name: t2, device: u2, address: hr0, scan: fast}
  - {name: t3, device: u3, address: hr0, scan: fast, writable: true}"
"$PL" run --check "$cfg" >/dev/null 2>"$tmp/check.err" && ok || { fail "--check"; cat "$tmp/check.err" >&2; }

# the presets' connections are gone before the daemon connects (it would be refused)
deadline=$((SECONDS + 10))
while [ "$(grep -c " disconnected" "$tmp/gw.log")" -lt 3 ] && [ $SECONDS -lt $deadline ]; do
    read -r -t 0.1 _ <&"$sfd" # waits up to 0.1 s: the simulator prints nothing more
done
[ "$(grep -c " disconnected" "$tmp/gw.log")" = 3 ] && ok || fail "the presets' connections did not close"
coproc D { exec "$PL" run --json "$cfg" 2>"$tmp/daemon.log"; }
dpid=$D_PID
pids+=("$dpid")
cli_wait_for '"tag":"t1".*"value":10,"quality":"good"' 10 && ok || fail "t1 polled"
cli_wait_for '"tag":"t3".*"value":30,"quality":"good"' 10 && ok || fail "t3 polled"
cli_wait_for '"tag":"t2".*"quality":"bad".*PL_ETIMEOUT' 10 && ok || fail "t2 bad with a timeout"

# writes go to their own unit over the one connection, and come back in the next poll
echo '{"write":"t3","value":333,"id":"w1"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"t3","id":"w1"' 10 && ok || fail "write to u3 answered"
cli_wait_for '"tag":"t3".*"value":333,"quality":"good"' 10 && ok || fail "t3 polled back"
echo '{"write":"t1","value":111,"id":"w2"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"t1","id":"w2"' 10 && ok || fail "write to u1 answered"
cli_wait_for '"tag":"t1".*"value":111,"quality":"good"' 10 && ok || fail "t1 polled back"

# statistics: the live units had no error, the dead one timed out; one line
echo '{"stats":true,"id":"s1"}' >&"${D[1]}"
cli_wait_for '"stats":"device","name":"u1".*"errors":0[,}]' 10 && ok || fail "stats: u1 without errors"
cli_wait_for '"stats":"device","name":"u2".*"timeouts":[1-9]' 10 && ok || fail "stats: u2 timed out"
cli_wait_for '"stats":"device","name":"u3".*"errors":0[,}]' 10 && ok || fail "stats: u3 without errors"

# SIGHUP: u2 goes, u4 comes; the connection stays (one "connected" in the server's log)
write_cfg "devices:
  - {name: u1, line: gw, unit: 1}
  - {name: u3, line: gw, unit: 3}
  - {name: u4, line: gw, unit: 4}
tags:
  - {name: t1, device: u1, address: hr0, scan: fast, writable: true}
  - {name: t3, device: u3, address: hr0, scan: fast, writable: true}
  - {name: t4, device: u4, address: hr0, scan: fast, writable: true}"
kill -HUP "$dpid"
cli_wait_for '"tag":"t4".*"value":40,"quality":"good"' 10 && ok || fail "reload adds u4"
echo '{"write":"t1","value":112,"id":"w3"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"t1","id":"w3"' 10 && ok || fail "write after reload"
cli_wait_for '"tag":"t1".*"value":112,"quality":"good"' 10 && ok || fail "t1 polled after reload"
echo '{"write":"t4","value":444,"id":"w4"}' >&"${D[1]}"
cli_wait_for '"tag":"t4".*"value":444,"quality":"good"' 10 && ok || fail "t4 written and polled"
# the presets' connections (three) and the daemon's one
conns=$(grep -c " connected" "$tmp/gw.log")
[ "$conns" = 4 ] && ok || fail "connections: expected 4 (3 presets + the daemon), got $conns"

kill -TERM "$dpid"
wait "$dpid"
[ $? = 0 ] && ok || fail "daemon exit status"
echo "test_modbus_gateway: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
