#!/usr/bin/env bash
# Hostile partners and careless callers through the command: `serve -q` logs one warning of
# a kind per client address, not one per request; `serve --idle-timeout` closes a silent
# connection; `run` echoes a 200-byte id whole and refuses a 300-byte one and a `true` one
# (JSON lines), and MQTT refuses the same ids and answers a set topic longer than any tag's.
# No sleeps: every wait reads output until a
# pattern or a deadline.
# Usage: test_hostile_cli.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

# --- serve -q: one warning, then counts ---------------------------------------------------
exec 3< <(exec "$PL" serve -q 7ttcp://127.0.0.1:0 2>"$tmp/serve.log")
sim=$!
pids+=("$sim")
read -r -t 10 _ addr <&3 || { echo "FAIL: simulator did not start" >&2; exit 1; }
port=${addr##*:}
for i in 1 2 3 4; do # node 99 is not served: each read times out, each is a new connection
    "$PL" read "7ttcp://127.0.0.1:$port/99?timeout=100" W0 >/dev/null 2>&1 && fail "read $i answered"
done
n=$(grep -c "is not served" "$tmp/serve.log")
[ "$n" = 1 ] && ok || fail "serve -q: $n 'not served' lines for 4 requests (expected 1)"
cli_stop "$sim"
grep -q "not served.*\.\.\. 3 more in the last" "$tmp/serve.log" && ok ||
    fail "serve -q: the count at exit: $(cat "$tmp/serve.log")"

# --- serve --idle-timeout: a silent connection is closed ----------------------------------
exec 3< <(exec "$PL" serve --idle-timeout 200 7ttcp://127.0.0.1:0 2>"$tmp/idle.log")
sim=$!
pids+=("$sim")
read -r -t 10 _ addr <&3 || { echo "FAIL: simulator did not start" >&2; exit 1; }
port=${addr##*:}
exec 7<>"/dev/tcp/127.0.0.1/$port"
if read -r -t 10 -u 7 _; then fail "idle: data from the simulator"; fi
# read returns at end of file (closed by the simulator) well before the 10 s deadline
grep -q "nothing received for 200 ms" "$tmp/idle.log" && ok || fail "idle: $(cat "$tmp/idle.log")"
exec 7<&-
cli_stop "$sim"
"$PL" serve --idle-timeout 0 7ttcp://127.0.0.1:0 >/dev/null 2>&1
[ $? = 2 ] && ok || fail "--idle-timeout 0 refused"

# --- run: ids on JSON lines ---------------------------------------------------------------
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
EOF
id200=$(printf 'a%.0s' $(seq 1 200))
id300=$(printf 'b%.0s' $(seq 1 300))
{
    echo "{\"write\":\"sp\",\"value\":1,\"id\":\"$id200\"}"
    echo "{\"write\":\"sp\",\"value\":2,\"id\":\"$id300\"}"
    echo '{"write":"sp","value":3,"id":true}'
} > "$tmp/in.jsonl"
coproc D { exec "$PL" run --json "$tmp/plant.yaml" <"$tmp/in.jsonl" 2>"$tmp/run.log"; }
dpid=$D_PID
pids+=("$dpid")
results=0 out=""
deadline=$((SECONDS + 10))
while [ $results -lt 3 ] && [ $SECONDS -lt $deadline ] && IFS= read -r -t 5 line <&"${D[0]}"; do
    [[ "$line" == *'"result"'* ]] && { results=$((results + 1)); out+="$line"$'\n'; }
done
grep -q "\"result\":\"ok\",\"write\":\"sp\",\"id\":\"$id200\"" <<<"$out" && ok ||
    fail "200-byte id echoed whole: $out"
grep -q '"result":"error".*PL_EVALUE.*longer than 256' <<<"$out" && ok || fail "300-byte id refused: $out"
grep -q '"result":"error".*PL_EVALUE.*must be a string or an integer' <<<"$out" && ok ||
    fail "id true refused: $out"
grep -q "$id300" <<<"$out" && fail "the refused id was echoed (cut or whole)" || ok
cli_stop "$dpid"

# --- MQTT: the same ids --------------------------------------------------------------------
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if [ -x "$MOSQ" ] && command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null; then
    exec 3< <(exec "$PL" serve -q 7ttcp://127.0.0.1:0 2>>"$tmp/bg.err")
    probe=$!
    pids+=("$probe")
    read -r -t 10 _ addr <&3 || { echo "FAIL: no free port" >&2; exit 1; }
    cli_stop "$probe"
    port=${addr##*:}
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$tmp/m.conf"
    exec 4< <(exec "$MOSQ" -v -c "$tmp/m.conf" 2>&1)
    pids+=("$!")
    up=0
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&4; do
        if [[ "$line" == *"listen socket on port $port"* ]]; then up=1; break; fi
    done
    [ "$up" = 1 ] || { echo "FAIL: the broker did not start" >&2; exit 1; }
    cat >> "$tmp/plant.yaml" <<EOF
north:
  json: false
  mqtt: {host: 127.0.0.1, port: $port, client_id: hostile, prefix: plc}
EOF
    "$PL" run "$tmp/plant.yaml" </dev/null >/dev/null 2>"$tmp/mrun.log" &
    pids+=("$!")
    mosquitto_sub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp -C 1 -W 10 >/dev/null 2>&1 # running
    exec 5< <(exec stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/result -C 3 -W 10 2>>"$tmp/bg.err")
    pids+=("$!")
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&5; do
        [[ "$line" == *SUBACK* ]] && break
    done
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/set -m "{\"value\":1,\"id\":\"$id200\"}"
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/set -m "{\"value\":2,\"id\":\"$id300\"}"
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t plc/l1/n1/sp/set -m '{"value":3,"id":1.5}'
    out="" n=0
    while [ $n -lt 3 ] && IFS= read -r -t 10 line <&5; do
        [[ "$line" == \{* ]] && { out+="$line"$'\n'; n=$((n + 1)); }
    done
    grep -q "\"id\":\"$id200\"" <<<"$out" && ok || fail "MQTT: 200-byte id echoed: $out"
    grep -q '"id":null.*longer than 256' <<<"$out" && ok || fail "MQTT: 300-byte id refused: $out"
    grep -q '"id":null.*must be a string or an integer' <<<"$out" && ok ||
        fail "MQTT: id 1.5 refused: $out"
    # a set topic longer than any tag's was ignored (copied into a fixed buffer); answered now
    long="plc/l1/n1/$(printf 'x%.0s' $(seq 1 600))"
    exec 6< <(exec stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$port" -t "$long/result" -C 1 -W 10 2>>"$tmp/bg.err")
    pids+=("$!")
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&6; do
        [[ "$line" == *SUBACK* ]] && break
    done
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t "$long/set" -m '{"value":1,"id":"L"}'
    out=""
    while IFS= read -r -t 10 line <&6; do [[ "$line" == \{* ]] && { out=$line; break; }; done
    [[ "$out" == *'"id":"L"'*PL_ENOTAG* ]] && ok || fail "MQTT: long topic answered: [$out]"
else
    echo "skip: MQTT part (mosquitto is missing)"
fi

cli_finish
