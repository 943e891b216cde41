#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The plcline command's contract for PCCC (as tests/cli/test_ttcp_cli.sh for 7TTCP): serve
# prints "listening HOST:PORT"; read prints "<ADDR> <values>" (strings quoted); write prints
# nothing; failures print one line naming URL, address, error name and code (and the PLC's
# STS/EXT STS); bad arguments exit 2. Runs against the PLC simulator (plcline serve pccc://).
# Usage: test_pccc_cli.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
. "$(dirname "$0")/lib.sh"

cli_workdir

# start_sim FD URL [options]: starts a simulator reading its announcement on FD; sets $port
start_sim() {
    local fd=$1 url=$2 word addr
    shift 2
    eval "exec $fd< <(exec \"\$PL\" serve -q \"\$@\" \"\$url\" 2>>\"\$tmp/serve.err\")"
    pids+=($!)
    last_pid=$!
    if ! read -r -t 10 word addr <&"$fd"; then
        echo "FAIL: serve $url did not announce itself" >&2; cat "$tmp/serve.err" >&2; exit 1
    fi
    expect_eq "announcement" "listening" "$word"
    expect_match "address" '^127\.0\.0\.1:[0-9]+$' "$addr"
    port=${addr##*:}
}

start_sim 3 pccc://127.0.0.1:0
srv_pid=$last_pid
url="pccc://127.0.0.1:$port"

# --- write then read back every data type ---
out=$("$PL" write "$url" N7:10=1,2,-3 F8:1=1.5 L10:0=-100000 B3:0/5=1 T4:0.PRE=100 \
      'ST9:0=hello, "world"' 2>&1)
expect_eq "write exit" 0 $?
expect_eq "write prints nothing" "" "$out"
out=$("$PL" read "$url" N7:10,3 F8:1 L10:0 B3:0/5 B3:0/4 B3:0 T4:0.PRE T4:0 ST9:0 2>&1)
expect_eq "read exit" 0 $?
expect_eq "read output" 'N7:10,3 1 2 -3
F8:1 1.5
L10:0 -100000
B3:0/5 1
B3:0/4 0
B3:0 32
T4:0.PRE 100
T4:0 EN=0 TT=0 DN=0 PRE=100 ACC=0
ST9:0 "hello, \x22world\x22"' "$out"

# --- a bit write is a masked write: the other bits stay ---
"$PL" write "$url" B3:0/1=1 && ok || fail "bit write"
expect_eq "bit write result" "B3:0 34" "$("$PL" read "$url" B3:0)"
"$PL" write "$url" T4:0.DN=1 && ok || fail "member bit write"
expect_eq "member bit result" "T4:0 EN=0 TT=0 DN=1 PRE=100 ACC=0" "$("$PL" read "$url" T4:0)"
# a whole timer: named fields change, the others keep their value
"$PL" write "$url" T4:0=ACC=7 && ok || fail "structure write"
expect_eq "structure result" "T4:0 EN=0 TT=0 DN=1 PRE=100 ACC=7" "$("$PL" read "$url" T4:0)"
# a string written from its printed form reads back the same
"$PL" write "$url" 'ST9:1="a\x22b"' && ok || fail "quoted string write"
expect_eq "quoted string" 'ST9:1 "a\x22b"' "$("$PL" read "$url" ST9:1)"

# --- every service, routed, connected=auto: the same answer from the strict simulator ---
for q in "service=4b" "service=4c&dst=1&src=0" "service=4d" "path=1,0" "connected=auto" \
         "connected=auto&path=1,0&service=4c" "inflight=4&vendor_seq=1"; do
    expect_eq "read with $q" "N7:10,3 1 2 -3" "$("$PL" read "$url?$q" N7:10,3 2>&1)"
done

# --- connected messaging and pipelining against a simulator that allows them ---
start_sim 9 pccc://127.0.0.1:0 --connected --max-inflight 0
open_url="pccc://127.0.0.1:$port"
"$PL" write "$open_url" N7:10=4,5,6 && ok || fail "write to the open simulator"
for q in "connected=1" "connected=1&path=1,0&service=4c" "connected=auto&inflight=4" \
         "inflight=8&max_bytes=2"; do
    expect_eq "open: read with $q" "N7:10,3 4 5 6" "$("$PL" read "$open_url?$q" N7:10,3 2>&1)"
done

# --- the strict simulator (the default) holds the client to what strict targets do ---
# connected=1: Forward Open refused, named, with what to do
out=$("$PL" read "$url?connected=1" N7:0 2>&1); rc=$?
expect_eq "Forward Open refused exit" 1 $rc
expect_eq "Forward Open refused message" "plcline: $url?connected=1: N7:0: Forward Open refused by the target (0x020d PL_EFWD_OPEN_REFUSED): service not supported (CIP status 0x08); use connected=0 or auto" "$out"
# RegisterSession with a sender context (as plcline sent it before): encapsulation status 1
# and no data;
# the same request with the context zero: a session
reg_reply() { # HEX of the 28-byte request -> the 12 header bytes of the reply up to status
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf "$1" >&$fd
    head -c 24 <&$fd | od -An -tx1 -N12 | tr -d ' \n'
    exec {fd}<&-
}
ctx='\x65\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00'
zero='\x65\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00'
expect_eq "RegisterSession with a context refused" "650000000000000001000000" "$(reg_reply "$ctx")"
expect_match "RegisterSession with zeros served" '^65000400[0-9a-f]{8}00000000$' "$(reg_reply "$zero")"
# one request at a time: inflight=4 falls back (bench shows it), nothing fails; answers
# held 5 ms so that every second request in flight is caught
start_sim 10 pccc://127.0.0.1:0 --delay 5
one_url="pccc://127.0.0.1:$port"
out=$("$PL" read "$one_url?inflight=4&max_bytes=20" N7:0,100 2>&1); rc=$?
expect_eq "inflight=4 read against one at a time exit" 0 $rc
expect_eq "inflight=4 read against one at a time values" 101 "$(echo "$out" | wc -w)"
json=$("$PL" bench "$one_url?inflight=4" N7:0 --duration=0.5 --warmup=0.2 --json 2>"$tmp/bench.err")
expect_eq "bench exit" 0 $?
expect_eq "bench against one at a time" "1 0 True" "$(python3 -c '
import json, sys
o = json.loads(sys.argv[1])
print(o["inflight_fallbacks"], o["failed"], "in flight" in (o["fallback"] or ""))' "$json")"
"$PL" bench "$one_url?inflight=4" N7:0 --duration=0.3 --warmup=0.1 >"$tmp/bench.txt" 2>&1
expect_match "bench table names the fallback" "fallback +1 connection\(s\) kept at 1 in flight" \
    "$(cat "$tmp/bench.txt")"
# one requestor ID: another is answered with CIP status 0x08
start_sim 11 pccc://127.0.0.1:0 --requestor 0x1337:0x01020304
req_url="pccc://127.0.0.1:$port"
expect_eq "the requestor ID served" "N7:0 0" "$("$PL" read "$req_url?vendor=0x1337&serial=0x01020304" N7:0 2>&1)"
out=$("$PL" read "$req_url?vendor=0x1337&serial=5" N7:0 2>&1); rc=$?
expect_eq "another requestor ID exit" 1 $rc
expect_match "another requestor ID message" "PL_ECIP_STATUS.*CIP status 0x08 \(service not supported\)" "$out"

# --- a large read is split transparently: every value where it belongs ---
# written in one request, read back in pieces of at most 20 bytes (10 elements)
vals="" want="N7:0,100"
for ((i = 0; i < 100; i++)); do
    v=$((i * 331 - 16000))
    vals+="${vals:+,}$v"
    want+=" $v"
done
"$PL" write "$url" "N7:0=$vals" && ok || fail "write 100 elements"
expect_eq "100 elements split" "$want" "$("$PL" read "$url?max_bytes=20" N7:0,100 2>&1)"

# --- PLC-5: typed read/write against a PLC-5 simulator ---
start_sim 4 "pccc://127.0.0.1:0?plc=plc5"
p5="pccc://127.0.0.1:$port?plc=plc5"
"$PL" write "$p5" N7:3=42,43 F8:2=-2.25 && ok || fail "plc5 write"
expect_eq "plc5 read" "N7:3,2 42 43
F8:2 -2.25" "$("$PL" read "$p5" N7:3,2 F8:2 2>&1)"

# --- failures: exit 1, one line naming URL, address, error name and code ---
out=$("$PL" read "$url" N99:0 2>&1); rc=$?
expect_eq "STS exit" 1 $rc
expect_eq "STS message" "plcline: $url: N99:0: PLC answered with a PCCC error status (0x0309 PL_EPCCC_STS): STS 0xF0 EXT STS 0x06: address doesn't point to something usable" "$out"

start_sim 5 pccc://127.0.0.1:0 --delay 1000
out=$("$PL" read "pccc://127.0.0.1:$port?timeout=100" N7:0 2>&1); rc=$?
expect_eq "timeout exit" 1 $rc
expect_match "timeout message" "^plcline: pccc://127\.0\.0\.1:$port\?timeout=100: N7:0: receive timeout \(0x0038 PL_ETIMEOUT\)" "$out"
expect_eq "one line" 1 "$(echo "$out" | wc -l)"

# a port nothing listens on (bound for the rest of the test, never listening)
cli_refusing_port
out=$("$PL" read "pccc://127.0.0.1:$refusing_port" N7:0 2>&1); rc=$?
expect_eq "refused exit" 1 $rc
expect_match "refused message" "connect failed \(0x0032 PL_ECONNECT\).*(refused|Connection refused)" "$out"

# --- a connection that never registers a session is closed (--register-timeout) ---
start_sim 7 pccc://127.0.0.1:0 --register-timeout 100
if exec 8<>"/dev/tcp/127.0.0.1/$port"; then
    # read returns 1 at end of file (closed by the simulator), >128 if 10 s pass first
    IFS= read -r -t 10 -u 8 line; rc=$?
    expect_eq "unregistered connection closed" 1 $rc
    exec 8<&-
else
    fail "connect to the simulator with --register-timeout"
fi

# --- bad arguments: exit 2 ---
"$PL" serve --register-timeout 0 pccc://127.0.0.1:0 >/dev/null 2>&1
expect_eq "register timeout 0 exit" 2 $?
"$PL" serve --register-timeout 100 7ttcp://127.0.0.1:0 >/dev/null 2>"$tmp/err"
expect_eq "register timeout for 7ttcp exit" 2 $?
expect_match "register timeout is pccc only" "register-timeout" "$(cat "$tmp/err")"
for bad in "--max-inflight x" "--requestor 12" "--requestor 0x10000:1" "--max-inflight"; do
    # shellcheck disable=SC2086
    "$PL" serve $bad pccc://127.0.0.1:0 >/dev/null 2>&1
    expect_eq "serve $bad exit" 2 $?
done
"$PL" serve --connected 7ttcp://127.0.0.1:0 >/dev/null 2>"$tmp/err"
expect_eq "--connected for 7ttcp exit" 2 $?
expect_match "--connected is pccc only" "pccc options" "$(cat "$tmp/err")"
"$PL" read "$url?connected=2" N7:0 >/dev/null 2>"$tmp/err"; expect_eq "connected=2 exit" 2 $?
expect_match "connected=2 message" "expected 0, 1 or auto" "$(cat "$tmp/err")"
"$PL" read "$url" Q9:0 >/dev/null 2>"$tmp/err"; expect_eq "bad address exit" 2 $?
expect_match "bad address message" "Q9:0" "$(cat "$tmp/err")"
"$PL" read "$url?bogus=1" N7:0 >/dev/null 2>"$tmp/err"; expect_eq "unknown key exit" 2 $?
expect_match "unknown key message" "bogus" "$(cat "$tmp/err")"
"$PL" read "$url?plc=s7" N7:0 >/dev/null 2>&1; expect_eq "bad plc exit" 2 $?
"$PL" read "$url?path=1,x" N7:0 >/dev/null 2>&1; expect_eq "bad path exit" 2 $?
"$PL" write "$url" N7:0=70000 >/dev/null 2>&1; expect_eq "value out of range exit" 2 $?
"$PL" write "$url" N7:0 >/dev/null 2>&1; expect_eq "missing value exit" 2 $?
"$PL" write "$url" ST9:0,2=a >/dev/null 2>&1; expect_eq "two strings exit" 2 $?

# --- help names the PCCC URL and addresses ---
for cmd in read write; do
    "$PL" $cmd --help | grep -q "usage: plcline $cmd" && ok || fail "$cmd --help"
done
"$PL" read --help | grep -q "pccc://" && ok || fail "read --help names pccc://"

# --- SIGTERM stops the simulator cleanly with exit 0 ---
kill -TERM "$srv_pid"
wait "$srv_pid"; rc=$?
expect_eq "serve exit after SIGTERM" 0 $rc

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
