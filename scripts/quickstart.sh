#!/usr/bin/env bash
# The seed's workflow on the built-in default: the real all-MiniLM-L6-v2 and Rotten Tomatoes.
# Through the Swift API (examples/Workflow): add a seq_bn adapter and a classification head, train
# one epoch (~2-3 minutes on two cores), evaluate, predict three sentences with the pipeline, save
# the adapter (size next to the model's), deactivate and delete it, and check that the base model's
# weights and outputs are bit-identical to before. Then the CLI predicts with the saved folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product Workflow
OUT=runs/quickstart
.build/release/Workflow sentence-transformers/all-MiniLM-L6-v2 "$OUT"

echo "== the same adapter folder from the command line: adapters predict --adapter $OUT/rotten_tomatoes"
printf '%s\n' "A gripping, beautifully acted film." "Dull, predictable and far too long." \
  "I laughed, I cried, I want to see it again." > "$OUT/examples.txt"
.build/release/adapters predict --adapter "$OUT/rotten_tomatoes" --input "$OUT/examples.txt" --top-k 2 \
  | sed 's/"logits":\[[^]]*\],//'
