"""The review application's one page: HTML, CSS and script inline, nothing fetched from
elsewhere. The script asks the server (rams.review.server) for the items and each item's
view by URLs relative to the page, whose path carries the session token."""

from __future__ import annotations

import html

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>rams review: __SURVEY__</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#1d1f21;color:#e8e8e8}
header{display:flex;gap:1.5em;align-items:baseline;padding:.6em 1em;background:#2a2d30}
header h1{font-size:16px;margin:0} #progress{font-variant-numeric:tabular-nums}
main{display:grid;grid-template-columns:auto auto auto;gap:1em;padding:1em;align-items:start}
.frame{position:relative;display:inline-block;line-height:0;background:#000}
.frame img{image-rendering:pixelated} .frame svg{position:absolute;inset:0;width:100%;height:100%}
.frame svg *{fill:none;stroke:#ff2d55;stroke-width:1.2;vector-effect:non-scaling-stroke}
#chip img{width:384px} #context img{width:256px}
#map{position:relative;background:#f4f2ec;line-height:0} #marker{position:absolute;width:14px;height:14px;
margin:-9px 0 0 -9px;border:2px solid #00e5ff;border-radius:50%;box-shadow:0 0 0 2px #000}
.decision{font-weight:bold;text-transform:uppercase}
.confirmed{color:#5fd35f}.rejected{color:#ff6b6b}.unsure{color:#ffd24d}.unreviewed{color:#aaa}
dl{display:grid;grid-template-columns:auto auto;gap:.2em 1em;margin:.5em 0} dt{color:#aaa}
kbd{background:#444;border-radius:3px;padding:0 .35em;font:12px monospace}
#keys{padding:0 1em 1em;color:#bbb} input{width:100%;box-sizing:border-box}
</style></head>
<body data-ready="no">
<header><h1>Review: __SURVEY__</h1><span>reviewer <b id="reviewer">__REVIEWER__</b></span>
<span id="progress"></span><span>order: <b id="order"></b></span></header>
<main>
<section><div id="chip" class="frame"><img alt="chip"><svg preserveAspectRatio="none"></svg></div>
<div id="chip-note"></div></section>
<section><div id="context" class="frame"><img alt="context"><svg preserveAspectRatio="none"></svg></div>
<div id="context-note"></div><div id="map"><div id="marker"></div></div></section>
<section><dl><dt>detection</dt><dd id="label"></dd><dt>layer, fid</dt><dd id="where"></dd>
<dt>confidence</dt><dd id="confidence"></dd><dt>hazard area</dt><dd id="hazard"></dd>
<dt>decision</dt><dd><span id="decision" class="decision"></span> <span id="decided-by"></span></dd></dl>
<label>note (<kbd>e</kbd> to write, <kbd>Enter</kbd> to finish)<input id="note" maxlength="500"></label>
<p id="status"></p></section>
</main>
<p id="keys"><kbd>c</kbd> confirm · <kbd>r</kbd> reject · <kbd>u</kbd> unsure · <kbd>z</kbd> undo ·
<kbd>n</kbd>/<kbd>&rarr;</kbd> next · <kbd>p</kbd>/<kbd>&larr;</kbd> previous · <kbd>o</kbd> order:
uncertainty / hazard area · <kbd>q</kbd> finish and apply</p>
<script>
"use strict";
const KEYS = {c: "confirmed", r: "rejected", u: "unsure"};
let state = null, order = "uncertainty", pos = 0, views = new Map(), undo = [], session = [];
const $ = id => document.getElementById(id);
const key = it => it.layer + "/" + it.fid;

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) throw new Error(path + ": " + r.status + " " + await r.text());
  return r.json();
}
function view(it) {
  const k = key(it);
  if (!views.has(k)) views.set(k, api("api/item/" + k).catch(e => { views.delete(k); throw e; }));
  return views.get(k);
}
function seq() { return state.orders[order]; }
function item(p) { return state.items[seq()[p]]; }
function decided(it) { return state.decisions[key(it)]; }
function firstOpen(from) {
  const n = seq().length;
  for (let i = 0; i < n; i++) { const p = (from + i) % n; if (!decided(item(p))) return p; }
  return from % Math.max(n, 1);
}
function progress() {
  const n = state.items.length, done = state.items.filter(decided).length;
  let rate = "";
  if (session.length > 1) {
    const hours = (session[session.length - 1] - session[0]) / 3.6e6;
    const perHour = hours > 0 ? (session.length - 1) / hours : 0;
    rate = " · " + Math.round(perHour) + " decisions/h";
    if (perHour > 0) rate += " · about " + Math.ceil((n - done) / perHour * 60) + " min left";
  }
  $("progress").textContent = done + " of " + n + " reviewed · " + (n - done) + " remaining" + rate;
  return done;
}
async function show() {
  const done = progress();
  $("order").textContent = order === "hazard" ? "hazard area" : "uncertainty";
  if (!state.items.length) { $("status").textContent = "Nothing to review."; return; }
  const it = item(pos), d = decided(it);
  $("label").textContent = it.label + " (" + (pos + 1) + " of " + seq().length + ")";
  $("where").textContent = it.layer + ", " + it.fid;
  $("confidence").textContent = it.confidence === null ? "—" : it.confidence.toFixed(3) +
    " (threshold " + state.thresholds[it.layer].toFixed(2) + ")";
  $("hazard").textContent = it.hazard_id || "none";
  $("decision").textContent = d ? d.decision : "unreviewed";
  $("decision").className = "decision " + (d ? d.decision : "unreviewed");
  $("decided-by").textContent = d ? "by " + d.reviewer + ", " + d.reviewed_at.slice(0, 19).replace("T", " ") : "";
  $("marker").style.left = it.map[0] + "px"; $("marker").style.top = it.map[1] + "px";
  const v = await view(it);
  if (item(pos) !== it) return;
  for (const [id, img, size, mark] of [["chip", v.chip, v.chip_size, v.chip_mark],
                                       ["context", v.context, v.context_size, v.context_mark]]) {
    $(id).querySelector("img").src = img;
    const svg = $(id).querySelector("svg");
    svg.setAttribute("viewBox", "0 0 " + size[0] + " " + size[1]); svg.innerHTML = mark;
  }
  $("chip-note").textContent = (v.chip_native ? "native resolution, " : "reduced to frame it whole, ") +
    (v.chip_gsd_m * 100).toFixed(1) + " cm per pixel";
  $("context-note").textContent = "context, " + v.context_m.toFixed(0) + " m across";
  document.body.dataset.current = key(it);
  document.body.dataset.reviewed = String(done);  // set with the item shown: the page is settled
  document.body.dataset.ready = "yes";
  for (let i = 1; i <= 3 && i < seq().length; i++) view(item((pos + i) % seq().length));
}
async function decide(decision) {
  const it = item(pos), note = $("note").value;
  const r = await api("api/decision", {layer: it.layer, fid: it.fid, decision: decision, note: note});
  state.decisions[key(it)] = r.decision; undo.push(it); session.push(Date.now());
  $("note").value = ""; $("status").textContent = "saved: " + it.label + " " + decision;
  pos = firstOpen(pos); await show();
}
async function undoLast() {
  const it = undo.pop();
  if (!it) { $("status").textContent = "nothing to undo"; return; }
  const r = await api("api/undo", {layer: it.layer, fid: it.fid});
  if (r.decision) state.decisions[key(it)] = r.decision; else delete state.decisions[key(it)];
  session.pop(); pos = seq().indexOf(state.items.indexOf(it));
  $("status").textContent = "undone: " + it.label; await show();
}
async function finish() {
  $("status").textContent = "applying the decisions…";
  const r = await api("api/finish", {});
  $("status").textContent = r.message;
}
document.addEventListener("keydown", e => {
  if (!state || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target === $("note")) { if (e.key === "Enter" || e.key === "Escape") $("note").blur(); return; }
  const n = seq().length;
  let act = null;
  if (KEYS[e.key]) act = () => decide(KEYS[e.key]);
  else if (e.key === "z" || e.key === "Backspace") act = undoLast;
  else if (e.key === "n" || e.key === "ArrowRight") act = () => { pos = (pos + 1) % n; return show(); };
  else if (e.key === "p" || e.key === "ArrowLeft") act = () => { pos = (pos - 1 + n) % n; return show(); };
  else if (e.key === "o") act = () => { const it = item(pos); order = order === "hazard" ? "uncertainty" : "hazard";
    pos = seq().indexOf(state.items.indexOf(it)); return show(); };
  else if (e.key === "e") act = () => $("note").focus();
  else if (e.key === "q") act = finish;
  if (!act) return;
  e.preventDefault();
  Promise.resolve(act()).catch(err => { $("status").textContent = "not saved: " + err.message; });
});
(async () => {
  state = await api("api/state");
  $("map").insertAdjacentHTML("afterbegin", state.map);
  pos = firstOpen(0);
  await show();
})().catch(err => { $("status").textContent = err.message; });
</script></body></html>
"""


def page(survey_name: str, reviewer: str) -> str:
    """The page of a review of ``survey_name`` by ``reviewer``."""
    return _PAGE.replace("__SURVEY__", html.escape(survey_name)).replace("__REVIEWER__", html.escape(reviewer))
