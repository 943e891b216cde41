#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No protocol is named outside the protocol folders: apps/, src/engine/, src/north/ and
# src/net/ find protocols through the registry (src/proto/registry.h) and never name one.
# The names are the folders under src/proto/, matched case-insensitively anywhere in a file
# (code, strings and comments alike). $1 (plcline) is unused.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

names=()
for d in src/proto/*/; do
    names+=("$(basename "$d")")
done
if [ ${#names[@]} -lt 2 ]; then
    echo "FAIL: found ${#names[@]} protocol folders under src/proto/" >&2
    exit 1
fi
fail=0
for n in "${names[@]}"; do
    while IFS= read -r hit; do
        echo "FAIL: protocol '$n' named outside src/proto/: $hit" >&2
        fail=1
    done < <(grep -rniI --include='*.c' --include='*.h' -- "$n" apps src/engine src/north src/net)
done
[ $fail -eq 0 ] && echo "ok: no protocol named in apps/, src/engine/, src/north/, src/net/" \
    "(${names[*]})"
exit $fail
