#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Serving values to other systems (docs/config.md, "Serving values to other systems"): the
# daemon's Modbus simulator serves tags of a 7TTCP device. mbpoll (an independent client)
# and `plcline read` read them; a client's write of a writable point reaches the device (read
# back from the 7TTCP simulator itself); a write of a point that is not writable is refused
# with exception 02; a tag gone bad is answered with the configured exception 0x0B; a write
# the device never takes is logged and the tag's state served again; SIGHUP
# with a new `expose:` list serves the new list; --check names the entry at fault, with
# FILE:LINE:COL. No sleeps: every wait reads output until a pattern or a deadline.
# Usage: test_expose.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"
command -v mbpoll >/dev/null || { echo "FAIL: mbpoll (Debian package mbpoll) is needed" >&2; exit 1; }

cli_workdir

# a 7TTCP node simulator of its own, so that its words can be read back directly
exec {sfd}< <(exec "$PL" serve 7ttcp://127.0.0.1:0 --nodes 1-1 2>>"$tmp/sim.log")
pids+=("$!")
read -r -t 10 _ saddr <&"$sfd" || { echo "FAIL: simulator did not start" >&2; exit 1; }
sport=${saddr##*:}
"$PL" write "7ttcp://127.0.0.1:$sport/1" W0=4242 W100=5 && ok || fail "preset"

cfg=$tmp/x.yaml
write_cfg() { # $1: extra expose entries
    cat > "$cfg" <<EOF
scan_classes:
  - {name: fast, period: 50ms}
simulators:
  - name: out
    protocol: modbus
    units: "1"
    bad_exception: 11
    expose:
      - {tag: n1.w0, address: hr0}
      - {tag: n1.setpoint, address: hr20, write: true}
      - {tag: dead.w0, address: hr50, write: true}
$1
lines:
  - {name: l7, protocol: 7ttcp, host: 127.0.0.1, port: $sport, timeout: 200ms}
devices:
  - {name: n1, line: l7, node: 1}
  - {name: dead, line: l7, node: 9}
tags:
  - {name: n1.w0, device: n1, address: W0, scan: fast}
  - {name: n1.setpoint, device: n1, address: W100, scan: fast, writable: true}
  - {name: dead.w0, device: dead, address: W0, scan: fast, writable: true}
EOF
}
write_cfg ""
"$PL" run --check "$cfg" >/dev/null && ok || fail "--check of a good file"

# the daemon's JSON lines and log lines on one stream, read by wait_out
coproc D { exec "$PL" run --json "$cfg" 2>&1; }
dpid=$D_PID
pids+=("$dpid")
exec {dfd}<&"${D[0]}" # the coproc's own descriptors go when it exits
all=$tmp/all.log
: > "$all"

# wait_out REGEX SECONDS: reads the daemon's lines until one matches (kept in $all)
wait_out() {
    local re=$1 deadline=$((SECONDS + $2)) line
    while [ $SECONDS -lt $deadline ] && IFS= read -r -t 2 line <&"$dfd"; do
        echo "$line" >> "$all"
        [[ $line =~ $re ]] && return 0
    done
    return 1
}
# the Modbus server's port, from the daemon's log
wait_out 'simulator out: Modbus TCP server' 10 || { echo "FAIL: no Modbus server" >&2; cat "$all" >&2; exit 1; }
mport=$(sed -n 's/.*simulator out: Modbus TCP server.* on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$all")
mb=modbus://127.0.0.1:$mport

wait_out '"tag":"n1.w0".*"value":4242' 10 && ok || fail "n1.w0 read from the device"
wait_out '"tag":"dead.w0".*"quality":"bad"' 10 && ok || fail "dead.w0 goes bad"

# reads: mbpoll (1-based register numbers) and plcline
got=$(mbpoll -1 -0 -a 1 -r 0 -c 1 -t 4 127.0.0.1 -p "$mport" 2>&1)
[[ $got =~ \[0\]:[[:space:]]+4242 ]] && ok || fail "mbpoll reads hr0: [$got]"
got=$("$PL" read "$mb" hr0 hr20 2>&1)
[[ $got == $'hr0 4242\nhr20 5' ]] && ok || fail "plcline reads hr0 hr20: [$got]"

# a write of the writable point reaches the device, once
mbpoll -1 -0 -a 1 -r 20 -t 4 127.0.0.1 -p "$mport" 77 >/dev/null 2>&1 && ok || fail "mbpoll writes hr20"
wait_out '"tag":"n1.setpoint".*"value":77' 10 && ok || fail "the write comes back from the device"
got=$("$PL" read "7ttcp://127.0.0.1:$sport/1" W100 2>&1)
[[ $got == "W100 77" ]] && ok || fail "the device's W100 after the write: [$got]"

# a point that is not writable: exception 02, and nothing changes
got=$("$PL" write "$mb" hr0=1 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $got =~ "exception 02" ]] && ok || fail "write of hr0 refused: rc $rc [$got]"
got=$("$PL" read "7ttcp://127.0.0.1:$sport/1" W0 2>&1)
[[ $got == "W0 4242" ]] && ok || fail "the device's W0 untouched: [$got]"

# the bad tag: exception 0x0B (bad_exception: 11)
got=$("$PL" read "$mb" hr50 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $got =~ "exception 0B" ]] && ok || fail "bad tag read: rc $rc [$got]"

# a client's write the device never takes: the client's answer has left, so the daemon says
# so in its log (rate-limited) and serves the tag's state again
"$PL" write "$mb" hr50=9 >/dev/null 2>&1 && ok || fail "hr50 write accepted by the server"
wait_out "simulator out: a client's write of tag dead.w0 failed" 10 && ok || fail "failed write logged"
got=$("$PL" read "$mb" hr50 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $got =~ "exception 0B" ]] && ok || fail "hr50 bad again: rc $rc [$got]"

# SIGHUP with a new list: hr60 becomes a (read-only) point, writes to it are refused
"$PL" write "$mb" hr60=3 >/dev/null 2>&1 && ok || fail "hr60 is a plain register before the reload"
write_cfg "      - {tag: n1.w0, address: hr60}"
kill -HUP "$dpid"
wait_out "configuration reloaded" 10 && ok || fail "reloaded"
# the reloaded engine starts with the states of the tags it kept: hr60 is served from the
# moment the reload is logged, before the device is read again (before, this raced the
# first read and could answer exception 0B or the register's old 3)
got=$("$PL" read "$mb" hr60 2>&1)
[[ $got == "hr60 4242" ]] && ok || fail "hr60 served after the reload: [$got]"
got=$("$PL" write "$mb" hr60=3 2>&1); rc=$?
[ $rc -eq 1 ] && [[ $got =~ "exception 02" ]] && ok || fail "hr60 refused after the reload: [$got]"

kill -TERM "$dpid"
while IFS= read -r -t 10 line <&"$dfd"; do echo "$line" >> "$all"; done
wait "$dpid"; rc=$?
[ $rc -eq 0 ] && ok || fail "daemon exit $rc"
grep -E "^plcline: (error|warning)|AddressSanitizer|LeakSanitizer" "$all" | grep -v "dead" \
    && fail "daemon log has errors" || ok

# --check names the entry at fault
check_err() { # name, expose entry, regex of the error
    write_cfg "      - $2"
    got=$("$PL" run --check "$cfg" 2>&1); rc=$?
    [ $rc -eq 2 ] && [[ $got =~ $3 ]] && ok || fail "$1: rc $rc [$got]"
}
check_err "unknown tag" "{tag: nope, address: hr70}" \
    "x\.yaml:[0-9]+:[0-9]+: simulator 'out' exposes tag 'nope', which is not defined"
check_err "bad address" "{tag: n1.w0, address: hx70}" \
    "x\.yaml:12:9: simulator 'out' exposes tag 'n1.w0': .*hx70"
check_err "overlap" "{tag: n1.w0, address: \"hr19:u32\"}" "overlaps"
check_err "read-only table" "{tag: n1.w0, address: ir1, write: true}" "ir are read-only"
check_err "unknown key" "{tag: n1.w0, address: hr70, wirte: true}" "unknown key 'wirte'"
cat > "$cfg" <<EOF
simulators:
  - name: s7
    protocol: 7ttcp
    expose:
      - {tag: t, address: W0}
lines:
  - {name: l, protocol: 7ttcp, simulator: s7}
devices:
  - {name: d, line: l, node: 0}
tags:
  - {name: t, device: d, address: W0, scan: f}
scan_classes:
  - {name: f, period: 1s}
EOF
got=$("$PL" run --check "$cfg" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $got =~ "x.yaml:5:9: simulator 's7' exposes tag 't': a 7TTCP simulator cannot serve tags, expected no 'expose'" ]] \
    && ok || fail "a protocol that cannot serve: rc $rc [$got]"

cli_finish
