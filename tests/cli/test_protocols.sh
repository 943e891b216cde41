#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Protocols are found through the registry (src/proto/registry.h): every subcommand takes the
# URL's scheme in any case, an unknown one is a usage error (exit 2) listing the known
# protocols, and a configuration naming one says FILE:LINE:COL. Protocol keys of another
# protocol are refused where they are written.
# Usage: test_protocols.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir
known="unknown protocol 's7', expected one of: 7ttcp, pccc, modbus, iec104"

# --- an unknown scheme: exit 2, the known protocols listed, for every subcommand ---
out=$("$PL" read s7://127.0.0.1:102/1 DB1.DBW0 2>&1)
expect_eq "read exit" 2 $?
expect_eq "read message" "plcline: s7://127.0.0.1:102/1: malformed device URL (0x000b PL_EURL): $known" "$out"
out=$("$PL" write s7://127.0.0.1:102/1 DB1.DBW0=1 2>&1)
expect_eq "write exit" 2 $?
expect_match "write message" "$known" "$out"
out=$("$PL" bench s7://127.0.0.1:102/1 DB1.DBW0 2>&1)
expect_eq "bench exit" 2 $?
expect_match "bench message" "$known" "$out"
out=$("$PL" serve s7://127.0.0.1:0 2>&1)
expect_eq "serve exit" 2 $?
expect_match "serve message" "$known" "$out"
out=$("$PL" read 127.0.0.1 W0 2>&1)
expect_eq "no scheme exit" 2 $?
expect_match "no scheme message" "missing '://'.*7ttcp, pccc, modbus, iec104" "$out"

# --- the scheme in any case: serve PCCC:// and read from it with Pccc:// ---
exec 3< <(exec "$PL" serve -q PCCC://127.0.0.1:0 2>"$tmp/serve.err")
pids+=($!)
if read -r -t 10 word addr <&3; then
    expect_eq "announcement" "listening" "$word"
    out=$("$PL" write "Pccc://$addr" N7:3=42 2>&1)
    expect_eq "write upper-case scheme" "0 " "$? $out"
    out=$("$PL" read "pCCC://$addr" N7:3 2>&1)
    expect_eq "read upper-case scheme" "N7:3 42" "$out"
else
    fail "serve PCCC:// did not announce itself: $(cat "$tmp/serve.err")"
fi

# --- configuration: unknown protocol and another protocol's keys, with FILE:LINE:COL ---
check() { # name yaml expected-message
    printf '%s' "$2" >"$tmp/c.yaml"
    out=$("$PL" run --check "$tmp/c.yaml" 2>&1)
    expect_eq "$1 exit" 2 $?
    expect_eq "$1 message" "plcline: $tmp/c.yaml:$3" "$out"
}
check "config unknown" $'lines: [{name: a, protocol: s7, host: h}]\n' \
    "1:29: 'protocol' is 's7', expected 7ttcp or pccc or modbus or iec104"
check "config line key" $'lines: [{name: a, protocol: PCCC, host: h, keepalive: 1s}]\n' \
    "1:44: 'keepalive' applies to 7ttcp lines only, expected no 'keepalive' here"
check "config device key" $'lines: [{name: a, protocol: pccc, host: h}]\ndevices: [{name: d, line: a, node: 3}]\n' \
    "2:30: 'node' applies to devices on 7ttcp lines, expected no 'node' on a device of pccc line 'a'"
check "config sim key" $'simulators: [{name: s, protocol: 7ttcp, options: plc=plc5}]\n' \
    "1:41: 'options' applies to pccc simulators only, expected no 'options' here"
check "config tag key" $'lines: [{name: a, protocol: pccc, host: h}]\ndevices: [{name: d, line: a}]\nscan_classes: [{name: s, period: 1s}]\ntags: [{name: t, device: d, address: N7:0, scan: s, swap: true}]\n' \
    "4:8: configuration error (0x000f PL_ECONFIG): tag 't': 'swap' does not apply to pccc"
printf 'lines: [{name: a, protocol: 7TTCP, host: h}]\n' >"$tmp/c.yaml"
"$PL" run --check "$tmp/c.yaml" >/dev/null 2>&1
expect_eq "config protocol in upper case" 0 $?

echo "test_protocols: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
