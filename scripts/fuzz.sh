#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser (libFuzzer + AddressSanitizer; issue #18).
#
#   scripts/fuzz.sh [TARGET ...] [--seconds N] [--jobs N]
#
# Builds the Fuzz/ targets (defined only when SWIFTADAPTERS_FUZZ is set, in .build-fuzz), replays every
# committed regression input (Tests/Fixtures/fuzz-regressions/TARGET/) and seed, then fuzzes each target
# for N seconds (default 60), N targets at a time (default: the number of cores). Seeds are the small
# committed fixtures of each format plus Fuzz/seeds/TARGET; the corpus grows in .build-fuzz/fuzz/corpus
# and is reused by the next run. Prints, per target: executions (this run and the campaign's total,
# kept in .build-fuzz/fuzz/campaign.tsv), edges covered, corpus size, crashes. A crash's input is copied
# to Tests/Fixtures/fuzz-regressions/TARGET/ — fix the parser and commit it: every later run replays it.
# Exits non-zero when a regression input or the fuzzing crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(FuzzSafetensors FuzzShardedIndex FuzzModelConfig FuzzAdapterConfigs FuzzTokenizerJSON FuzzBPEFiles
  FuzzWordPieceVocab FuzzPickle FuzzPyTorchZip FuzzThrift FuzzParquet FuzzCSV FuzzJSONL FuzzHub FuzzServerRequest)
SECONDS_EACH=60
JOBS=$(nproc 2>/dev/null || echo 2)
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    Fuzz*) TARGETS+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (targets: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

BUILD=.build-fuzz
WORK=$BUILD/fuzz
REGRESSIONS=Tests/Fixtures/fuzz-regressions
mkdir -p "$WORK"/{seeds,corpus,artifacts,logs}

export SWIFTADAPTERS_FUZZ=1
# Leaks inside the toolchain's Foundation are not ours (scripts/toolchain-leaks.supp says which).
export LSAN_OPTIONS="suppressions=$PWD/scripts/toolchain-leaks.supp:print_suppressions=0"
for t in "${TARGETS[@]}"; do
  echo "fuzz.sh: building $t" >&2
  swift build --build-path "$BUILD" --sanitize=address -Xswiftc -sanitize=fuzzer -Xcc -fsanitize=fuzzer-no-link \
    --product "$t" 2>&1 | grep -E "error|warning: unre" >&2 || true
  [ -x "$BUILD/debug/$t" ] || { echo "fuzz.sh: $t did not build" >&2; exit 1; }
done

# Small committed files of each format (under 64 KB: small inputs fuzz fast).
small() { find Tests/Fixtures data "$@" -size -64k -type f 2>/dev/null | sort; }
seed() { # target, then files to copy as seeds
  local t=$1; shift
  for f in "$@"; do cp "$f" "$WORK/seeds/$t/$(echo "$f" | tr '/' '_')"; done
}
make_seeds() {
  local t=$1 dir=$WORK/seeds/$1
  rm -rf "$dir"; mkdir -p "$dir"
  [ -d "Fuzz/seeds/$t" ] && cp Fuzz/seeds/"$t"/* "$dir"/
  case $t in
    FuzzSafetensors) seed "$t" $(small -name '*.safetensors' | head -20) ;;
    FuzzShardedIndex) seed "$t" $(small -name '*.index.json') ;;
    FuzzModelConfig) seed "$t" $(small -name config.json) ;;
    FuzzAdapterConfigs)
      for a in $(small -name adapter_config.json | head -40); do
        h=$(dirname "$a")/head_config.json
        { cat "$a"; if [ -f "$h" ]; then printf '\0'; cat "$h"; fi; } > "$dir/$(echo "$a" | tr '/' '_')"
      done ;;
    FuzzPickle)
      for b in $(small -name '*.bin' | head -12); do
        python3 - "$b" "$dir/$(echo "$b" | tr '/' '_').pkl" <<'PY' || true
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith("data.pkl"))
    open(sys.argv[2], "wb").write(z.read(name))
PY
      done ;;
    FuzzPyTorchZip) seed "$t" $(small -name '*.bin' | head -12) ;;
    FuzzThrift)
      for p in $(small -name '*.parquet' | head -20); do
        python3 - "$p" "$dir/$(echo "$p" | tr '/' '_').footer" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
if len(data) >= 12 and data[-4:] == b"PAR1":
    n = struct.unpack("<I", data[-8:-4])[0]
    if 0 < n <= len(data) - 12:
        open(sys.argv[2], "wb").write(data[-8 - n:-8])
PY
      done ;;
    FuzzParquet) seed "$t" $(small -name '*.parquet' ! -name 'lists_*' | head -18) $(small -name 'lists_*.parquet' | head -2) ;;
    FuzzCSV)
      for f in $(small \( -name '*.csv' -o -name '*.tsv' \)); do
        case $f in *.tsv) k='\001' ;; *amazon*) k='\002' ;; *) k='\000' ;; esac
        { printf "$k"; head -c 4000 "$f"; } > "$dir/$(echo "$f" | tr '/' '_')"
      done ;;
    FuzzJSONL)
      for f in $(small -name '*.jsonl'); do head -c 4000 "$f" > "$dir/$(echo "$f" | tr '/' '_')"; done
      head -c 4000 data/rotten_tomatoes/test.jsonl > "$dir/rotten_tomatoes" ;;
  esac
  [ -d "$REGRESSIONS/$t" ] && cp "$REGRESSIONS/$t"/* "$dir"/ 2>/dev/null || true
}
dict_for() {
  case $1 in
    FuzzSafetensors|FuzzShardedIndex) echo Fuzz/dict/safetensors.dict ;;
    FuzzPickle|FuzzPyTorchZip) echo Fuzz/dict/pickle.dict ;;
    FuzzThrift|FuzzParquet) echo Fuzz/dict/parquet.dict ;;
    FuzzWordPieceVocab|FuzzCSV) echo "" ;;
    *) echo Fuzz/dict/json.dict ;;
  esac
}

# 1. Regression inputs and seeds: each must run without a crash.
failed=0
for t in "${TARGETS[@]}"; do
  make_seeds "$t"
  inputs=("$WORK/seeds/$t"/*)
  if [ -e "${inputs[0]}" ]; then
    if ! "$BUILD/debug/$t" -runs=0 "${inputs[@]}" > "$WORK/logs/$t.replay.log" 2>&1 && \
       ! "$BUILD/debug/$t" "${inputs[@]}" >> "$WORK/logs/$t.replay.log" 2>&1; then
      echo "fuzz.sh: $t crashes on a regression input or seed (see $WORK/logs/$t.replay.log)" >&2
      tail -30 "$WORK/logs/$t.replay.log" >&2
      failed=1
    fi
  fi
done

# 2. Fuzzing, JOBS targets at a time.
run_one() {
  local t=$1 dict
  dict=$(dict_for "$t")
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t"
  "$BUILD/debug/$t" "$WORK/corpus/$t" "$WORK/seeds/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=16384 -artifact_prefix="$WORK/artifacts/$t/" ${dict:+-dict=$dict} \
    > "$WORK/logs/$t.log" 2>&1 || true
}
running=0
for t in "${TARGETS[@]}"; do
  echo "fuzz.sh: fuzzing $t for ${SECONDS_EACH}s" >&2
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

# 3. Report.
touch "$WORK/campaign.tsv"
printf '| target | executions | campaign executions | exec/s | edges | corpus | crashes |\n|---|---|---|---|---|---|---|\n'
for t in "${TARGETS[@]}"; do
  log=$WORK/logs/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)
  edges=$(grep -oE '(cov|ft): [0-9]+' "$log" | grep '^cov' | tail -1 | grep -o '[0-9]*$' || echo ?)
  corpus=$(ls "$WORK/corpus/$t" | wc -l)
  crashes=$(ls "$WORK/artifacts/$t" 2>/dev/null | grep -cE '^(crash|leak|timeout|oom)-' || true)
  printf '%s\t%s\n' "$t" "${execs:-0}" >> "$WORK/campaign.tsv"
  total=$(awk -v t="$t" '$1 == t { s += $2 } END { print s + 0 }' "$WORK/campaign.tsv")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-0}" "$total" "${rate:-0}" "$edges" "$corpus" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    failed=1
    mkdir -p "$REGRESSIONS/$t"
    for a in "$WORK/artifacts/$t"/*; do cp "$a" "$REGRESSIONS/$t/"; done
    echo "fuzz.sh: $t: crash inputs copied to $REGRESSIONS/$t/ (see $log)" >&2
    grep -m1 -A12 'ERROR: \|Fatal error\|deadly signal' "$log" >&2 || true
  fi
done
exit $failed
