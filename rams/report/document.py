"""The survey report: one self-contained HTML file (inline CSS, images as data URIs).

Nothing in the page refers outside it, so it opens offline, from a USB stick in the field.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import geopandas as gpd
from pyproj import Transformer

from rams.flight import Flight
from rams.flight_view import NODATA_GREY, FlightView, read_view
from rams.outputs import write_text
from rams.report import mapview as mv
from rams.report.chips import CHIP_LIMIT, Chip, framed_chips, ranked, submunition_chips
from rams.report.stats import M2_PER_HA, AreaShare, SurveyTally, review_in_areas, tally
from rams.report.style import CSS


@dataclass(frozen=True)
class Report:
    """A survey report whose images are drawn: :meth:`write` only lays out the page, so a job
    can time the drawing as a stage and still show every stage's time in the page."""

    flight: Flight
    tally: SurveyTally
    map_png: bytes
    map_size: tuple[int, int]
    galleries: tuple[str, ...]
    limitations: tuple[str, ...] = ()
    #: Ground size (m) of a map pixel.
    map_px_m: float = 0.0

    def write(self, out_html: str | os.PathLike, summary: Mapping[str, object]) -> Path:
        """Write the page to ``out_html`` (to a temporary name, then renamed into place, so an
        existing report is never half-overwritten); ``summary`` is shown as a key/value table
        (run time, throughput, model, configuration). Returns the path written."""
        out = Path(out_html)
        write_text(out, _page(self.flight, summary, self.tally, self.map_png, self.map_size, self.map_px_m,
                              list(self.galleries), self.limitations))
        return out


def render_report(
    flight: Flight,
    layers: Mapping[str, gpd.GeoDataFrame],
    view: FlightView | None = None,
    *,
    cut_chips: Mapping[tuple[float, float], bytes] | None = None,
    chip_limit: int = CHIP_LIMIT,
    limitations: Sequence[str] = (),
) -> Report:
    """Draw the report of ``flight`` and its output ``layers``: the map over ``view`` (the survey
    pass's by-product; read from the flight when None) and the detections' chips.

    ``layers`` are the survey GeoPackage layers by name (any may be missing or empty; layers in
    another CRS are reprojected to the flight's). ``limitations`` (the model card's known limits)
    are listed beside the notice that detections are unreviewed. At most ``chip_limit`` chips per
    layer are shown, the most confident first: submunition chips ``cut_chips`` in the region pass
    (by point, see :func:`~rams.report.chips.cut_point_chips`), the others read from the flight.
    """
    frames = {name: _in_crs(frame, flight) for name, frame in layers.items() if frame is not None}
    view = read_view(flight) if view is None else view
    to_lonlat = Transformer.from_crs(flight.crs, "EPSG:4326", always_xy=True).transform
    reach = [frames[n].total_bounds for n in ("hazard_areas", "strike_footprints") if n in frames and len(frames[n])]
    if reach:
        view = mv.extended(view, (min(b[0] for b in reach), min(b[1] for b in reach),
                                  max(b[2] for b in reach), max(b[3] for b in reach)))
    figures = tally(frames, flight.width * flight.height * flight.gsd_m**2)
    galleries, labels = [], []
    for layer, title, make in (
        ("submunitions", "Submunition detections", partial(submunition_chips, cut=cut_chips)),
        ("trenches", "Trench detections", partial(framed_chips, layer="trenches")),
        ("positions", "Position detections", partial(framed_chips, layer="positions")),
    ):
        frame = frames.get(layer)
        rows = ranked(frame, chip_limit)
        total = len(ranked(frame, len(frame))) if frame is not None else 0
        chips = make(flight, frame, rows) if rows else []
        labels += [(chip.x_m, chip.y_m, f"{PREFIX[layer]}{chip.number}") for chip in chips]
        galleries.append(_gallery(layer, title, chips, total, to_lonlat))
    hazards = frames.get("hazard_areas")
    rows = _hazard_rows(hazards, frames, to_lonlat) if hazards is not None else []
    labels += [(row["x"], row["y"], row["label"]) for row in rows]
    map_png = _png(mv.render_map(view, frames, labels))
    return Report(flight, figures, map_png, view.size, (_hazard_table(rows), *galleries), tuple(limitations),
                  abs(view.transform.a))


#: The letter before a feature's number on the map, in the chips and in the tables.
PREFIX = {"submunitions": "S", "trenches": "T", "positions": "P", "hazard_areas": "H"}


def _hazard_rows(frame: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame], to_lonlat) -> list[dict]:
    """One row per hazard area (layer order), numbered H1…, anchored at a point inside it, with
    the reviewed detections touching it."""
    rows = []
    reviewed = review_in_areas(frame, dict(layers))
    for i, (geom, record, review) in enumerate(zip(frame.geometry, frame.to_dict("records"), reviewed, strict=True),
                                               start=1):
        if geom is None or geom.is_empty:
            continue
        anchor = geom.representative_point()
        lon, lat = to_lonlat(anchor.x, anchor.y)
        rows.append({"label": f"{PREFIX['hazard_areas']}{i}", "x": anchor.x, "y": anchor.y, "lon": lon, "lat": lat,
                     "review": review, **record})
    return rows


def _hazard_table(rows: list[dict]) -> str:
    if not rows:
        return ('<section class="gallery" id="hazard-areas"><h2>Suspected hazard areas</h2>'
                '<p class="note">No suspected hazard areas.</p></section>')

    def number(row: dict, key: str, digits: int = 0) -> str:
        value = row.get(key)
        return "—" if value is None or value != value else _num(float(value), digits)

    body = "".join(
        f"<tr><th>{_esc(r['label'])}</th><td><code>{_esc(r.get('hazard_id', ''))}</code></td>"
        f"<td>{_esc(r.get('hazard_type', ''))}</td><td class='n'>{number(r, 'area_m2')}</td>"
        f"<td class='n'>{number(r, 'evidence_count')}</td><td class='n'>{number(r, 'max_confidence', 2)}</td>"
        f"<td class='n'>{number(r, 'not_assessable_m2')}</td><td class='n'>{number(r, 'unimaged_m2')}</td>"
        f"<td>{r['lat']:.6f}, {r['lon']:.6f}<span class='sub'>E {r['x']:.1f} N {r['y']:.1f}</span></td>"
        f"<td>{_esc(r.get('review_status') or 'unreviewed')}<span class='sub'>{_area_review(r['review'])}</span></td>"
        f"<td>{_esc(r.get('proposed_status') or 'SHA')}</td></tr>"
        for r in rows
    )
    return f"""
<section class="gallery" id="hazard-areas">
  <h2>Suspected hazard areas</h2>
  <p class="note">Number = label on the map. Areas do not overlap: where CMR and fortification
  evidence meet, the shared ground is one <code>CMR+FORTIFICATION</code> area. Unimaged ground lies
  outside the flight's imagery (an area keeps its fade-out past the edge); not-assessable ground
  was imaged but could not be assessed. Neither is ever clear.</p>
  <table class="data"><thead><tr><th>#</th><th>hazard_id</th><th>Type</th><th class='n'>Area m²</th>
  <th class='n'>Items</th><th class='n'>Highest confidence</th><th class='n'>Not assessable m²</th>
  <th class='n'>Unimaged m²</th><th>Inside point: lat, lon (WGS 84)</th><th>Review</th><th>Proposed</th></tr>
  </thead>
  <tbody>{body}</tbody></table>
</section>"""


def _area_review(review: Mapping[str, int]) -> str:
    """Reviewed detections touching an area, e.g. "2 confirmed, 1 rejected"."""
    return ", ".join(f"{n} {state}" for state, n in review.items() if n)


def write_report(
    out_html: str | os.PathLike,
    flight: Flight,
    layers: Mapping[str, gpd.GeoDataFrame],
    summary: Mapping[str, object],
    *,
    view: FlightView | None = None,
    chip_limit: int = CHIP_LIMIT,
    limitations: Sequence[str] = (),
) -> Path:
    """:func:`render_report`, then :meth:`Report.write` to ``out_html``; returns the path."""
    report = render_report(flight, layers, view, chip_limit=chip_limit, limitations=limitations)
    return report.write(out_html, summary)


def chip_anchor(layer: str, number: int) -> str:
    """The fragment (``#…``) of a detection's chip in the report; ``number`` is its 1-based row."""
    return f"#{layer}-{number}"


def _in_crs(frame: gpd.GeoDataFrame, flight: Flight) -> gpd.GeoDataFrame:
    if frame.crs is not None and not frame.empty and frame.crs != flight.crs:
        return frame.to_crs(flight.crs)
    return frame


def _png(image) -> bytes:
    buffer = io.BytesIO()
    # aerial texture barely compresses further; a lower level halves the encoding time
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --- formatting -------------------------------------------------------------------------------

def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _area(area_m2: float) -> str:
    return f"{_num(area_m2)} m² <span class=\"sub\">{_num(area_m2 / M2_PER_HA, 2)} ha</span>"


def _percent(share: AreaShare | None) -> str:
    return "—" if share is None or share.percent is None else f"{share.percent:.1f} %"


def _value(value: object) -> str:
    """A summary value as HTML: nested mappings as tables, floats to 4 significant digits."""
    if isinstance(value, Mapping):
        if not value:
            return "—"
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_value(v)}</td></tr>" for k, v in value.items())
        return f'<table class="kv nested">{rows}</table>'
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "—"
    if isinstance(value, bool) or value is None:
        return _esc("—" if value is None else value)
    if isinstance(value, float):
        return _esc(f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}")
    if isinstance(value, int):
        return _esc(f"{value:,}")
    return f'<span class="text">{_esc(value)}</span>'


# --- page sections ----------------------------------------------------------------------------

def _card(label: str, value: str, detail: str = "", tone: str = "") -> str:
    return (
        f'<div class="card {tone}"><div class="label">{label}</div>'
        f'<div class="value">{value}</div><div class="detail">{detail}</div></div>'
    )


def _cards(t: SurveyTally, summary: Mapping[str, object]) -> str:
    hazard_n = sum(n for n, _ in t.hazard_areas.values())
    hazard_m2 = sum(a for _, a in t.hazard_areas.values())
    cards = [
        _card("Suspected hazard areas", _num(hazard_n),
              f"{_num(hazard_m2 / M2_PER_HA, 2)} ha", "hazard"),
        _card("Submunitions", _num(t.submunitions), "point detections"),
        _card("Trenches", _num(t.trenches), f"{_num(t.trench_length_m)} m total"),
        _card("Positions", _num(t.positions), f"{_num(t.position_area_m2)} m² total"),
        _card("Area covered",
              "—" if t.coverage is None else f"{_num(t.coverage.area_m2 / M2_PER_HA, 2)} ha",
              "—" if t.coverage is None else f"{_percent(t.coverage)} of the flight extent"),
        _card("Not assessable", f"{_num(t.not_assessable.area_m2 / M2_PER_HA, 2)} ha",
              f"{_percent(t.not_assessable)} of the area covered", "caution"),
    ]
    seconds = summary.get("seconds")
    if isinstance(seconds, int | float):
        rate = [f"{summary[k]:,.3g} {unit}" for k, unit in
                (("mpix_per_s", "MPix/s"), ("km2_per_h", "km²/h"))
                if isinstance(summary.get(k), int | float)]
        cards.append(_card("Processing time", f"{seconds:,.1f} s", " · ".join(rate)))
    return f'<section class="cards">{"".join(cards)}</section>'


_LEGEND = (
    ("hazard-cmr", "Suspected hazard area, CMR"),
    ("hazard-fort", "Suspected hazard area, fortification"),
    ("hazard-both", "Suspected hazard area, CMR and fortification"),
    ("footprint", "Strike footprint"),
    ("submunition", "Submunition"),
    ("trench", "Trench"),
    ("position", "Position"),
    ("unassessable", "Not assessable"),
    ("coverage", "Area covered (outline)"),
    ("nodata", "No imagery (inside the flight's extent)"),
    ("unimaged", "Beyond the flight: unimaged, never clear"),
)


def _swatch(kind: str) -> str:
    """A small inline SVG drawn with the same styles as the map."""
    def rgb(c: tuple[int, int, int], a: float = 1.0) -> str:
        return f"rgba({c[0]},{c[1]},{c[2]},{a})"

    orange, grey = mv.HAZARD_ORANGE, mv.UNASSESSABLE_GREY
    hatch = (
        '<defs><pattern id="h-{id}" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate({deg})"><line x1="0" y1="0" x2="0" y2="5" stroke="{c}" '
        'stroke-width="1.4"/></pattern></defs>'
    )
    body = {
        "hazard-cmr": f'<rect x="2" y="2" width="24" height="16" fill="{rgb(orange, 0.4)}" '
        f'stroke="{rgb(orange)}" stroke-width="2.5"/>',
        "hazard-fort": hatch.format(id="fort", deg=-45, c=rgb(orange))
        + f'<rect x="2" y="2" width="24" height="16" fill="url(#h-fort)" '
        f'stroke="{rgb(orange)}" stroke-width="2.5"/>',
        "hazard-both": hatch.format(id="both", deg=-45, c=rgb(orange))
        + f'<rect x="2" y="2" width="24" height="16" fill="{rgb(orange, 0.4)}"/>'
        f'<rect x="2" y="2" width="24" height="16" fill="url(#h-both)" '
        f'stroke="{rgb(orange)}" stroke-width="2.5"/>',
        "unimaged": f'<rect x="2" y="2" width="24" height="16" fill="{rgb(mv.UNIMAGED_WHITE)}" '
        f'stroke="#bbb" stroke-width="1" stroke-dasharray="2 2"/>',
        "footprint": f'<rect x="2" y="2" width="24" height="16" fill="none" '
        f'stroke="{rgb(mv.FOOTPRINT_RED)}" stroke-width="2" stroke-dasharray="5 3"/>',
        "submunition": f'<circle cx="14" cy="10" r="5.5" fill="{rgb(mv.SUBMUNITION_RED, 0.25)}" '
        f'stroke="{rgb(mv.SUBMUNITION_RED)}" stroke-width="2"/>',
        "trench": f'<polyline points="2,15 8,6 14,14 20,5 26,13" fill="none" '
        f'stroke="{rgb(mv.TRENCH_BROWN)}" stroke-width="3" stroke-linejoin="round"/>',
        "position": f'<rect x="2" y="2" width="24" height="16" rx="5" '
        f'fill="{rgb(mv.POSITION_PURPLE, 0.25)}" stroke="{rgb(mv.POSITION_PURPLE)}" '
        f'stroke-width="2"/>',
        "unassessable": hatch.format(id="na", deg=45, c=rgb(grey, 0.9))
        + f'<rect x="2" y="2" width="24" height="16" fill="{rgb(grey, 0.25)}"/>'
        f'<rect x="2" y="2" width="24" height="16" fill="url(#h-na)" '
        f'stroke="{rgb(grey)}" stroke-width="1"/>',
        "coverage": f'<rect x="2" y="2" width="24" height="16" fill="none" '
        f'stroke="{rgb(mv.COVERAGE_BLUE)}" stroke-width="2"/>',
        "nodata": f'<rect x="2" y="2" width="24" height="16" fill="{rgb(NODATA_GREY)}" '
        f'stroke="#bbb" stroke-width="1"/>',
    }[kind]
    return f'<svg class="swatch" width="28" height="20" viewBox="0 0 28 20">{body}</svg>'


def _map_section(flight: Flight, map_png: bytes, size: tuple[int, int], metres_per_px: float) -> str:
    legend = "".join(f"<li>{_swatch(kind)}<span>{label}</span></li>" for kind, label in _LEGEND)
    return f"""
<section class="map-section">
  <h2>Map</h2>
  <div class="map-grid">
    <figure class="map">
      <img id="map" src="{_data_uri(map_png)}" width="{size[0]}" height="{size[1]}"
           alt="Map of flight {_esc(flight.flight_id)} with the survey layers">
      <figcaption>Flight imagery averaged to {metres_per_px:.2f} m per pixel, north up,
      {_esc(flight.crs.to_string())}.</figcaption>
    </figure>
    <aside class="legend"><h3>Legend</h3><ul>{legend}</ul></aside>
  </div>
</section>"""


def _review_notice(t: SurveyTally) -> str:
    """The notice on the evidence: unreviewed, or how far a person has reviewed it."""
    unassessable = ("Ground marked <i>not assessable</i> was imaged but could not be assessed: "
                    "never read it as clear.")
    total = sum(c.get("total", 0) for c in t.review.values())
    done = total - sum(c.get("unreviewed", 0) for c in t.review.values())
    if not done:
        return ('<p class="notice"><b>Indirect evidence, unreviewed.</b> Every detection is a model output that a '
                "person has not yet checked, so every hazard area is <i>suspected</i> (SHA). "
                f"{unassessable}</p>")
    rows = "".join(
        f"<tr><th>{_esc(layer)}</th><td class='n'>{_num(c['total'] - c['unreviewed'])} of {_num(c['total'])}</td>"
        f"<td class='n'>{_num(c['confirmed'])}</td><td class='n'>{_num(c['rejected'])}</td>"
        f"<td class='n'>{_num(c['unsure'])}</td></tr>"
        for layer, c in t.review.items())
    return (f'<p class="notice" id="review"><b>Reviewed: {_num(done)} of {_num(total)} detections.</b> A confirmed '
            "detection is direct evidence; a rejected one stays in its layer, marked, and is evidence of nothing. "
            "An area with a confirmed item is <i>proposed</i> CHA; its status stays SHA until the national "
            f"authority decides. {unassessable}</p>"
            '<section class="tables"><div><h2>Review</h2><table class="data"><thead><tr><th>Layer</th>'
            "<th class='n'>Reviewed</th><th class='n'>Confirmed</th><th class='n'>Rejected</th>"
            f"<th class='n'>Unsure</th></tr></thead><tbody>{rows}</tbody></table></div></section>")


def _tables(t: SurveyTally) -> str:
    detections = [
        ("Submunitions", _num(t.submunitions), "—"),
        ("Trenches", _num(t.trenches), f"{_num(t.trench_length_m, 1)} m total length"),
        ("Positions", _num(t.positions), _area(t.position_area_m2)),
        ("Strike footprints", _num(t.strike_footprints), f"{_num(t.strike_items)} items"),
    ]
    rows = "".join(f"<tr><th>{a}</th><td class='n'>{b}</td><td>{c}</td></tr>"
                   for a, b, c in detections)
    hazard_rows = "".join(
        f"<tr><th>{_esc(kind)}</th><td class='n'>{_num(n)}</td><td>{_area(m2)}</td></tr>"
        for kind, (n, m2) in t.hazard_areas.items()
    ) or "<tr><td colspan='3' class='none'>No suspected hazard areas.</td></tr>"

    def ground_row(label: str, share: AreaShare | None, cls: str = "") -> str:
        if share is None:
            return f"<tr class='{cls}'><th>{label}</th><td>—</td><td class='n'>—</td></tr>"
        return (f"<tr class='{cls}'><th>{label}</th><td>{_area(share.area_m2)}</td>"
                f"<td class='n'>{_percent(share)}</td></tr>")

    ground = [
        ground_row("Flight extent", AreaShare(t.extent_m2, None)),
        ground_row("Area covered <span class='sub'>(of extent)</span>", t.coverage),
        ground_row("Assessable <span class='sub'>(of covered)</span>", t.assessable),
        ground_row("Not assessable <span class='sub'>(of covered)</span>", t.not_assessable),
        *(ground_row(f"{_esc(reason)}", share, "reason")
          for reason, share in t.not_assessable_by_reason.items()),
    ]
    return f"""
<section class="tables">
  <div><h2>Detections</h2>
    <table class="data"><thead><tr><th>Class</th><th class='n'>Count</th><th>Measure</th></tr>
    </thead><tbody>{rows}</tbody></table></div>
  <div><h2>Suspected hazard areas</h2>
    <table class="data"><thead><tr><th>Type</th><th class='n'>Count</th><th>Area</th></tr>
    </thead><tbody>{hazard_rows}</tbody></table></div>
  <div><h2>Ground</h2>
    <table class="data"><thead><tr><th></th><th>Area</th><th class='n'>Share</th></tr></thead>
    <tbody>{"".join(ground)}</tbody></table></div>
</section>"""


def _gallery(layer: str, title: str, chips: list[Chip], total: int, to_lonlat) -> str:
    if total == 0:
        return (f'<section class="gallery" id="{layer}"><h2>{title}</h2>'
                f'<p class="note">No detections.</p></section>')
    figures = []
    for chip in chips:
        conf = "—" if chip.confidence is None else f"{chip.confidence:.2f}"
        lon, lat = to_lonlat(chip.x_m, chip.y_m)
        figures.append(
            f'<figure class="chip" id="{chip_anchor(layer, chip.number)[1:]}">'
            f'<div class="frame"><img class="chip-img" src="{_data_uri(chip.png)}" '
            f'width="{chip.width}" height="{chip.height}" alt="{layer} {chip.number}">'
            f'<svg class="mark {layer}" viewBox="0 0 {chip.width} {chip.height}" '
            f'preserveAspectRatio="none">{chip.mark_svg}</svg></div>'
            f'<figcaption><b>{PREFIX[layer]}{chip.number}</b><span class="conf">{conf}</span>'
            f'<span class="xy"><span>{lat:.6f}, {lon:.6f}</span>'
            f'<span>E {chip.x_m:.1f} N {chip.y_m:.1f}</span></span>'
            f"</figcaption>"
            f'</figure>'
        )
    if len(chips) == total:
        shown = f"all {_num(total)}"
        rest = ""
    else:
        shown = f"the {_num(len(chips))} most confident of {_num(total)}"
        rest = (f" <b>{_num(total - len(chips))} detections are not shown here</b>: they are in the "
                f"<code>{layer}</code> layer of the GeoPackage with every field"
                + (", their <code>chip</code> field empty" if layer == "submunitions" else "") + ".")
    return f"""
<section class="gallery" id="{layer}">
  <h2>{title}</h2>
  <p class="note">Showing {shown}, most confident first.{rest} Number = row in the
  <code>{layer}</code> layer and label on the map ({PREFIX[layer]}…); hover a chip to hide its marker.</p>
  <div class="chips">{"".join(figures)}</div>
</section>"""


def _limitations(model: object, limits: Sequence[str]) -> str:
    """The model card's known limits as a notice list (nothing when the card gives none)."""
    if not limits:
        return ""
    items = "".join(f"<li>{_esc(text)}</li>" for text in limits)
    return (f'<div class="notice limits"><b>Known limits of {_esc(model)}</b> (from its model card):'
            f"<ul>{items}</ul></div>")


def _page(
    flight: Flight,
    summary: Mapping[str, object],
    t: SurveyTally,
    map_png: bytes,
    map_size: tuple[int, int],
    map_px_m: float,
    galleries: list[str],
    limitations: Sequence[str] = (),
) -> str:
    flight_id = _esc(summary.get("flight_id") or flight.flight_id)
    facts = [
        Path(flight.path).name,
        f"{flight.width:,} × {flight.height:,} px",
        f"GSD {flight.gsd_m * 100:.1f} cm",
        flight.crs.to_string(),
    ]
    if summary.get("started"):
        facts.append(f"run {summary['started']}")
    processing = "".join(f"<tr><th>{_esc(k)}</th><td>{_value(v)}</td></tr>"
                         for k, v in summary.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Survey report · {flight_id}</title>
<style>{CSS}</style>
</head>
<body>
<header>
  <div class="brand">rams · Remote Aerial Minefield Survey</div>
  <h1>Survey report <span>{flight_id}</span></h1>
  <p class="facts">{" · ".join(_esc(f) for f in facts)}</p>
</header>
<main>
{_review_notice(t)}
{_limitations(summary.get("model", ""), limitations)}
{_cards(t, summary)}
{_map_section(flight, map_png, map_size, map_px_m)}
{_tables(t)}
<section class="processing"><h2>Processing</h2>
<table class="kv">{processing or "<tr><td>No run summary.</td></tr>"}</table></section>
{"".join(galleries)}
</main>
<footer>Generated by rams {_esc(summary.get("rams_version", ""))}. Areas in m² and hectares
in {_esc(flight.crs.to_string())}; coordinates are latitude and longitude in WGS 84 (EPSG:4326) and
eastings and northings in metres in {_esc(flight.crs.to_string())}.</footer>
</body>
</html>
"""


# --- shared with the campaign report (rams.report.campaign), so both pages read alike ---------

esc = _esc
num = _num
area_html = _area
card = _card
swatch = _swatch
review_notice = _review_notice
value_html = _value
