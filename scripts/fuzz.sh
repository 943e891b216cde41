#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every built libFuzzer target BUILD_DIR/fuzz_<name> for SECONDS, seeded from
# tests/fuzz/corpus/<name>. New inputs go to a temporary directory (the repo is never
# written); crash inputs and logs go to BUILD_DIR/fuzz-out/. Exits 1 if any target fails.
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
    if ! "$exe" -max_total_time="$seconds" -artifact_prefix="$out/$name-" "${dirs[@]}" \
        >"$out/$name.log" 2>&1; then
        echo "fuzz: $name FAILED (log: $out/$name.log)" >&2
        tail -n 30 "$out/$name.log" >&2
        failed+=("$name")
    fi
done

if [ "$ran" -eq 0 ]; then
    echo "fuzz: no fuzz_* executables in $build (configure with -DPL_FUZZ=ON)" >&2
    exit 1
fi
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: crashed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: $ran target(s) ran clean" >&2
