#!/usr/bin/env bash
# Every error code of include/plcline/error.h is documented in docs/errors.md (by name and
# number), so users can look up anything plcline prints.
# Usage: test_docs_errors.sh PATH/TO/plcline   (the binary is not used)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fails=0 passes=0
while read -r num name; do
    if grep -q "\`$name\`" "$root/docs/errors.md" && grep -qi "$num" "$root/docs/errors.md"; then
        passes=$((passes + 1))
    else
        echo "FAIL: $name ($num) is not in docs/errors.md" >&2
        fails=$((fails + 1))
    fi
done < <(grep -oE 'XX\([A-Z0-9_]+, 0x[0-9A-Fa-f]+, "[^"]+"' "$root/include/plcline/error.h" |
         sed -E 's/XX\([A-Z0-9_]+, (0x[0-9A-Fa-f]+), "([^"]+)"/\1 \2/')
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
