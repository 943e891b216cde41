#!/usr/bin/env bash
# plcline run with `http:`: the API, event stream and metrics answer plain, malformed and
# hostile requests (tests/cli/http_check.py); promtool checks the metrics when installed;
# writes are refused when off; the configuration refuses writes without a token; SIGTERM
# with a live event stream open exits 0. No sleeps: the URL is read from the log with a
# deadline (port 0: the real port is printed).
# Usage: test_http.sh PATH/TO/plcline
set -uo pipefail
PL=${1:?usage: $0 plcline-binary}
here=$(cd "$(dirname "$0")" && pwd)
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

printf 'tok-%s\n' "$RANDOM$RANDOM" > "$tmp/token"
token=$(head -1 "$tmp/token")

write_cfg() { # $1: file, $2: http section
    cat > "$1" <<EOF
scan_classes:
  - {name: fast, period: 50ms}
simulators:
  - {name: sim, protocol: 7ttcp, nodes: 0-3, animate: 50ms}
  - {name: p, protocol: 7ttcp, nodes: 0-3}
  - {name: b, protocol: 7ttcp, nodes: 0-3}
lines:
  - {name: la, protocol: 7ttcp, simulator: sim, timeout: 1s}
  - {name: lr, protocol: 7ttcp, simulator: p, backup_simulator: b, redundancy: parallel}
devices:
  - {name: da, line: la, node: 1}
  - {name: dr, line: lr, node: 0}
tags:
  - {name: a.w0, device: da, address: W100, scan: fast, writable: true}
  - {name: a.w1, device: da, address: W0, scan: fast}
  - {name: c.x, device: da, address: W2, scan: fast}
  - {name: b.w0, device: dr, address: W0, scan: fast}
  - {name: b.w1, device: dr, address: W1, scan: fast}
$2
EOF
}

# pause: a tenth of a second between two looks at a log (never a wait for readiness)
pause() { read -r -t 0.1 <> <(:) || true; }

# start_daemon CFG LOG: runs it; sets DPID and URL (deadline 15 s)
start_daemon() {
    : >"$2"
    "$PL" run --json "$1" >/dev/null 2>"$2" </dev/null &
    DPID=$!
    pids+=("$DPID")
    URL=""
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ] && kill -0 "$DPID" 2>/dev/null; do
        URL=$(grep -o 'http://[^ ]*/' "$2" | head -1)
        [ -n "$URL" ] && return 0
        pause
    done
    fail "no URL in the log"
    cat "$2" >&2
    return 1
}

# stop_daemon PID: SIGTERM, then it must exit 0 within 15 s
stop_daemon() {
    kill -TERM "$1"
    local deadline=$((SECONDS + 15)) rc
    while [ $SECONDS -lt $deadline ] && kill -0 "$1" 2>/dev/null; do
        pause
    done
    if kill -0 "$1" 2>/dev/null; then
        fail "daemon did not exit after SIGTERM"
        return 1
    fi
    wait "$1"
    rc=$?
    [ $rc -eq 0 ] || fail "daemon exit code $rc"
}

# --- the configuration refuses writes without a token, and unknown keys -------------------
write_cfg "$tmp/bad.yaml" "http: {listen: '127.0.0.1:0', writes: true}"
out=$("$PL" run --check "$tmp/bad.yaml" 2>&1)
rc=$?
[ $rc -eq 2 ] && [[ "$out" == *token_file* ]] || fail "writes without token_file: rc=$rc $out"
write_cfg "$tmp/bad2.yaml" "http: {listen: '127.0.0.1:0', port: 1}"
"$PL" run --check "$tmp/bad2.yaml" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown http key accepted"

# --- a token file that cannot be read stops the start, naming the file ------------------------
write_cfg "$tmp/notok.yaml" "http: {listen: '127.0.0.1:0', writes: true, token_file: missing.token}"
out=$("$PL" run --json "$tmp/notok.yaml" 2>&1 >/dev/null </dev/null)
rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"http.token_file"*"missing.token"* ]] ||
    fail "missing token file: rc=$rc $out"

# --- the full check against a running daemon ----------------------------------------------
write_cfg "$tmp/on.yaml" "http: {listen: '127.0.0.1:0', writes: true, token_file: token}"
if start_daemon "$tmp/on.yaml" "$tmp/on.log"; then
    promtool=$(command -v promtool || true)
    [ -n "$promtool" ] || echo "note: promtool not installed; metrics checked by the parser only"
    python3 "$here/http_check.py" "$URL" "$token" "$promtool" || fail "http_check.py"
    grep -q "$token" "$tmp/on.log" && fail "the token appears in the log"
    # reloads: a broken configuration is refused and the page says so; a good one is taken
    # and the server follows the new engine
    reload_is() { # RESULT: /api/info's last reload result, within 15 s
        local deadline=$((SECONDS + 15)) r
        while [ $SECONDS -lt $deadline ]; do
            r=$(curl -s "${URL}api/info" | python3 -c \
                'import json,sys; r=json.load(sys.stdin)["reload"]; print(r["result"] if r else "none")')
            [ "$r" = "$1" ] && return 0
            pause
        done
        fail "last reload: expected $1, got $r"
        return 1
    }
    # an event stream opened before the reloads must follow the new engine
    curl -sN "${URL}api/events?filter=c." >"$tmp/events.txt" &
    cpid=$!
    pids+=("$cpid")
    cp "$tmp/on.yaml" "$tmp/on.good"
    printf 'tags:\n  - {name: x, device: nowhere, address: W0, scan: fast}\n' >> "$tmp/on.yaml"
    kill -HUP "$DPID"
    reload_is error
    curl -s "${URL}api/info" | grep -q '"PL_ECONFIG"' || fail "the refused reload names its error"
    sed 's/name: c.x,/name: c.renamed,/' "$tmp/on.good" > "$tmp/on.yaml"
    kill -HUP "$DPID"
    reload_is ok
    # the daemon drops its configuration's tag list once an engine is built: the count
    # stays right after a reload
    curl -s "${URL}api/info" | python3 -c \
        'import json,sys; sys.exit(json.load(sys.stdin)["counts"]["tags"] != 5)' ||
        fail "/api/info does not count 5 tags after the reload"
    tag=$(curl -s "${URL}api/tags/c.renamed")
    [[ "$tag" == *'"name":"c.renamed"'* ]] || fail "the server did not follow the new engine: $tag"
    # a new engine gives the stream a new view (never rows of the old one's numbering)
    view_renamed() { grep -A1 '^event: view' "$tmp/events.txt" | grep -q '"name":"c.renamed"'; }
    deadline=$((SECONDS + 15))
    until view_renamed || [ $SECONDS -ge $deadline ]; do
        pause
    done
    view_renamed || fail "the event stream got no new view after the reload"
    kill "$cpid" 2>/dev/null
    # an open event stream does not hold the exit
    exec {ev}< <(exec curl -sN "${URL}api/events")
    read -r -t 10 -u $ev first || fail "no event stream"
    stop_daemon "$DPID"
    exec {ev}<&-
fi

# --- writes off: refused, with the result object --------------------------------------------
write_cfg "$tmp/off.yaml" "http: {listen: '127.0.0.1:0'}"
if start_daemon "$tmp/off.yaml" "$tmp/off.log"; then
    body=$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $token" -d '{"value":1}' "${URL}api/tags/a.w0")
    [[ "$body" == *'"result":"error"'*'"PL_ENOTSUP"'*' 403' ]] || fail "writes off: $body"
    [[ "$URL" == http://127.0.0.1:* ]] || fail "not on loopback: $URL"
    stop_daemon "$DPID"
fi

[ $fails -eq 0 ] && echo "test_http: ok" || echo "test_http: $fails failure(s)"
[ $fails -eq 0 ]
