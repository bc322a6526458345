"""The report's stylesheet, inlined into every page (no external CSS or fonts)."""

CSS = """
:root {
  --ink: #1d2430; --muted: #5b6675; --line: #dde2e8; --bg: #f5f7fa; --panel: #ffffff;
  --orange: #f4a718; --orange-ink: #8a5a00; --grey: #606060; --accent: #1f78b4;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Liberation Sans", sans-serif;
}
header { background: #1d2430; color: #fff; padding: 22px 32px 18px; }
header .brand { font-size: 12px; letter-spacing: .08em; text-transform: uppercase;
  color: #aab4c2; }
header h1 { margin: 4px 0 6px; font-size: 26px; font-weight: 600; }
header h1 span { color: var(--orange); font-weight: 600; margin-left: 6px; }
header .facts { margin: 0; color: #c9d1dc; font-size: 13px; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 32px 8px; }
h2 { font-size: 17px; font-weight: 600; margin: 0 0 10px; }
h3 { font-size: 13px; font-weight: 600; margin: 0 0 8px; text-transform: uppercase;
  letter-spacing: .05em; color: var(--muted); }
section { margin: 0 0 26px; }
.notice { background: #fff8e8; border: 1px solid #f1d79c; border-left: 5px solid var(--orange);
  padding: 10px 14px; border-radius: 4px; margin: 0 0 18px; color: #4a3a12; }
.notice.limits ul { margin: 6px 0 0; padding-left: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { font-size: 26px; font-weight: 600; margin: 2px 0;
  font-variant-numeric: tabular-nums; }
.card .detail { font-size: 12.5px; color: var(--muted); }
.card.hazard { border-top: 4px solid var(--orange); }
.card.hazard .value { color: var(--orange-ink); }
.card.caution { border-top: 4px solid var(--grey); }
.map-grid { display: grid; grid-template-columns: minmax(0, 1fr) 250px; gap: 16px;
  align-items: start; }
.map { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px; }
.map img { display: block; width: 100%; height: auto; border-radius: 3px; }
.map figcaption { font-size: 12px; color: var(--muted); padding: 6px 2px 0; }
.legend { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; position: sticky; top: 12px; }
.legend ul { list-style: none; margin: 0; padding: 0; }
.legend li { display: flex; align-items: center; gap: 10px; margin: 7px 0; font-size: 13px; }
.swatch { flex: none; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 18px; }
table { border-collapse: collapse; }
table.data, table.kv { width: 100%; background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; font-variant-numeric: tabular-nums; }
table.data th, table.data td, table.kv th, table.kv td { padding: 7px 10px; text-align: left;
  border-bottom: 1px solid var(--line); vertical-align: top; }
table.data thead th { font-size: 12px; color: var(--muted); font-weight: 600;
  text-transform: uppercase; letter-spacing: .04em; background: #fafbfc; }
table.data tbody th, table.kv th { font-weight: 500; }
table.data tr:last-child > *, table.kv tr:last-child > * { border-bottom: none; }
table.data tr.reason th { padding-left: 26px; font-weight: 400; color: var(--muted); }
.n { text-align: right !important; white-space: nowrap; }
table.data td { white-space: nowrap; }
.sub { color: var(--muted); font-size: 12px; margin-left: 4px; }
.none { color: var(--muted); font-style: italic; }
table.kv th { width: 200px; color: var(--muted); font-family: ui-monospace, "SFMono-Regular",
  Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.kv td { word-break: break-all; }
table.kv td .text { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.kv.nested { width: auto; border: none; background: transparent; }
table.kv.nested th, table.kv.nested td { padding: 2px 8px 2px 0; border: none; }
table.kv.nested th { width: auto; min-width: 140px; }
.note { color: var(--muted); margin: -4px 0 12px; }
code { font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12.5px; background: #eef1f5; padding: 1px 4px; border-radius: 3px; }
.chips { display: grid; grid-template-columns: repeat(auto-fill, minmax(164px, 1fr)); gap: 10px; }
.chip { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 6px; }
.chip:target { outline: 3px solid var(--accent); }
.chip .frame { position: relative; aspect-ratio: 1 / 1; background: #e2e5e9; }
.chip .chip-img { display: block; width: 100%; height: 100%; image-rendering: pixelated; }
.chip .mark { position: absolute; inset: 0; width: 100%; height: 100%; overflow: visible;
  pointer-events: none; transition: opacity .15s; }
.chip .frame:hover .mark { opacity: 0; }
.mark circle, .mark path { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.mark.submunitions circle { stroke: #ff2d55; }
.mark.positions path { stroke: #e040fb; stroke-dasharray: 5 3; }
.chip figcaption { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px;
  padding: 6px 2px 0; font-size: 12.5px; }
.chip .conf { margin-left: auto; font-variant-numeric: tabular-nums; font-weight: 600; }
.chip .xy { width: 100%; display: flex; justify-content: space-between; color: var(--muted);
  font-size: 11px; font-variant-numeric: tabular-nums; }
footer { max-width: 1320px; margin: 0 auto; padding: 12px 32px 28px; color: var(--muted);
  font-size: 12px; border-top: 1px solid var(--line); }
@media (max-width: 900px) { .map-grid { grid-template-columns: 1fr; } }
@media print {
  body { background: #fff; } header { background: #fff; color: #000; }
  .legend { position: static; } .chip { break-inside: avoid; }
}
"""
