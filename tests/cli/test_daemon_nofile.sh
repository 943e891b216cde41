#!/usr/bin/env bash
# plcline run and the open-files limit: the daemon raises its soft limit to the hard limit
# at start, and says clearly when even the hard limit is too low for the configuration (a
# descriptor per device connection, plus simulators and a margin). The limits are lowered
# with `ulimit` in subshells; the devices point at a closed loopback port. No sleeps: the
# running daemon is read until its message or a deadline, then stopped by its pid.
# Usage: test_daemon_nofile.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
dpid=
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# 300 devices on one line (port 1 on loopback: nothing listens), one tag each
cfg=$tmp/big.yaml
{
    echo "scan_classes:"
    echo "  - {name: s, period: 1s}"
    echo "lines:"
    echo "  - {name: l, protocol: 7ttcp, host: 127.0.0.1, port: 1, backoff_min: 1s}"
    echo "devices:"
    for i in $(seq 0 299); do echo "  - {name: d$i, line: l, node: $i}"; done
    echo "tags:"
    for i in $(seq 0 299); do echo "  - {name: t$i, device: d$i, address: W0, scan: s}"; done
} >"$cfg"
msg="open files: the limit is 128 (hard limit 128) but this configuration needs about 364 (300 devices, 0 simulators)"

# hard limit too low: said clearly, and the check itself still passes
out=$( (ulimit -n 128 && "$PL" run --check "$cfg") 2>&1)
rc=$?
[ $rc -eq 0 ] && ok || fail "--check exit status $rc"
case $out in *"$msg"*) ok ;; *) fail "no open-files message: $out" ;; esac

# soft limit low, hard limit enough: raised, nothing said (without the raise, 128 < 364)
out=$( (ulimit -Sn 128 && ulimit -Hn 1024 && "$PL" run --check "$cfg") 2>&1)
rc=$?
[ $rc -eq 0 ] && ok || fail "--check (raised) exit status $rc"
case $out in *"open files"*) fail "message although the hard limit suffices: $out" ;; *) ok ;; esac

# the running daemon says it at start too, and still stops cleanly
exec {fd}< <(ulimit -n 128 && exec "$PL" run --json "$cfg" 2>&1 >/dev/null)
dpid=$!
seen=0 running=0
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && IFS= read -r -t 10 line <&"$fd"; do
    case $line in
    *"$msg"*) seen=1 ;;
    *"running $cfg"*) running=1; break ;; # its signal handlers are in place
    esac
done
[ $seen -eq 1 ] && ok || fail "daemon: no open-files message"
[ $running -eq 1 ] && ok || fail "daemon: did not say it runs"
kill -TERM "$dpid" 2>/dev/null
# its exit: the rest of its output, then end of file (bounded)
while IFS= read -r -t 10 line <&"$fd"; do :; done
wait "$dpid"
rc=$?
dpid=
[ $rc -eq 0 ] && ok || fail "daemon exit status $rc after SIGTERM"

echo "test_daemon_nofile: $passes passed, $fails failed"
[ $fails -eq 0 ]
