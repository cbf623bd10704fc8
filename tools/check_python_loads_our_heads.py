#!/usr/bin/env python3
"""Heads other than single-label classification, saved by SwiftAdapters, loaded by the Python `adapters`
library: same outputs?

    swift build --product adapters            # or -c release; ADAPTERS_CLI=path overrides
    .venv-bench/bin/python tools/check_python_loads_our_heads.py

For a tagging head (1 layer; and 2 layers with GELU), a regression head, a multi-label head and a 3-layer ReLU
classification head: trains a few steps with `adapters train --task …` on the real all-MiniLM-L6-v2 with labels
derived from Rotten Tomatoes sentences (punctuation tags, length scores, length/comma labels), predicts 8 sentences
with `adapters predict --adapter`, then loads the folder with `AutoAdapterModel.load_adapter` (adapters 1.3.0)
and compares logits (tagging: every attended token's); then trains two adapters and an AdapterFusion over them
(`train --method fusion`) and loads the fusion folder with `load_adapter_fusion`, and again with a third adapter stacked
before the fusion (`--stack-before`, run as `Stack("lang", Fuse("a", "b"))`); and trains a question-answering head
on data/squad (`--task question_answering`), loads it with `load_adapter` and compares every window's start and end
logits with `predict`'s; and trains two adapters side by side (`train --parallel`), loads both and runs
`Parallel("a", "b")` against `predict --compose 'Parallel(a, b)'`. Run locally (not in CI); its output goes into the closing
notes.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import torch
from adapters import AutoAdapterModel
from transformers import AutoTokenizer

from fixture_env import default_minilm, require

require("torch", "transformers", "adapters")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CLI = os.environ.get("ADAPTERS_CLI") or next(
    (p for p in (os.path.join(ROOT, ".build", "release", "adapters"), os.path.join(ROOT, ".build", "debug", "adapters"))
     if os.path.exists(p)), "adapters")
MODEL = default_minilm()
SENTENCES = [
    "A gripping, beautifully acted film.", "Dull, predictable and far too long.",
    "I laughed, I cried, I want to see it again.", "The script is a mess.",
    "An ambitious, sprawling epic that mostly works.", "Not bad, not great.",
    "Worst. Movie. Ever.", "A quiet triumph of patient filmmaking.",
]


def data(tmp):
    rows = [json.loads(l) for l in open(os.path.join(ROOT, "data/rotten_tomatoes/train.jsonl"))][:200]
    paths = {}
    with open(os.path.join(tmp, "tag.jsonl"), "w") as f:
        for r in rows:
            words = r["text"].split()
            f.write(json.dumps({"tokens": words, "tags": ["B-PUNCT" if re.fullmatch(r"[^\w\s]+", w) else "O"
                                                          for w in words]}) + "\n")
    with open(os.path.join(tmp, "reg.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"], "label": len(r["text"]) / 50}) + "\n")
    with open(os.path.join(tmp, "ml.jsonl"), "w") as f:
        for r in rows:
            labels = (["short"] if len(r["text"]) < 80 else []) + (["comma"] if "," in r["text"] else [])
            f.write(json.dumps({"text": r["text"], "label": labels + (["positive"] if r["label"] == 1 else [])}) + "\n")
    with open(os.path.join(tmp, "cls.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    with open(os.path.join(tmp, "mc.jsonl"), "w") as f:
        for i, r in enumerate(rows):  # the second half of the review, or another review's
            w, o = r["text"].split(), rows[(i + 7) % len(rows)]["text"].split()
            choices = [" ".join(w[len(w) // 2:]), " ".join(o[len(o) // 2:])]
            label = i % 2
            f.write(json.dumps({"text": " ".join(w[:len(w) // 2]), "choices": choices[::-1] if label else choices,
                                "label": label}) + "\n")
    return tmp


CASES = [
    ("tagging", "seq_bn", "tag.jsonl", []),
    ("tagging", "lora", "tag.jsonl", ["--head-layers", "2", "--head-activation", "gelu"]),
    ("regression", "lora", "reg.jsonl", []),
    ("multilabel_classification", "seq_bn", "ml.jsonl", []),
    ("classification", "seq_bn", "cls.jsonl", ["--head-layers", "3", "--head-activation", "relu"]),
    ("multiple_choice", "seq_bn", "mc.jsonl", []),
]


def main():
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        data(tmp)
        inp = os.path.join(tmp, "in.txt")
        with open(inp, "w") as f:
            f.write("\n".join(SENTENCES) + "\n")
        tok = AutoTokenizer.from_pretrained(MODEL)
        enc = tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt")
        for k, (task, method, file, extra) in enumerate(CASES):
            out = os.path.join(tmp, f"run{k}")
            subprocess.run([CLI, "train", "--model", MODEL, "--task", task, "--train", os.path.join(tmp, file),
                            "--method", method, "--adapter-name", "h", "--max-steps", "6", "--learning-rate", "1e-2",
                            "--max-length", "64", "--output", out] + extra,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            inputs = inp
            if task == "multiple_choice":
                inputs = os.path.join(tmp, "mc_in.jsonl")
                with open(inputs, "w") as f:
                    for s in SENTENCES:
                        half = len(s) // 2
                        f.write(json.dumps({"text": s[:half], "choices": [s[half:], "and nothing else."]}) + "\n")
            pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", os.path.join(out, "h"), "--input", inputs,
                                   "--max-length", "64"], check=True, capture_output=True, text=True).stdout
            lines = [json.loads(line) for line in pred.splitlines()]
            model = AutoAdapterModel.from_pretrained(MODEL)
            model.load_adapter(os.path.join(out, "h"), set_active=True, use_safetensors=True)
            model.eval()
            with torch.no_grad():
                if task == "multiple_choice":
                    firsts = [s[:len(s) // 2] for s in SENTENCES for _ in range(2)]
                    seconds = [c for s in SENTENCES for c in (s[len(s) // 2:], "and nothing else.")]
                    e = tok(firsts, seconds, padding=True, truncation=True, max_length=64, return_tensors="pt")
                    theirs = model(**{k: v.view(len(SENTENCES), 2, -1) for k, v in e.items()}).logits
                else:
                    theirs = model(**enc).logits
            if task == "tagging":
                ours = torch.tensor([row for line in lines for row in line["logits"]])
                theirs = theirs[enc["attention_mask"] == 1]
            else:
                ours = torch.tensor([line["logits"] for line in lines])
            diff = (ours - theirs).abs().max().item()
            worst = max(worst, diff)
            head = model.heads["h"].config
            print(json.dumps({"task": task, "method": method, "head_type": head["head_type"], "layers": head["layers"],
                              "activation": head["activation_function"], "compared": list(ours.shape),
                              "max_abs_diff": diff}))
        worst = max(worst, check_fusion(tmp, tok))
        worst = max(worst, check_qa(tmp, tok))
        worst = max(worst, check_parallel(tmp, tok))
    print(json.dumps({"worst_max_abs_diff": worst, "ok": worst <= 1e-4}))
    sys.exit(0 if worst <= 1e-4 else 1)


def check_fusion(tmp, tok):
    """Two seq_bn adapters trained by our CLI, then `train --method fusion` over them: Python loads the adapters and
    the fusion folder (`load_adapter_fusion`) and gives `predict --compose fuse:` 's logits."""
    from adapters.composition import Fuse
    data = os.path.join(ROOT, "data/rotten_tomatoes/train.jsonl")
    common = ["--model", MODEL, "--train", data, "--max-examples", "200", "--label-names", "negative,positive",
              "--max-steps", "6", "--max-length", "64"]
    for name, seed in (("a", "1"), ("b", "2")):
        subprocess.run([CLI, "train", *common, "--method", "seq_bn", "--adapter-name", name, "--seed", seed,
                        "--learning-rate", "1e-2", "--output", os.path.join(tmp, "f" + name)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a, b = os.path.join(tmp, "fa", "a"), os.path.join(tmp, "fb", "b")
    subprocess.run([CLI, "train", *common, "--method", "fusion", "--adapter", a, "--adapter", b, "--learning-rate", "5e-3",
                    "--output", os.path.join(tmp, "ffuse")], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fusion = os.path.join(tmp, "ffuse", "a,b")
    inp = os.path.join(tmp, "in.txt")
    pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", a, "--adapter", b, "--compose", "fuse:" + fusion,
                           "--input", inp, "--max-length", "64"], check=True, capture_output=True, text=True).stdout
    ours = torch.tensor([json.loads(line)["logits"] for line in pred.splitlines()])
    model = AutoAdapterModel.from_pretrained(MODEL)
    model.load_adapter(a, with_head=False, use_safetensors=True)
    model.load_adapter(b, with_head=False, use_safetensors=True)
    model.load_adapter_fusion(fusion, set_active=True, use_safetensors=True)
    model.eval()
    with torch.no_grad():
        theirs = model(**tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt")).logits
        model.set_active_adapters("a")
        alone = model(**tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt")).logits
    diff = (ours - theirs).abs().max().item()
    print(json.dumps({"task": "fusion", "adapters": ["a", "b"], "active": str(Fuse("a", "b")),
                      "compared": list(ours.shape), "max_abs_diff": diff,
                      "fusion_effect": (alone - theirs).abs().max().item()}))
    return max(diff, check_stacked_fusion(tmp, tok, common, a, b))


def check_stacked_fusion(tmp, tok, common, a, b):
    """MAD-X: a third adapter ("lang") stacked before the fusion, `train --method fusion --stack-before lang`
    (train_adapter_fusion(Stack("lang", Fuse("a", "b")))): Python loads the three adapters and the fusion, activates
    Stack("lang", Fuse("a", "b")) with the fusion's head, and gives `predict --compose 'Stack(lang, Fuse(a, b))'`'s
    logits."""
    from adapters.composition import Fuse, Stack
    subprocess.run([CLI, "train", *common, "--method", "seq_bn[reduction_factor=4]", "--adapter-name", "lang", "--seed",
                    "3", "--learning-rate", "1e-2", "--output", os.path.join(tmp, "flang")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lang = os.path.join(tmp, "flang", "lang")
    subprocess.run([CLI, "train", *common, "--method", "fusion", "--stack-before", lang, "--adapter", a, "--adapter", b,
                    "--learning-rate", "5e-3", "--output", os.path.join(tmp, "fstack")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fusion = os.path.join(tmp, "fstack", "a,b")
    inp = os.path.join(tmp, "in.txt")
    pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", lang, "--adapter", a, "--adapter", b,
                           "--compose", "Stack(lang, Fuse(a, b))", "--fusion", fusion, "--input", inp, "--max-length",
                           "64"], check=True, capture_output=True, text=True).stdout
    ours = torch.tensor([json.loads(line)["logits"] for line in pred.splitlines()])
    model = AutoAdapterModel.from_pretrained(MODEL)
    for folder in (lang, a, b):
        model.load_adapter(folder, with_head=False, use_safetensors=True)
    model.load_adapter_fusion(fusion, use_safetensors=True)
    model.set_active_adapters(Stack("lang", Fuse("a", "b")))
    model.active_head = "a,b"
    model.eval()
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        theirs = model(**enc).logits
        model.set_active_adapters(Fuse("a", "b"))
        unstacked = model(**enc).logits
    diff = (ours - theirs).abs().max().item()
    print(json.dumps({"task": "fusion", "adapters": ["lang", "a", "b"], "active": str(Stack("lang", Fuse("a", "b"))),
                      "compared": list(ours.shape), "max_abs_diff": diff,
                      "stack_effect": (unstacked - theirs).abs().max().item()}))
    return diff


def check_parallel(tmp, tok):
    """`train --parallel`: two seq_bn adapters (rf 16, and rf 8 with GELU: adapters 1.3.0 runs a Parallel only over
    adapters at the same locations) trained side by side; Python loads both folders, activates Parallel("a", "b")
    and gives `predict --compose 'Parallel(a, b)'`'s logits for each head."""
    from adapters.composition import Parallel
    data = os.path.join(ROOT, "data/rotten_tomatoes/train.jsonl")
    out = os.path.join(tmp, "par")
    subprocess.run([CLI, "train", "--model", MODEL, "--train", data, "--max-examples", "200", "--label-names",
                    "negative,positive", "--max-steps", "6", "--max-length", "64", "--learning-rate", "1e-2",
                    "--method", "seq_bn", "--adapter-name", "a", "--parallel", "b=seq_bn[reduction_factor=8,non_linearity=gelu]",
                    "--output", out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a, b = os.path.join(out, "a"), os.path.join(out, "b")
    pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", a, "--adapter", b, "--compose", "Parallel(a, b)",
                           "--input", os.path.join(tmp, "in.txt"), "--max-length", "64"],
                          check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in pred.splitlines()]
    model = AutoAdapterModel.from_pretrained(MODEL)
    model.load_adapter(a, use_safetensors=True)
    model.load_adapter(b, use_safetensors=True)
    model.set_active_adapters(Parallel("a", "b"))
    model.active_head = Parallel("a", "b")
    model.eval()
    worst = 0.0
    with torch.no_grad():
        outputs = model(**tok(SENTENCES, padding=True, truncation=True, max_length=64, return_tensors="pt"))
    for i, name in enumerate(("a", "b")):
        ours = torch.tensor([line[name]["logits"] for line in lines])
        worst = max(worst, (ours - outputs.head_outputs[i].logits).abs().max().item())
    print(json.dumps({"task": "parallel", "adapters": ["a", "b"], "active": str(Parallel("a", "b")),
                      "compared": [2, len(lines), 2], "max_abs_diff": worst}))
    return worst


def check_qa(tmp, tok):
    """A QA head trained by our CLI on the SQuAD slice: Python's start/end logits over the same windows."""
    squad = json.load(open(os.path.join(ROOT, "data/squad/dev.json")))
    questions = [(q["question"], p["context"]) for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]][:6:2]
    out = os.path.join(tmp, "qa")
    subprocess.run([CLI, "train", "--model", MODEL, "--task", "question_answering", "--train",
                    os.path.join(ROOT, "data/squad/train.json"), "--max-examples", "40", "--adapter-name", "qa",
                    "--max-steps", "6", "--learning-rate", "1e-2", "--max-length", "128", "--doc-stride", "32",
                    "--output", out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    inp = os.path.join(tmp, "qa_in.jsonl")
    with open(inp, "w") as f:
        for q, c in questions:
            f.write(json.dumps({"question": q, "context": c}) + "\n")
    pred = subprocess.run([CLI, "predict", "--model", MODEL, "--adapter", os.path.join(out, "qa"), "--input", inp,
                           "--max-length", "128", "--doc-stride", "32"], check=True, capture_output=True, text=True).stdout
    model = AutoAdapterModel.from_pretrained(MODEL)
    model.load_adapter(os.path.join(out, "qa"), set_active=True, use_safetensors=True)
    model.eval()
    worst, windows = 0.0, 0
    for (q, c), line in zip(questions, pred.splitlines()):
        ours = json.loads(line)
        e = tok(q.lstrip(), c, truncation="only_second", max_length=128, stride=32, return_overflowing_tokens=True,
                padding=True, return_tensors="pt")
        e.pop("overflow_to_sample_mapping")
        with torch.no_grad():
            o = model(**e)
        for w in range(len(e["input_ids"])):
            m = e["attention_mask"][w] == 1
            worst = max(worst, (torch.tensor(ours["start_logits"][w]) - o.start_logits[w][m]).abs().max().item(),
                        (torch.tensor(ours["end_logits"][w]) - o.end_logits[w][m]).abs().max().item())
            windows += 1
    print(json.dumps({"task": "question_answering", "head_type": model.heads["qa"].config["head_type"],
                      "windows": windows, "max_abs_diff": worst}))
    return worst


if __name__ == "__main__":
    main()
