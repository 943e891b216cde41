#!/usr/bin/env bash
# make run: starts a 7TTCP node simulator with changing values on a free loopback port and
# shows values read from it once a second, until Ctrl-C (or DEMO_SECONDS seconds).
# Usage: scripts/demo.sh PATH/TO/plcline
set -euo pipefail
PL=${1:?usage: $0 plcline-binary}
seconds=${DEMO_SECONDS:-0}

exec 3< <(exec "$PL" serve -q --animate 200 --nodes 0-3 7ttcp://127.0.0.1:0)
srv=$!
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; exit 0' INT TERM EXIT
read -r -t 10 _ addr <&3 || { echo "demo: the simulator did not start" >&2; exit 1; }
url="7ttcp://$addr/1"
echo "demo: 7TTCP node simulator listening on $addr (nodes 0-3, words 0..9 change)"
echo "demo: reading $url every second; Ctrl-C stops"
echo "demo: try in another terminal:  $PL write $url W100=42  then  $PL read $url W100"
i=0
while :; do
    line=$("$PL" read "$url" W0 W1 F2 W4 W5,5 | tr '\n' '|' | sed 's/|$//; s/|/  |  /g')
    printf '%s  %s\n' "$(date +%H:%M:%S)" "$line"
    i=$((i + 1))
    if [ "$seconds" -gt 0 ] && [ "$i" -ge "$seconds" ]; then break; fi
    sleep 1
done
