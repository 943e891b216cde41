#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The plcline command's contract for Modbus TCP against libmodbus (tests/interop/
# modbus_test_server.c, built next to plcline), as test_ttcp_cli.sh and test_pccc_cli.sh
# for their protocols: read prints "<ADDR> <values>" (strings quoted); write prints
# nothing; failures print one line naming URL, address, error name and code; bad arguments
# exit 2; bench measures. Then the daemon polls the same server through a YAML
# configuration (protocol: modbus): two units on one line, one of them silent.
# Usage: test_modbus_cli.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
SRV=$(dirname "$PL")/modbus_test_server
. "$(dirname "$0")/lib.sh"
[ -x "$SRV" ] || { echo "FAIL: $SRV not built" >&2; exit 1; }

cli_workdir

# the server prints its port on its first line; unit 9 never gets an answer
exec {sfd}< <(exec "$SRV" --dead 9 --lifetime 110)
pids+=("$!")
read -r -t 10 port <&"$sfd" || { echo "FAIL: the test server did not start" >&2; exit 1; }
url="modbus://127.0.0.1:$port"

# --- read: every table, types, Modicon references, register bits, byte orders ---
out=$("$PL" read "$url" hr1 hr0,4 ir5 co0,6 di0,4 400002 300006 hr3/0,3 hr100:f32 2>&1)
expect_eq "read exit" 0 $?
expect_eq "read output" 'hr1 3
hr0,4 0 3 6 9
ir5 1005
co0,6 1 0 0 1 0 0
di0,4 0 1 0 1
400002 3
300006 1005
hr3/0,3 1 0 0
hr100:f32 123.456001' "$out"
for o in CDAB:102 BADC:104 DCBA:106; do
    out=$("$PL" read "$url?byte_order=${o%%:*}" "hr${o##*:}:f32" 2>&1)
    expect_eq "byte order ${o%%:*}" "hr${o##*:}:f32 123.456001" "$out"
done
out=$("$PL" read "$url?zero_based=1" 400002 2>&1)
expect_eq "zero_based" "400002 6" "$out"
out=$("$PL" read "$url/0" hr2 2>&1)
expect_eq "unit 0" "hr2 6" "$out"
out=$("$PL" read "$url/255" hr2 2>&1)
expect_eq "unit 255" "hr2 6" "$out"
out=$("$PL" read "$url?max_regs=10" ir0,30 2>&1)
expect_match "split read" '^ir0,30 1000 1001 .* 1029$' "$out"

# --- write, then read back: FC 6, 16, 5, 15, 22, strings, 32-bit ---
out=$("$PL" write "$url" hr10=7 hr11,3=1,2,3 co20=1 co30=1,0,1 hr12/4=1 'hr200:str6=ab, c' \
      hr300:i32=-5 "hr310:f32=2.5" 2>&1)
expect_eq "write exit" 0 $?
expect_eq "write prints nothing" "" "$out"
out=$("$PL" read "$url" hr10,4 co20 co30,3 hr12/4 hr200:str6 hr300:i32 hr310:f32 2>&1)
expect_eq "read back" 'hr10,4 7 1 18 3
co20 1
co30,3 1 0 1
hr12/4 1
hr200:str6 "ab, c"
hr300:i32 -5
hr310:f32 2.5' "$out"

# --- failures ---
out=$("$PL" read "$url" hr999,2 2>&1)
expect_eq "exception exit" 1 $?
expect_match "exception named" "^plcline: $url: hr999,2: .*PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS" "$out"
out=$("$PL" read "$url/9?timeout=200" hr0 2>&1)
expect_eq "silent unit exit" 1 $?
expect_match "silent unit times out" 'PL_ETIMEOUT' "$out"
out=$("$PL" write "$url" ir3=4 2>&1)
expect_eq "read-only exit" 2 $?
out=$("$PL" read "$url/256" hr0 2>&1)
expect_eq "bad unit exit" 2 $?
out=$("$PL" read "$url?byte_order=XY" hr0 2>&1)
expect_eq "bad byte order exit" 2 $?
expect_match "bad byte order named" "byte_order 'XY'" "$out"
out=$("$PL" read "$url" hr65535:u32 2>&1)
expect_eq "address past the end exit" 2 $?

# --- bench: sync and with requests in flight ---
out=$("$PL" bench --duration 0.3 --warmup 0 "$url" hr0,125 2>&1)
expect_eq "bench exit" 0 $?
expect_match "bench measured" 'errors +none' "$out"
out=$("$PL" bench --duration 0.3 --warmup 0 --inflight 8 "$url" hr0 2>&1)
expect_eq "bench inflight exit" 0 $?
expect_match "bench inflight" 'inflight +8 per connection' "$out"

# --- the daemon polls units 1 and 2 on one line; unit 9 is silent and goes bad alone ---
cfg=$tmp/plant.yaml
cat > "$cfg" <<EOF
scan_classes:
  - {name: fast, period: 50ms}
lines:
  - {name: gw, protocol: modbus, host: 127.0.0.1, port: $port, timeout: 200ms, max_regs: 100}
devices:
  - {name: u1, line: gw, unit: 1}
  - {name: u2, line: gw, unit: 2, byte_order: CDAB}
  - {name: u9, line: gw, unit: 9}
tags:
  - {name: t.hr1, device: u1, address: hr1, scan: fast, writable: true}
  - {name: t.co3, device: u1, address: co3, scan: fast}
  - {name: t.ir7, device: u1, address: "300008", scan: fast}
  - {name: t.f, device: u2, address: "hr102:f32", scan: fast}
  - {name: t.dead, device: u9, address: hr0, scan: fast}
EOF
"$PL" run --check "$cfg" >/dev/null 2>"$tmp/check.err" && ok || { fail "--check"; cat "$tmp/check.err" >&2; }
bad=$tmp/bad.yaml
sed 's/byte_order: CDAB/byte_order: XY/' "$cfg" > "$bad"
"$PL" run --check "$bad" >/dev/null 2>"$tmp/bad.err" && fail "bad byte_order accepted" || ok
expect_match "bad byte_order named" "byte_order" "$(cat "$tmp/bad.err")"
sed 's/max_regs: 100/max_regs: 126/' "$cfg" > "$bad"
"$PL" run --check "$bad" >/dev/null 2>"$tmp/bad.err" && fail "max_regs 126 accepted" || ok

coproc D { exec "$PL" run --json "$cfg" 2>"$tmp/daemon.log"; }
pids+=("$D_PID")
cli_wait_for '"tag":"t.hr1".*"value":3,"quality":"good"' 10 && ok || fail "t.hr1 polled"
cli_wait_for '"tag":"t.co3".*"value":true,"quality":"good"' 10 && ok || fail "t.co3 polled"
cli_wait_for '"tag":"t.ir7".*"value":1007,"quality":"good"' 10 && ok || fail "t.ir7 polled"
cli_wait_for '"tag":"t.f".*"value":123.45' 10 && ok || fail "t.f polled in CDAB"
cli_wait_for '"tag":"t.dead".*"quality":"bad"' 10 && ok || fail "t.dead goes bad"
echo '{"write":"t.hr1","value":4242,"id":"w1"}' >&"${D[1]}"
cli_wait_for '"result":"ok","write":"t.hr1","id":"w1"' 10 && ok || fail "write answered"
cli_wait_for '"tag":"t.hr1".*"value":4242' 10 && ok || fail "written value polled back"
expect_eq "write reached the server" "hr1 4242" "$("$PL" read "$url" hr1 2>&1)"
"$PL" write "$url" hr1=3 >/dev/null 2>&1

echo "test_modbus_cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
