#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench.sh BUILD_DIR [--quick]: runs every BUILD_DIR/bench_* program and writes
# bench/results.md (or $BENCH_OUT): a header saying when and on what machine, then one
# markdown table with the rows all the programs printed. `make bench` calls it.
#
# The contract with a bench program (docs/bench.md): it takes --quick (a short run), prints
# each result as one table row on stdout, "| benchmark | figure | baseline | ratio | target
# | met |", and nothing else matters: other stdout lines go to stderr, stderr passes
# through, and stderr lines starting with "# " are also copied into the notes of the
# results file. A program that exits non-zero or prints no row makes this script fail;
# a missed target does not (it is a result, reported as "no" in the "met" column).
# This script never edits sources and runs nothing but the bench programs.
set -euo pipefail

usage() {
    echo "usage: $0 BUILD_DIR [--quick]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
build=$1
shift
args=()
for a in "$@"; do
    case $a in
    --quick) args+=(--quick) ;;
    *) usage ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/bench/results.md}
per_program_timeout=${BENCH_TIMEOUT:-900} # seconds; each program bounds itself well below

shopt -s nullglob
progs=()
for f in "$build"/bench_*; do
    [ -f "$f" ] && [ -x "$f" ] && progs+=("$f")
done
shopt -u nullglob
if [ ${#progs[@]} -eq 0 ]; then
    echo "bench.sh: no bench_* program in $build (build it first: make build)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows
notes=$tmp/notes
: >"$rows"
: >"$notes"
failed=0

for prog in "${progs[@]}"; do
    name=$(basename "$prog")
    echo "== $name ${args[*]:-}" >&2
    set +e
    { timeout --kill-after=10 "$per_program_timeout" "$prog" "${args[@]}" 2>&1 1>&3 3>&- |
        tee "$tmp/$name.err" >&2; } 3>"$tmp/$name.out"
    rc=${PIPESTATUS[0]}
    set -e
    n=0
    while IFS= read -r line; do
        case $line in
        "| "*)
            # exactly six cells: "| a | b | c | d | e | f |" has seven '|'
            bars=${line//[^|]/}
            if [ ${#bars} -eq 7 ]; then
                printf '%s\n' "$line" >>"$rows"
                n=$((n + 1))
            else
                echo "bench.sh: $name: row without 6 cells ignored: $line" >&2
            fi
            ;;
        *) printf '%s\n' "$line" >&2 ;;
        esac
    done <"$tmp/$name.out"
    grep '^# ' "$tmp/$name.err" | sed "s/^# /$name: /" >>"$notes" || true
    if [ "$rc" -ne 0 ]; then
        echo "bench.sh: $name exited with status $rc" >&2
        failed=1
    elif [ "$n" -eq 0 ]; then
        echo "bench.sh: $name printed no table row" >&2
        failed=1
    fi
done

cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*//')
# The commit of the sources the programs were built from (the build may come from another
# checkout than this script's).
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
src=${src:-$root}
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] &&
    [ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (scripts/bench.sh); how to read it: docs/bench.md."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
    echo "- commit: $commit"
    echo "- mode: ${args[*]:-full}"
    echo
    echo "| benchmark | figure | baseline | ratio | target | met |"
    echo "| --- | --- | --- | --- | --- | --- |"
    cat "$rows"
    if [ -s "$notes" ]; then
        echo
        echo "Per-round numbers (the table shows medians):"
        echo
        echo '```'
        cat "$notes"
        echo '```'
    fi
} >"$tmp/results.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/results.md" "$out.tmp.$$"
mv "$out.tmp.$$" "$out" # a reader never sees half a file
echo "bench.sh: wrote $out" >&2
exit "$failed"
