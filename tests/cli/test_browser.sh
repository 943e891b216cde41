#!/usr/bin/env bash
# The status page in headless Chromium against the demo configuration (examples/demo.yaml
# with its http section moved to port 0, writes on with a token, and one string tag):
# tests/cli/browser_check.py. Skipped, with the reason, only when Chromium is not installed
# (exit 77, which CTest reports as skipped); CI installs it (scripts/deps.sh).
# Usage: test_browser.sh PATH/TO/plcline [SCREENSHOT.png]
set -uo pipefail
PL=${1:?usage: $0 plcline-binary [screenshot.png]}
shot=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v chromium >/dev/null; then
    echo "SKIP: chromium is not installed (scripts/deps.sh installs chromium and chromium-driver)"
    exit 77
fi
if ! command -v chromedriver >/dev/null; then
    echo "FAIL: chromium is installed but chromedriver is not (package chromium-driver)" >&2
    exit 1
fi

tmp=$(mktemp -d)
dpid=""
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

printf 'page-%s\n' "$RANDOM$RANDOM" > "$tmp/token"
token=$(head -1 "$tmp/token")
cp "$root/examples/tags.csv" "$tmp/"
# the demo, with its HTTP server on a free port, writes on, and a string tag
sed -e 's|^http: .*|http: {listen: "127.0.0.1:0", writes: true, token_file: token}|' \
    -e 's|^tags:$|tags:\n  - {name: slc1.text, device: slc1, address: "ST9:0", scan: slow, writable: true}|' \
    "$root/examples/demo.yaml" > "$tmp/demo.yaml"
grep -q 'listen: "127.0.0.1:0"' "$tmp/demo.yaml" || { echo "FAIL: demo has no http line" >&2; exit 1; }

case "$PL" in /*) ;; *) PL="$PWD/$PL" ;; esac
case "$shot" in "" | /*) ;; *) shot="$PWD/$shot" ;; esac
cd "$tmp" || exit 1 # the page shows the configuration's path: "demo.yaml"
: >"$tmp/daemon.log"
"$PL" run --json demo.yaml >/dev/null 2>"$tmp/daemon.log" </dev/null &
dpid=$!
url=""
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ] && kill -0 "$dpid" 2>/dev/null && [ -z "$url" ]; do
    url=$(grep -o 'http://[^ ]*/' "$tmp/daemon.log" | head -1)
    [ -z "$url" ] && { read -r -t 0.1 <> <(:) || true; }
done
if [ -z "$url" ]; then
    echo "FAIL: the daemon printed no URL" >&2
    cat "$tmp/daemon.log" >&2
    exit 1
fi

python3 "$here/browser_check.py" "$url" "$token" $shot
rc=$?
kill -TERM "$dpid"
wait "$dpid"
drc=$?
dpid=""
[ $drc -eq 0 ] || { echo "FAIL: daemon exit code $drc" >&2; rc=1; }
exit $rc
