#!/usr/bin/env bash
# Evaluate one detector model folder (with its verifier and context model) on the held-out sets
# experiments/eval_sets.sh wrote; one pooled JSON per set under runs/eval/results/TAG-*.json.
# Usage: experiments/eval_model.sh MODEL TAG
set -euo pipefail
model=${1:?model name or folder}; tag=${2:?a tag for the result files}
e=runs/eval; r=$e/results; mkdir -p $r
ev() { rams -q evaluate --model "$model" --overwrite --min-visible-fraction 0.01 --min-length-px 5 \
       --min-position-visible-share 0.5 "$@" > /dev/null; }
for g in 0.01 0.015; do ev --flight $e/real/*_$g.tif -o $r/$tag-real-$g.json; done
for g in 0.01 0.02 0.03; do ev --flight $e/synth/s31??_$g.tif -o $r/$tag-synth-$g.json; done
ev --flight $e/blind/blind-s31??.tif -o $r/$tag-blind.json
for k in jpeg70 blur1; do
  ev --flight $e/degraded/$k/blind-s31??.tif -o $r/$tag-$k.json
done
