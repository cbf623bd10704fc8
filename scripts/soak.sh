#!/usr/bin/env bash
# Crash-and-resume soak (issue #18):
#   1. a training run is killed with SIGKILL at KILLS random moments (steps, checkpoint writes,
#      evaluations) and resumed each time; after every kill each checkpoint folder must be complete and
#      readable; the finished run must write the same adapter bytes as an uninterrupted run;
#   2. the token cache is killed while it is being built, then reused or rebuilt: the same adapter bytes;
#   3. a disk that fills up (a small tmpfs, as root) during a checkpoint write: a one-line error naming
#      the file, the previous checkpoint intact and resumable.
# Usage: scripts/soak.sh [--kills N] [--bin PATH]   (default 20 kills; .build/release/adapters if built)
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=20
BIN=.build/release/adapters
[ -x "$BIN" ] || BIN=.build/debug/adapters
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) KILLS=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "soak.sh: build adapters first (swift build -c release --product adapters)" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(mktemp -d)
trap 'umount "$WORK/full" 2>/dev/null || true; rm -rf "$WORK"' EXIT
head -128 data/rotten_tomatoes/train.jsonl > "$WORK/train.jsonl"
tail -128 data/rotten_tomatoes/train.jsonl >> "$WORK/train.jsonl"
head -32 data/rotten_tomatoes/test.jsonl > "$WORK/eval.jsonl"
tail -32 data/rotten_tomatoes/test.jsonl >> "$WORK/eval.jsonl"
ARGS=(train --train "$WORK/train.jsonl" --eval "$WORK/eval.jsonl" --method seq_bn --adapter-name rt
  --max-steps 120 --batch-size 8 --max-length 48 --learning-rate 1e-3 --save-every 2 --eval-every 15
  --log-every 5 --token-cache "$WORK/cache")

# Every checkpoint folder (step-N, not the hidden ones being assembled) has its three files, parseable.
check_checkpoints() {
  python3 - "$1/checkpoints" <<'PY'
import json, os, struct, sys
root = sys.argv[1]
for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
    if name.startswith("."):
        continue
    folder = os.path.join(root, name)
    state = json.load(open(os.path.join(folder, "trainer_state.json")))
    assert state["step"] == int(name.split("-")[1]), (name, state["step"])
    for f in ("trainable.safetensors", "optimizer.safetensors"):
        data = open(os.path.join(folder, f), "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
        assert 8 + n + end == len(data), (folder, f, "truncated")
PY
}

echo "soak: uninterrupted reference run ($BIN)"
"$BIN" "${ARGS[@]}" --output "$WORK/reference" > /dev/null 2> "$WORK/reference.log"

echo "soak: $KILLS kills with SIGKILL, each followed by --resume"
OUT=$WORK/killed
kills=0 during_save=0 during_eval=0 attempts=0
resume=()
while [ "$kills" -lt "$KILLS" ] && [ "$attempts" -lt $((KILLS * 3)) ]; do
  attempts=$((attempts + 1))
  # What this run must add before a targeted kill: a staging folder not there now, log lines past these.
  stale=$(ls -A "$OUT/checkpoints" 2>/dev/null | grep '^\.step-' | tr '\n' ' ' || true)
  lines=$( (cat "$OUT/train_log.jsonl" 2>/dev/null || true) | wc -l)
  new_staging() { ls -A "$OUT/checkpoints" 2>/dev/null | grep '^\.step-' | grep -vxF -f <(echo "$stale" | tr ' ' '\n' | grep . || echo '@') | grep -q .; }
  in_eval() { [ "$(cat "$OUT/train_log.jsonl" 2>/dev/null | wc -l)" -gt "$lines" ] && tail -1 "$OUT/train_log.jsonl" | grep -qE '"step":(15|30|45|60|75|90|105),"epoch"'; }
  "$BIN" "${ARGS[@]}" --output "$OUT" "${resume[@]}" > /dev/null 2>> "$WORK/killed.log" &
  pid=$!
  # Kills rotate over three moments: while a checkpoint is being written (its hidden staging folder
  # exists), while an evaluation runs (the log's last line is the step of an evaluation, --eval-every
  # 15, with no eval line after it yet), and at a random time of 0.3–3.0 s (start-up, steps).
  deadline=$((SECONDS + 20))
  case $((kills % 3)) in
    0) until new_staging || ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; do :; done ;;
    1) until in_eval || ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; do sleep 0.005; done ;;
    2) sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + 2.7 * r / 32767 }')" ;;
  esac
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    # What the kill hit (before the next run cleans up).
    # A hidden folder left behind: the kill hit a checkpoint being written (the next run deletes it).
    if new_staging; then during_save=$((during_save + 1)); fi
    if in_eval; then during_eval=$((during_eval + 1)); fi
    check_checkpoints "$OUT" || { echo "soak: a checkpoint is unreadable after kill $kills" >&2; exit 1; }
  else
    wait "$pid" || { echo "soak: the run failed (see $WORK/killed.log)" >&2; tail -5 "$WORK/killed.log" >&2; exit 1; }
    if [ -f "$OUT/summary.json" ]; then
      # Finished before enough kills: start a new run in a fresh folder.
      mkdir -p "$WORK/finished"; mv "$OUT" "$WORK/finished/$attempts"; resume=(); continue
    fi
  fi
  resume=(--resume)
done
"$BIN" "${ARGS[@]}" --output "$OUT" "${resume[@]}" > /dev/null 2>> "$WORK/killed.log"
for f in adapter.safetensors model_head.safetensors; do
  cmp "$WORK/reference/rt/$f" "$OUT/rt/$f" || { echo "soak: $f differs from the uninterrupted run" >&2; exit 1; }
done
for run in "$WORK"/finished/*; do
  [ -d "$run" ] || continue
  for f in adapter.safetensors model_head.safetensors; do cmp "$WORK/reference/rt/$f" "$run/rt/$f"; done
done
echo "soak: $kills kills survived ($during_save during a checkpoint write, $during_eval during an evaluation, the rest at random moments); adapter bytes identical to the uninterrupted run"

# No leftovers: the finished run removed the hidden folders of the saves its predecessors were killed in.
if ls -A "$OUT/checkpoints" | grep -q '^\.'; then echo "soak: interrupted saves left behind" >&2; exit 1; fi

echo "soak: the token cache killed while it is built"
# The token cache holds Parquet data: Rotten Tomatoes' 9,596 training reviews written as Parquet.
PY=""
for p in .venv-bench/bin/python python3; do
  if command -v "$p" >/dev/null && "$p" -c "import pyarrow" 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
  echo "soak: token-cache check skipped (needs pyarrow to write the Parquet file)"
else
BIG=$WORK/big.parquet
"$PY" - data/rotten_tomatoes/train.jsonl "$BIG" <<'PY'
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")] * 5
pq.write_table(pa.table({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]}), sys.argv[2],
               compression="snappy", row_group_size=1000)
PY
CACHE_ARGS=(train --train "$BIG" --method seq_bn --adapter-name rt --max-steps 3 --batch-size 8 --max-length 48)
"$BIN" "${CACHE_ARGS[@]}" --token-cache "$WORK/cache-ref" --output "$WORK/cache-ref-out" > /dev/null 2>&1
cache_kills=0
for i in 1 2 3 4 5; do
  # Each attempt must tokenize again: drop the complete cache an earlier attempt may have finished,
  # keep whatever killed attempts left behind.
  find "$WORK/cache-killed" -maxdepth 1 -type f ! -name '.*' -delete 2>/dev/null || true
  "$BIN" "${CACHE_ARGS[@]}" --token-cache "$WORK/cache-killed" --output "$WORK/cache-out-$i" > /dev/null 2>&1 &
  pid=$!
  # Kill once the cache's temporary file exists (tokenization under way), after a random extra delay.
  deadline=$((SECONDS + 20))
  until ls -A "$WORK/cache-killed" 2>/dev/null | grep -q '\.tmp-' || ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -gt $deadline ]; do :; done
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.3 * r / 32767 }')"
  if kill -0 "$pid" 2>/dev/null && ls -A "$WORK/cache-killed" | grep -q '\.tmp-'; then
    kill -9 "$pid"; cache_kills=$((cache_kills + 1))
  fi
  wait "$pid" 2>/dev/null || true
done
"$BIN" "${CACHE_ARGS[@]}" --token-cache "$WORK/cache-killed" --output "$WORK/cache-final" > /dev/null 2> "$WORK/cache-final.log"
for f in adapter.safetensors model_head.safetensors; do
  cmp "$WORK/cache-ref-out/rt/$f" "$WORK/cache-final/rt/$f" || { echo "soak: token cache run differs" >&2; exit 1; }
done
echo "soak: $cache_kills kills while tokenizing; the next run $(grep -o 'reusing the token cache\|tokenized into the cache' "$WORK/cache-final.log" | head -1); same adapter bytes"
fi

echo "soak: disk full during a checkpoint write"
mkdir -p "$WORK/full"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4500k tmpfs "$WORK/full" 2>/dev/null; then
  set +e
  "$BIN" "${ARGS[@]}" --output "$WORK/full/run" > /dev/null 2> "$WORK/full.log"
  status=$?
  set -e
  message=$(grep -i 'error' "$WORK/full.log" | tail -1)
  [ "$status" -ne 0 ] || { echo "soak: a full disk did not fail the run" >&2; exit 1; }
  echo "$message" | grep -q "No space left\|space" || { echo "soak: unclear disk-full error: $message" >&2; exit 1; }
  [ "$(grep -ci 'fatal error\|stack' "$WORK/full.log")" = 0 ] || { echo "soak: a crash instead of an error" >&2; exit 1; }
  check_checkpoints "$WORK/full/run"
  left=$(ls "$WORK/full/run/checkpoints" | grep -c '^step-' || true)
  # The checkpoint left resumes on a disk with room.
  cp -r "$WORK/full/run" "$WORK/roomy"
  umount "$WORK/full"
  "$BIN" "${ARGS[@]}" --output "$WORK/roomy" --resume > /dev/null 2> "$WORK/roomy.log"
  for f in adapter.safetensors model_head.safetensors; do cmp "$WORK/reference/rt/$f" "$WORK/roomy/rt/$f"; done
  echo "soak: full disk: exit $status, \"$message\"; $left checkpoint(s) intact; resumed elsewhere to the same bytes"
else
  echo "soak: disk-full check skipped (needs root to mount a tmpfs)"
fi
echo "soak: passed"
