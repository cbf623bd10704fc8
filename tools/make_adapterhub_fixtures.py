#!/usr/bin/env python3
"""Adapter folders saved by the Python `adapters` library, for format and interop tests.

    .venv-bench/bin/python tools/make_adapterhub_fixtures.py

Writes Tests/Fixtures/adapterhub/<method>/ for seq_bn, double_seq_bn and lora on the tiny RoBERTa
base of the training fixtures: what `save_adapter(dir, name, use_safetensors=True)` writes
(adapter_config.json, adapter.safetensors, head_config.json, model_head.safetensors), plus
`expected.json` with logits of a batch through the saved adapter and head.

Also Tests/Fixtures/adapterhub/shared-prefix/{safetensors,pickle}/<name>/: three adapters with heads
whose names share a prefix (`sst`, `sst_lora`, `sst_lora_r4a16`) in one model, each saved on its own.
`adapters` 1.3.0 selects a head's tensors by the substring `heads.NAME` (no trailing dot), so `sst`'s
head file also holds both other heads and `sst_lora`'s holds `sst_lora_r4a16`'s; the script checks that
Python's own `load_adapter` gives the saving model's logits for every folder. Pinned versions are
asserted below.
"""
import json
import os
import shutil

import adapters
import torch
import transformers
from adapters import AutoAdapterModel, DoubleSeqBnConfig, LoRAConfig, SeqBnConfig
from safetensors.torch import load_file

from fixture_env import require

require("torch", "transformers", "adapters", "safetensors")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")


def main():
    for method, cfg in [("seq_bn", SeqBnConfig()), ("double_seq_bn", DoubleSeqBnConfig()), ("lora", LoRAConfig())]:
        torch.manual_seed(7)
        model = AutoAdapterModel.from_pretrained(BASE)
        model.add_adapter("rt", config=cfg)
        model.add_classification_head("rt", num_labels=2, id2label={0: "negative", 1: "positive"})
        # Non-trivial values everywhere (LoRA B starts at zero otherwise).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if ".rt." in n or n.startswith("heads.rt"):
                    p.normal_(0, 0.2)
        model.set_active_adapters("rt")
        model.config.name_or_path = "tiny-roberta"
        model.eval()
        out = os.path.join(FIX, "adapterhub", method)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        model.save_adapter(out, "rt", use_safetensors=True)
        ids = torch.tensor([[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2, 1, 1, 1]])
        mask = (ids != 1).long()
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                       "logits": [[round(float(x), 7) for x in row] for row in logits]}, f)
        print(method, sorted(os.listdir(out)))



def head_keys(folder):
    if os.path.exists(os.path.join(folder, "model_head.safetensors")):
        return sorted(load_file(os.path.join(folder, "model_head.safetensors")).keys())
    return sorted(torch.load(os.path.join(folder, "pytorch_model_head.bin"), weights_only=True).keys())


def shared_prefix():
    """Neighbouring names: what a user who tried several settings of one task saves."""
    names = {"sst": SeqBnConfig(), "sst_lora": LoRAConfig(), "sst_lora_r4a16": LoRAConfig(r=4, alpha=16)}
    labels = {"sst": 2, "sst_lora": 3, "sst_lora_r4a16": 2}
    torch.manual_seed(11)
    model = AutoAdapterModel.from_pretrained(BASE)
    for name, cfg in names.items():
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=labels[name])
    with torch.no_grad():
        for n, p in model.named_parameters():
            if ".sst" in n or n.startswith("heads."):
                p.normal_(0, 0.2)
    model.config.name_or_path = "tiny-roberta"
    model.eval()
    ids = torch.tensor([[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2, 1, 1, 1]])
    mask = (ids != 1).long()
    expected = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": {}, "head_tensors": {}}
    root = os.path.join(FIX, "adapterhub", "shared-prefix")
    shutil.rmtree(root, ignore_errors=True)
    for name in names:
        model.set_active_adapters(name)
        model.active_head = name
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits
        expected["logits"][name] = [[round(float(x), 7) for x in row] for row in logits]
        for fmt in ["safetensors", "pickle"]:
            out = os.path.join(root, fmt, name)
            os.makedirs(out)
            model.save_adapter(out, name, use_safetensors=(fmt == "safetensors"))
            keys = head_keys(out)
            expected["head_tensors"][f"{fmt}/{name}"] = keys
            # Python's loader takes such a folder without complaint and gives the same logits.
            fresh = AutoAdapterModel.from_pretrained(BASE)
            fresh.load_adapter(out, set_active=True, use_safetensors=(fmt == "safetensors"))
            fresh.eval()
            with torch.no_grad():
                again = fresh(input_ids=ids, attention_mask=mask).logits
            assert torch.allclose(again, logits, atol=1e-6), (fmt, name)
    assert any("sst_lora_r4a16" in k for k in expected["head_tensors"]["safetensors/sst_lora"])
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("shared-prefix", {k: len(v) for k, v in expected["head_tensors"].items()})


if __name__ == "__main__":
    main()
    shared_prefix()
