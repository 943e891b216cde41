#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library boundary: the shared library exports exactly the functions the public headers
# (include/plcline/*.h) declare with PL_EXTERN, and needs none of the daemon's libraries
# (libyaml, jansson, libmosquitto). $1 is the plcline binary; libplcline.so sits beside it.
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(dirname "$PL")/libplcline.so
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
[ -e "$lib" ] || { echo "FAIL: no $lib" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# declared: each PL_EXTERN declaration's function name
grep -hv '^ \*\|^/\*\|^#' "$root"/include/plcline/*.h | tr '\n' ' ' | grep -oE 'PL_EXTERN [^(;]*\(' |
    grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\($' | tr -d ' (' | sort -u >"$tmp/declared"
# exported: defined dynamic symbols, without what the toolchain adds
# (mangle_path: libgcov's, linked into a --coverage build of the library)
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' |
    grep -vE '^(_init|_fini|_edata|_end|__bss_start|__.*|mangle_path)$' | sort -u >"$tmp/exported"
[ -s "$tmp/declared" ] || fail "no PL_EXTERN declaration found"
# every function the headers declare carries PL_EXTERN (an unmarked one would be hidden):
# the headers without comments, one declaration a line, function pointers and typedefs aside
for h in "$root"/include/plcline/*.h; do gcc -fpreprocessed -dD -E -P "$h" 2>/dev/null; done |
    grep -v '^#' | tr '\n' ' ' | sed 's/[;{}]/&\n/g' | grep -vE 'typedef|\(\*' |
    grep -oE '\bpl_[a-z0-9_]+[[:space:]]*\(' | tr -d ' (' | sort -u >"$tmp/functions"
[ -s "$tmp/functions" ] || fail "no function declaration found in include/plcline/"
while read -r s; do fail "declared in include/plcline/ without PL_EXTERN: $s"; done \
    < <(comm -23 "$tmp/functions" "$tmp/declared")
while read -r s; do fail "exported but not declared in include/plcline/: $s"; done \
    < <(comm -13 "$tmp/declared" "$tmp/exported")
while read -r s; do fail "declared in include/plcline/ but not exported: $s"; done \
    < <(comm -23 "$tmp/declared" "$tmp/exported")
# the C API does not pull in the daemon's dependencies
if command -v readelf >/dev/null; then
    needed=$(readelf -d "$lib" | grep NEEDED)
    for dep in yaml jansson mosquitto; do
        grep -qi "$dep" <<<"$needed" && fail "libplcline.so needs lib$dep"
    done
fi
# a program using the C API builds and runs against the shared library and libuv alone
cat >"$tmp/api.c" <<'C'
#include <plcline/engine.h>
#include <plcline/error.h>
#include <plcline/ttcp.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    pl_ttcp_client_config_t cfg;

    pl_ttcp_client_config_init(&cfg);
    if (strcmp(pl_err_name(PL_ECONNECT), "PL_ECONNECT") != 0 || cfg.keepalive_ms == 0)
        return 1;
    printf("%s\n", pl_quality_name(PL_Q_GOOD));
    return 0;
}
C
cc=${CC:-cc}
if [ "$(nm -D "$lib" | grep -c ' U __asan\| U __ubsan')" -gt 0 ]; then
    echo "the library is built with sanitizers: the C API program is not built"
elif "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -I"$root/include" -o "$tmp/api" "$tmp/api.c" -L"$(dirname "$lib")" -lplcline \
    $(pkg-config --cflags --libs libuv) 2>"$tmp/cc.err"; then
    out=$(LD_LIBRARY_PATH=$(dirname "$lib") "$tmp/api" 2>&1)
    [ "$out" = "good" ] || fail "the C API program printed [$out]"
    for dep in yaml jansson mosquitto; do
        LD_LIBRARY_PATH=$(dirname "$lib") ldd "$tmp/api" | grep -qi "$dep" &&
            fail "a C API program loads lib$dep"
    done
else
    fail "a C API program does not build with -lplcline and libuv only: $(head -5 "$tmp/cc.err")"
fi
echo "exports: $(wc -l <"$tmp/exported") exported, $(wc -l <"$tmp/declared") declared, $fails failed"
[ "$fails" -eq 0 ]
