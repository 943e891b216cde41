#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints the line and branch coverage of plcline's own code (src/ and apps/, not tests/ or
# bench/) from a build configured with -DPL_COVERAGE=ON whose tests have run, and fails
# when either figure is below the committed one in docs/reliability.md (the line
# "Committed figure: lines NN.N %, branches NN.N %") by more than the tolerance.
# Usage: scripts/coverage.sh BUILD_DIR
#   COV_TOLERANCE  percentage points a figure may fall below the committed one (default 0.5:
#                  a few paths depend on timing, e.g. which side of a race a retry takes)
#   COV_HTML=DIR   also write an HTML report there
set -euo pipefail

build=${1:?usage: $0 BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
tolerance=${COV_TOLERANCE:-0.5}

command -v gcovr >/dev/null || {
    echo "coverage: gcovr is not installed (scripts/deps.sh installs it)" >&2
    exit 2
}
if ! grep -q '^PL_COVERAGE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "coverage: $build is not a coverage build (-DPL_COVERAGE=ON)" >&2
    exit 2
fi
if [ -z "$(find "$build" -name '*.gcda' -print -quit)" ]; then
    echo "coverage: no .gcda files in $build: run the tests first" >&2
    exit 2
fi

args=(--root "$root" --object-directory "$build" --filter "$root/src/" --filter "$root/apps/"
      --gcov-executable gcov)
[ -n "${COV_HTML:-}" ] && args+=(--html-details "$COV_HTML/index.html") && mkdir -p "$COV_HTML"
# the text report goes to a file of our own: gcovr replaces its output file, and as root
# that would turn /dev/null into a regular file for every later command on the machine
report=$(mktemp)
trap 'rm -f "$report"' EXIT
summary=$(cd "$root" && gcovr "${args[@]}" --print-summary --output "$report")
echo "$summary" | sed 's/^/coverage: /'
lines=$(echo "$summary" | sed -nE 's/^lines: ([0-9.]+)%.*/\1/p')
branches=$(echo "$summary" | sed -nE 's/^branches: ([0-9.]+)%.*/\1/p')
if [ -z "$lines" ] || [ -z "$branches" ]; then
    echo "coverage: could not read the figures from gcovr's summary" >&2
    exit 1
fi

committed=$(grep -E '^Committed figure: lines [0-9.]+ %, branches [0-9.]+ %' \
    "$root/docs/reliability.md" | head -1 || true)
want_lines=$(echo "$committed" | sed -nE 's/.*lines ([0-9.]+) %.*/\1/p')
want_branches=$(echo "$committed" | sed -nE 's/.*branches ([0-9.]+) %.*/\1/p')
if [ -z "$want_lines" ] || [ -z "$want_branches" ]; then
    echo "coverage: no 'Committed figure: lines NN.N %, branches NN.N %' in docs/reliability.md" >&2
    exit 1
fi
echo "coverage: committed lines $want_lines %, branches $want_branches % (tolerance $tolerance points)"
fail=0
below() { # measured committed -> true when measured < committed - tolerance
    awk -v m="$1" -v c="$2" -v t="$tolerance" 'BEGIN { exit !(m + t < c) }'
}
if below "$lines" "$want_lines"; then
    echo "coverage: FAIL: line coverage $lines % is below the committed $want_lines %" >&2
    fail=1
fi
if below "$branches" "$want_branches"; then
    echo "coverage: FAIL: branch coverage $branches % is below the committed $want_branches %" >&2
    fail=1
fi
if [ "$fail" -eq 0 ]; then
    echo "coverage: ok"
fi
exit "$fail"
