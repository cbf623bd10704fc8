#!/usr/bin/env python3
"""Adapter folders saved by the Python `adapters` library, for format and interop tests.

    .venv-bench/bin/python tools/make_adapterhub_fixtures.py

Writes Tests/Fixtures/adapterhub/<method>/ for seq_bn, double_seq_bn, lora, par_bn, scaled_par_bn, ia3 and
lora_ffn (LoRA on q, k, v, intermediate and output dense) on the tiny RoBERTa base of the training fixtures:
what `save_adapter(dir, name, use_safetensors=True)` writes (adapter_config.json, adapter.safetensors,
head_config.json, model_head.safetensors), plus `expected.json` with logits of a batch through the saved
adapter and head, the config string the Swift side builds the same configuration from ("config_string"),
and "margin_without_adapter": how far the logits move when the adapter is switched off (the head kept) —
a method the Swift side skipped would miss by that much, far above the 1e-4 tolerance. The methods added
after the first three also get <method>-pickle/ with the same adapter saved by `save_adapter(dir, name)`
(torch.save pickles: pytorch_adapter.bin, pytorch_model_head.bin).

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
import sys

import adapters
import torch
import transformers
from adapters import (AutoAdapterModel, CompacterConfig, CompacterPlusPlusConfig, ConfigUnion, DoubleSeqBnConfig, IA3Config,
                      LoRAConfig, MAMConfig, ParBnConfig, PrefixTuningConfig, PromptTuningConfig, SeqBnConfig,
                      SeqBnInvConfig, UniPELTConfig, LoReftConfig, DiReftConfig, NoReftConfig, VeraConfig, AdapterPlusConfig)
from adapters.configuration.adapter_config import DvoRAConfig
from safetensors.torch import load_file, save_file

from fixture_env import require

require("torch", "transformers", "adapters", "safetensors")

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures")
BASE = os.path.join(FIX, "training", "base-roberta")


LORA_FFN = "lora[r=4,alpha=12,attn_matrices=[q,k,v],intermediate_lora=True,output_lora=True]"
METHODS = [
    ("seq_bn", SeqBnConfig(), "seq_bn"),
    ("double_seq_bn", DoubleSeqBnConfig(), "double_seq_bn"),
    ("lora", LoRAConfig(), "lora"),
    ("par_bn", ParBnConfig(), "par_bn"),
    ("scaled_par_bn", ParBnConfig(scaling="learned"), "scaled_par_bn"),
    ("ia3", IA3Config(), "ia3"),
    ("lora_ffn", LoRAConfig(r=4, alpha=12, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True),
     LORA_FFN),
    ("compacter", CompacterConfig(reduction_factor=4), "compacter[reduction_factor=4]"),
    ("compacter_pp", CompacterPlusPlusConfig(reduction_factor=4, shared_phm_rule=False, factorized_phm_W=False),
     "compacter++[reduction_factor=4,shared_phm_rule=False,factorized_phm_W=False]"),
    ("seq_bn_inv", SeqBnInvConfig(), "seq_bn_inv"),
    ("union", ConfigUnion(LoRAConfig(r=4, intermediate_lora=True), DoubleSeqBnConfig(output_adapter=False)),
     "lora[r=4,intermediate_lora=True]|double_seq_bn[output_adapter=False]"),
    ("prompt_tuning", PromptTuningConfig(prompt_length=4), "prompt_tuning[prompt_length=4]"),
    ("dora", LoRAConfig(r=4, alpha=8, use_dora=True, attn_matrices=["q", "k", "v"]),
     "dora[r=4,alpha=8,attn_matrices=[q,k,v]]"),
    ("prefix_tuning", PrefixTuningConfig(prefix_length=4, bottleneck_size=16), "prefix_tuning[prefix_length=4,bottleneck_size=16]"),
    ("mam", MAMConfig(PrefixTuningConfig(bottleneck_size=64), ParBnConfig(reduction_factor=8)),
     "prefix_tuning[bottleneck_size=64]|par_bn[reduction_factor=8]"),
    # `eject_prefix_tuning` before saving: adapters 1.3.0 then writes the flat `control_trans` beside a config that
    # still says "flat": false (and cannot load that folder itself); the Swift side reads it as flat.
    ("prefix_tuning_ejected", PrefixTuningConfig(prefix_length=3, bottleneck_size=8),
     "prefix_tuning_flat[prefix_length=3,bottleneck_size=8]"),
    ("unipelt", UniPELTConfig(PrefixTuningConfig(prefix_length=10, bottleneck_size=32)),
     "prefix_tuning[prefix_length=10,bottleneck_size=32,use_gating=True]|seq_bn[use_gating=True]|lora[alpha=2,use_gating=True]"),
    # ReFT: LoReFT with a suffix unit (its orthogonal `base` buffers saved too), NoReFT tied, and DiReFT — whose
    # `subtract_projection: false` adapters 1.3.0 does not write (a class attribute, not a dataclass field) nor
    # honour when present: Python reloads any DiReFT folder as NoReFT (0.20 off here). The script adds the key to
    # the saved config; the expected logits are the live DiReFT model's, which the Swift side gives from the folder.
    ("loreft", LoReftConfig(r=2, suffix_positions=1), "loreft[r=2,suffix_positions=1]"),
    ("noreft", NoReftConfig(r=2, prefix_positions=2, suffix_positions=2, tied_weights=True),
     "noreft[r=2,prefix_positions=2,suffix_positions=2,tied_weights=True]"),
    ("direft", DiReftConfig(r=2, layers=[1]), "direft[r=2,layers=[1]]"),
    # VeRA: per-site vera_D and vera_B, and the shared frozen A and B (`shared_parameters.rt.lora_{A,B}`), all saved.
    ("vera", VeraConfig(r=4), "vera[r=4]"),
    ("dvora", DvoRAConfig(r=4, alpha=16), "dvora[r=4,alpha=16]"),
    # AdapterPlus (stochastic depth 0: its StochasticDepth needs torchvision, which the pinned venv does not hold,
    # and acts in training only).
    ("adapterplus", AdapterPlusConfig(reduction_factor=4, stochastic_depth=0.0), "adapterplus[reduction_factor=4,stochastic_depth=0.0]"),
]
# Methods whose AdapterHub logits depend on how a batch is padded: prompt tuning (its rows attend to padding keys)
# and gates (averaged over every position, padding included). Their reference is each sequence run alone.
UNPADDED_REFERENCE = {"prompt_tuning", "unipelt"}
# adapters 1.3.0 cannot save prefix tuning as safetensors: its pool is one module reached from every layer, so the
# state dict repeats each tensor (`…encoder.layer.N.attention.self.prefix_tuning.pool.prefix_tunings.…` and
# `…prefix_tuning.prefix_tunings.…`) and safetensors refuses shared tensors. Those folders are written from the
# pickle with one copy of each tensor (the `…prefix_tuning.prefix_tunings.…` name), which Python's `load_adapter`
# reads back with the same logits (asserted).
PREFIX = {"prefix_tuning", "mam", "prefix_tuning_ejected", "unipelt"}
WITH_PICKLE = {"dvora", "adapterplus", "vera", "loreft", "noreft", "direft", "par_bn", "scaled_par_bn", "ia3", "lora_ffn", "compacter", "compacter_pp", "seq_bn_inv", "union", "prompt_tuning", "dora",
               "prefix_tuning", "mam", "prefix_tuning_ejected", "unipelt"}


def add_subtract_projection(folder):
    """DiReFT's `subtract_projection: false`, which adapters 1.3.0's `save_adapter` drops (see METHODS)."""
    path = os.path.join(folder, "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["config"]["subtract_projection"] = False
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def save_prefix_safetensors(model, out):
    """The safetensors folder of a prefix-tuning adapter, from its pickle (see PREFIX)."""
    model.save_adapter(out, "rt")
    for pickle_name, st_name in (("pytorch_adapter.bin", "adapter.safetensors"),
                                 ("pytorch_model_head.bin", "model_head.safetensors")):
        state = torch.load(os.path.join(out, pickle_name))
        kept = {}
        for name in sorted(state, key=lambda n: (".encoder.layer." in n, n)):  # the pool's root names first
            if not any(state[name].data_ptr() == t.data_ptr() for t in kept.values()):
                kept[name] = state[name].contiguous()
        save_file(kept, os.path.join(out, st_name), metadata={"format": "pt"})
        os.remove(os.path.join(out, pickle_name))


def main():
    only = sys.argv[1:]  # method names: rewrite just those folders
    for method, cfg, config_string in METHODS:
        if only and method not in only:
            continue
        torch.manual_seed(7)
        model = AutoAdapterModel.from_pretrained(BASE)
        model.add_adapter("rt", config=cfg)
        model.add_classification_head("rt", num_labels=2, id2label={0: "negative", 1: "positive"})
        # Non-trivial values everywhere (LoRA B starts at zero otherwise).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if ".rt." in n or n.startswith("heads.rt"):
                    p.normal_(0, 0.2)
                    # Scales ((IA)³ vectors, learned scaling) around 1, where they start, but far from it.
                    if n.endswith(".scaling") or (method == "ia3" and n.endswith("lora_B")):  # (AdapterPlus: per channel)
                        p.add_(1.0)
                    if n.endswith(".m.weight"):  # DoRA magnitudes: positive, around the rows' norms
                        p.abs_().add_(1.0)
                    # PHM rules and factors larger: H = Σ P_i ⊗ L_i·R_i multiplies three of them.
                    if n.rsplit(".", 1)[1] in ("phm_rule", "W_left", "W_right", "W"):
                        p.mul_(3.0)
                    if n.endswith("wte.weight"):  # prefix tables: unit scale, as nn.Embedding draws them
                        p.mul_(5.0)
                    if n.endswith("parametrizations.weight.original"):
                        # LoReFT multiplies column i by trunc(original[i, i]): ±1.5 keeps ±1 (not 0).
                        for i in range(p.shape[0]):
                            p[i, i] = 1.5 if i % 2 else -1.5
        if method == "prefix_tuning_ejected":
            model.eject_prefix_tuning("rt")
        model.set_active_adapters("rt")
        model.config.name_or_path = "tiny-roberta"
        model.eval()
        out = os.path.join(FIX, "adapterhub", method)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        if method in PREFIX:
            save_prefix_safetensors(model, out)
        else:
            model.save_adapter(out, "rt", use_safetensors=True)
        if method == "direft":
            add_subtract_projection(out)
        ids = torch.tensor([[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2, 1, 1, 1]])
        mask = (ids != 1).long()
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits
            if method in UNPADDED_REFERENCE:
                # AdapterHub lets the prompt rows attend to padding keys (and averages gates over the padding), so a
                # padded batch's logits depend on the padding; the reference is each sequence run alone (no padding),
                # which the Swift side gives for the padded batch too. The padded batch's own logits are kept for the
                # record.
                padded = logits
                logits = torch.cat([model(input_ids=ids[i:i + 1, :int(mask[i].sum())]).logits for i in range(len(ids))])
            model.set_active_adapters(None)
            bare = model(input_ids=ids, attention_mask=mask).logits
            model.set_active_adapters("rt")
        margin = (logits - bare).abs().max().item()
        assert margin > 1e-2, f"{method}: the adapter hardly moves the logits ({margin})"
        record = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                  "logits": [[round(float(x), 7) for x in row] for row in logits]}
        if method in UNPADDED_REFERENCE:
            record["logits_python_padded_batch"] = [[round(float(x), 7) for x in row] for row in padded]
        if method in WITH_PICKLE:
            record["config_string"] = config_string
            record["margin_without_adapter"] = round(margin, 6)
            pickled = out + "-pickle"
            shutil.rmtree(pickled, ignore_errors=True)
            os.makedirs(pickled)
            model.save_adapter(pickled, "rt")
            if method == "direft":
                add_subtract_projection(pickled)
            # Python's own load of the pickles (and of a prefix's safetensors) gives the same logits — but for the
            # ejected prefix, whose saved config contradicts its tensors, and DiReFT (see METHODS).
            for folder, st in [(pickled, False)] + ([(out, True)] if method in PREFIX else []):
                if method in ("prefix_tuning_ejected", "direft"):
                    continue
                again = AutoAdapterModel.from_pretrained(BASE)
                name = again.load_adapter(folder, use_safetensors=st)
                again.set_active_adapters(name)
                again.eval()
                with torch.no_grad():
                    same_batch = padded if method in UNPADDED_REFERENCE else logits
                    d = (again(input_ids=ids, attention_mask=mask).logits - same_batch).abs().max().item()
                assert d < 1e-6, (folder, d)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(record, f)
        print(method, sorted(os.listdir(out)), f"margin without the adapter {margin:.3f}")



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
    if not sys.argv[1:]:
        shared_prefix()
