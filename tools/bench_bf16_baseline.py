#!/usr/bin/env python3
"""PyTorch's bf16 mixed precision as the baseline for `adapters bench train/inference --precision bf16`.

    .venv-bench/bin/python tools/bench_bf16_baseline.py case roberta_seqbn_train [--steps N]
    .venv-bench/bin/python tools/bench_bf16_baseline.py case minilm_infer [--steps N]

Runs `shared/bench/pt_baseline.py`'s own case (imported from ../shared/bench, or $PT_BASELINE_DIR: the same
random weights, batch 32 × 100 tokens, dropout, AdamW, warm-up, timers and peak RSS) with the model's
forward pass under `torch.autocast("cpu", dtype=torch.bfloat16)`, the one line a PyTorch user adds for bf16
on CPU: the matmuls go through oneDNN's bf16 kernels (AMX or AVX512-BF16 where the CPU has them, emulated
elsewhere), the backward pass follows the autocast graph, the weights and the optimizer stay fp32. Prints
one JSON line like pt_baseline.py, with "autocast": "bfloat16" added.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PT_BASELINE_DIR", os.path.join(HERE, "..", "..", "shared", "bench")))
import pt_baseline  # noqa: E402

_build = pt_baseline.build_model


def build_under_autocast(torch, arch, method):
    model, extra = _build(torch, arch, method)
    forward = model.forward

    def autocast_forward(*args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return forward(*args, **kwargs)

    model.forward = autocast_forward
    return model, extra


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("case")
    c.add_argument("name")
    c.add_argument("--steps", type=int)
    args = ap.parse_args()
    spec = pt_baseline.CASES.get(args.name)
    if spec is None or spec["kind"] not in ("train", "infer"):
        names = sorted(n for n, s in pt_baseline.CASES.items() if s["kind"] in ("train", "infer"))
        sys.exit(f"unknown case {args.name}: one of {', '.join(names)}")
    pt_baseline.build_model = build_under_autocast
    result = pt_baseline.run_case(args.name, args.steps)
    result["autocast"] = "bfloat16"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
