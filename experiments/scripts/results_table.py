"""One line per pooled evaluation report: submunitions (items of 5 px or more) P / R / F1 with
tp, fp, fn and false per ha, recall of items of 8 px or more, the expected calibration error,
and positions and trenches F1.

    python experiments/scripts/results_table.py runs/eval/results/TAG-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

for path in sys.argv[1:]:
    r = json.loads(Path(path).read_text())
    r = r.get("pooled", r)
    s, p, t = (r["metrics"][k] for k in ("submunition", "position", "trench"))
    sizes = r.get("submunition_by_size_px", {})
    big = [sizes[k] for k in ("8_to_16_px", "16_px_and_more") if k in sizes]
    tp8, n8 = sum(b["tp"] for b in big), sum(b["tp"] + b["fn"] for b in big)
    ece = r.get("submunition_calibration", {}).get("expected_calibration_error")
    print(f"{Path(path).stem:<22} sub P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
          f"({s['tp']:.0f}/{s['fp']:.0f}/{s['fn']:.0f}) {s['fp_per_ha']:6.1f} fp/ha | "
          f"R>=8px {tp8 / max(n8, 1):.3f} ({tp8:.0f}/{n8:.0f}) | ECE {ece if ece is None else round(ece, 3)} | "
          f"pos F1 {p['f1']:.3f} trench F1 {t['f1']:.3f}")
