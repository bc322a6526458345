#!/usr/bin/env bash
# The held-out flights the real-ground detector (rams-det-v3 with rams-ver-v11) is judged on,
# written under runs/eval/ (none of them was trained or validated on):
#   real/      the test frames of both real-ground flights (caliterra IMG_9428-IMG_9430,
#              brighton DJI_0030-DJI_0031) with rams' field-catalogue objects composited, at
#              1.0 and 1.5 cm, one seed per frame (its number);
#   synth/     rams synth flights of seeds 3101-3110 at 1, 2 and 3 cm (2048 x 2048 px);
#   blind/     the 30 held-out flights of seeds 3101-3130 at 2-4 cm the shipped models were
#              judged on (experiments/DETECTOR.md), and under the rams degrade shifts.
# Usage: experiments/eval_sets.sh REAL_GROUND   (the folder holding caliterra/ and brighton/)
set -euo pipefail
root=${1:?the folder holding caliterra/ and brighton/}
out=runs/eval
mkdir -p $out/real $out/synth $out/blind $out/degraded/jpeg70 $out/degraded/blur1
for gsd in 0.01 0.015; do
  for f in caliterra/IMG_9428 caliterra/IMG_9429 caliterra/IMG_9430 brighton/DJI_0030 brighton/DJI_0031; do
    t=$out/real/${f#*/}_$gsd.tif
    [ -f "$t" ] || rams -q synth "$t" --frame "$root"/$f.* --gsd $gsd --seed ${f#*_}
  done
done
for gsd in 0.01 0.02 0.03; do
  for s in $(seq 3101 3110); do
    t=$out/synth/s${s}_$gsd.tif
    [ -f "$t" ] || rams -q synth "$t" --size-px 2048 2048 --gsd $gsd --seed $s
  done
done
g=(0.02 0.025 0.03 0.035 0.04)
for i in $(seq 0 29); do s=$((3101 + i))
  t=$out/blind/blind-s$s.tif
  [ -f "$t" ] || rams -q synth "$t" --size-px 2048 2048 --gsd ${g[$((i % 5))]} --seed $s
  [ -f $out/degraded/jpeg70/blind-s$s.tif ] || rams -q degrade "$t" $out/degraded/jpeg70/blind-s$s.tif --jpeg-quality 70
  [ -f $out/degraded/blur1/blind-s$s.tif ] || rams -q degrade "$t" $out/degraded/blur1/blind-s$s.tif --blur-px 1
done
