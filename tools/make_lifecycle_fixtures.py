#!/usr/bin/env python3
"""Fixtures for the multi-adapter lifecycle API and the classification pipeline.

    .venv-bench/bin/python tools/make_lifecycle_fixtures.py [--minilm DIR]   # default: the HF cache's snapshot

Writes Tests/Fixtures/lifecycle/:
  stack_<case>/{lang,task}/  two adapters saved by `save_adapter(use_safetensors=True)` on the tiny
                             RoBERTa of the training fixtures (the head is `task`'s), and expected.json
                             with the logits of `set_active_adapters(Stack("lang", "task"))`, plus the
                             logits with `task` alone;
  pipeline_minilm/sentiment/ a seq_bn adapter + 3-label head on the real all-MiniLM-L6-v2, and
                             expected.json with what transformers' `TextClassificationPipeline` returns
                             for a list of texts (top_k=1 and top_k=None, truncation on).
Pinned: torch 2.13.0, transformers 4.57.6, adapters 1.3.0.
"""
import argparse
import json
import os
import shutil

import adapters
import torch
import transformers
from adapters import AutoAdapterModel, DoubleSeqBnConfig, LoRAConfig, SeqBnConfig
from adapters.composition import Stack
from transformers import AutoTokenizer, TextClassificationPipeline

from fixture_env import default_minilm, require

require("torch", "transformers", "adapters")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")
OUT = os.path.join(FIX, "lifecycle")

STACKS = [
    ("seq_bn", SeqBnConfig(), SeqBnConfig(reduction_factor=8)),
    ("mixed", DoubleSeqBnConfig(), SeqBnConfig()),
    ("double_seq_bn", DoubleSeqBnConfig(), DoubleSeqBnConfig(reduction_factor=4)),
    ("lora", LoRAConfig(), LoRAConfig(r=4, alpha=16, attn_matrices=["q", "k", "v"])),
]

TEXTS = [
    "A gripping, beautifully acted film.",
    "Dull, predictable and far too long.",
    "I laughed, I cried, I want to see it again.",
    "It's fine.",
    "The plot makes no sense whatsoever, yet the cast seems to be having fun.",
    "Worst. Movie. Ever.",
    "An unexpectedly moving portrait of a family falling apart and finding its way back.",
    " ".join(["This sentence repeats to exceed the model's maximum length."] * 60),
]


def rounded(rows):
    return [[round(float(x), 7) for x in row] for row in rows]


def stacks():
    ids = torch.tensor([[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2, 1, 1, 1]])
    mask = (ids != 1).long()
    for case, lang_cfg, task_cfg in STACKS:
        torch.manual_seed(11)
        model = AutoAdapterModel.from_pretrained(BASE)
        model.add_adapter("lang", config=lang_cfg)
        model.add_adapter("task", config=task_cfg)
        model.add_classification_head("task", num_labels=3, id2label={0: "a", 1: "b", 2: "c"})
        with torch.no_grad():
            for n, p in model.named_parameters():
                if ".lang." in n or ".task." in n or n.startswith("heads.task"):
                    p.normal_(0, 0.2)
        model.config.name_or_path = "tiny-roberta"
        model.eval()
        out = os.path.join(OUT, f"stack_{case}")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        model.save_adapter(os.path.join(out, "lang"), "lang", use_safetensors=True)
        model.save_adapter(os.path.join(out, "task"), "task", use_safetensors=True)
        with torch.no_grad():
            model.set_active_adapters(Stack("lang", "task"))
            stacked = model(input_ids=ids, attention_mask=mask).logits
            model.set_active_adapters("task")
            single = model(input_ids=ids, attention_mask=mask).logits
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                       "stack_logits": rounded(stacked), "task_logits": rounded(single)}, f)
        print("stack", case, float((stacked - single).abs().max()))


def pipeline(minilm):
    torch.manual_seed(5)
    tok = AutoTokenizer.from_pretrained(minilm)
    model = AutoAdapterModel.from_pretrained(minilm)
    model.add_adapter("sentiment", config=SeqBnConfig(reduction_factor=32))
    model.add_classification_head("sentiment", num_labels=3,
                                  id2label={0: "negative", 1: "neutral", 2: "positive"})
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".sentiment." in n or n.startswith("heads.sentiment"):
                p.normal_(0, 0.08)
    model.set_active_adapters("sentiment")
    model.config.name_or_path = "sentence-transformers/all-MiniLM-L6-v2"
    model.eval()
    out = os.path.join(OUT, "pipeline_minilm")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    model.save_adapter(os.path.join(out, "sentiment"), "sentiment", use_safetensors=True)
    clf = TextClassificationPipeline(model=model, tokenizer=tok, device="cpu")
    top1 = clf(TEXTS, truncation=True, batch_size=3)
    everything = clf(TEXTS, truncation=True, top_k=None, batch_size=3)
    top2 = clf(TEXTS, truncation=True, top_k=2)

    def clean(result):
        if isinstance(result, dict):
            return {"label": result["label"], "score": round(float(result["score"]), 8)}
        return [clean(r) for r in result]

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"texts": TEXTS, "top_1": clean(top1), "top_k_none": clean(everything), "top_2": clean(top2),
                   "versions": {"transformers": transformers.__version__, "adapters": adapters.__version__,
                                "torch": torch.__version__}}, f, indent=1)
    print("pipeline", clean(top1)[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=None, help="folder of all-MiniLM-L6-v2 (default: the HF cache's snapshot)")
    args = ap.parse_args()
    assert torch.__version__.startswith("2.13.0"), torch.__version__
    assert transformers.__version__ == "4.57.6", transformers.__version__
    assert adapters.__version__ == "1.3.0", adapters.__version__
    stacks()
    pipeline(args.minilm or default_minilm())


if __name__ == "__main__":
    main()
