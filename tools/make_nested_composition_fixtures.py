#!/usr/bin/env python3
"""Fixtures for composition blocks nested in a Stack, and Stacks in Parallel and BatchSplit (issue #19).

    .venv-bench/bin/python tools/make_nested_composition_fixtures.py

Reads the adapters and fusions tools/make_composition_fixtures.py saved in Tests/Fixtures/composition/ (run that first)
on the tiny RoBERTa of the training fixtures, and writes Tests/Fixtures/composition/nested.json: the padded batch of
expected.json and the outputs of
  stack_c_fuse_ad        Stack("c", Fuse("a", "d")) (fusion fuse_dynamic), head "a,d"
  stack_b_fuse_ad        Stack("b", Fuse("a", "d")): the LoRA adapter b in the linear layers, the fusion after them
  stack_fuse_da_c        Stack(Fuse("d", "a"), "c") (fusion fuse_flags: query_before_ln, residual_before, the value
                         matrix after the softmax), head "c" (tagging: attended positions only)
  stack_c_average_ad     Stack("c", Average("a", "d", weights=[0.7, 0.3])), head "d" (set by hand: AdapterHub keeps the
                         active head when a setup ends in an Average)
  stack_c_split_ad       Stack("c", Split("a", "d", splits=[2, 4])), head "d"
  stack_a_c_average_ad   Stack("a", "c", Average("a2", "d")) — two adapters before the block, equal weights — head "d"
  stack_c_a, stack_c_d   Stack("c", "a") with head "a", Stack("c", "d") with head "d", each alone; single_d likewise
  stack_c_parallel_ad    Stack("c", Parallel("a", "d")): heads "a" and "d" — each branch equal to Stack("c", x) alone
  parallel_stacks        Parallel(Stack("c", "a"), Stack("c", "d")): heads "a" and "d", and
  batch_split_stacks     BatchSplit(Stack("c", "a"), "d", batch_sizes=[1, 2]): head "a" on row 0, "d" on rows 1-2 —
                         as adapters 1.3.0 runs them, which is NOT each branch as run alone: compose_parallel and
                         compose_batch_split call pre_block (the first adapter's pre_forward: LN(h + r)) on the whole
                         block, then compose_stack calls it again for the branch's first adapter, so a Stack branch
                         reads LN(LN(h + r) + r). Single-adapter branches go through compose_single and are unaffected.
                         SwiftAdapters runs every branch as that setup alone (what the branch's adapters were trained
                         as); the test checks that, and that these recorded outputs differ from it.
Pinned: torch 2.13.0, transformers 4.57.6, adapters 1.3.0.
"""
import json
import os

import torch
from adapters import AutoAdapterModel
from adapters.composition import Average, BatchSplit, Fuse, Parallel, Split, Stack

from fixture_env import require

require("torch", "transformers", "adapters")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")
DIR = os.path.join(FIX, "composition")


def rows(t):
    return [[round(float(x), 7) for x in r] for r in t.reshape(-1, t.shape[-1])]


def main():
    with open(os.path.join(DIR, "expected.json")) as f:
        flat = json.load(f)
    ids = torch.tensor(flat["input_ids"])
    mask = torch.tensor(flat["attention_mask"])
    model = AutoAdapterModel.from_pretrained(BASE)
    for name in ("a", "a2", "b", "c", "d"):
        model.load_adapter(os.path.join(DIR, name), with_head=name != "a2", use_safetensors=True)
    model.load_adapter_fusion(os.path.join(DIR, "fuse_dynamic"), with_head=True, use_safetensors=True)
    model.load_adapter_fusion(os.path.join(DIR, "fuse_flags"), with_head=True, use_safetensors=True)
    model.eval()
    kw = {"input_ids": ids, "attention_mask": mask}
    out = {"input_ids": ids.tolist(), "attention_mask": mask.tolist()}

    def run(setup, head=None, tagging=False):
        model.set_active_adapters(setup)
        if head is not None:
            model.active_head = head
        logits = model(**kw).logits
        return rows(logits[mask == 1] if tagging else logits)

    with torch.no_grad():
        # The single adapters again: the Swift test checks it loaded the same folders.
        out["single_a"] = run("a", "a")
        out["stack_c_fuse_ad"] = run(Stack("c", Fuse("a", "d")), "a,d")
        out["stack_b_fuse_ad"] = run(Stack("b", Fuse("a", "d")), "a,d")
        out["stack_fuse_da_c"] = run(Stack(Fuse("d", "a"), "c"), "c", tagging=True)
        out["stack_c_average_ad"] = run(Stack("c", Average("a", "d", weights=[0.7, 0.3])), "d")
        out["stack_c_split_ad"] = run(Stack("c", Split("a", "d", splits=[2, 4])), "d")
        out["stack_a_c_average_ad"] = run(Stack("a", "c", Average("a2", "d")), "d")
        out["stack_c_a"] = run(Stack("c", "a"), "a")
        out["stack_c_d"] = run(Stack("c", "d"), "d")
        out["single_d"] = run("d", "d")
        model.set_active_adapters(Parallel(Stack("c", "a"), Stack("c", "d")))
        assert model.active_head == ["a", "d"], model.active_head
        par = model(**kw)
        out["parallel_stacks"] = [rows(par[0].logits), rows(par[1].logits)]
        # A Parallel at the end of a Stack (MAD-X: one language adapter, several task adapters): each branch reads
        # the language adapter's output through one pre_forward, so branch i is Stack("c", x_i) exactly.
        model.set_active_adapters(Stack("c", Parallel("a", "d")))
        assert model.active_head == ["a", "d"], model.active_head
        par = model(**kw)
        out["stack_c_parallel_ad"] = [rows(par[0].logits), rows(par[1].logits)]
        model.set_active_adapters(BatchSplit(Stack("c", "a"), "d", batch_sizes=[1, 2]))
        split = model(**kw)
        out["batch_split_stacks"] = [rows(split[0].logits), rows(split[1].logits)]
        # The double pre_forward described above: a Stack branch differs from the same Stack alone.
        assert max(abs(x - y) for x, y in zip(out["parallel_stacks"][0][0], out["stack_c_a"][0])) > 1e-2
        # Each block changes the result: the nested outputs differ from the blocks alone.
        model.set_active_adapters(Fuse("a", "d"))
        model.active_head = "a,d"
        alone = rows(model(**kw).logits)
        assert max(abs(x - y) for r, s in zip(alone, out["stack_c_fuse_ad"]) for x, y in zip(r, s)) > 1e-2
    with open(os.path.join(DIR, "nested.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print({k: v[0] if k not in ("parallel_stacks", "batch_split_stacks", "stack_c_parallel_ad") else [p[0] for p in v]
           for k, v in out.items() if k not in ("input_ids", "attention_mask")})


if __name__ == "__main__":
    main()
