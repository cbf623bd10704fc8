#!/usr/bin/env bash
# The seed's question, answered properly: adapters (seq_bn), LoRA, full fine-tuning and the head alone on
# the built-in default model (all-MiniLM-L6-v2) and Rotten Tomatoes, each at its own best learning rate
# (chosen on a validation split), over 3 seeds, 2 epochs each, with significance tests and costs.
#   scripts/compare.sh [OUTPUT]        # default runs/compare; rerun to resume; takes ~1.5 h on 2 cores
# Then it copies report.md, comparison.json, report.html and screenshots of the report into docs/compare/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
OUT=${1:-runs/compare}
DATA=$OUT/data
mkdir -p "$DATA"
# A validation split for choosing learning rates: 1,066 reviews (half of each label) out of the training
# file, drawn with a fixed seed; the test file is used only for the reported numbers.
python3 - "$DATA" <<'PY'
import json, random, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open("data/rotten_tomatoes/train.jsonl", encoding="utf-8")]
rng = random.Random(2026)
idx = list(range(len(rows)))
rng.shuffle(idx)
held, taken = set(), {0: 0, 1: 0}
for i in idx:
    y = rows[i]["label"]
    if taken[y] < 533:
        held.add(i)
        taken[y] += 1
for name, keep in (("train.jsonl", lambda i: i not in held), ("validation.jsonl", lambda i: i in held)):
    tmp = f"{out}/{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            if keep(i):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    import os
    os.replace(tmp, f"{out}/{name}")
PY
.build/release/adapters compare --train "$DATA/train.jsonl" --eval "$DATA/validation.jsonl" \
  --test data/rotten_tomatoes/test.jsonl --methods seq_bn,lora,full,head --seeds 42,43,44 --epochs 2 \
  --max-length 64 --label-names negative,positive --output "$OUT"

DOCS=docs/compare
mkdir -p "$DOCS"
cp "$OUT/report.md" "$OUT/comparison.json" "$OUT/report.html" "$DOCS/"
# Screenshots of the report as a browser shows it, at a desktop and a phone width (the report tests take
# the same). Chromium windows are at least 500 px wide: the page goes into an iframe of the width, whose
# content height a first pass measures.
if command -v chromium >/dev/null; then
  python3 - "$DOCS" <<'PY'
import html, json, os, re, subprocess, sys
docs = sys.argv[1]
def chromium(*args):
    return subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--allow-file-access-from-files", *args], capture_output=True, text=True, timeout=120).stdout
for width in (1280, 420):
    frame = os.path.join(docs, ".frame.html")
    measure = ("<script>document.getElementById('f').addEventListener('load',()=>{const d=document.getElementById('f')"
               ".contentDocument;document.body.setAttribute('data-h',Math.ceil(d.body.getBoundingClientRect().bottom+16))})"
               "</script>")
    page = '<!doctype html><body style="margin:0"><iframe id="f" src="report.html" style="border:0;width:%dpx;height:%dpx"></iframe>%s'
    with open(frame, "w") as f:
        f.write(page % (width, 40000, measure))
    dom = chromium(f"--window-size={max(width, 500)},800", "--dump-dom", "file://" + os.path.abspath(frame))
    height = int(re.search(r'data-h="(\d+)"', dom).group(1))
    with open(frame, "w") as f:
        f.write(page % (width, height, ""))
    chromium(f"--window-size={max(width, 500)},{height}", f"--screenshot={docs}/report-{width}.png", "file://" + os.path.abspath(frame))
    os.remove(frame)
PY
fi
echo "docs: $DOCS/report.md, comparison.json, report.html, report-1280.png, report-420.png"
