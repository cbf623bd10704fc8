#!/usr/bin/env bash
# The seed's workflow on the built-in default: the real all-MiniLM-L6-v2 and Rotten Tomatoes.
# Trains a seq_bn adapter with a classification head (one epoch, ~2-3 minutes on two cores),
# evaluates it, predicts three sentences, and shows the adapter's size next to the model's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
B=.build/release/adapters
OUT=runs/quickstart

echo "== train: seq_bn adapter + head on data/rotten_tomatoes (9,596 reviews), evaluate on its test split"
$B train --train data/rotten_tomatoes/train.jsonl --eval data/rotten_tomatoes/test.jsonl \
  --method seq_bn --adapter-name rotten_tomatoes --label-names negative,positive \
  --learning-rate 1e-3 --weight-decay 0.01 --max-length 64 --epochs 1 --log-every 50 --output "$OUT" >/dev/null
python3 - "$OUT/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["eval"]
print("test accuracy %.4f, macro-F1 %.4f after %d steps in %.0f s (%.0f samples/s)"
      % (e["accuracy"], e["macro_f1"], s["steps"], s["seconds"], s["samples_per_second"]))
PY

echo "== predict with the adapter"
printf '%s\n' "A gripping, beautifully acted film." "Dull, predictable and far too long." "I laughed, I cried, I want to see it again." > "$OUT/examples.txt"
$B predict --adapter "$OUT/rotten_tomatoes" --input "$OUT/examples.txt" | cut -c1-80 | paste -d' ' "$OUT/examples.txt" - | sed 's/,"logits.*//'

echo "== sizes"
du -b "$OUT/rotten_tomatoes"/*.safetensors .cache/models/all-MiniLM-L6-v2/model.safetensors | awk '{printf "%10.2f MB  %s\n", $1/1e6, $2}'
