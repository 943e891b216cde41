#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every error code of include/plcline/error.h has its own row in docs/errors.md, number and
# name on the same row (`| 0x4003 | `_7TTCP_CONNECT_SOCKET_FAILED` | ...`), so users can
# look up anything plcline prints; and every row there names a code that exists. It fails
# when it parsed fewer codes than the table has entries (or none), so a change of the
# table's layout cannot make it pass by checking nothing.
# Usage: test_docs_errors.sh PATH/TO/plcline   (the binary is not used)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
header="$root/include/plcline/error.h"
doc="$root/docs/errors.md"
fails=0 passes=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# the table's entries: one "XX(" per code inside PL_ERRNO_MAP
entries=$(grep -cE '^[[:space:]]*XX\(' "$header")
codes=$(grep -oE '^[[:space:]]*XX\([A-Z0-9_]+, 0x[0-9A-Fa-f]+, "[^"]+"' "$header" |
    sed -E 's/^[[:space:]]*XX\([A-Z0-9_]+, 0x([0-9A-Fa-f]+), "([^"]+)"/\1 \2/')
parsed=$(printf '%s' "$codes" | grep -c .)
if [ "$parsed" -eq 0 ] || [ "$parsed" -ne "$entries" ]; then
    fail "parsed $parsed codes from $entries XX() entries of include/plcline/error.h"
fi
# the rows of docs/errors.md, as "HEX NAME" with the hex in upper case
rows=$(grep -E '^\|' "$doc" |
    sed -nE 's/^\|[[:space:]]*0x([0-9A-Fa-f]+)[[:space:]]*\|[[:space:]]*`([^`]+)`[[:space:]]*\|.*/\1 \2/p' |
    awk '{ print toupper($1), $2 }')
while read -r num name; do
    [ -n "$num" ] || continue
    if grep -qxF "${num^^} $name" <<<"$rows"; then
        passes=$((passes + 1))
    else
        fail "$name (0x$num) has no row of its own in docs/errors.md"
    fi
done <<<"$codes"
# and no row documents a code that does not exist (a typo in a number or name)
known=$(awk '{ print toupper($1), $2 }' <<<"$codes")
while read -r num name; do
    [ -n "$num" ] || continue
    if grep -qxF "$num $name" <<<"$known"; then
        passes=$((passes + 1))
    else
        fail "docs/errors.md row 0x$num $name is no code of include/plcline/error.h"
    fi
done <<<"$rows"
echo "$passes passed, $fails failed ($parsed codes)"
[ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]
