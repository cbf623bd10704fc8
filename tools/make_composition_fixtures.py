#!/usr/bin/env python3
"""Fixtures for composition blocks and adapter averaging (issue #19).

    .venv-bench/bin/python tools/make_composition_fixtures.py

Writes Tests/Fixtures/composition/ on the tiny RoBERTa of the training fixtures (Tests/Fixtures/training/base-roberta):
  a/ … e/          adapters with their heads, saved by `save_adapter(use_safetensors=True)`:
                   a: seq_bn + 2-label classification head; b: LoRA (r 4, alpha 8) + 3-label classification head;
                   c: seq_bn (rf 4) + 2-label tagging head; d: seq_bn (rf 8) + 2-label classification head;
                   e: LoRA (r 2, alpha 4) + 2-label classification head (Parallel needs the same sites).
                   Every adapter and head tensor re-drawn at unit scale (fixture_env.redraw), so each changes the
                   outputs by O(1).
  expected.json    a padded batch of 3 sequences and the outputs of
                   single_<x>                       set_active_adapters("x") (tagging: attended positions only)
                   parallel                         Parallel("a", "c", "d"): one output per head, in that order (adapters
                                                    1.3.0 needs every child at the same locations: all seq_bn here)
                   parallel_lora                    Parallel("b", "e") (adapters 1.3.0 fails on a Parallel mixing LoRA
                                                    with bottlenecks: a LoRA layer then sees no LoRA child)
                   batch_split                      BatchSplit("a", "c", batch_sizes=[1, 2]): head a on row 0, the tagging
                                                    head c on rows 1-2
                   average_ad                       Average("a", "d", weights=[0.7, 0.3]) with head d (adapters 1.3.0
                                                    normalises the weights, then takes torch.mean over the weighted
                                                    outputs: Σ w_i·out_i / k, residual included — kept as is)
                   split_ad                         Split("a", "d", splits=[2, 4]) with head d: positions 0-1 through a,
                                                    2-5 (the padded length is 6) through d
                   average_be                       Average("b", "e", weights=[3, 2]) with head e: LoRA updates averaged
                                                    the same way, (Σ w_i·ΔW_i·x) / k
                   average_adapter                  average_adapter("avg", ["a", "d"]... same config required, so "a"
                                                    and "a2" (a copy of a re-drawn): weights [0.25, 0.75], head a
                   average_head                     average_head("avg_head", ["a", "d"], weights [0.4, 0.6]) on adapter a
                   average_svd                      average_adapter("svd", ["b"], weights [1.5], unnormalised,
                                                    combine_strategy="lora_delta_w_svd", svd_rank 2) with head b; its
                                                    config (r 2, b's alpha) and each location's first 6 values of B·A
                   fuse_dynamic, fuse_static,       set_active_adapters(Fuse("a", "d")) with the "dynamic" and "static"
                   fuse_flags                       configs, and Fuse("d", "a") with query_before_ln, residual_before and the
                                                    value matrix after the softmax; the head named like the fusion ("a,d")
  fuse_*/          each fusion saved by save_adapter_fusion(with_head=True): adapter_fusion_config.json,
                   model_adapter_fusion.safetensors, head_config.json, model_head.safetensors
Pinned: torch 2.13.0, transformers 4.57.6, adapters 1.3.0.
"""
import json
import os
import shutil

import torch
from adapters import AutoAdapterModel, DoubleSeqBnConfig, LoRAConfig, SeqBnConfig
from adapters.composition import Average, BatchSplit, Fuse, Parallel, Split

from fixture_env import redraw, require

require("torch", "transformers", "adapters")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")
OUT = os.path.join(FIX, "composition")


def batch():
    ids = [[0, 17, 42, 9, 77, 2], [0, 5, 88, 2, 1, 1], [0, 61, 23, 45, 2, 1]]
    mask = [[1 if t != 1 else 0 for t in row] for row in ids]
    return torch.tensor(ids), torch.tensor(mask)


def rows(t):
    return [[round(float(x), 7) for x in r] for r in t.reshape(-1, t.shape[-1])]


def main():
    torch.manual_seed(5)
    model = AutoAdapterModel.from_pretrained(BASE)
    model.add_adapter("a", config=SeqBnConfig())
    model.add_classification_head("a", num_labels=2, id2label={0: "neg", 1: "pos"})
    model.add_adapter("b", config=LoRAConfig(r=4, alpha=8))
    model.add_classification_head("b", num_labels=3, id2label={0: "x", 1: "y", 2: "z"})
    model.add_adapter("c", config=SeqBnConfig(reduction_factor=4))
    model.add_tagging_head("c", num_labels=2, id2label={0: "O", 1: "B-X"})
    model.add_adapter("d", config=SeqBnConfig(reduction_factor=8))
    model.add_classification_head("d", num_labels=2, id2label={0: "neg", 1: "pos"})
    model.add_adapter("e", config=LoRAConfig(r=2, alpha=4))
    model.add_classification_head("e", num_labels=2, id2label={0: "neg", 1: "pos"})
    model.add_adapter("a2", config=SeqBnConfig())
    gen = torch.Generator().manual_seed(77)
    redraw(model, gen, only=lambda n: ".adapters." in n or ".loras." in n or n.startswith("heads."))
    model.eval()
    ids, mask = batch()
    kw = {"input_ids": ids, "attention_mask": mask}
    out = {"input_ids": ids.tolist(), "attention_mask": mask.tolist()}
    with torch.no_grad():
        for name in ("a", "b", "c", "d", "e"):
            model.set_active_adapters(name)
            model.active_head = name
            logits = model(**kw).logits
            out[f"single_{name}"] = rows(logits[mask == 1] if name == "c" else logits)
        model.set_active_adapters(Parallel("a", "c", "d"))
        par = model(**kw)
        assert len(par) == 3, type(par)
        out["parallel"] = [rows(par[0].logits), rows(par[1].logits[mask == 1]), rows(par[2].logits)]
        model.set_active_adapters(Parallel("b", "e"))
        par = model(**kw)
        out["parallel_lora"] = [rows(par[0].logits), rows(par[1].logits)]
        model.set_active_adapters(BatchSplit("a", "c", batch_sizes=[1, 2]))
        split = model(**kw)
        out["batch_split"] = [rows(split[0].logits), rows(split[1].logits[mask[1:] == 1])]
        model.set_active_adapters(Average("a", "d", weights=[0.7, 0.3]))
        model.active_head = "d"
        out["average_ad"] = rows(model(**kw).logits)
        out["average_ad_weights"] = [0.7, 0.3]
        model.set_active_adapters(Split("a", "d", splits=[2, 4]))
        model.active_head = "d"
        out["split_ad"] = rows(model(**kw).logits)
        model.set_active_adapters(Average("b", "e", weights=[3, 2]))
        model.active_head = "e"
        out["average_be"] = rows(model(**kw).logits)
    model.average_adapter("avg", ["a", "a2"], weights=[0.25, 0.75])
    model.average_head("avg_head", ["a", "d"], weights=[0.4, 0.6])
    with torch.no_grad():
        model.set_active_adapters("avg")
        model.active_head = "a"
        out["average_adapter"] = rows(model(**kw).logits)
        model.set_active_adapters("a")
        model.active_head = "avg_head"
        out["average_head"] = rows(model(**kw).logits)
    # AdapterFusion over a (seq_bn) and d (seq_bn, rf 8), three configurations; each fusion layer and head re-drawn at
    # unit scale (the value matrix as identity + N(0, 0.3²), so the fusion is far from both a copy and an average).
    fusions = {
        "fuse_dynamic": ("dynamic", ("a", "d")),
        "fuse_static": ("static", ("a", "d")),
        "fuse_flags": ({"key": True, "query": True, "value": True, "query_before_ln": True, "regularization": False,
                        "residual_before": True, "temperature": False, "value_before_softmax": False,
                        "value_initialized": False, "dropout_prob": None}, ("d", "a")),
    }
    fgen = torch.Generator().manual_seed(91)
    for key, (config, names) in fusions.items():
        model.delete_adapter_fusion(Fuse(*names)) if ",".join(names) in model.adapters_config.fusions else None
        model.add_adapter_fusion(Fuse(*names), config=config)
        fname = ",".join(names)
        model.add_classification_head(fname, num_labels=2, id2label={0: "neg", 1: "pos"}, overwrite_ok=True)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if f"adapter_fusion_layer.{fname}." in n or n.startswith(f"heads.{fname}."):
                    if n.endswith("value.weight"):
                        p.copy_(torch.eye(p.shape[0]) + 0.3 * torch.randn(p.shape, generator=fgen))
                    elif p.dim() == 2:
                        p.copy_(torch.randn(p.shape, generator=fgen) / p.shape[1] ** 0.5)
                    else:
                        p.copy_(0.1 * torch.randn(p.shape, generator=fgen))
        model.set_active_adapters(Fuse(*names))
        model.active_head = fname
        with torch.no_grad():
            out[key] = rows(model(**kw).logits)
        folder = os.path.join(OUT + ".tmp", key)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        model.save_adapter_fusion(folder, fname, with_head=True, use_safetensors=True)
        model.delete_adapter_fusion(Fuse(*names))
        model.delete_head(fname)  # else save_adapter("a") would also save the head "a,d" (a shared name prefix)
    # average_adapter with lora_delta_w_svd (last, so the draws above are unchanged): 1.5·ΔW of b cut to rank 2 by an
    # SVD; the new adapter has r 2 and b's alpha (so its scaling doubles, as AdapterHub's config.replace(r=…) makes it).
    model.average_adapter("svd", ["b"], weights=[1.5], normalize_weights=False, combine_strategy="lora_delta_w_svd",
                          svd_rank=2)
    with torch.no_grad():
        model.set_active_adapters("svd")
        model.active_head = "b"
        out["average_svd"] = rows(model(**kw).logits)
        out["average_svd_config"] = {"r": model.adapters_config.get("svd").r, "alpha": model.adapters_config.get("svd").alpha}
        # The rank-2 update of every location (A and B themselves are fixed only up to the signs of singular vectors).
        out["average_svd_delta_w"] = {n.replace(".lora_A.svd", ""): (m.loras["svd"].lora_B @ m.loras["svd"].lora_A).reshape(-1)[:6].tolist()
                                      for n, m in model.named_modules() if hasattr(m, "loras") and "svd" in m.loras
                                      for n in [n + ".lora_A.svd"]}
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for key in fusions:
        shutil.move(os.path.join(OUT + ".tmp", key), os.path.join(OUT, key))
    shutil.rmtree(OUT + ".tmp", ignore_errors=True)
    for name in ("a", "b", "c", "d", "e"):
        model.save_adapter(os.path.join(OUT, name), name, use_safetensors=True)
    model.save_adapter(os.path.join(OUT, "a2"), "a2", with_head=False, use_safetensors=True)
    model.save_adapter(os.path.join(OUT, "avg"), "avg", with_head=False, use_safetensors=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("single a", out["single_a"][0], "parallel", [p[0] for p in out["parallel"]], "single c", out["single_c"][0],
          "average", out["average_ad"][0], "average_adapter", out["average_adapter"][0], "average_head", out["average_head"][0])


if __name__ == "__main__":
    main()
