"""Is one model better than another? (`rams compare BEFORE.json AFTER.json [-o diff.json]`)

Both files are `rams evaluate --out` reports of the same labelled flights (several of them),
scored the same way. The pooled precision, recall and F1 of each class are differenced, AFTER
minus BEFORE, and a paired bootstrap over the flights (both models scored on the same draw)
gives each difference a 95 % range and the share of draws in which it is positive: a range
that holds zero is a difference that another draw of as many such flights could undo.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rams.errors import RamsError, refuse_existing
from rams.evaluation.metrics import bootstrap_difference
from rams.outputs import write_json
from rams.pipelines.evaluate import describe_networks

#: Draws of the paired bootstrap over flights.
DRAWS = 2000


def read_report(path: str | Path) -> dict:
    """A `rams evaluate --out` report of several flights (``flights`` and ``pooled``)."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RamsError(path, f"not a readable rams evaluate report ({err})") from err
    if not isinstance(report, dict) or not isinstance(report.get("flights"), list) or len(report["flights"]) < 2:
        raise RamsError(path, "not a rams evaluate report of two or more flights (run rams evaluate "
                              "with several --flight and --out)")
    return report


def paired_counts(before: dict, after: dict, after_path: str | Path) -> tuple[list[dict], list[dict], list[str]]:
    """The per-flight metrics (counts and lengths) of both reports, in the same flight order, and
    the flights' names; refuses reports of different flights or scored with different matching
    rules."""
    names = [r["flight"] for r in before["flights"]]
    by_name = {r["flight"]: r for r in after["flights"]}
    if sorted(names) != sorted(by_name) or len(set(names)) != len(names):
        missing = sorted(set(names) ^ set(by_name)) or ["a flight named twice"]
        raise RamsError(after_path, f"not the same flights as the first report ({', '.join(missing[:3])})")
    if before["flights"][0]["matching"] != after["flights"][0]["matching"]:
        raise RamsError(after_path, "scored with other matching rules than the first report "
                                    f"({after['flights'][0]['matching']} against {before['flights'][0]['matching']})")
    return [r["metrics"] for r in before["flights"]], [by_name[n]["metrics"] for n in names], names


def format_difference(comparison: dict) -> str:
    """A :func:`compare` result as plain text: the differences per class with their 95 % ranges."""
    diff, flights = comparison["difference"], len(comparison["flights"])
    lines = [f"{comparison['after_networks']} against {comparison['before_networks']} on {flights} flights "
             f"(after minus before; 95% range of a paired bootstrap over the flights, {DRAWS} draws)",
             f"{'class':<12} {'precision':>24} {'recall':>24} {'f1':>24}  f1 higher in"]
    for cls, d in diff.items():
        cells = [f"{d[k]:+.3f} [{d[f'{k}_low']:+.3f}, {d[f'{k}_high']:+.3f}]" for k in ("precision", "recall", "f1")]
        lines.append(f"{cls:<12} {cells[0]:>24} {cells[1]:>24} {cells[2]:>24}  {d['f1_above_zero']:.0%} of draws")
    return "\n".join(lines)


def compare(
    before: str | os.PathLike,
    after: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
) -> dict:
    """Difference two `rams evaluate` reports of the same flights, ``after`` minus ``before``.

    Returns (and writes to ``out`` as JSON, when given) the report paths, the networks behind each
    (``before_networks``, ``after_networks``), the flights, the bootstrap ``draws`` and, per class,
    the difference in precision, recall and F1 with its 95 % range (``difference``; see
    :func:`format_difference`). An existing ``out`` is refused unless ``overwrite``.
    """
    refuse_existing(out, overwrite=overwrite)
    first, second = read_report(before), read_report(after)
    counts_before, counts_after, names = paired_counts(first, second, after)
    doc = {"before": str(before), "after": str(after),
           "before_networks": describe_networks(first["flights"][0], sha_chars=12),
           "after_networks": describe_networks(second["flights"][0], sha_chars=12),
           "flights": names, "draws": DRAWS,
           "difference": bootstrap_difference(counts_before, counts_after, DRAWS)}
    if out is not None:
        write_json(out, doc)
    return doc
