#!/usr/bin/env python3
"""Adapter folders saved by the Python `adapters` library, for format and interop tests.

    .venv-bench/bin/python tools/make_adapterhub_fixtures.py

Writes Tests/Fixtures/adapterhub/<method>/ for seq_bn, double_seq_bn and lora on the tiny RoBERTa
base of the training fixtures: what `save_adapter(dir, name, use_safetensors=True)` writes
(adapter_config.json, adapter.safetensors, head_config.json, model_head.safetensors), plus
`expected.json` with logits of a batch through the saved adapter and head. Pinned: torch 2.13.0,
transformers 4.57.6, adapters 1.3.0.
"""
import json
import os
import shutil

import torch
from adapters import AutoAdapterModel, DoubleSeqBnConfig, LoRAConfig, SeqBnConfig

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


if __name__ == "__main__":
    main()
