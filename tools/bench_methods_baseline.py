#!/usr/bin/env python3
"""PyTorch + adapters training baseline for the adapter methods `shared/bench/pt_baseline.py` does not cover.

    .venv-bench/bin/python tools/bench_methods_baseline.py case roberta_par_bn_train [--steps N]

The workload is pt_baseline.py's own (imported from ../shared/bench, or $PT_BASELINE_DIR): the same random
roberta-base / MiniLM-L6 weights, batch 32 × 100 tokens, dropout on, AdamW, warm-up steps, CPU meter and
peak RSS; only the adapter differs — any AdapterHub config string (`par_bn`, `ia3`, `lora[...]`), added with
`add_adapter` + a 2-label head + `train_adapter` as pt_baseline does for seq_bn and LoRA. `adapters bench
train` runs it for every case whose method pt_baseline.py lacks. Prints one JSON line like pt_baseline.py.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PT_BASELINE_DIR", os.path.join(HERE, "..", "..", "shared", "bench")))
import pt_baseline  # noqa: E402

# The methods and their AdapterHub config strings: the real-learning reference's table.
from reference_train import CONFIG_STRINGS as METHODS  # noqa: E402


def build_model(torch, arch, method):
    from adapters import AutoAdapterModel

    cfg = pt_baseline.make_config(arch)
    torch.manual_seed(0)
    model = AutoAdapterModel.from_config(cfg)
    model.add_adapter("task", config=METHODS[method], set_active=True)
    model.add_classification_head("task", num_labels=2)
    model.train_adapter("task")
    return model, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("case")
    c.add_argument("name")
    c.add_argument("--steps", type=int)
    args = ap.parse_args()
    arch, _, rest = args.name.partition("_")
    method = rest.removesuffix("_train")
    if arch not in ("roberta", "minilm") or method not in METHODS or not rest.endswith("_train"):
        sys.exit(f"unknown case {args.name}: ARCH_METHOD_train with ARCH roberta|minilm, METHOD {'|'.join(METHODS)}")
    name = f"{arch}_{method}_train"
    pt_baseline.CASES[name] = {"kind": "train", "arch": "roberta-base" if arch == "roberta" else "minilm-l6",
                               "method": method, "steps": 5 if arch == "roberta" else 10}
    pt_baseline.build_model = build_model
    print(json.dumps(pt_baseline.run_case(name, args.steps)))


if __name__ == "__main__":
    main()
