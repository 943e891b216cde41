#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The codec rule check (scripts/check_codec.sh) rejects an object that allocates, calls
# libuv or reads the clock, and accepts one that only computes. $1 (plcline) is unused.
set -u
here=$(cd "$(dirname "$0")" && pwd)
check=$here/../../scripts/check_codec.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cc=${CC:-cc}

build() { # name, body
    printf '#include <stdlib.h>\n#include <time.h>\n#include <uv.h>\n%s\n' "$2" >"$tmp/$1.c"
    "$cc" -c -o "$tmp/$1.o" "$tmp/$1.c" || { echo "FAIL: cannot compile $1"; exit 1; }
}
expect() { # want (0 ok, 1 rejected), name, symbol
    out=$(bash "$check" "$tmp/$2.o" 2>&1)
    rc=$?
    if [ "$rc" -ne "$1" ]; then
        echo "FAIL: $2: exit $rc, expected $1: $out"
        fail=1
    elif [ "$1" -eq 1 ] && ! grep -q "uses $3" <<<"$out"; then
        echo "FAIL: $2: the message does not name $3: $out"
        fail=1
    fi
}

build pure 'int f(int a); int f(int a) { return a * 2; }'
build alloc 'void *f(size_t n); void *f(size_t n) { return malloc(n); }'
build uv 'unsigned long long f(uv_loop_t *l); unsigned long long f(uv_loop_t *l) { return uv_now(l); }'
build clk 'long f(void); long f(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec; }'
expect 0 pure ''
expect 1 alloc malloc
expect 1 uv uv_now
expect 1 clk clock_gettime
[ $fail -eq 0 ] && echo "ok: the codec rule check"
exit $fail
