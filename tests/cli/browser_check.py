#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The status page in a real browser: headless Chromium driven through chromedriver's
# WebDriver HTTP interface (plain requests, no client library). Opens the page, sees values
# change, writes with the bearer token and sees the result next to the tag, sees a wrong
# token refused, and sees a string value holding markup shown as text. Optionally saves a
# screenshot. Every wait has a deadline; the driver's port is read back from its output.
# Usage: browser_check.py URL TOKEN [SCREENSHOT.png]
import base64, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

url, token = sys.argv[1], sys.argv[2]
shot = sys.argv[3] if len(sys.argv) > 3 else ""
fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        fails += 1
    return cond


profile = tempfile.mkdtemp(prefix="plcline-browser-")
drv = subprocess.Popen(["chromedriver", "--port=0"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
port = None
end = time.time() + 30
while time.time() < end:
    line = drv.stdout.readline()
    if not line:
        break
    m = re.search(r"started successfully on port (\d+)", line)
    if m:
        port = int(m.group(1))
        break
if port is None:
    print("FAIL: chromedriver did not start", file=sys.stderr)
    drv.kill()
    sys.exit(1)
base = f"http://127.0.0.1:{port}"


def wd(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(base + path, data=data, method=method,
                               headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(r, timeout=60) as resp:
        return json.loads(resp.read())["value"]


sid = None
try:
    caps = {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": shutil.which("chromium") or "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--user-data-dir=" + profile, "--window-size=1280,1000"]}}}}
    sid = wd("POST", "/session", caps)["sessionId"]
    S = f"/session/{sid}"

    def js(script, *args):
        return wd("POST", S + "/execute/sync", {"script": script, "args": list(args)})

    def wait(script, seconds, what, *args):
        end = time.time() + seconds
        while time.time() < end:
            v = js(script, *args)
            if v:
                return v
            time.sleep(0.1)  # polling the page's state, with a deadline
        check(False, what)
        return None

    wd("POST", S + "/url", {"url": url})
    wait("return document.getElementById('live').textContent === 'live'", 20,
         "the page goes live")
    wait("return document.querySelectorAll('#tags tbody tr').length > 5", 20, "tag rows shown")
    wait("return document.querySelectorAll('#devices tbody tr').length === 4", 20,
         "four devices shown")
    check(js("return document.querySelector('#devices tbody').textContent.includes('primary')"),
          "the redundant device names its active side")
    # values change live
    cell = "return [...document.querySelectorAll('#tags tbody tr')].find(" \
           "r => r.dataset.tag === arguments[0]).children[3].textContent"
    v1 = js(cell, "node1.counter")
    wait(cell.replace("return ", "return (") + ") !== arguments[1]", 20,
         "node1.counter changes on the page", "node1.counter", v1)
    # the devices' counters move too (a "counters" event every 5 s, no state change)
    reqs = "return document.querySelector('#devices tbody tr').children[4].textContent"
    wait(reqs.replace("return ", "return (") + ") !== arguments[0]", 20,
         "a device's request count moves on the page", js(reqs))

    # the write token, then filter down to the tag and write
    js("const t = document.getElementById('token'); t.value = arguments[0];"
       "t.dispatchEvent(new Event('change'));", "wrong-" + token)
    js("const f = document.getElementById('filter'); f.value = 'node2.setpoint';"
       "f.dispatchEvent(new Event('input'));")
    wait("const r = document.querySelectorAll('#tags tbody tr');"
         "return r.length === 1 && r[0].dataset.tag === 'node2.setpoint'", 20,
         "the filter leaves one tag")
    submit = ("const r = document.querySelector('#tags tbody tr');"
              "r.querySelector('input').value = arguments[0];"
              "r.querySelector('button').click();")
    js(submit, "1234")
    res = wait("const s = document.querySelector('#tags tbody .result');"
               "return s && s.classList.contains('error') && s.textContent", 20,
               "a wrong token is refused on the page")
    check(res and "PL_EINVAL" in res, f"the refusal names its error: {res}")
    js("const t = document.getElementById('token'); t.value = arguments[0];"
       "t.dispatchEvent(new Event('change'));", token)
    js(submit, "1234")
    res = wait("const s = document.querySelector('#tags tbody .result');"
               "return s && s.classList.contains('ok') && s.textContent", 20,
               "the write result is shown next to the tag")
    wait("return document.querySelector('#tags tbody tr').children[3].textContent === '1234'",
         20, "the written value comes back")

    # markup in a value is text
    js("const f = document.getElementById('filter'); f.value = 'slc1.text';"
       "f.dispatchEvent(new Event('input'));")
    wait("const r = document.querySelector('#tags tbody tr');"
         "return r && r.dataset.tag === 'slc1.text'", 20, "the string tag is shown")
    js(submit, '"<img src=x id=inj>"')
    wait("const r = document.querySelector('#tags tbody tr');"
         "return r.children[3].textContent.includes('<img')", 20,
         "markup in a value is shown as text")
    check(js("return document.getElementById('inj') === null"), "markup in a value is not parsed")

    if shot:
        js(submit, '"batch 42"')
        wait("return document.querySelector('#tags tbody tr').children[3].textContent"
             ".includes('batch 42')", 20, "a plain string for the picture")
        js("const f = document.getElementById('filter'); f.value = '';"
           "f.dispatchEvent(new Event('input'));")
        wait("return document.querySelectorAll('#tags tbody tr').length > 5", 20, "all tags again")
        time.sleep(1.5)  # let a few live updates land for the picture (not a readiness wait)
        png = base64.b64decode(wd("GET", S + "/screenshot"))
        with open(shot, "wb") as f:
            f.write(png)
finally:
    if sid is not None:
        try:
            wd("DELETE", f"/session/{sid}")
        except Exception as e:  # the driver may be gone already; the result stands
            print("note: closing the session:", e, file=sys.stderr)
    drv.terminate()
    try:
        drv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        drv.kill()
    shutil.rmtree(profile, ignore_errors=True)

print(f"browser_check: {'FAILED' if fails else 'ok'} ({fails} failures)")
sys.exit(1 if fails else 0)
