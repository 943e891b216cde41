#!/usr/bin/env bash
# The systemd unit (dist/plcline.service.in, installed by `make install`): it passes
# `systemd-analyze verify` with ExecStart pointing at the plcline under test, keeps the
# sandbox (own user, no new privileges, read-only system) and maps reload to SIGHUP, and
# `systemd-analyze security --offline` rates it 2.0 or better. Skipped (exit 77, shown by
# CTest as skipped) only where systemd-analyze is not installed.
# Usage: test_systemd_unit.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
here=$(cd "$(dirname "$0")" && pwd)
unit_in="$here/../../dist/plcline.service.in"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
    exit 77
fi
case "$PL" in /*) ;; *) PL="$PWD/$PL" ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unit="$tmp/plcline.service"
sed -e "s|@PL_BINDIR@/plcline|$PL|" -e "s|@PL_DOCDIR@|/usr/share/doc/plcline|g" "$unit_in" > "$unit"
grep -q '@PL_' "$unit" && fail "unsubstituted variables in the unit"

out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
for want in '^DynamicUser=yes$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' \
    '^StateDirectory=plcline$' '^ConfigurationDirectory=plcline$' \
    '^ExecReload=/bin/kill -HUP \$MAINPID$' '^StandardError=journal$' '^CapabilityBoundingSet=$'; do
    grep -Eq "$want" "$unit" || fail "the unit lacks $want"
done
score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
    fail "no exposure level from systemd-analyze security"
elif ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    fail "exposure level $score, expected 2.0 or better"
fi

[ $fails -eq 0 ] && echo "test_systemd_unit: ok (exposure $score)" || echo "test_systemd_unit: $fails failure(s)"
[ $fails -eq 0 ]
