// SPDX-License-Identifier: MIT
// plcline status page. The server filters, sorts and pages the tags; this page shows one
// page and keeps it live from /api/events (the server sends at most 10 updates a second).
// Every text from the daemon goes in through textContent: names and values are never HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  order: [],         // the page's tag names, in order (the "ts" event names rows by position)
  byName: new Map(), // name -> {tr, cells, row}
  total: 0,
  offset: 0,
  writes: false,
  es: null,
  results: new Map(), // tag -> last write result, kept across updates
  devices: null,      // the last "devices" event, kept current by "counters" events
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fmtValue(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, "");
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

function fmtAge(tsMs) {
  if (!tsMs) return "–";
  const s = Math.max(0, (Date.now() - tsMs) / 1000);
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return Math.floor(s / 3600) + " h";
}

function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function fmtError(e) {
  if (!e) return "";
  return e.name + " (" + e.code + ") " + e.message + (e.detail ? ": " + e.detail : "");
}

function fmtRtt(us) {
  if (!us) return "–";
  return us < 1000 ? us + " µs" : (us / 1000).toFixed(us < 10000 ? 2 : 1) + " ms";
}

// --- devices and lines ----------------------------------------------------------------

// what moves without a state change, by position in the last "devices" event
function updateCounters(msg) {
  const last = state.devices;
  if (!last) return;
  msg.rows.forEach((row, i) => {
    const d = last.devices[i];
    if (d) msg.columns.forEach((col, k) => { d[col] = row[k]; });
  });
  renderDevices(last);
}

function renderDevices(msg) {
  state.devices = msg;
  const lines = $("lines");
  lines.replaceChildren();
  for (const l of msg.lines) {
    const c = el("span", "chip");
    c.append(el("b", null, l.name), " " + l.protocol + " ",
             el("span", l.up === l.devices ? "st-up" : "st-down", l.up + "/" + l.devices + " up"));
    lines.append(c);
  }
  const body = $("devices").tBodies[0];
  const frag = document.createDocumentFragment();
  let down = 0;
  for (const d of msg.devices) {
    if (!d.connected) down++;
    const tr = el("tr");
    tr.dataset.device = d.name;
    tr.append(el("td", "mono", d.name), el("td", null, d.line));
    let st = d.demoted ? "off scan until " + fmtTime(d.demoted_until) : d.state;
    tr.append(el("td", d.connected ? "st-up" : d.demoted ? "st-down" : "st-wait", st));
    let host = d.peer || "–";
    if (d.connected && d.has_backup) host += " (" + d.active + ")";
    if (d.hosts > 1) host += " · host " + (d.host + 1) + "/" + d.hosts;
    tr.append(el("td", "mono", host));
    tr.append(el("td", "n", d.requests), el("td", "n" + (d.errors ? " st-down" : ""), d.errors),
              el("td", "n", d.reconnects), el("td", "n", fmtRtt(d.rtt_us)),
              el("td", "err", fmtError(d.last_error)));
    frag.append(tr);
  }
  body.replaceChildren(frag);
  const sum = $("summary");
  sum.replaceChildren();
  sum.append(el("span", null, "devices "), el("b", null, msg.devices.length));
  sum.append(el("span", down ? "st-down" : "st-up", down + " down"));
  sum.append(el("span", null, "tags "), el("b", null, state.total));
}

// --- tags -----------------------------------------------------------------------------

function writeCell(row) {
  const td = el("td");
  if (!row.writable) {
    td.append(el("span", "muted", "read-only"));
    return td;
  }
  if (!state.writes) {
    td.append(el("span", "muted", "writes off"));
    return td;
  }
  const form = el("form", "write");
  const input = el("input");
  input.name = "value";
  input.placeholder = "value";
  input.autocomplete = "off";
  input.setAttribute("aria-label", "new value for " + row.name);
  const btn = el("button", null, "Write");
  btn.type = "submit";
  const res = el("span", "result");
  const last = state.results.get(row.name);
  if (last) showResult(res, last);
  form.append(input, btn, res);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    doWrite(row.name, input.value, res, btn);
  });
  td.append(form);
  return td;
}

function parseValue(text) {
  const t = text.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (t !== "" && !isNaN(Number(t))) return Number(t);
  if (t.startsWith('"')) { try { return JSON.parse(t); } catch (_) { /* as text */ } }
  return t;
}

function showResult(span, r) {
  span.className = "result " + (r.result === "ok" ? "ok" : "error");
  span.textContent = r.result === "ok" ? "✓ written" : "✗ " + fmtError(r.error);
}

let writeSeq = 0;
async function doWrite(name, text, span, btn) {
  const id = "page-" + (++writeSeq);
  btn.disabled = true;
  span.className = "result";
  span.textContent = "writing…";
  let r;
  try {
    const resp = await fetch("api/tags/" + encodeURIComponent(name), {
      method: "POST",
      headers: { "Content-Type": "application/json",
                 "Authorization": "Bearer " + $("token").value.trim() },
      body: JSON.stringify({ value: parseValue(text), id }),
    });
    r = await resp.json();
  } catch (e) {
    r = { result: "error", error: { name: "network", code: "", message: String(e) } };
  }
  btn.disabled = false;
  state.results.set(name, r);
  const cur = state.byName.get(name);
  const target = cur ? cur.tr.querySelector(".result") : span;
  showResult(target || span, r);
}

function buildRow(row) {
  const tr = el("tr");
  tr.dataset.tag = row.name;
  const cells = {
    name: el("td", "mono", row.name),
    device: el("td", "opt", row.device),
    address: el("td", "mono opt", row.address),
    value: el("td", "n mono"),
    quality: el("td"),
    age: el("td", "n"),
    ts: el("td", "opt"),
  };
  tr.append(cells.name, cells.device, cells.address, cells.value, cells.quality, cells.age,
            cells.ts, writeCell(row));
  const item = { tr, cells, row };
  fillRow(item, row, false);
  return item;
}

function fillRow(item, row, flash) {
  const c = item.cells;
  item.row = row;
  const v = fmtValue(row.value);
  if (flash && c.value.textContent !== v) {
    c.value.classList.remove("flash");
    void c.value.offsetWidth; // restart the animation
    c.value.classList.add("flash");
  }
  c.value.textContent = v;
  c.quality.textContent = row.quality;
  c.quality.className = "q-" + row.quality;
  c.quality.title = row.error ? fmtError(row.error) : "";
  if (row.error) c.quality.textContent = row.quality + " · " + row.error.name;
  c.age.textContent = fmtAge(row.ts_ms);
  c.ts.textContent = fmtTime(row.ts);
}

function renderView(msg) {
  state.total = msg.total;
  state.offset = msg.offset;
  state.byName.clear();
  state.order = msg.rows.map((r) => r.name);
  const frag = document.createDocumentFragment();
  for (const row of msg.rows) {
    const item = buildRow(row);
    state.byName.set(row.name, item);
    frag.append(item.tr);
  }
  $("tags").tBodies[0].replaceChildren(frag);
  const lim = Number($("limit").value);
  const first = msg.total === 0 ? 0 : msg.offset + 1;
  $("range").textContent = first + "–" + (msg.offset + msg.rows.length) + " of " + msg.total;
  $("prev").disabled = msg.offset === 0;
  $("next").disabled = msg.offset + lim >= msg.total;
}

// a changed row carries its state only (value, quality, times, error): the definition
// (device, address, writable) came with the view
function updateTags(msg) {
  for (const row of msg.rows) {
    const item = state.byName.get(row.name);
    if (!item) continue;
    const d = item.row;
    const def = { device: d.device, line: d.line, address: d.address, scan: d.scan, writable: d.writable };
    fillRow(item, Object.assign(def, row), true);
  }
}

// values read again without a change: only their source time moves
function updateTimes(msg) {
  for (const [pos, tsMs] of msg.rows) {
    const item = state.byName.get(state.order[pos]);
    if (!item) continue;
    item.row.ts_ms = tsMs;
    item.row.ts = new Date(tsMs).toISOString();
    item.cells.age.textContent = fmtAge(tsMs);
    item.cells.ts.textContent = fmtTime(item.row.ts);
  }
}

// --- the live stream ------------------------------------------------------------------

function query() {
  const p = new URLSearchParams();
  const f = $("filter").value.trim();
  if (f) p.set("filter", f);
  p.set("sort", $("sort").value);
  if ($("desc").checked) p.set("order", "desc");
  p.set("offset", String(state.offset));
  p.set("limit", $("limit").value);
  return p.toString();
}

function connect() {
  if (state.es) state.es.close();
  const es = new EventSource("api/events?" + query());
  state.es = es;
  const live = $("live");
  es.addEventListener("open", () => { live.textContent = "live"; live.className = "pill on"; });
  es.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "pill off"; });
  es.addEventListener("view", (ev) => renderView(JSON.parse(ev.data)));
  es.addEventListener("tags", (ev) => updateTags(JSON.parse(ev.data)));
  es.addEventListener("ts", (ev) => updateTimes(JSON.parse(ev.data)));
  es.addEventListener("devices", (ev) => renderDevices(JSON.parse(ev.data)));
  es.addEventListener("counters", (ev) => updateCounters(JSON.parse(ev.data)));
}

let filterTimer = 0;
function restart(resetOffset) {
  if (resetOffset) state.offset = 0;
  connect();
}

async function loadInfo() {
  try {
    const info = await (await fetch("api/info")).json();
    state.writes = !!info.writes;
    $("tokenbox").classList.toggle("hidden", !state.writes);
    $("cfg").textContent = (info.config || "") + (info.version ? " · v" + info.version : "");
    const body = $("sims").tBodies[0];
    body.replaceChildren();
    for (const s of info.simulators || []) {
      const tr = el("tr");
      tr.append(el("td", "mono", s.name), el("td", null, s.protocol), el("td", "n", s.port));
      body.append(tr);
    }
    if (!(info.simulators || []).length) body.append(el("tr")).append(el("td", "muted", "none"));
    const dl = $("config");
    dl.replaceChildren();
    const add = (k, v, cls) => { dl.append(el("dt", null, k), el("dd", cls, v)); };
    add("file", info.config);
    for (const [k, v] of Object.entries(info.counts || {})) add(k.replace("_", " "), v);
    add("writes over HTTP", state.writes ? "on (bearer token)" : "off");
    const rl = info.reload;
    if (rl) add("last reload", fmtTime(rl.at) + " · " + (rl.result === "ok" ? "ok" : fmtError(rl.error)),
                rl.result === "ok" ? "st-up" : "st-down");
    else add("last reload", "none since start");
  } catch (_) { /* the stream's state shows that the daemon is unreachable */ }
}

function init() {
  $("token").value = sessionStorage.getItem("plcline-token") || "";
  $("token").addEventListener("change", () => sessionStorage.setItem("plcline-token", $("token").value));
  $("filter").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => restart(true), 250);
  });
  $("sort").addEventListener("change", () => restart(true));
  $("desc").addEventListener("change", () => restart(true));
  $("limit").addEventListener("change", () => restart(true));
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - Number($("limit").value));
    restart(false);
  });
  $("next").addEventListener("click", () => {
    state.offset += Number($("limit").value);
    restart(false);
  });
  // ages move on between updates
  setInterval(() => {
    for (const item of state.byName.values()) item.cells.age.textContent = fmtAge(item.row.ts_ms);
  }, 500);
  setInterval(loadInfo, 5000);
  loadInfo().then(connect);
}

init();
