#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The codec layer's rule, checked on its object files: wire formats only, so no libuv, no
# allocation and no clock. Fails (exit 1) naming each object and the symbol it must not use.
# usage: check_codec.sh [--nm NM] OBJECT...
set -u
nm_tool=nm
if [ "${1:-}" = "--nm" ]; then
    nm_tool=$2
    shift 2
fi
forbidden='^(uv_.*|malloc|calloc|realloc|reallocarray|free|strdup|strndup|aligned_alloc|posix_memalign|clock|clock_gettime|gettimeofday|time|timespec_get)$'
bad=0
for obj in "$@"; do
    while read -r sym; do
        sym=${sym%%@*}
        if [[ $sym =~ $forbidden ]]; then
            echo "codec rule: $(basename "$obj") uses $sym (no libuv, malloc or clock in a codec)" >&2
            bad=1
        fi
    done < <("$nm_tool" -u "$obj" | awk '{print $NF}')
done
exit $bad
