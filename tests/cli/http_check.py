#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The daemon's HTTP API, event stream and metrics, from the outside: plain requests,
# malformed ones, too many connections, a client that never reads. Run by test_http.sh with
# the server's URL, the bearer token and the path of promtool (or "" when absent).
# Every wait has a deadline; no timing is asserted.
import json, re, socket, sys, time, urllib.request, urllib.error

url, token, promtool = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = re.match(r"http://([^/]+):(\d+)/", url).groups()
port = int(port)
fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        fails += 1


def req(method, path, body=None, headers=None):
    r = urllib.request.Request(url.rstrip("/") + path, data=body, method=method,
                               headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def jget(path):
    st, h, b = req("GET", path)
    return st, json.loads(b) if b else None


def raw(data, timeout=5):
    """Sends bytes on a fresh connection; returns what came back until close or timeout."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        end = time.time() + timeout
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and b"connection: close" not in out.lower() and \
                    out.startswith(b"HTTP/1.1 2"):
                break
        return out
    finally:
        s.close()


def wait(pred, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(0.05)  # polling a condition, not waiting for readiness
    check(False, what)
    return False


# --- health, lines, devices --------------------------------------------------------------
st, h = jget("/healthz")
check(st == 200 and h["status"] == "running" and h["devices"] == 2, f"healthz {st} {h}")
wait(lambda: jget("/healthz")[1]["devices_down"] == 0, 10, "every device connects")
st, lines = jget("/api/lines")
check(st == 200 and {l["name"] for l in lines} == {"la", "lr"}, f"lines {lines}")
st, devs = jget("/api/devices")
d = {x["name"]: x for x in devs}
check(st == 200 and d["da"]["connected"] and d["da"]["state"] == "up", f"devices {devs}")
check(d["dr"]["has_backup"] and d["dr"]["active"] in ("primary", "backup"), "redundant device")
check(d["da"]["peer"].startswith("127.0.0.1:"), "peer of a connected device")
for k in ("requests", "errors", "reconnects", "rtt_us", "last_error", "demoted_until"):
    check(k in d["da"], f"device has {k}")

# --- tags: filter, sort, paging ------------------------------------------------------------
st, t = jget("/api/tags")
check(st == 200 and t["total"] == 5 and len(t["rows"]) == 5, f"all tags {t}")
check([r["name"] for r in t["rows"]] == sorted(r["name"] for r in t["rows"]), "name order")
st, t = jget("/api/tags?filter=A.W&limit=1")
check(st == 200 and t["total"] == 2 and len(t["rows"]) == 1 and t["rows"][0]["name"] == "a.w0",
      f"filter + limit {t}")
st, t = jget("/api/tags?filter=a.w&offset=1&limit=5&order=desc")
check(st == 200 and [r["name"] for r in t["rows"]] == ["a.w0"], f"offset + desc {t}")
st, t = jget("/api/tags?sort=device")
check(st == 200 and t["rows"][0]["device"] == "da", "sort by device")
st, t = jget("/api/tags?limit=100000")
check(st == 200 and t["limit"] == 1000, "limit is capped")
for bad in ("sort=value", "order=up", "limit=-1", "offset=x", "filter=%zz", "filter=%00"):
    st, _ = jget("/api/tags?" + bad)
    check(st == 400, f"bad query {bad} -> {st}")
st, one = jget("/api/tags/a.w0")
check(st == 200 and one["name"] == "a.w0" and one["writable"] and one["address"] == "W100",
      f"one tag {one}")
st, e = jget("/api/tags/nope")
check(st == 404 and e["error"]["name"] == "PL_ENOTAG", f"unknown tag {e}")

# --- writes ------------------------------------------------------------------------------
J = {"Content-Type": "application/json"}
A = dict(J, Authorization="Bearer " + token)
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":7}', J)
check(st == 401 and json.loads(b)["result"] == "error", f"write without token {st}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":7}', dict(J, Authorization="Bearer x" + token))
check(st == 401, f"write with a wrong token {st}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":7}', {"Authorization": "Bearer " + token})
check(st == 415, f"write without a JSON content type {st}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":', A)
check(st == 400 and json.loads(b)["error"]["name"] == "PL_EVALUE", f"malformed body {st} {b}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":1,"extra":2}', A)
check(st == 400 and b"unknown key 'extra'" in b, f"unknown key {st} {b}")
for body in (b'{"value":1,"stats":true}', b'{"value":1,"write":"b.w0"}', b'[1]', b'{"id":"x"}'):
    st, _, b = req("POST", "/api/tags/a.w0", body, A)
    check(st == 400 and json.loads(b)["result"] == "error", f"refused body {body}: {st} {b}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":"' + b"x" * 8000 + b'"}', A)
check(st == 413, f"oversized body {st}")
st, _, b = req("POST", "/api/tags/b.w0", b'{"value":1}', A)
check(st == 403 and json.loads(b)["error"]["name"] == "PL_EREADONLY", f"read-only {st} {b}")
st, _, b = req("POST", "/api/tags/nope", b'{"value":1}', A)
check(st == 404, f"write unknown tag {st} {b}")
st, _, b = req("POST", "/api/tags/a.w0", b'{"value":4242,"id":"w-1"}', A)
res = json.loads(b)
check(st == 200 and res == {"result": "ok", "write": "a.w0", "id": "w-1"}, f"write {st} {b}")
wait(lambda: jget("/api/tags/a.w0")[1]["value"] == 4242, 10, "the written value is read back")
for m in ("PUT", "DELETE", "PATCH"):
    st, hd, _ = req(m, "/api/tags/a.w0", b"{}", A)
    check(st == 405 and "GET" in hd.get("allow", ""), f"{m} -> {st}")
st, _, _ = req("POST", "/api/tags", b"{}", A)
check(st == 405, f"POST on the list -> {st}")
st, _, _ = req("POST", "/metrics", b"{}", A)
check(st == 405, f"POST /metrics -> {st}")

# --- the page and its headers ---------------------------------------------------------------
st, hd, b = req("GET", "/")
hd = {k.lower(): v for k, v in hd.items()}
check(st == 200 and hd["content-type"].startswith("text/html"), "page")
check("default-src 'self'" in hd.get("content-security-policy", ""), "CSP")
check(hd.get("x-content-type-options") == "nosniff", "nosniff")
check(b"<script src=" in b and b"https://" not in b and b"http://" not in b, "no CDN")
st, hd, b = req("GET", "/app.js")
check(st == 200 and len(b) > 1000, "app.js")
st, _, _ = req("GET", "/nothing-here")
check(st == 404, "unknown page")
st, info = jget("/api/info")
check(st == 200 and info["counts"]["tags"] == 5 and info["writes"] is True, f"info {info}")
check(any(s["name"] == "sim" and s["port"] > 0 for s in info["simulators"]), "simulators")

# --- metrics --------------------------------------------------------------------------------
st, hd, b = req("GET", "/metrics")
text = b.decode()
check(st == 200 and hd.get("content-type", hd.get("Content-Type", "")).startswith("text/plain"),
      "metrics content type")
typed = {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                     r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (-?[0-9.e+]+|\+Inf|NaN)$')
for ln in text.splitlines():
    if ln.startswith("# TYPE "):
        _, _, name, kind = ln.split(" ")
        check(name not in typed, f"one TYPE per family: {name}")
        typed[name] = kind
        check(kind != "counter" or name.endswith("_total"), f"counter named _total: {name}")
        continue
    if ln.startswith("#"):
        continue
    m = line_re.match(ln)
    check(m is not None, f"metrics line parses: {ln!r}")
    if m:
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        check(m.group(1) in typed or base in typed, f"sample after its TYPE: {ln}")
        check(m.group(1).startswith(("plcline_", "process_")), f"prefix: {ln}")
for name in ("plcline_device_up", "plcline_device_requests_total", "plcline_device_errors_total",
             "plcline_device_request_duration_seconds", "plcline_device_reconnects_total",
             "plcline_device_active_host", "plcline_line_devices_up", "plcline_tags",
             "plcline_device_scan_overruns_total", "process_cpu_seconds_total"):
    check(name in typed, f"metric family {name}")
check('plcline_device_up{device="da",line="la",protocol="7ttcp"} 1' in text, "da up")
check(re.search(r'plcline_device_request_duration_seconds_bucket\{device="da",line="la",'
                r'le="\+Inf"\} [1-9]', text) is not None, "histogram has observations")
check(re.search(r'plcline_device_writes_total\{device="da",line="la"\} [1-9]', text) is not None,
      "the write is counted")
if promtool:
    import subprocess
    p = subprocess.run([promtool, "check", "metrics"], input=b, capture_output=True)
    check(p.returncode == 0, "promtool check metrics: " + p.stdout.decode() + p.stderr.decode())

# --- events ---------------------------------------------------------------------------------
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"GET /api/events?filter=a.w1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
buf, end = b"", time.time() + 10
while time.time() < end and not (b"event: view" in buf and b"event: tags" in buf):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
check(b"text/event-stream" in buf and b"event: view" in buf, "event stream opens with a view")
check(b"event: tags" in buf and b'"a.w1"' in buf, "a changing tag arrives as an event")
check(b'"a.w0"' not in buf.split(b"event: tags", 1)[-1], "only the view's tags are sent")
check(b"event: devices" in buf, "device states on the stream")
check(b"\x00" not in buf, "no NUL byte in the event stream")
s.close()

# --- DNS rebinding: on loopback, only loopback names are served --------------------------------
out = raw(b"GET /healthz HTTP/1.1\r\nHost: evil.example:%d\r\n\r\n" % port)
check(out.startswith(b"HTTP/1.1 403") and b"loopback" in out, f"foreign Host: {out[:60]!r}")
for hh in (b"localhost:%d" % port, b"127.0.0.1", b"[::1]:%d" % port, b"LOCALHOST"):
    out = raw(b"GET /healthz HTTP/1.1\r\nHost: " + hh + b"\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200"), f"Host {hh!r}: {out[:40]!r}")
out = raw(b"GET /healthz HTTP/1.0\r\n\r\n")
check(out.startswith(b"HTTP/1.1 200"), f"no Host at all (a tool): {out[:40]!r}")

# --- malformed and hostile clients ------------------------------------------------------------
out = raw(b"BLAH\r\n\r\n")
check(out == b"" or out.startswith(b"HTTP/1.1 400"), f"garbage request line: {out[:40]!r}")
out = raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 600000 + b"\r\n\r\n")
check(out == b"" or out.startswith(b"HTTP/1.1 4"), f"oversized header: {out[:40]!r}")
out = raw(b"GET /" + b"a" * 4000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
check(out.startswith(b"HTTP/1.1 400"), f"over-long path: {out[:40]!r}")
out = raw(b"GET /api/tags/%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
check(out.startswith(b"HTTP/1.1 400"), f"NUL in the path: {out[:40]!r}")
out = raw(b"POST /api/tags/a.w0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n")
check(out == b"" or out.startswith(b"HTTP/1.1 413"), f"announced huge body: {out[:40]!r}")

# a client that never reads: its stream fills, the server keeps answering others
slow = socket.socket()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.connect((host, port))
slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 200)
slow2 = socket.create_connection((host, port))
slow2.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
st, h = jget("/healthz")
check(st == 200, "served while a client does not read")

# too many connections: the extra ones are closed at once, the server stays up
conns = []
for i in range(80):
    c = socket.create_connection((host, port), timeout=5)
    conns.append(c)
closed = 0
for c in conns[70:]:
    try:
        if c.recv(1) == b"":
            closed += 1
    except (ConnectionResetError, socket.timeout):
        closed += 1
check(closed >= 5, f"connections over the limit are closed ({closed})")
for c in conns:
    c.close()
slow.close()
slow2.close()
wait(lambda: jget("/healthz")[0] == 200, 10, "served again after the flood")

print(f"http_check: {'FAILED' if fails else 'ok'} ({fails} failures)")
sys.exit(1 if fails else 0)
