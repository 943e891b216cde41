#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No protocol is named outside the protocol folders: apps/, src/engine/, src/north/ and
# src/net/ find protocols through the registry (src/proto/registry.h) and never name one.
# The names are the folders under src/proto/, matched case-insensitively anywhere in a file
# (code, strings and comments alike). Also checks that includes point downward only.
# $1 (plcline) is unused.
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

# Layers depend downward only: codec < core < net < proto < engine < north < apps. A file
# may include headers of its own layer and of the layers below it (public headers under
# include/plcline/ and headers beside the file are not judged here).
rank() { # the layer of a path under src/ or apps/, as a number; 0: not judged
    case "$1" in
    src/codec/* | src/proto/*/codec/* | codec/* | proto/*/codec/*) echo 1 ;;
    src/core/* | core/*) echo 2 ;;
    src/net/* | net/*) echo 3 ;;
    src/proto/* | proto/*) echo 4 ;;
    src/engine/* | engine/*) echo 5 ;;
    src/north/* | north/*) echo 6 ;;
    apps/*) echo 7 ;;
    *) echo 0 ;;
    esac
}
up=0
while IFS= read -r f; do
    fr=$(rank "$f")
    while IFS= read -r inc; do
        ir=$(rank "$inc")
        if [ "$ir" -gt "$fr" ]; then
            echo "FAIL: $f (layer $fr) includes $inc (layer $ir): layers depend downward only" >&2
            up=1
        fi
    done < <(sed -n 's/^#include "\([a-z0-9_]*\/[^"]*\)".*/\1/p' "$f")
done < <(find src apps -name '*.[ch]' | sort)
[ $up -eq 0 ] && echo "ok: no file includes a header of a layer above its own"
[ $up -eq 0 ] || fail=1
exit $fail
