#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The contract of 'plcline bench' (docs/bench-command.md) against both simulators: a short
# run prints a rate above zero and percentiles in order (p50 <= p90 <= p99 <= max); --json
# prints one object with the fields; --connections and --inflight work (7TTCP caps inflight
# to 1 and says so); a refused port exits 1 with the error line, without waiting for the duration; bad arguments exit
# 2; --help. Timing is never asserted beyond "more than zero" and "it ended".
# Usage: test_bench_cli.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to check --json" >&2; exit 1; }

cli_workdir

# start_sim FD URL [options]: starts a simulator reading its announcement on FD; sets $port
start_sim() {
    local fd=$1 url=$2 word addr
    shift 2
    eval "exec $fd< <(exec \"\$PL\" serve -q \"\$@\" \"\$url\" 2>>\"\$tmp/serve.err\")"
    pids+=($!)
    last_pid=$!
    if ! read -r -t 10 word addr <&"$fd"; then
        echo "FAIL: serve $url did not announce itself" >&2; cat "$tmp/serve.err" >&2; exit 1
    fi
    port=${addr##*:}
}

# check_table NAME OUTPUT: a rate above zero and p50 <= p90 <= p99 <= max
check_table() {
    local name=$1 out=$2 rate lat
    rate=$(sed -n 's/^rate  *\([0-9.]*\) requests\/s$/\1/p' <<<"$out")
    expect_match "$name: rate line" '^[0-9]+\.[0-9]$' "$rate"
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "${rate:-0}" \
        && ok || fail "$name: rate $rate is not above zero"
    lat=$(sed -n 's/^latency  *p50 \([0-9.]*\) ms  p90 \([0-9.]*\) ms  p99 \([0-9.]*\) ms  max \([0-9.]*\) ms.*/\1 \2 \3 \4/p' <<<"$out")
    python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(0 if len(v)==4 and v==sorted(v) and v[0]>0 else 1)" $lat \
        && ok || fail "$name: percentiles [$lat] missing or out of order"
    expect_match "$name: no errors" $'\nerrors +none' "$out"
}

# check_json NAME JSON CONNECTIONS INFLIGHT: the object's fields and their consistency
check_json() {
    python3 -c '
import json, sys
o = json.loads(sys.argv[1])
conns, infl = int(sys.argv[2]), int(sys.argv[3])
need = ["url", "address", "protocol", "connections", "inflight", "duration_s", "warmup_s",
        "window_s", "requests", "ok", "failed", "requests_per_s", "latency_ms", "bytes_in",
        "bytes_out", "errors", "ok_per_connection"]
miss = [k for k in need if k not in o]
assert not miss, "missing %s" % miss
assert o["connections"] == conns and o["inflight"] == infl, (o["connections"], o["inflight"])
assert o["requests_per_s"] > 0 and o["ok"] > 0 and o["failed"] == 0, o
lat = o["latency_ms"]
assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
assert o["bytes_in"] > 0 and o["bytes_out"] > 0
assert len(o["ok_per_connection"]) == conns and sum(o["ok_per_connection"]) == o["ok"]
assert all(n > 0 for n in o["ok_per_connection"]), o["ok_per_connection"]
assert o["errors"] == []
' "$2" "$3" "$4" && ok || fail "$1: JSON [$2]"
}

B=(--duration 1 --warmup 0.2)

# --- 7TTCP ---
start_sim 3 7ttcp://127.0.0.1:0 --ignore-node 5
tport=$port
turl="7ttcp://127.0.0.1:$port/2"
out=$("$PL" bench "$turl" W0,10 "${B[@]}" 2>"$tmp/err"); rc=$?
expect_eq "7ttcp exit" 0 $rc
check_table "7ttcp" "$out"
expect_match "7ttcp config" $'url +7ttcp://.*\naddress +W0,10\nconnections +1\ninflight +1 per' "$out"
expect_eq "7ttcp stderr empty" "" "$(cat "$tmp/err")"

out=$("$PL" bench --json --connections 4 "${B[@]}" "$turl" W0,10 2>"$tmp/err"); rc=$?
expect_eq "7ttcp json exit" 0 $rc
check_json "7ttcp json 4 connections" "$out" 4 1
expect_eq "json is one line" 1 "$(wc -l <<<"$out")"

out=$("$PL" bench "$turl" W0 --inflight=4 --duration=0.5 --warmup=0 2>"$tmp/err"); rc=$?
expect_eq "7ttcp inflight exit" 0 $rc
expect_eq "7ttcp inflight 4 stderr empty" "" "$(cat "$tmp/err")"
expect_match "7ttcp inflight 4" $'\ninflight +4 per connection' "$out"
out=$("$PL" bench "$turl" W0 --inflight=20 --duration=0.5 --warmup=0 2>"$tmp/err"); rc=$?
expect_eq "7ttcp inflight 20 exit" 0 $rc
expect_match "7ttcp inflight capped" "at most 16 requests in flight.*capped to 16" "$(cat "$tmp/err")"
expect_match "7ttcp inflight 16" $'\ninflight +16 per connection' "$out"

# --- PCCC (SLC 500) ---
start_sim 4 "pccc://127.0.0.1:0?plc=slc500"
purl="pccc://127.0.0.1:$port?plc=slc500"
out=$("$PL" bench "$purl" N7:0,10 "${B[@]}" 2>"$tmp/err"); rc=$?
expect_eq "pccc exit" 0 $rc
check_table "pccc" "$out"
expect_eq "pccc stderr empty" "" "$(cat "$tmp/err")"

out=$("$PL" bench --json --connections 4 --inflight 3 "${B[@]}" "$purl" N7:0,10 2>&1); rc=$?
expect_eq "pccc json exit" 0 $rc
check_json "pccc json 4x3" "$out" 4 3
# the URL's inflight= is the default; --inflight wins over it
out=$("$PL" bench --json "${B[@]}" "$purl&inflight=2" F8:0 2>&1)
check_json "pccc url inflight" "$out" 1 2

# --- refused: exit 1 and the error line, without running the whole duration ---
# A port that refuses for the whole test (bound, never listening: no one else takes it).
# The run asks for an hour: `timeout` ends a run that waits for the duration instead of
# failing at once, and that fails the test (a deadline, not a measured time).
cli_refusing_port
dead=$refusing_port
for url in "7ttcp://127.0.0.1:$dead" "pccc://127.0.0.1:$dead"; do
    out=$(timeout 60 "$PL" bench "$url" "$([[ $url == pccc* ]] && echo N7:0 || echo W0)" \
          --duration 3600 2>&1); rc=$?
    expect_eq "refused exit ($url)" 1 $rc
    # 7TTCP presents its manual's code; other protocols the neutral one
    want='0x0032 PL_ECONNECT'
    [[ $url == 7ttcp* ]] && want='0x4003 _7TTCP_CONNECT_SOCKET_FAILED'
    expect_match "refused line ($url)" "^plcline: ${url//./\\.}: [^ ]+: connect failed \($want\).*refused" "$out"
    expect_match "refused says nothing measured" "nothing measured" "$out"
done
out=$(timeout 60 "$PL" bench --json "7ttcp://127.0.0.1:$dead" W0 --duration 3600 2>/dev/null); rc=$?
expect_eq "refused json exit" 1 $rc
python3 -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["measured"] is False and o["ok"] == 0' \
    "$out" && ok || fail "refused json: [$out]"

# --- a node that never answers: bounded by the timeout, the error named (an hour asked
# for, `timeout` as above) ---
out=$(timeout 60 "$PL" bench "7ttcp://127.0.0.1:$tport/5?timeout=200" W0 --duration 3600 2>&1); rc=$?
expect_eq "no answer exit" 1 $rc
expect_match "no answer line" "W0: receive timeout \(0x4009 _7TTCP_RECV_TIMEOUT\)" "$out"

# --- the PLC refuses the address: its STS is the error line ---
out=$("$PL" bench "$purl" N99:0 --duration 0.5 --warmup 0 2>&1); rc=$?
expect_eq "bad file exit" 1 $rc
expect_match "bad file line" "N99:0: .*PL_EPCCC_STS.*STS 0xF0" "$out"

# --- bad arguments: exit 2 ---
for args in "" "$turl" "$turl W0 W1" "$turl Q0" "http://x W0" "$turl?bogus=1 W0" \
            "$turl W0 --duration 0" "$turl W0 --duration 3601" "$turl W0 --duration x" \
            "$turl W0 --connections 0" "$turl W0 --connections 65" "$turl W0 --inflight 33" \
            "$turl W0 --warmup -1" "$turl W0 --duration" "$turl W0 --frobnicate"; do
    # shellcheck disable=SC2086
    "$PL" bench $args >/dev/null 2>&1
    expect_eq "bad arguments exit [$args]" 2 $?
done

# --- help ---
"$PL" bench --help | grep -q "usage: plcline bench" && ok || fail "bench --help"
"$PL" --help | grep -q "bench URL ADDR" && ok || fail "bench in plcline --help"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
