#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sourced by the tests that drive the simulator with nodepccc. ensure_nodepccc makes sure
# tests/interop/node_modules holds nodepccc 0.1.17 as package-lock.json pins it: when it
# is missing it runs `npm ci` (npm cache in tests/interop/.npm-cache; both git-ignored),
# under a lock so that tests run in parallel (ctest -j) do not install at the same time.
# Returns 0, or 1 after printing why (no node/npm, registry not reachable): the calling
# test must fail, never skip.
interop_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

nodepccc_version() {
    node -p "require('$interop_dir/node_modules/nodepccc/package.json').version" 2>/dev/null
}

ensure_nodepccc() {
    local tool log
    for tool in node npm flock; do
        if ! command -v "$tool" >/dev/null; then
            echo "FAIL: '$tool' is not installed (scripts/deps.sh installs nodejs and npm)" >&2
            return 1
        fi
    done
    log=$(mktemp)
    (
        flock 9
        [ "$(nodepccc_version)" = "0.1.17" ] && exit 0
        cd "$interop_dir" && npm_config_cache="$interop_dir/.npm-cache" \
            npm ci --no-audit --no-fund --fetch-retries=1 --fetch-timeout=30000 >"$log" 2>&1
    ) 9>"$interop_dir/.install.lock"
    local rc=$?
    if [ $rc -ne 0 ] || [ "$(nodepccc_version)" != "0.1.17" ]; then
        cat "$log" >&2
        echo "FAIL: npm ci could not install nodepccc 0.1.17 into $interop_dir/node_modules" \
             "(is the npm registry reachable?)" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    return 0
}
