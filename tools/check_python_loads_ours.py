#!/usr/bin/env python3
"""Adapters saved by SwiftAdapters, loaded by the Python `adapters` library: same logits?

    swift build -c release --product adapters
    .venv-bench/bin/python tools/check_python_loads_ours.py [METHOD …]     # default: every method

For every method we build (config strings, as `--method` takes them; prompt tuning and UniPELT on one sentence at a
time, since AdapterHub's prompt rows attend to padding keys and its gates average over them; DiReFT is left out:
adapters 1.3.0 reloads any DiReFT folder as NoReFT, `Tests/Fixtures/adapterhub/README.md`): trains a few steps with `adapters train` on the real
all-MiniLM-L6-v2 and Rotten Tomatoes, predicts 8 sentences with `adapters predict --adapter`,
then loads the same folder with `AutoAdapterModel.load_adapter` (adapters 1.3.0) and compares
logits; then the same for a Stack of two of our folders (`predict --adapter A --adapter B` against
`set_active_adapters(Stack(...))`). Run locally (not in CI); its output is reported in the closing notes.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from adapters import AutoAdapterModel
from adapters.composition import Stack
from transformers import AutoTokenizer

from fixture_env import default_minilm, require

require("torch", "transformers", "adapters")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CLI = os.path.join(ROOT, ".build", "release", "adapters")
MODEL = default_minilm()
SENTENCES = [
    "A gripping, beautifully acted film.", "Dull, predictable and far too long.",
    "I laughed, I cried, I want to see it again.", "The script is a mess.",
    "An ambitious, sprawling epic that mostly works.", "Not bad, not great.",
    "Worst. Movie. Ever.", "A quiet triumph of patient filmmaking.",
]


def main():
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.txt")
        with open(inp, "w") as f:
            f.write("\n".join(SENTENCES) + "\n")
        tok = AutoTokenizer.from_pretrained(MODEL)
        enc = tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt")
        outs = {}
        methods = sys.argv[1:] or ["seq_bn", "double_seq_bn", "lora", "par_bn", "scaled_par_bn", "ia3",
                       "lora[r=4,alpha=12,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]",
                       "compacter", "compacter++", "seq_bn_inv", "double_seq_bn_inv", "dora", "lora[r=4]|seq_bn",
                       "prompt_tuning[prompt_length=5]", "prefix_tuning", "prefix_tuning_flat", "mam", "unipelt",
                       "loreft[r=2,suffix_positions=1]", "noreft[tied_weights=True,suffix_positions=2]", "vera", "dvora",
                       # AdapterPlus without stochastic depth: AdapterHub's needs torchvision to build the module.
                       "adapterplus[stochastic_depth=0.0]"]
        for method in methods:
            out = os.path.join(tmp, "m%d" % len(outs))
            outs[method] = out
            subprocess.run([CLI, "train", "--model", MODEL, "--train", os.path.join(ROOT, "data/rotten_tomatoes/train.jsonl"),
                            "--method", method, "--adapter-name", "rt", "--label-names", "negative,positive",
                            "--max-steps", "5", "--learning-rate", "1e-2", "--max-length", "64", "--output", out],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", os.path.join(out, "rt"), "--input", inp],
                                  check=True, capture_output=True, text=True).stdout
            ours = torch.tensor([json.loads(line)["logits"] for line in pred.splitlines()])
            model = AutoAdapterModel.from_pretrained(MODEL)
            name = model.load_adapter(os.path.join(out, "rt"), set_active=True, use_safetensors=True)
            model.eval()
            with torch.no_grad():
                if method.startswith("prompt_tuning") or method == "unipelt":
                    theirs = torch.cat([model(**tok([s], truncation=True, max_length=64, return_tensors="pt")).logits
                                        for s in SENTENCES])
                else:
                    theirs = model(**enc).logits
            diff = (ours - theirs).abs().max().item()
            # The adapter must matter: without it (head only) the logits move.
            model.set_active_adapters(None)
            with torch.no_grad():
                without = model(**enc).logits
            effect = (without - theirs).abs().max().item()
            worst = max(worst, diff)
            labels = [model.config.id2label[int(i)] for i in theirs.argmax(-1)]
            print(json.dumps({"method": method, "loaded_as": name, "max_abs_diff": diff, "adapter_effect": effect,
                              "python_labels": labels}))
        if "seq_bn" not in outs or "double_seq_bn" not in outs:
            print(json.dumps({"worst_max_abs_diff": worst, "ok": worst <= 1e-4}))
            sys.exit(0 if worst <= 1e-4 else 1)
        # A Stack of two of our folders (both named "rt": the CLI stacks the second as rt_2).
        a, b = os.path.join(outs["seq_bn"], "rt"), os.path.join(outs["double_seq_bn"], "rt")
        pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", a, "--adapter", b, "--input", inp],
                              check=True, capture_output=True, text=True).stdout
        ours = torch.tensor([json.loads(line)["logits"] for line in pred.splitlines()])
        model = AutoAdapterModel.from_pretrained(MODEL)
        model.load_adapter(a, load_as="first", with_head=False, use_safetensors=True)
        model.load_adapter(b, load_as="second", use_safetensors=True)
        model.set_active_adapters(Stack("first", "second"))
        model.eval()
        with torch.no_grad():
            theirs = model(**enc).logits
        diff = (ours - theirs).abs().max().item()
        worst = max(worst, diff)
        print(json.dumps({"method": "Stack(seq_bn, double_seq_bn)", "max_abs_diff": diff}))
    print(json.dumps({"worst_max_abs_diff": worst, "ok": worst <= 1e-4}))
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
