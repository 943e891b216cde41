#!/usr/bin/env bash
# plcline run with north.mqtt against a real mosquitto broker started here, seen through the
# mosquitto command-line clients: retained values on <prefix>/<line>/<device>/<tag>, a write
# on .../set answered on .../result with its id, a read-only tag refused, a tag added by a
# SIGHUP reload published and written, the instance status "online" and, after SIGTERM,
# "offline". No sleeps: every wait reads output with a deadline.
# Usage: test_daemon_mqtt.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
for tool in mosquitto mosquitto_sub mosquitto_pub; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "FAIL: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
. "$(dirname "$0")/lib.sh"

cli_workdir

# The broker on a free loopback port (plcline's simulator picks one, then releases it). It
# is up once it says "running"; a port some other socket took meanwhile (loopback clients
# get their local ports from the same range) makes it say "Error: Address already in use"
# right after "Opening ... listen socket" and exit: then again on another port.
up=0
for _ in 1 2 3 4 5; do
    exec 3< <(exec "$PL" serve -q 7ttcp://127.0.0.1:0 2>>"$tmp/bg.err")
    probe=$!
    read -r -t 10 _ addr <&3 || { echo "FAIL: no free port" >&2; exit 1; }
    cli_stop "$probe"
    port=${addr##*:}
    cat > "$tmp/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
EOF
    exec 4< <(exec "$MOSQ" -v -c "$tmp/mosquitto.conf" 2>&1)
    broker=$!
    pids+=("$broker")
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&4; do
        if [[ "$line" == *" running"* ]]; then up=1; break; fi
        [[ "$line" == *"Error:"* ]] && break
    done
    [ "$up" = 1 ] && break
    cli_stop "$broker"
done
[ "$up" = 1 ] || { echo "FAIL: the broker did not start" >&2; exit 1; }

cat > "$tmp/plant.yaml" <<EOF
scan_classes:
  - {name: fast, period: 100ms}
simulators:
  - {name: sim, protocol: 7ttcp, nodes: 0-1}
lines:
  - {name: l1, protocol: 7ttcp, simulator: sim, timeout: 500ms}
devices:
  - {name: n1, line: l1, node: 1}
tags:
  - {name: sp, device: n1, address: W100, scan: fast, writable: true}
  - {name: counter, device: n1, address: W0, scan: fast}
north:
  json: false
  mqtt: {host: 127.0.0.1, port: $port, client_id: plant-1, prefix: plc, qos_publish: 1}
EOF
"$PL" run "$tmp/plant.yaml" </dev/null >"$tmp/daemon.out" 2>"$tmp/daemon.log" &
daemon=$!
pids+=("$daemon")

sub() { # sub TOPIC COUNT: the first COUNT messages (retained included), 10 s at most
    mosquitto_sub -h 127.0.0.1 -p "$port" -t "$1" -C "$2" -W 10 2>/dev/null
}

v=$(sub plc/l1/n1/sp 1)
[[ "$v" == *'"value":0'*'"quality":"good"'* ]] && ok || fail "retained value of sp: [$v]"
v=$(sub plc/plant-1/status 1)
[ "$v" = online ] && ok || fail "instance status online: [$v]"

# a write over MQTT: subscribe to the result first (wait for the SUBACK), then publish
exec 5< <(exec stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/result -C 1 -W 10 2>>"$tmp/bg.err")
subpid=$!
pids+=("$subpid")
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&5; do
    [[ "$line" == *SUBACK* ]] && break
done
mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/set -m '{"value":42,"id":"m1"}'
result=""
while IFS= read -r -t 10 line <&5; do
    [[ "$line" == \{* ]] && { result=$line; break; }
done
[[ "$result" == *'"result":"ok"'*'"id":"m1"'* || "$result" == *'"id":"m1"'*'"result":"ok"'* ]] &&
    ok || fail "write result: [$result]"
v=""
for _ in $(seq 1 50); do # the retained value, until the next poll has published 42
    v=$(sub plc/l1/n1/sp 1)
    [[ "$v" == *'"value":42'* ]] && break
done
[[ "$v" == *'"value":42'* ]] && ok || fail "written value published back: [$v]"

# a read-only tag refuses
exec 6< <(exec stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$port" -t plc/l1/n1/counter/result -C 1 -W 10 2>>"$tmp/bg.err")
sub2=$!
pids+=("$sub2")
while IFS= read -r -t 10 line <&6; do [[ "$line" == *SUBACK* ]] && break; done
mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/counter/set -m 5
result=""
while IFS= read -r -t 10 line <&6; do
    [[ "$line" == \{* ]] && { result=$line; break; }
done
[[ "$result" == *PL_EREADONLY* ]] && ok || fail "read-only write refused: [$result]"

# SIGHUP with MQTT on: a tag added by the reload is published, and a write to it over MQTT
# reaches the new configuration's engine
sed -i '/name: counter,/a\  - {name: sp2, device: n1, address: W101, scan: fast, writable: true}' \
    "$tmp/plant.yaml"
grep -q 'name: sp2' "$tmp/plant.yaml" || { echo "FAIL: sp2 not added" >&2; exit 1; }
kill -HUP "$daemon"
v=$(sub plc/l1/n1/sp2 1)
[[ "$v" == *'"value":0'*'"quality":"good"'* ]] && ok || fail "reloaded tag sp2 published: [$v]"
exec 7< <(exec stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp2/result -C 1 -W 10 2>>"$tmp/bg.err")
sub3=$!
pids+=("$sub3")
while IFS= read -r -t 10 line <&7; do [[ "$line" == *SUBACK* ]] && break; done
mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp2/set -m '{"value":77,"id":"m2"}'
result=""
while IFS= read -r -t 10 line <&7; do
    [[ "$line" == \{* ]] && { result=$line; break; }
done
[[ "$result" == *'"result":"ok"'* && "$result" == *'"id":"m2"'* ]] && ok ||
    fail "write after reload: [$result]"
v=""
for _ in $(seq 1 50); do # the retained value, until the next poll has published 77
    v=$(sub plc/l1/n1/sp2 1)
    [[ "$v" == *'"value":77'* ]] && break
done
[[ "$v" == *'"value":77'* ]] && ok || fail "value written after reload published back: [$v]"

# SIGTERM: clean exit, status offline
kill -TERM "$daemon"
wait "$daemon"; rc=$?
[ "$rc" = 0 ] && ok || fail "daemon exit status $rc"
v=$(sub plc/plant-1/status 1)
[ "$v" = offline ] && ok || fail "instance status offline: [$v]"

[ "$fails" -gt 0 ] && grep -i mqtt "$tmp/daemon.log" | tail -20 >&2
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
