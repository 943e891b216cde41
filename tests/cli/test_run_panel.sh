#!/usr/bin/env bash
# plcline run on a terminal (a pseudo-terminal from `script`): the live table shows the
# status page's URL, a device panel (state, host in use and side, errors) and a status line
# with the answer to the last stdin line: why a line was refused, then a write's result.
# Ctrl-C stops it. No sleeps: every wait reads the terminal's output until a pattern or a
# deadline.
# Usage: test_run_panel.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

command -v script >/dev/null || { echo "FAIL: 'script' (util-linux) is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
spid=""
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/cfg.yaml" <<EOF
scan_classes:
  - {name: fast, period: 100ms}
simulators:
  - {name: p, protocol: 7ttcp, nodes: 0-3}
  - {name: b, protocol: 7ttcp, nodes: 0-3}
lines:
  - {name: lr, protocol: 7ttcp, simulator: p, backup_simulator: b, redundancy: parallel}
devices:
  - {name: dev-r, line: lr, node: 1}
tags:
  - {name: a.w0, device: dev-r, address: W100, scan: fast, writable: true}
http: {listen: "127.0.0.1:0"}
EOF

mkfifo "$tmp/in"
script -qfec "$PL run $tmp/cfg.yaml" "$tmp/tty.txt" <"$tmp/in" >/dev/null 2>&1 &
spid=$!
exec 3>"$tmp/in"

# last_frame: the last full screen the table drew
last_frame() { python3 -c '
import sys
s = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
print(s.split("\x1b[H\x1b[2J")[-1])' "$tmp/tty.txt" 2>/dev/null; }

# wait_screen REGEX WHAT: the last frame matches within 15 s
wait_screen() {
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        last_frame | grep -Eq -- "$1" && return 0
        read -r -t 0.1 <> <(:) || true # a tenth of a second between two looks
    done
    fail "$2"
    last_frame | head -20 >&2
    return 1
}

wait_screen 'status page: http://127\.0\.0\.1:[0-9]+/' "the URL of the status page"
wait_screen '^DEVICE +STATE +CONNECTED TO +ERRORS +LAST ERROR' "the device panel header"
wait_screen '^dev-r +up +127\.0\.0\.1:[0-9]+ primary +0' "the device's state, host and side"
echo 'this is not json' >&3
wait_screen '^! [0-9:]+  input refused: .*PL_EVALUE' "a line that is not a command is refused"
echo '{"write":"a.w0","value":77,"id":"k1"}' >&3
wait_screen '^  [0-9:]+  write a\.w0 \(id k1\): ok' "the write's result on the status line"
wait_screen '^a\.w0 +77 ' "the written value in the table"
echo '{"write":"nope","value":1}' >&3
wait_screen '^! [0-9:]+  write nope failed: .*PL_ENOTAG' "a refused write names its error"
printf '\003' >&3 # Ctrl-C on the terminal
exec 3>&-
deadline=$((SECONDS + 15))
while [ $SECONDS -lt $deadline ] && kill -0 "$spid" 2>/dev/null; do
    read -r -t 0.1 <> <(:) || true
done
if kill -0 "$spid" 2>/dev/null; then
    fail "Ctrl-C did not stop it"
else
    wait "$spid"
    rc=$?
    spid=""
    [ $rc -eq 0 ] || fail "exit code $rc after Ctrl-C"
fi

[ $fails -eq 0 ] && echo "test_run_panel: ok" || echo "test_run_panel: $fails failure(s)"
[ $fails -eq 0 ]
