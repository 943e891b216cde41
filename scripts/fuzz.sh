#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every built libFuzzer target BUILD_DIR/fuzz_<name> for SECONDS, seeded from
# tests/fuzz/corpus/<name>. New inputs go to a temporary directory (the repo is never
# written); crash inputs and logs go to BUILD_DIR/fuzz-out/. Exits 1 if any target fails:
# a non-zero exit, or any sanitizer report in its log even if it exited 0 (the fuzz build
# has -fno-sanitize-recover=all, so a report should also abort the run).
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
out="$build/fuzz-out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# what a sanitizer prints when it finds something (ASan, LSan, UBSan, libFuzzer itself)
reports='runtime error:|ERROR: (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|SUMMARY: [A-Za-z]+Sanitizer|ERROR: libFuzzer'

ran=0
failed=()
for exe in "$build"/fuzz_*; do
    [[ -f $exe && -x $exe ]] || continue
    name=$(basename "$exe")
    name=${name#fuzz_}
    seeds="$root/tests/fuzz/corpus/$name"
    mkdir -p "$tmp/$name"
    dirs=("$tmp/$name") # first directory receives new inputs
    [ -d "$seeds" ] && dirs+=("$seeds")
    echo "fuzz: $name for ${seconds}s" >&2
    ran=$((ran + 1))
    rm -f "$out/$name"-* # inputs of an earlier run are not this run's findings
    rc=0
    "$exe" -max_total_time="$seconds" -artifact_prefix="$out/$name-" "${dirs[@]}" \
        >"$out/$name.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -qE "$reports" "$out/$name.log"; then
        echo "fuzz: $name FAILED (exit $rc, log: $out/$name.log)" >&2
        tail -n 30 "$out/$name.log" >&2
        failed+=("$name:$rc")
    fi
done

if [ "$ran" -eq 0 ]; then
    echo "fuzz: no fuzz_* executables in $build (configure with -DPL_FUZZ=ON)" >&2
    exit 1
fi
# A CI log often keeps only its last lines: what failed, the report and the input that did
# it (base64, when small enough to copy back: `base64 -d > crash` then `fuzz_NAME crash`)
# come last, after every target has run.
if [ ${#failed[@]} -ne 0 ]; then
    for f in "${failed[@]}"; do
        name=${f%%:*}
        echo "fuzz: $name exit ${f##*:}; first reports:" >&2
        grep -m 3 -E "$reports|^==[0-9]+== ?ERROR|deadly signal|fatal error" "$out/$name.log" >&2 ||
            tail -n 3 "$out/$name.log" >&2
        for a in "$out/$name"-*; do
            [ -f "$a" ] || continue
            if [ "$(stat -c %s "$a")" -le 512 ]; then
                echo "fuzz: $name input $(basename "$a") base64: $(base64 -w0 "$a")" >&2
            else
                echo "fuzz: $name input $a ($(stat -c %s "$a") bytes)" >&2
            fi
        done
    done
    echo "fuzz: crashed: ${failed[*]%%:*}" >&2
    exit 1
fi
echo "fuzz: $ran target(s) ran clean" >&2
