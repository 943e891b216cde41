#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interoperability of the PCCC simulator with nodepccc 0.1.17 (a third-party Node.js PCCC
# client, pinned in tests/interop/package-lock.json): `plcline serve pccc://` on a free
# loopback port, then tests/interop/nodepccc_rw.js writes and reads N, F and B files through
# nodepccc's normal path (0x4B in SendRRData) and reads them back on a second session routed
# through Unconnected Send 1,0. nodepccc is installed with `npm ci` into
# tests/interop/node_modules (git-ignored, npm cache in tests/interop/.npm-cache) when it is
# not there yet (tests/interop/ensure_nodepccc.sh); no registry, no node: the test FAILS
# saying so, it never skips.
# Usage: test_pccc_interop.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
interop="$here/../interop"
. "$(dirname "$0")/lib.sh"
summary() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; }

tmp=$(mktemp -d)
srv_pid=""
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# --- nodepccc, as pinned ---
# shellcheck source=../interop/ensure_nodepccc.sh
. "$interop/ensure_nodepccc.sh"
if ! ensure_nodepccc; then
    fails=$((fails + 1)); summary; exit 1
fi
ok

# --- the simulator on a free port; wait for its announcement (no sleep) ---
# nodepccc puts a sender context into RegisterSession and keeps up to 4 requests in
# flight: the simulator's strict defaults refuse both (docs/pccc-simulator.md), so relax them
exec 3< <(exec "$PL" serve -q --lax-register --max-inflight 0 'pccc://127.0.0.1:0?plc=slc500' \
    2>"$tmp/serve.err")
srv_pid=$!
if ! read -r -t 10 word addr <&3; then
    fail "serve did not announce itself: $(cat "$tmp/serve.err")"
    summary; exit 1
fi
[ "$word" = "listening" ] && ok || fail "announcement: [$word $addr]"
port=${addr##*:}

# --- nodepccc writes and reads ---
out=$(cd "$interop" && timeout 60 node nodepccc_rw.js "$port" 2>&1); rc=$?
echo "$out"
n_pass=$(grep -c '^PASS ' <<<"$out")
n_fail=$(grep -c '^FAIL ' <<<"$out")
passes=$((passes + n_pass))
fails=$((fails + n_fail))
[ "$rc" -eq 0 ] && ok || fail "nodepccc_rw.js exited $rc"
[ "$n_pass" -ge 20 ] && ok || fail "only $n_pass nodepccc checks passed"

# --- bad arguments exit 2 and name what is wrong ---
err=$("$PL" serve 'pccc://127.0.0.1:0?plc=plc9' 2>&1); rc=$?
[ "$rc" -eq 2 ] && [[ $err == *"plc=plc9"* ]] && ok || fail "unknown plc: $rc [$err]"
err=$("$PL" serve --files "N7:100 Q9:3" 'pccc://127.0.0.1:0' 2>&1); rc=$?
[ "$rc" -eq 2 ] && [[ $err == *"'Q9:3' at column 8"* ]] && ok || fail "bad --files: $rc [$err]"
"$PL" serve --files "N7:5" '7ttcp://127.0.0.1:0' >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "--files with 7ttcp"
"$PL" serve --help | grep -q 'pccc://HOST' && ok || fail "serve --help names pccc://"

# --- the simulator stays healthy and stops cleanly on SIGTERM ---
if grep -qi "error" "$tmp/serve.err"; then fail "simulator logged errors: $(cat "$tmp/serve.err")"; else ok; fi
kill -TERM "$srv_pid"
wait "$srv_pid"; rc=$?
srv_pid=""
[ "$rc" -eq 0 ] && ok || fail "serve exit after SIGTERM: $rc"

summary
