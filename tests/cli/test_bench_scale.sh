#!/usr/bin/env bash
# bench_scale --quick runs and prints its rows: the scale benchmark (docs/bench.md) still
# builds its plant (simulator processes, generated configuration, the daemon, a broker when
# mosquitto is installed) and measures. Only that it ran is checked, never a figure: a
# timing assertion would fail at random on a busy machine.
# Usage: test_bench_scale.sh PATH/TO/plcline   (bench_scale is built beside it)
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
BENCH=$(dirname "$PL")/bench_scale
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$BENCH" ] || { echo "FAIL: no $BENCH" >&2; exit 1; }

timeout --kill-after=10 100 "$BENCH" --quick --plcline "$PL" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || { fail "exit status $rc"; cat "$tmp/err" >&2; }
# every row has six cells (the contract of scripts/bench.sh)
rows=$(grep -c '^| ' "$tmp/out")
bad=$(grep '^| ' "$tmp/out" | awk -F'|' 'NF != 8' | wc -l)
[ "$rows" -ge 9 ] && ok || fail "$rows rows, expected at least 9"
[ "$bad" -eq 0 ] && ok || fail "$bad rows without six cells"
for what in "daemon CPU" "daemon RSS" "start to all values" "--check time" "--check peak RSS" \
    "SIGHUP unchanged: CPU" "SIGHUP unchanged: connections made anew"; do
    grep -qF "scale plant (6000 tags, 20 devices): $what |" "$tmp/out" && ok || fail "no row '$what'"
done
grep -qF "scale wide (1000 tags, 100 devices): daemon CPU |" "$tmp/out" && ok || fail "no wide row"
if [ -x /usr/sbin/mosquitto ]; then
    grep -qF "scale mqtt (6000 tags, 20 devices): daemon CPU |" "$tmp/out" && ok || fail "no mqtt row"
fi
grep -q '^# plant round 1: ' "$tmp/err" && ok || fail "no per-round note"

echo "test_bench_scale: $passes passed, $fails failed"
[ $fails -eq 0 ]
