#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs every integration test executable of a build (one per tests/integration/test_*.c)
# under valgrind memcheck and fails on any invalid access, use of uninitialised memory or
# leak. Tests run two at a time, each under a timeout, with PL_VALGRIND=1 in the
# environment so that a test may shorten its loops. Logs go to BUILD_DIR/valgrind/.
# It must not be given a sanitizer build (ASan and valgrind cannot share a process).
#
# Usage: scripts/valgrind.sh BUILD_DIR
#   VG_JOBS     tests at once (default 2)
#   VG_TIMEOUT  seconds per test (default 600)
#   VG_TESTS    space-separated test names to run instead of all (e.g. "test_ttcp")
#
# Leak policy: definite, indirect, possible and still-reachable blocks are all errors. The
# tests free everything and close every handle, so any block alive at exit is either ours
# (a bug) or a third-party library's, and those are suppressed one by one, each with its
# reason, in tests/valgrind.supp. See docs/reliability.md.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-}"
if [ -z "$build" ] || [ ! -d "$build" ]; then
    echo "usage: scripts/valgrind.sh BUILD_DIR" >&2
    exit 2
fi
build="$(cd "$build" && pwd)"
jobs="${VG_JOBS:-2}"
limit="${VG_TIMEOUT:-600}"
supp="$root/tests/valgrind.supp"

command -v valgrind >/dev/null || {
    echo "valgrind: not installed (scripts/deps.sh installs it)" >&2
    exit 2
}
if grep -q '^PL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "valgrind: $build is a sanitizer build; give it a plain one" >&2
    exit 2
fi

if [ -n "${VG_TESTS:-}" ]; then
    read -r -a tests <<<"$VG_TESTS"
else
    tests=()
    for src in "$root"/tests/integration/test_*.c; do
        tests+=("$(basename "$src" .c)")
    done
fi

logs="$build/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

vg=(valgrind --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=all --show-leak-kinds=all --track-fds=no
    --num-callers=40 --suppressions="$supp"
    # failalloc.c defines malloc in the test executable: let it forward to glibc's
    # __libc_malloc (which valgrind replaces) instead of being replaced itself
    --soname-synonyms=somalloc=nouserintercepts)

# run_one NAME: writes NAME.log and NAME.rc (exit code) and NAME.sec (seconds)
run_one() {
    local name="$1" start rc
    start=$(date +%s)
    if [ ! -x "$build/$name" ]; then
        echo "$build/$name: not built" >"$logs/$name.log"
        rc=127
    else
        (cd "$build" && PL_VALGRIND=1 timeout -k 10 "$limit" "${vg[@]}" "./$name") \
            >"$logs/$name.log" 2>&1 </dev/null
        rc=$?
    fi
    echo "$rc" >"$logs/$name.rc"
    echo $(($(date +%s) - start)) >"$logs/$name.sec"
}

t0=$(date +%s)
running=0
for name in "${tests[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
done
wait

passed=0
failed=0
for name in "${tests[@]}"; do
    rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 255)
    sec=$(cat "$logs/$name.sec" 2>/dev/null || echo "?")
    log="$logs/$name.log"
    # valgrind's own verdict, whatever the test's exit code
    errs=$(grep -E '^==[0-9]+== ERROR SUMMARY: ' "$log" | sed -E 's/.*SUMMARY: ([0-9]+) .*/\1/' |
        sort -n | tail -1)
    why=""
    case "$rc" in
    0) [ "${errs:-0}" != 0 ] && why="valgrind: $errs errors" ;;
    99) why="valgrind: ${errs:-?} errors" ;;
    77) why="skipped (every integration test must run under valgrind)" ;;
    124 | 137) why="timed out after ${limit}s" ;;
    127) why="not built" ;;
    *) why="test failed (exit $rc)" ;;
    esac
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        printf 'valgrind: PASS %-24s %4ss\n' "$name" "$sec"
    else
        failed=$((failed + 1))
        printf 'valgrind: FAIL %-24s %4ss  %s  (log: %s)\n' "$name" "$sec" "$why" "$log"
        if [ "$rc" = 99 ] || [ "${errs:-0}" != 0 ]; then
            # valgrind's reports, without the banner
            grep -E '^==[0-9]+==' "$log" |
                grep -vE '== (Memcheck|Copyright|Using Valgrind|Command|For lists|$)' |
                head -100 | sed 's/^/    /'
        else
            # the test's own output around its failure
            grep -vE '^==[0-9]+==' "$log" | tail -30 | sed 's/^/    /'
        fi
    fi
done
echo "valgrind: total $(($(date +%s) - t0))s for ${#tests[@]} tests, $jobs at a time"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
