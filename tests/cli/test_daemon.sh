#!/usr/bin/env bash
# plcline run, end to end on loopback: values appear; a write reaches the simulator and comes
# back in the next poll; a killed simulator turns its tags bad while the other device keeps
# polling; restarting it brings them back; SIGHUP reloads (unchanged devices keep their
# connections, a PCCC one included), and a SIGHUP with an invalid file keeps the running
# configuration; SIGTERM exits 0. The simulators are separate `plcline serve` processes so
# that one can really die. No sleeps: every wait reads output until a pattern or a deadline.
# Usage: test_daemon.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

# start_sim NAME [PORT]: runs a 7TTCP simulator, sets SIM_PID and SIM_PORT
start_sim() {
    local name=$1 port=${2:-0} fd
    exec {fd}< <(exec "$PL" serve 7ttcp://127.0.0.1:"$port" 2>>"$tmp/$name.log")
    SIM_PID=$!
    pids+=("$SIM_PID")
    local word addr
    if ! read -r -t 10 word addr <&"$fd"; then
        echo "FAIL: simulator $name did not start" >&2; cat "$tmp/$name.log" >&2; exit 1
    fi
    SIM_PORT=${addr##*:}
}

start_sim A; pidA=$SIM_PID; portA=$SIM_PORT
start_sim B; pidB=$SIM_PID; portB=$SIM_PORT
# a PCCC PLC simulator C: its device is unchanged by the reload below and keeps its
# connection (a PCCC handover used to crash the daemon)
exec {cfd}< <(exec "$PL" serve pccc://127.0.0.1:0 2>>"$tmp/C.log")
pids+=("$!")
read -r -t 10 _ addrC <&"$cfd" || { echo "FAIL: simulator C did not start" >&2; exit 1; }
portC=${addrC##*:}
"$PL" write "pccc://127.0.0.1:$portC" N7:0=31 && ok || fail "preset C"
"$PL" write "7ttcp://127.0.0.1:$portA/1" W0=11 W1=12 && ok || fail "preset A"
"$PL" write "7ttcp://127.0.0.1:$portB/1" W0=21 && ok || fail "preset B"

cfg=$tmp/plant.yaml
write_cfg() { # extra tag lines as $1
    cat > "$cfg" <<EOF
scan_classes:
  - {name: fast, period: 50ms}
lines:
  - {name: la, protocol: 7ttcp, host: 127.0.0.1, port: $portA, timeout: 200ms, connect_timeout: 200ms}
  - {name: lb, protocol: 7ttcp, host: 127.0.0.1, port: $portB, timeout: 200ms, connect_timeout: 200ms}
  - {name: lc, protocol: pccc, host: 127.0.0.1, port: $portC, options: "plc=slc500"}
devices:
  - {name: da, line: la, node: 1}
  - {name: db, line: lb, node: 1, demote_after: 2, demote_for: 200ms}
  - {name: dc, line: lc}
tags:
  - {name: a.w0, device: da, address: W0, scan: fast, writable: true}
  - {name: b.w0, device: db, address: W0, scan: fast}
  - {name: c.n0, device: dc, address: N7:0, scan: fast, writable: true}
$1
EOF
}
write_cfg ""
"$PL" run --check "$cfg" >/dev/null && ok || fail "--check"

coproc D { exec "$PL" run --json "$cfg" 2>"$tmp/daemon.log"; }
dpid=$D_PID
pids+=("$dpid")
out=$tmp/out.jsonl
: > "$out"

cli_daemon_log=$out

cli_wait_for '"tag":"a.w0".*"value":11,"quality":"good"' 10 && ok || fail "a.w0 appears"
cli_wait_for '"tag":"b.w0".*"value":21,"quality":"good"' 10 && ok || fail "b.w0 appears"
cli_wait_for '"tag":"c.n0".*"value":31,"quality":"good"' 10 && ok || fail "c.n0 appears"

# a write reaches the simulator and comes back in the next poll
echo '{"write":"a.w0","value":77,"id":"w1"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"a.w0","id":"w1"' 10 && ok || fail "write answered"
[ "$("$PL" read "7ttcp://127.0.0.1:$portA/1" W0)" = "W0 77" ] && ok || fail "write reached A"
cli_wait_for '"tag":"a.w0".*"value":77' 10 && ok || fail "written value polled back"
echo '{"write":"b.w0","value":1,"id":"w2"}' >&"${D[1]}"
cli_wait_for '"result":"error","write":"b.w0","id":"w2".*PL_EREADONLY' 10 && ok || fail "read-only refused"

# simulator B dies: its tag goes bad; A keeps polling (a change on A still shows up)
kill "$pidB"; wait "$pidB" 2>/dev/null
cli_wait_for '"tag":"b.w0".*"quality":"bad"' 10 && ok || fail "b.w0 bad after B died"
"$PL" write "7ttcp://127.0.0.1:$portA/1" W0=78 && ok || fail "change A"
cli_wait_for '"tag":"a.w0".*"value":78,"quality":"good"' 10 && ok || fail "A still polled while B is dead"

# B comes back on its port: values return
start_sim B "$portB"; pidB=$SIM_PID
"$PL" write "7ttcp://127.0.0.1:$portB/1" W0=22 && ok || fail "preset B again"
cli_wait_for '"tag":"b.w0".*"value":22,"quality":"good"' 15 && ok || fail "b.w0 back after restart"

# statistics: one line per device and per line, on request
echo '{"stats":true,"id":"s1"}' >&"${D[1]}"
cli_wait_for '"stats":"device","name":"db".*"errors":[1-9]' 10 && ok || fail "stats: db counted errors"
cli_wait_for '"stats":"line","name":"la","requests":[1-9]' 10 && ok || fail "stats: line la"

# SIGHUP: a new tag appears; device da keeps its connection (A saw no new connection)
connsA=$(grep -c "connected" "$tmp/A.log")
write_cfg "  - {name: a.w1, device: da, address: W1, scan: fast}"
kill -HUP "$dpid"
cli_wait_for '"tag":"a.w1".*"value":12,"quality":"good"' 10 && ok || fail "reload adds a.w1"
echo '{"write":"a.w0","value":79,"id":"w3"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"a.w0","id":"w3"' 10 && ok || fail "write after reload"
"$PL" write "pccc://127.0.0.1:$portC" N7:0=32 && ok || fail "change C"
cli_wait_for '"tag":"c.n0".*"value":32,"quality":"good"' 10 && ok || fail "c.n0 polled after reload"
echo '{"write":"c.n0","value":33,"id":"w5"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"c.n0","id":"w5"' 10 && ok || fail "PCCC write after reload"
[ "$("$PL" read "pccc://127.0.0.1:$portC" N7:0)" = "N7:0 33" ] && ok || fail "write reached C"
[ "$(grep -c "connected" "$tmp/A.log")" = "$connsA" ] && ok || \
    fail "A's connection was not kept across the reload ($(grep -c connected "$tmp/A.log") vs $connsA)"

# SIGHUP with an invalid configuration: the running one stays. Each bad file leaves a.w1
# out, so a.w1 still polled proves the old configuration runs. The daemon's log is followed
# from its current end.
follow_log() {
    local off # taken now, not when the process substitution gets to run
    off=$(($(stat -c %s "$tmp/daemon.log") + 1))
    exec {lf}< <(exec tail -c +"$off" -f "$tmp/daemon.log")
    pids+=("$!")
}
wait_log() { # wait_log REGEX SECONDS: a daemon log line after follow_log that matches
    local re=$1 deadline=$((SECONDS + $2)) line
    while [ $SECONDS -lt $deadline ]; do
        IFS= read -r -t 1 -u "$lf" line || continue
        [[ "$line" =~ $re ]] && return 0
    done
    return 1
}
follow_log
printf 'scan_classes:\n  - {name: fast, period: 50ms\n' > "$cfg" # not YAML
kill -HUP "$dpid"
wait_log 'reload: .*invalid YAML' 10 && ok || fail "reload of broken YAML: no error"
wait_log 'reload: keeping the running configuration' 10 && ok || fail "broken YAML: not kept"
write_cfg "  - {name: a.q, device: da, address: Q1, scan: fast}" # parses, the engine refuses
kill -HUP "$dpid"
wait_log "PL_EADDR.*'Q1'" 10 && ok || fail "reload of a bad address: no error"
wait_log 'reload: keeping the running configuration' 10 && ok || fail "bad address: not kept"
kill -0 "$dpid" && ok || fail "the daemon died on a bad reload"
"$PL" write "7ttcp://127.0.0.1:$portA/1" W1=13 && ok || fail "change A W1"
cli_wait_for '"tag":"a.w1".*"value":13,"quality":"good"' 10 && ok || fail "a.w1 no longer polled"
echo '{"write":"a.w0","value":80,"id":"w4"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"a.w0","id":"w4"' 10 && ok || fail "write after a bad reload"
[ "$("$PL" read "7ttcp://127.0.0.1:$portA/1" W0)" = "W0 80" ] && ok || fail "write reached A"

# SIGTERM: clean exit 0
kill -TERM "$dpid"
wait "$dpid"; rc=$?
[ "$rc" = 0 ] && ok || fail "daemon exit after SIGTERM: $rc"

if [ "$fails" -gt 0 ]; then
    echo "--- daemon log" >&2; tail -20 "$tmp/daemon.log" >&2
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
