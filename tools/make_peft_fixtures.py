#!/usr/bin/env python3
"""PEFT LoRA folders for the interop tests: Tests/Fixtures/peft/{lora_seq_cls,bert_lora_seq_cls}/.

    .venv-bench/bin/pip install peft==0.17.1
    .venv-bench/bin/python tools/make_peft_fixtures.py

Roberta/BertForSequenceClassification on the tiny bases of the training fixtures, LoRA r=8 alpha=16 on
query/value (task SEQ_CLS, so the classifier is saved through modules_to_save), all LoRA and head
values random; `save_pretrained` writes adapter_config.json + adapter_model.safetensors.
expected.json holds logits of a batch. Pinned: torch 2.13.0, transformers 4.57.6, peft 0.17.1.
"""
import json
import os
import shutil

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import BertForSequenceClassification, RobertaForSequenceClassification

from fixture_env import require

require("torch", "transformers", "peft")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")


def main():
    for arch, cls, folder in [("roberta", RobertaForSequenceClassification, "lora_seq_cls"),
                              ("bert", BertForSequenceClassification, "bert_lora_seq_cls")]:
        write(arch, cls, folder)


def write(arch, cls, folder):
    torch.manual_seed(11)
    base = cls.from_pretrained(
        os.path.join(FIX, "training", f"base-{arch}"), num_labels=2, id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1})
    model = get_peft_model(base, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, target_modules=["query", "value"]))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.requires_grad:
                p.normal_(0, 0.2)
    model.eval()
    out = os.path.join(FIX, "peft", folder)
    shutil.rmtree(out, ignore_errors=True)
    model.peft_config["default"].base_model_name_or_path = f"tiny-{arch}"
    model.save_pretrained(out)
    ids = torch.tensor([[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2, 1, 1, 1]])
    mask = (ids != 1).long()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                   "logits": [[round(float(x), 7) for x in row] for row in logits]}, f)
    print(sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
