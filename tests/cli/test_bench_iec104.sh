#!/usr/bin/env bash
# bench_iec104 --quick runs and prints its rows: the IEC 104 benchmark (docs/bench.md,
# docs/iec104.md) still starts its simulator children, feeds the engine and the raw reader
# and measures memory per information object. Only that it ran and printed every row is
# checked, never a figure: a timing assertion would fail at random on a busy machine.
# Usage: test_bench_iec104.sh PATH/TO/plcline   (bench_iec104 is built beside it)
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
BENCH=$(dirname "$PL")/bench_iec104
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$BENCH" ] || { echo "FAIL: no $BENCH" >&2; exit 1; }

timeout --kill-after=10 100 "$BENCH" --quick --rounds 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || { fail "exit status $rc"; cat "$tmp/err" >&2; }
rows=$(grep -c '^| ' "$tmp/out")
bad=$(grep '^| ' "$tmp/out" | awk -F'|' 'NF != 8' | wc -l)
[ "$rows" -eq 3 ] && ok || fail "$rows rows, expected 3"
[ "$bad" -eq 0 ] && ok || fail "$bad rows without six cells"
for what in "spontaneous M_ME_TF_1 events ingested, k=12 w=8" \
    "engine heap per information object" "engine RSS per information object"; do
    grep -qF "| iec104: $what |" "$tmp/out" && ok || fail "no row '$what'"
done
# the events row has a rate on both sides, the memory rows a size per IOA
grep -E '^\| iec104: spontaneous .* \| [0-9]+ events/s \| [0-9]+ events/s \|' "$tmp/out" >/dev/null &&
    ok || fail "events row without two rates"
[ "$(grep -cE '\| [0-9]+ B/IOA \(10000 IOAs\) \|' "$tmp/out")" -eq 2 ] && ok ||
    fail "memory rows without bytes per IOA"
grep -q '^# memory round 1: ' "$tmp/err" && ok || fail "no per-round memory note"

echo "test_bench_iec104: $passes passed, $fails failed"
[ $fails -eq 0 ]
