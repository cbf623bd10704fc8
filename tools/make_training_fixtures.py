#!/usr/bin/env python3
"""Writes the training parity fixtures under Tests/Fixtures/training/.

Run in the pinned reference venv (see tools/README.md):
    .venv-bench/bin/python tools/make_training_fixtures.py

Pinned (asserted, tools/requirements.txt): torch 2.13.0+cpu, transformers 4.57.6, adapters 1.3.0, safetensors
0.8.0. Everything is seeded; rerunning gives byte-identical files (the script prints a digest of each folder).

Scale. Every weight — the bases' and every trainable tensor at init (adapters, LoRA A *and B*, the head) — is
re-drawn at unit scale (fixture_env.redraw): with HF's N(0, 0.02) init many gradients were below 1e-5, at the
level of float noise and of the old absolute tolerance, so an all-zero gradient passed. The script asserts
that every trainable tensor's step-0 and last-step gradient has an RMS of at least 1e-3 over the rows that
get a gradient at all (an embedding's unused tokens and positions get none); tests compare per tensor at
1e-4 of its norm.

Layout
------
    base-roberta/, base-bert/        the frozen base encoders, written once per architecture:
        config.json, model.safetensors   `RobertaModel(config, add_pooling_layer=False)` (like roberta-base: no
                                         pooler) / `BertModel(config)` (with pooler) saved with
                                         `save_pretrained(safe_serialization=True)`; tensor names have no prefix.
                                         Re-drawn at unit scale (see Scale).
    <arch>_<method>/                 arch in {roberta, bert}, method in {seq_bn, double_seq_bn, lora, full}
        case.json                    see below; "base" names the base folder ("../base-roberta")
        init.safetensors             every trainable parameter at initialisation (names as model.named_parameters())
        grads.safetensors            their gradients at step 0 (batch 0, before clipping)
        grads_last.safetensors       gradients at the last step (step 2, batch 2, before clipping), after two
                                     optimizer steps have moved every trainable tensor
        after3.safetensors           the trainable parameters after the 3 optimizer steps
        logits0.json                 forward of batch 0 at init: {"logits": [4][3], "cls_hidden": [4][48]} (the head's
                                     input, the last hidden state of token 0; the logits at init hardly depend on
                                     the input, the CLS states do)

Training model: `adapters.AutoAdapterModel.from_pretrained(base)`; adapter cases `add_adapter("task", config)`
(SeqBnConfig(), DoubleSeqBnConfig(), LoRAConfig(): library defaults), `add_classification_head("task",
num_labels=3, id2label=...)` (layers=2: Dropout, Linear(H,H), Tanh, Dropout, Linear(H,3) on token 0, no pooler),
`train_adapter("task")`. Full cases: the head only, `model.train()`, every parameter `requires_grad`; parameters
that get no gradient (the pooler, unused by the head) are left out of every file and listed in case.json
("no_grad_parameters"). All dropout probabilities are 0 (config and head), so train mode is deterministic.

One step (HF Trainer semantics, written out): zero_grad; loss = model(**batch, labels=...).loss (CrossEntropy, mean
over the batch; checked against F.cross_entropy on the logits); backward; total = clip_grad_norm_(trainable, 1.0)
(recorded before clipping); optimizer.step() (torch.optim.AdamW, two groups: decay / no decay, Trainer's rule);
scheduler.step() (get_linear_schedule_with_warmup(opt, 1, 4): the first step uses lr 0).

The script also asserts the AdapterHub facts the Swift side relies on (seq_bn / double_seq_bn closed forms on
layer 0 via forward hooks, LoRA forward and scaling = alpha / r).
"""
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys

import adapters
import safetensors
import torch
import torch.nn.functional as F
import transformers
from adapters import (AutoAdapterModel, CompacterConfig, CompacterPlusPlusConfig, ConfigUnion, DoubleSeqBnConfig,
                      DoubleSeqBnInvConfig, IA3Config, LoRAConfig, MAMConfig, ParBnConfig, PrefixTuningConfig,
                      DiReftConfig, LoReftConfig, NoReftConfig, PromptTuningConfig, SeqBnConfig, SeqBnInvConfig,
                      UniPELTConfig, VeraConfig, AdapterPlusConfig)
from adapters.configuration.adapter_config import DvoRAConfig
from safetensors.torch import save_file
from transformers import (BertConfig, BertModel, RobertaConfig, RobertaModel, Trainer,
                          get_linear_schedule_with_warmup)
from transformers.trainer_pt_utils import get_parameter_names

from fixture_env import redraw, require

require("torch", "transformers", "adapters", "safetensors")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "training")

ID2LABEL = {0: "neg", 1: "neu", 2: "pos"}
OPT = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
WARMUP, TOTAL, STEPS, MAX_GRAD_NORM = 1, 4, 3, 1.0
# New methods go at the end: a case's seeds derive from its index, so earlier fixtures stay byte-identical.
METHODS = ["seq_bn", "double_seq_bn", "lora", "full", "par_bn", "scaled_par_bn", "ia3", "lora_ffn", "compacter",
           "compacter_pp", "seq_bn_inv", "double_seq_bn_inv", "union_lora_seq_bn", "union_two_bn", "prompt_tuning", "prompt_tuning_bos", "dora",
           "dora_ffn", "prefix_tuning", "prefix_tuning_flat", "mam", "unipelt", "gating", "loreft",
           "noreft_tied", "direft", "vera", "adapterplus", "dvora",
           "multilabel", "regression", "tagging", "tagging_2l_gelu", "head_3l_relu", "full_tagging", "multiple_choice",
           "question_answering"]
CONFIGS = {
    "seq_bn": SeqBnConfig,
    "double_seq_bn": DoubleSeqBnConfig,
    "lora": LoRAConfig,
    "par_bn": ParBnConfig,
    "scaled_par_bn": lambda: ParBnConfig(scaling="learned"),
    "ia3": IA3Config,
    # LoRA on every linear layer it can reach, alpha != r: query, key, value, intermediate and output dense.
    "lora_ffn": lambda: LoRAConfig(r=4, alpha=12, attn_matrices=["q", "k", "v"], intermediate_lora=True,
                                   output_lora=True),
    # Compacter at reduction factor 4 (hidden 48 → bottleneck 12, divisible by phm_dim 4), rank-2 factors and the
    # rule shared by every layer; Compacter++ with each layer's own rule and unfactorised W (the other paths).
    "compacter": lambda: CompacterConfig(reduction_factor=4, phm_rank=2),
    "compacter_pp": lambda: CompacterPlusPlusConfig(reduction_factor=4, shared_phm_rule=False, factorized_phm_W=False),
    # MAD-X: a NICE invertible adapter after the embeddings (odd subnet widths: 24 / 3 = 8).
    "seq_bn_inv": SeqBnInvConfig,
    "double_seq_bn_inv": lambda: DoubleSeqBnInvConfig(inv_adapter_reduction_factor=3),
    # ConfigUnion: LoRA with a bottleneck (Swift: "lora[r=4]|seq_bn"), and two bottlenecks at different locations
    # ("seq_bn|double_seq_bn[output_adapter=False,reduction_factor=8]").
    "union_lora_seq_bn": lambda: ConfigUnion(LoRAConfig(r=4), SeqBnConfig()),
    "union_two_bn": lambda: ConfigUnion(SeqBnConfig(), DoubleSeqBnConfig(output_adapter=False, reduction_factor=8)),
    # Prompt tuning before the input (the head then reads the first prompt vector's output, as AdapterHub's does)
    # and after the first token ("prefix_after_bos", with LoRA in a union so that the head's input changes too).
    "prompt_tuning": lambda: PromptTuningConfig(prompt_length=5),
    "prompt_tuning_bos": lambda: ConfigUnion(PromptTuningConfig(prompt_length=3, combine="prefix_after_bos"),
                                             LoRAConfig(r=2)),
    # DoRA with AdapterHub's defaults (alpha = r) and on every dense layer with alpha != r (s = 3).
    "dora": lambda: LoRAConfig(use_dora=True),
    "dora_ffn": lambda: LoRAConfig(r=4, alpha=12, use_dora=True, attn_matrices=["q", "k", "v"], intermediate_lora=True,
                                   output_lora=True),
    # Prefix tuning through its MLP (padded batches: the prefix is attended whatever the padding), flat and left
    # out of layer 0 (the prefix of layer 1 is then the pool's first), and MAM (AdapterHub's MAMConfig: prefix
    # tuning and a parallel bottleneck; its MLP 96 wide instead of 800 to keep the fixture small).
    "prefix_tuning": lambda: PrefixTuningConfig(prefix_length=4, bottleneck_size=16),
    "prefix_tuning_flat": lambda: PrefixTuningConfig(prefix_length=3, flat=True, leave_out=[0]),
    "mam": lambda: MAMConfig(PrefixTuningConfig(bottleneck_size=96)),
    # Gating (`use_gating`, UniPELT): AdapterHub's UniPELTConfig (its prefix MLP 32 wide), and gates everywhere
    # else one can sit — the prefix's with separate key and value outputs, both bottlenecks of double_seq_bn, LoRA
    # on k and the intermediate dense (the top layer's FFN gate needs every row there; on the output dense too the
    # gate's gradient falls to float noise at these sizes, and the Swift FD tests cover it). Unpadded batches:
    # AdapterHub averages a gate over every position of a padded batch, padding included.
    "unipelt": lambda: UniPELTConfig(PrefixTuningConfig(prefix_length=10, bottleneck_size=32)),
    "gating": lambda: ConfigUnion(
        PrefixTuningConfig(prefix_length=3, bottleneck_size=8, use_gating=True, shared_gating=False),
        DoubleSeqBnConfig(reduction_factor=8, use_gating=True),
        LoRAConfig(r=4, alpha=8, attn_matrices=["k"], intermediate_lora=True, use_gating=True)),
    # ReFT (dropout 0 here, as everywhere in these fixtures): LoReFT with prefix and suffix positions (its own unit
    # each; the orthogonal projection through PyTorch's Householder parametrization), NoReFT with one tied unit after
    # layer 1 only, DiReFT with a GELU and no suffix (its suffix unit then gets no gradient).
    "loreft": lambda: LoReftConfig(r=2, prefix_positions=2, suffix_positions=1, dropout=0.0),
    "noreft_tied": lambda: NoReftConfig(r=2, prefix_positions=1, suffix_positions=2, tied_weights=True, layers=[1],
                                        dropout=0.0),
    "direft": lambda: DiReftConfig(r=3, non_linearity="gelu", dropout=0.0),
    # VeRA on q, k and v with alpha != r: the shared frozen A and B (kaiming-uniform, saved in buffers.safetensors)
    # and per-site vera_D [4, 4] and vera_B [48, 48], re-drawn at unit scale like every trained tensor.
    "vera": lambda: VeraConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"]),
    # DVoRA: DoRA's magnitude over W + vera_B·B·vera_D·A, on q and v.
    "dvora": lambda: DvoRAConfig(r=4, alpha=8),
    # AdapterPlus: out = a + s ⊙ f(a) on the FFN's LayerNorm output a, no LayerNorm after, per-channel scaling
    # (rf 4 here: 96 would leave no bottleneck at hidden 48; stochastic depth 0 like every dropout here).
    "adapterplus": lambda: AdapterPlusConfig(reduction_factor=4, stochastic_depth=0.0),
}
# Prediction heads other than the default 2-layer tanh classification head (issue #19): the adapter method and
# the head (kind, add_*_head keyword arguments). Labels per kind: "classification" one class per sequence,
# "regression" one float, "multilabel" a 0/1 vector of 3, "tagging" one class per position (-100 for padding,
# the special tokens and a fifth of the rest, as sub-tokens after a word's first are labelled).
HEADS = {
    "multilabel": ("seq_bn", "multilabel", {"num_labels": 3, "multilabel": True}),
    "regression": ("lora", "regression", {"num_labels": 1}),
    "tagging": ("seq_bn", "tagging", {"num_labels": 3}),
    "tagging_2l_gelu": ("lora", "tagging", {"num_labels": 3, "layers": 2, "activation_function": "gelu"}),
    "head_3l_relu": ("seq_bn", "classification", {"num_labels": 3, "layers": 3, "activation_function": "relu"}),
    "full_tagging": ("full", "tagging", {"num_labels": 3}),
    # Each batch's 4 sequences are 2 examples × 2 choices (input_ids [2, 2, T] in Python, flattened by the model).
    "multiple_choice": ("seq_bn", "multiple_choice", {"num_choices": 2}),
    # Extractive QA: a start and an end position per sequence. Unpadded batches: AdapterHub's loss takes its softmax
    # over every position of the padded row (padding included), the Swift side over the sequence's own positions.
    "question_answering": ("seq_bn", "question_answering", {}),
}
for _m, (_a, _k, _kw) in HEADS.items():
    if _a in CONFIGS:
        CONFIGS[_m] = CONFIGS[_a]
GATED = ("unipelt", "gating")
PHM = ("compacter", "compacter_pp")
BOTTLENECKS = ("seq_bn", "double_seq_bn", "par_bn", "scaled_par_bn", "seq_bn_inv", "double_seq_bn_inv")


# ----------------------------------------------------------------------------------------------- base models

def base_config(arch):
    common = dict(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=96, hidden_act="gelu", max_position_embeddings=40,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if arch == "roberta":
        return RobertaConfig(type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                             eos_token_id=2, **common)
    return BertConfig(type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0, **common)


def write_base(arch):
    torch.manual_seed(1234 if arch == "roberta" else 4321)
    cfg = base_config(arch)
    model = RobertaModel(cfg, add_pooling_layer=False) if arch == "roberta" else BertModel(cfg)
    redraw(model, torch.Generator().manual_seed(1234 if arch == "roberta" else 4321))
    out = os.path.join(ROOT, f"base-{arch}")
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    return out


# ----------------------------------------------------------------------------------------------- batches

def make_batches(arch, unpadded=False, kind="classification"):
    """3 right-padded batches of 4 sequences with different lengths; labels in {0, 1, 2}. `unpadded`: every
    sequence of a batch as long as its longest (prompt tuning: AdapterHub lets the prompt rows attend to padding
    keys, so its padded results depend on the batch; the Swift side matches it where there is no padding)."""
    rng = random.Random(7 if arch == "roberta" else 11)
    pad = 1 if arch == "roberta" else 0
    cls_id, sep_id = (0, 2) if arch == "roberta" else (101, 102)
    lengths = [[9, 5, 14, 3], [7, 12, 4, 10], [16, 6, 8, 11]]
    if unpadded:
        lengths = [[max(lens)] * len(lens) for lens in lengths]
    batches = []
    for b, lens in enumerate(lengths):
        seqs, types = [], []
        for i, n in enumerate(lens):
            body = [rng.randrange(3, 100) for _ in range(n - 2)]
            if arch == "bert" and i == 0:  # a sentence pair: [CLS] a [SEP] b [SEP], segment ids 0/1
                k = (n - 3) // 2
                seq = [cls_id] + body[:k] + [sep_id] + body[k + 1:] + [sep_id]
                tt = [0] * (k + 2) + [1] * (n - k - 2)
            else:
                seq = [cls_id] + body + [sep_id]
                tt = [0] * n
            assert len(seq) == n and len(tt) == n
            seqs.append(seq)
            types.append(tt)
        T = max(lens)
        if kind == "classification":
            labels = [rng.randrange(3) for _ in seqs]
        elif kind == "multiple_choice":
            labels = [rng.randrange(2) for _ in range(len(seqs) // 2)]
        elif kind == "regression":
            labels = [round(rng.uniform(-2, 3), 3) for _ in seqs]
        elif kind == "multilabel":
            labels = [[float(rng.random() < 0.5) for _ in range(3)] for _ in seqs]
        elif kind == "question_answering":  # [start, end] per sequence; the last sequence's end is past the row (ignored)
            labels = []
            for k, s_ in enumerate(seqs):
                a = rng.randrange(len(s_))
                labels.append([a, len(s_) + 3 if k == len(seqs) - 1 else rng.randrange(a, len(s_))])
        else:  # tagging: [T] per sequence
            labels = []
            for s_ in seqs:
                row = [rng.randrange(3) if 0 < j < len(s_) - 1 and rng.random() >= 0.2 else -100 for j in range(len(s_))]
                labels.append(row + [-100] * (T - len(s_)))
        batches.append({
            "input_ids": [s + [pad] * (T - len(s)) for s in seqs],
            "attention_mask": [[1] * len(s) + [0] * (T - len(s)) for s in seqs],
            "token_type_ids": [t + [0] * (T - len(t)) for t in types] if arch == "bert" else None,
            "labels": labels,
        })
    return batches


def to_tensors(batch):
    kw = {"input_ids": torch.tensor(batch["input_ids"]), "attention_mask": torch.tensor(batch["attention_mask"])}
    if batch["token_type_ids"] is not None:
        kw["token_type_ids"] = torch.tensor(batch["token_type_ids"])
    return kw, torch.tensor(batch["labels"])


def head_logits(out):
    """The head's outputs as one tensor: a QA head's start and end logits stacked to [B, T, 2]."""
    if hasattr(out, "start_logits"):
        return torch.stack([out.start_logits, out.end_logits], -1)
    return out.logits


def head_targets(kind, labels):
    """The keyword arguments that give a head its targets."""
    if kind == "question_answering":
        return {"start_positions": labels[:, 0].clone(), "end_positions": labels[:, 1].clone()}
    return {"labels": labels}


def to_choice_tensors(kw):
    """[B·K, T] → [B, K, T] with K = 2, as a multiple-choice model takes them."""
    return {k: v.view(-1, 2, v.shape[-1]) for k, v in kw.items()}


def reference_loss(kind, logits, labels, mask):
    """The head's loss written out, to check the library's."""
    if kind == "regression":
        return F.mse_loss(logits.view(-1), labels.view(-1).float())
    if kind == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, labels.float())
    if kind == "question_answering":  # mean of the start and end cross-entropies; positions past T are ignored
        t = logits.shape[1]
        pos = labels.clamp(0, t)
        return (F.cross_entropy(logits[..., 0], pos[:, 0], ignore_index=t)
                + F.cross_entropy(logits[..., 1], pos[:, 1], ignore_index=t)) / 2
    if kind == "tagging":
        active = torch.where(mask.view(-1) == 1, labels.view(-1), torch.tensor(-100))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), active, ignore_index=-100)
    return F.cross_entropy(logits, labels)


# ----------------------------------------------------------------------------------------------- optimizer rule

FORBIDDEN_NAME_PATTERNS = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]


def decay_parameter_names(model):
    """transformers 4.57.6 Trainer.get_decay_parameter_names: parameters not inside an nn.LayerNorm module and
    whose (lower-cased) name matches none of the patterns above."""
    names = get_parameter_names(model, [torch.nn.LayerNorm], FORBIDDEN_NAME_PATTERNS)
    assert names == Trainer.get_decay_parameter_names(None, model), "decay rule drifted from transformers"
    return names


def shadow_adamw(shadow, trainable, decay, t, lr):
    """The update written out (case.json "optimizer.formula"), run beside torch's AdamW on the clipped grads."""
    b1, b2 = OPT["betas"]
    for n, p in trainable:
        s, g = shadow[n], p.grad.detach()
        if n in decay:
            s["p"].mul_(1 - lr * OPT["weight_decay"])
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        s["p"] -= lr / (1 - b1 ** t) * s["m"] / (s["v"].sqrt() / math.sqrt(1 - b2 ** t) + OPT["eps"])


# ----------------------------------------------------------------------------------------------- checks

def check_bottleneck_closed_form(model, arch, method):
    """seq_bn: out = LN(h + r + f(LN(h + r))) at the FFN output (same frozen LN twice), relu;
    double_seq_bn: out = LN(h + f(h) + r) at attention output and FFN output, swish (SiLU);
    par_bn / scaled_par_bn: out = LN((s·f(r) + h) + r) at the FFN output, relu, s = 4.0 or the learned scalar.
    h = dense(x) (dropout 0), r = the sub-block's residual input, f(x) = up(act(down(x))), scaling 1 unless said."""
    layer = getattr(model, arch).encoder.layer[0]
    method = method.removesuffix("_inv")  # the invertible adapter changes nothing inside the layers
    sites = [layer.output] + ([layer.attention.output] if method == "double_seq_bn" else [])
    seen = []

    def hook(module, args, output):
        x, r = args[0], args[1]
        ln = module.LayerNorm
        ad = module.adapters["task"]
        lin_down, act = ad.adapter_down[0], ad.adapter_down[1]
        h = module.dense(x)
        if method in ("par_bn", "scaled_par_bn"):
            s = ad.scaling
            assert (s == 4.0) if method == "par_bn" else (isinstance(s, torch.nn.Parameter) and s.shape == (1,)), s
            f = F.linear(F.relu(F.linear(r, lin_down.weight, lin_down.bias)), ad.adapter_up.weight,
                         ad.adapter_up.bias) * s
            expected = ln((f + h) + r)  # ParallelAdapter.post_forward: (s·up + h), then LN(· + r)
        elif method == "seq_bn":
            assert isinstance(act.f, torch.nn.ReLU) or "relu" in repr(act).lower(), repr(act)
            f = F.linear(F.relu(F.linear(ln(h + r), lin_down.weight, lin_down.bias)), ad.adapter_up.weight,
                         ad.adapter_up.bias)
            expected = ln((f + h) + r)  # the library's order: (up + residual h) + input_tensor r
        else:
            assert "silu" in repr(act).lower() or "swish" in repr(act).lower(), repr(act)
            f = F.linear(F.silu(F.linear(h, lin_down.weight, lin_down.bias)), ad.adapter_up.weight,
                         ad.adapter_up.bias)
            expected = ln((f + h) + r)
        diff = (expected - output).abs().max().item()
        assert diff == 0.0, f"{method} closed form differs by {diff}"
        vanilla = (ln(h + r) - output).abs().max().item()
        assert vanilla > 1e-7, f"the adapter had no effect ({vanilla})"
        seen.append((type(module).__name__, diff, vanilla))

    handles = [m.register_forward_hook(hook) for m in sites]
    return handles, seen


def check_lora(model, arch, cfg):
    """y = x Wᵀ + b + (x Aᵀ Bᵀ)·(alpha / r) on query and value (after training, so that B ≠ 0); not on key."""
    attn = getattr(model, arch).encoder.layer[0].attention.self
    assert not hasattr(attn.key, "loras") or "task" not in attn.key.loras
    results = []
    for lin in (attn.query, attn.value):
        lora = lin.loras["task"]
        assert lora.scaling == cfg.alpha / cfg.r, (lora.scaling, cfg.alpha, cfg.r)
        assert lora.lora_B.abs().max().item() > 0
        x = torch.randn(2, 5, lin.in_features)
        with torch.no_grad():
            y = lin(x)
            exp = F.linear(x, lin.weight, lin.bias) + (x @ lora.lora_A.t() @ lora.lora_B.t()) * (cfg.alpha / cfg.r)
        d = (y - exp).abs().max().item()
        assert d < 1e-6, f"LoRA forward differs by {d}"
        results.append(d)
    # scaling follows alpha / r also when alpha != r
    return results + check_lora_probe(arch)


def check_ia3(model, arch):
    """(IA)³: key, value and the intermediate dense give (W x + b) ⊙ (alpha·l), l = lora_B [out, 1]; query is
    untouched; no lora_A."""
    layer = getattr(model, arch).encoder.layer[0]
    attn = layer.attention.self
    assert "task" not in getattr(attn.query, "loras", {})
    results = []
    for lin in (attn.key, attn.value, layer.intermediate.dense):
        ia3 = lin.loras["task"]
        assert not hasattr(ia3, "lora_A") and ia3.lora_B.shape == (lin.out_features, 1), ia3
        x = torch.randn(2, 5, lin.in_features)
        with torch.no_grad():
            y = lin(x)
            exp = F.linear(x, lin.weight, lin.bias) * (ia3.lora_B.view(-1) * ia3.scaling)
        d = (y - exp).abs().max().item()
        assert d < 1e-5, f"(IA)³ forward differs by {d}"
        results.append(d)
    return results


def check_lora_ffn(model, arch, cfg):
    """LoRA on query, key, value, intermediate.dense [r, H]/[I, r] and output.dense [r, I]/[H, r]: each
    y = x Wᵀ + b + (x Aᵀ Bᵀ)·(alpha / r)."""
    layer = getattr(model, arch).encoder.layer[0]
    results = []
    for lin in (layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                layer.intermediate.dense, layer.output.dense):
        lora = lin.loras["task"]
        assert lora.lora_A.shape == (cfg.r, lin.in_features) and lora.lora_B.shape == (lin.out_features, cfg.r)
        x = torch.randn(2, 5, lin.in_features)
        with torch.no_grad():
            y = lin(x)
            exp = F.linear(x, lin.weight, lin.bias) + (x @ lora.lora_A.t() @ lora.lora_B.t()) * (cfg.alpha / cfg.r)
        d = (y - exp).abs().max().item()
        assert d < 1e-5, f"LoRA forward differs by {d}"
        results.append(d)
    return results


def check_phm(model, arch, kw):
    """Compacter: each PHMLayer computes y = x·H + b with H = Σ_i P_i ⊗ W_i (block (r, c) of P_i ⊗ W_i is
    P_i[r, c]·W_i), W_i = W_left_i·W_right_i when factorised, P the shared rule or the layer's own. Checked by
    hooks on every PHMLayer during a forward pass (a shared rule is only reachable inside one)."""
    results = []
    shared = getattr(model, arch).shared_parameters

    def hook(phm, args, output):
        x = args[0]
        w = torch.bmm(phm.W_left, phm.W_right) if phm.factorized_phm_W else phm.W
        rule = shared["task"]["phm_rule"] if phm.shared_phm_rule else phm.phm_rule
        n, a, b = w.shape
        H = torch.zeros(n * a, n * b)
        for i in range(n):
            for r in range(n):
                for c in range(n):
                    H[r * a:(r + 1) * a, c * b:(c + 1) * b] += rule[i, r, c] * w[i]
        expected = x @ H + (phm.b if phm.b is not None else 0)
        d = (output - expected).abs().max().item()
        assert d < 1e-4 * max(1.0, expected.abs().max().item()), f"PHM forward differs by {d}"
        results.append(d)

    handles = []
    for layer in getattr(model, arch).encoder.layer:
        for site in (layer.output, layer.attention.output):
            if "task" in getattr(site, "adapters", {}):
                ad = site.adapters["task"]
                handles += [m.register_forward_hook(hook) for m in (ad.adapter_down[0], ad.adapter_up)]
    with torch.no_grad():
        model(**kw)
    for h in handles:
        h.remove()
    assert results
    return results


def check_nice(model, arch, kw):
    """Invertible adapter: the embedding output x = [x1, x2] (⌊H/2⌋ | rest) becomes [y1, y2], y1 = x1 + F(x2),
    y2 = x2 + G(y1), F and G Linear → act → Linear; checked by a hook during a forward pass."""
    inv = getattr(model, arch).invertible_adapters["task"]
    seen = []

    def hook(module, args, output):
        x = args[0]
        h = x.shape[-1] // 2
        x1, x2 = x[..., :h], x[..., h:]
        y1 = x1 + inv.F(x2)
        y2 = x2 + inv.G(y1)
        d = (torch.cat([y1, y2], -1) - output).abs().max().item()
        assert d == 0.0, f"NICE differs by {d}"
        assert (output - x).abs().max().item() > 1e-3, "the invertible adapter had no effect"
        seen.append(d)

    handle = inv.register_forward_hook(hook)
    with torch.no_grad():
        model(**kw)
    handle.remove()
    assert seen
    return seen


def check_lora_probe(arch):
    probe = AutoAdapterModel.from_pretrained(os.path.join(ROOT, f"base-{arch}"))
    probe.add_adapter("probe", config=LoRAConfig(r=4, alpha=12))
    s = getattr(probe, arch).encoder.layer[0].attention.self.query.loras["probe"].scaling
    assert s == 3.0, s
    return []


# ----------------------------------------------------------------------------------------------- one case

def config_dict(cfg):
    """`cfg.to_dict()`, plus DiReFT's `subtract_projection: False`: it is a class attribute, not a dataclass field,
    in adapters 1.3, so `to_dict` drops it (and `from_dict` would rebuild NoReFT); `from_dict` does honour the key."""
    if cfg is None:
        return None
    d = cfg.to_dict()
    if getattr(cfg, "subtract_projection", True) is False:
        d["subtract_projection"] = False
    return d


def canonical(name):
    """AdapterHub's prefix-tuning pool is one module reached from every layer: `named_parameters` names its
    tensors after the first layer (`….encoder.layer.0.attention.self.prefix_tuning.pool.prefix_tunings.…`), its
    state dict also as `….prefix_tuning.prefix_tunings.…` — the name the fixtures (and SwiftAdapters) use."""
    return re.sub(r"\.encoder\.layer\.\d+\.attention\.self\.prefix_tuning\.pool\.", ".prefix_tuning.", name)


def tensors_of(named, which):
    out = {}
    for n, p in named:
        t = p.grad if which == "grad" else p
        out[n] = t.detach().clone().contiguous().float()
    return out


def check_prefix(model, arch, kw):
    """Layer L's self-attention with a prefix: softmax(q·[K_p; K]ᵀ/√D + mask) · [V_p; V], where the pool's
    keys/values `[P, n_layers·2·C]` put layer j's key at columns 2j·C…, its value at (2j+1)·C… (heads of D
    inside), and the prefix is attended by every query whatever the padding."""
    enc = getattr(model, arch).encoder
    pool = enc.layer[-1].attention.self.prefix_tuning.pool.prefix_tunings["task"]["self_prefix"]
    flat = hasattr(pool, "control_trans") and isinstance(pool.control_trans, torch.nn.Parameter)
    with torch.no_grad():
        if flat:
            kv = pool.control_trans.view(pool.config.prefix_length, -1)
        else:
            kv = pool.control_trans(pool.wte.weight)
    n_prefixed = kv.shape[1] // (2 * 48)
    j = n_prefixed - 1  # the last layer is the last prefixed one
    seen = []

    def hook(module, args, kwargs, output):
        x = args[0] if args else kwargs["hidden_states"]
        B, T, C = x.shape
        H, D = module.num_attention_heads, module.attention_head_size
        split = lambda t: t.view(B, -1, H, D).transpose(1, 2)
        q, k, v = split(module.query(x)), split(module.key(x)), split(module.value(x))
        P = kv.shape[0]
        kp = kv[:, 2 * j * C:(2 * j + 1) * C].view(1, P, H, D).transpose(1, 2).expand(B, -1, -1, -1)
        vp = kv[:, (2 * j + 1) * C:(2 * j + 2) * C].view(1, P, H, D).transpose(1, 2).expand(B, -1, -1, -1)
        keys, vals = torch.cat([kp, k], 2), torch.cat([vp, v], 2)
        mask = torch.cat([torch.ones(B, P), kw["attention_mask"].float()], 1)
        scores = q @ keys.transpose(-1, -2) / math.sqrt(D) + (1 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        ctx = (scores.softmax(-1) @ vals).transpose(1, 2).reshape(B, T, C)
        out = output[0] if isinstance(output, tuple) else output
        seen.append((ctx - out).abs().max().item())

    h = enc.layer[-1].attention.self.register_forward_hook(hook, with_kwargs=True)
    with torch.no_grad():
        model(**kw)
    h.remove()
    assert seen and seen[0] < 1e-5, f"prefix closed form differs by {seen}"
    return seen


def run_case(arch, method, base_dir):
    case = f"{arch}_{method}"
    out_dir = os.path.join(ROOT, case)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    adapter_method, kind, head_kwargs = HEADS.get(method, (method, "classification", {"num_labels": 3}))
    batches = make_batches(arch, unpadded=method.startswith("prompt_tuning") or method in GATED
                           or kind == "question_answering", kind=kind)

    torch.manual_seed(100 + METHODS.index(method) + (0 if arch == "roberta" else 50))
    model = AutoAdapterModel.from_pretrained(base_dir)
    torch.manual_seed(200 + METHODS.index(method) + (0 if arch == "roberta" else 50))
    adapter_cfg = CONFIGS.get(method)
    adapter_cfg = adapter_cfg() if adapter_cfg else None
    if adapter_cfg is not None:
        model.add_adapter("task", config=adapter_cfg)
    id2label = {0: "score"} if kind == "regression" else ID2LABEL
    if kind == "multiple_choice":
        id2label = {0: "LABEL_0", 1: "LABEL_1"}
        model.add_multiple_choice_head("task", id2label=id2label, **head_kwargs)
    elif kind == "tagging":
        model.add_tagging_head("task", id2label=id2label, **head_kwargs)
    elif kind == "question_answering":
        id2label = {0: "start", 1: "end"}
        model.add_qa_head("task", **head_kwargs)
    else:
        model.add_classification_head("task", id2label=id2label, **head_kwargs)
    if adapter_cfg is not None:
        model.train_adapter("task")
    else:
        model.active_head = "task"
        model.train()
        for p in model.parameters():
            p.requires_grad_(True)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            assert m.p == 0.0, m
    if method == "seq_bn":  # the defaults the Swift side assumes
        d = getattr(model, arch).encoder.layer[0].output.adapters["task"].adapter_down[0].weight.shape
        assert tuple(d) == (3, 48), d

    requires = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    # The adapter (LoRA's B included) and the head at unit scale too (the base already is).
    fresh = {n for n, _ in requires if adapter_method != "full" or n.startswith("heads.")}
    gen = torch.Generator().manual_seed(300 + METHODS.index(method) + (0 if arch == "roberta" else 50))
    redraw(model, gen, only=lambda n: n in fresh)
    if method in PHM:
        # PHM rules and W (factors) at N(0, 0.5²): redraw's 0.1 for 3-D tensors leaves H = Σ P_i ⊗ W_i tiny.
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in fresh and n.rsplit(".", 1)[1] in ("phm_rule", "W_left", "W_right", "W"):
                    p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    if method.startswith("dora") or method == "dvora":
        # Magnitudes positive and of the order of the rows' norms (they start at ‖W_j‖ ≈ 1 for these bases).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in fresh and n.endswith(".m.weight"):
                    p.abs_().add_(0.5)
    if method in ("mam", "gating", "unipelt"):
        factor = 2.0 if method == "unipelt" else 3.0
        # MAM's 30 prefix rows (and the gated prefix): with the MLP's up projection at 1/√fan_in the table's gradient (spread over 30
        # rows) sits near float noise; a 2–3× larger one lifts it.
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in fresh and n.endswith("control_trans.2.weight"):
                    p.mul_(factor)
    if method == "loreft":
        # The orthogonal parametrization multiplies column i by trunc(original[i, i]) (PyTorch's `.int()`): ±1.5
        # keeps ±1 through the decoupled weight decay of three steps (at exactly ±1 the first decayed step
        # truncates to 0 and zeroes the projection — what AdapterHub's LoReFT does with weight decay).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in fresh and n.endswith("parametrizations.weight.original"):
                    for i in range(p.shape[0]):
                        p[i, i] = 1.5 if i % 2 else -1.5
    if method in ("ia3", "scaled_par_bn", "adapterplus"):
        # Scales around 1 (as they start) but far from it: (IA)³ vectors and the learned scaling.
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in fresh and (n.endswith(".scaling") or (method == "ia3" and n.endswith("lora_B"))):
                    p.copy_(1 + 0.5 * torch.randn(p.shape, generator=gen))

    # forward-only logits of batch 0 at init
    kw0, labels0 = to_tensors(batches[0])
    if kind == "multiple_choice":
        kw0 = to_choice_tensors(kw0)
    captured = []
    pre = model.heads["task"][1].register_forward_pre_hook(lambda m, a: captured.append(a[0].detach().clone()))
    with torch.no_grad():
        logits0 = head_logits(model(**kw0)).clone()
    pre.remove()
    cls0 = captured[0]  # the head's input: last hidden state of token 0 (dropout 0); every token's for tagging
    if kind in ("tagging", "question_answering"):
        cls0 = cls0[:, 0]
    assert cls0.shape == (4, 48)

    # optimizer: Trainer's grouping over requires_grad parameters
    decay = set(decay_parameter_names(model))
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay and p.requires_grad],
         "weight_decay": OPT["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if n not in decay and p.requires_grad],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=OPT["lr"], betas=tuple(OPT["betas"]), eps=OPT["eps"])
    sched = get_linear_schedule_with_warmup(opt, WARMUP, TOTAL)

    init = None
    grads0 = grads_last = None
    trainable = None
    losses, norms, lrs = [], [], []
    handles, seen = ([], [])
    if method in BOTTLENECKS:
        handles, seen = check_bottleneck_closed_form(model, arch, method)
    for step in range(STEPS):
        kw, labels = to_tensors(batches[step])
        if kind == "multiple_choice":
            kw = to_choice_tensors(kw)
        opt.zero_grad(set_to_none=True)
        out = model(**kw, **head_targets(kind, labels))
        explicit = reference_loss(kind, head_logits(out), labels, kw["attention_mask"])
        assert abs(out.loss.item() - explicit.item()) < 1e-6, (out.loss.item(), explicit.item())
        if step == 0:
            assert torch.equal(head_logits(out), logits0), "train-mode forward differs from the no-grad forward"
        out.loss.backward()
        if step == 0:
            trainable = [(n, p) for n, p in requires if p.grad is not None]
            init = tensors_of(trainable, "param")  # nothing has moved yet
            grads0 = tensors_of(trainable, "grad")
            shadow = {n: {"p": init[n].clone(), "m": torch.zeros_like(init[n]), "v": torch.zeros_like(init[n])}
                      for n in init}
        if step == STEPS - 1:
            grads_last = tensors_of(trainable, "grad")
        lrs.append(opt.param_groups[0]["lr"])
        total = torch.nn.utils.clip_grad_norm_([p for _, p in trainable], MAX_GRAD_NORM)
        losses.append(float(out.loss.item()))
        norms.append(float(total.item()))
        shadow_adamw(shadow, trainable, decay, step + 1, lrs[-1])
        opt.step()
        sched.step()
    for h in handles:
        h.remove()
    if method in BOTTLENECKS:
        assert len(seen) == STEPS * (2 if method.startswith("double_seq_bn") else 1), seen
    lora_check = {"lora": lambda: check_lora(model, arch, adapter_cfg), "ia3": lambda: check_ia3(model, arch),
                  "lora_ffn": lambda: check_lora_ffn(model, arch, adapter_cfg),
                  "compacter": lambda: check_phm(model, arch, kw0),
                  "compacter_pp": lambda: check_phm(model, arch, kw0),
                  "seq_bn_inv": lambda: check_nice(model, arch, kw0),
                  "double_seq_bn_inv": lambda: check_nice(model, arch, kw0),
                  "prefix_tuning": lambda: check_prefix(model, arch, kw0),
                  "prefix_tuning_flat": lambda: check_prefix(model, arch, kw0),
                  "mam": lambda: check_prefix(model, arch, kw0)}.get(method, lambda: None)()
    assert lrs[0] == 0.0 and math.isclose(lrs[1], OPT["lr"]) and math.isclose(lrs[2], OPT["lr"] * 2 / 3)
    assert math.isclose(losses[0], reference_loss(kind, logits0, labels0, kw0["attention_mask"]).item(), rel_tol=1e-6)

    def rms(g):  # over the rows that get a gradient: an embedding's unused tokens and positions get none
        rows = g.reshape(g.shape[0], -1) if g.dim() > 1 else g.reshape(-1, 1)
        used = rows[rows.abs().amax(1) > 0]
        return used.pow(2).mean().sqrt().item() if len(used) else 0.0

    # The key bias adds q·b to every score of a query, which softmax ignores: its gradient is 0 but for
    # rounding. Those tensors are listed in case.json ("zero_gradient_parameters"); the rest must be large.
    # So is a ReFT unit that no position reaches (DiReFT's suffix unit: it runs on an empty tensor, so its gradient
    # is zero, not None, and AdamW still decays it) or that reaches no first token after the top layer (LoReFT's
    # suffix unit there: only the first token's state of the top layer feeds the head).
    top = f".encoder.layer.{base_config(arch).num_hidden_layers - 1}.reft_layer."
    # So is a multiple-choice head's output bias: it shifts every choice's score alike, which softmax ignores; and a QA
    # head's (it shifts every position's start, or end, score alike).
    zero = sorted(n for n in grads0 if n.endswith("attention.self.key.bias")
                  or (kind == "multiple_choice" and n == "heads.task.4.bias")
                  or (kind == "question_answering" and n == "heads.task.1.bias")
                  or (".units.1." in n and (method == "direft" or (method == "loreft" and top in n))))
    for label, grads in (("step 0", grads0), ("last step", grads_last)):
        for n, g in grads.items():
            if n in zero:
                assert rms(g) < 1e-6, f"{case}: {n} was expected to get no gradient, RMS {rms(g):.2e}"
                continue
            # A gate's gradient is an average over a sequence's rows through σ': at these sizes some fall just below
            # 1e-3, still 10⁴× above float noise.
            # BCE's mean over B·n logits makes the multi-label gradients a third of the others: 5e-4, as for gates.
            floor = 5e-4 if method in GATED or kind == "multilabel" else 1e-3
            assert rms(g) >= floor, f"{case}: the {label} gradient of {n} has RMS {rms(g):.2e}, too close to float noise"
    min_rms = min(rms(g) for g in list(grads0.values()) + list(grads_last.values()) if g is not None and rms(g) > 1e-6)
    after = tensors_of(trainable, "param")
    shadow_diff = max((shadow[n]["p"] - after[n]).abs().max().item() for n in after)
    assert shadow_diff < 1e-6, f"the documented AdamW formula is off by {shadow_diff}"
    names = [n for n, _ in trainable]
    no_grad_names = [n for n, _ in requires if n not in set(names)]
    no_grad = [canonical(n) for n in no_grad_names]
    renamed = lambda tensors: {canonical(n): t for n, t in tensors.items()}
    # Saved but not trained: PyTorch buffers of the adapter (LoReFT's orthogonal `base`), frozen parameters (VeRA's
    # shared A and B) and parameters that get no gradient at all, as their values at init (AdamW leaves them alone).
    held = {n: b.detach().clone().contiguous().float() for n, b in model.named_buffers() if ".refts." in n}
    held.update({n: p.detach().clone().contiguous().float() for n, p in model.named_parameters()
                 if ".shared_parameters." in n and not p.requires_grad})  # VeRA's frozen A and B
    # (Full fine-tuning's pooler, which no head reads, is the base's: its values are in the base folder.)
    held.update({n: p.detach().clone().contiguous().float() for n, p in requires
                 if n in no_grad_names and adapter_method != "full"})
    if held:
        save_file(renamed(held), os.path.join(out_dir, "buffers.safetensors"))
    save_file(renamed(init), os.path.join(out_dir, "init.safetensors"))
    save_file(renamed(grads0), os.path.join(out_dir, "grads.safetensors"))
    save_file(renamed(grads_last), os.path.join(out_dir, "grads_last.safetensors"))
    save_file(renamed(after), os.path.join(out_dir, "after3.safetensors"))
    if kind in ("tagging", "question_answering"):  # the attended positions' logits in batch order, as Swift packs them
        logits0 = logits0[kw0["attention_mask"] == 1]
    if kind == "multiple_choice":
        assert logits0.shape == (2, 2), logits0.shape
    with open(os.path.join(out_dir, "logits0.json"), "w") as f:
        json.dump({"logits": logits0.tolist(), "cls_hidden": cls0.tolist()}, f)

    spec = {
        "arch": arch,
        "method": method,
        "base": f"../base-{arch}",
        "adapter_name": "task",
        "head_name": "task",
        "adapter_config": config_dict(adapter_cfg),
        "head": {"kind": kind, "config": model.heads["task"].config, "dropout": 0.0,
                 "modules": repr(list(model.heads["task"])),
                 "input": "every position (logits0: attended positions in batch order)"
                          if kind in ("tagging", "question_answering")
                          else "token 0"},
        "num_labels": len(id2label),
        "id2label": {str(k): v for k, v in id2label.items()},
        "batches": batches,
        "optimizer": dict(OPT, type="torch.optim.AdamW",
                          no_decay="names (lower-cased) matching 'bias', 'layernorm', 'rmsnorm', "
                                   "'(^|\\.)norm($|\\.)' or '_norm($|\\.)', or parameters of an nn.LayerNorm "
                                   "module (transformers 4.57.6 Trainer.get_decay_parameter_names); the rest decay",
                          formula="per step t (1-based), lr_t from the schedule: p -= lr_t*wd*p; m = b1*m + (1-b1)*g; "
                                  "v = b2*v + (1-b2)*g*g; p -= lr_t/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps); "
                                  "g is the clipped gradient"),
        "decay_parameters": [canonical(n) for n in names if n in decay],
        "no_decay_parameters": [canonical(n) for n in names if n not in decay],
        "schedule": {"type": "linear", "warmup_steps": WARMUP, "total_steps": TOTAL,
                     "lr_at_step": "lr * s/warmup if s < warmup else lr * max(0, (total - s)/(total - warmup)), s = 0-based step"},
        "max_grad_norm": MAX_GRAD_NORM,
        "clip": "total = ||all grads||_2; g *= min(1, max_grad_norm / (total + 1e-6))",
        "steps": STEPS,
        "losses": losses,
        "grad_norms": norms,
        "lrs": lrs,
        "trainable_parameters": {canonical(n): list(p.shape) for n, p in trainable},
        "no_grad_parameters": no_grad,
        "zero_gradient_parameters": zero,
        "files": {"init": "init.safetensors", "grads_step0": "grads.safetensors",
                  "grads_last_step": "grads_last.safetensors",
                  "after": "after3.safetensors", "logits0": "logits0.json"},
    }
    with open(os.path.join(out_dir, "case.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    n_params = sum(t.numel() for t in init.values())
    names = [canonical(n) for n in names]
    print(f"{case}: {len(names)} tensors, {n_params} params, losses {[round(x, 6) for x in losses]}, "
          f"norms {[round(x, 6) for x in norms]}, no-grad {no_grad}, hand AdamW vs torch {shadow_diff:.1e}, "
          f"smallest gradient RMS {min_rms:.1e}")
    if seen:
        print(f"  closed form ok: {[(s[0], f'{s[1]:.1e}', f'vanilla diff {s[2]:.1e}') for s in seen[:2]]}")
    if lora_check:
        print(f"  {method} forward checked against its closed form (max diff {max(lora_check):.1e})")


def run_fusion_case(arch, base_dir, variant):
    """AdapterFusion training (`train_adapter_fusion(Fuse("a", "b"))`): two seq_bn adapters (rf 16 and 8) frozen, the
    fusion layers and the head "a,b" trained. `variant` "dynamic" (value matrix, regularization) or "flags"
    (query_before_ln, residual_before, value after the softmax, "regularization": false — which adapters 1.3.0 ignores:
    its trainer regularizes every value matrix), "double" (double_seq_bn: a fusion after attention too), "stacked" and
    "stacked_double" (`train_adapter_fusion(Stack("lang", Fuse("a", "b")))`: a frozen seq_bn / double_seq_bn language
    adapter (rf 4) before the fusion at every location, MAD-X style). AdapterTrainer adds the fusion
    regularization's gradient in `on_step_end`, after the optimizer step and `zero_grad`: it reaches the next step's
    gradients (the step-0 gradients have none; the last-step ones do). Written out here as that trainer does it."""
    from adapters.composition import Fuse, Stack
    case = f"{arch}_fusion_{variant}"
    out_dir = os.path.join(ROOT, case)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    batches = make_batches(arch)
    seed = 900 + {"dynamic": 0, "flags": 10, "double": 20, "stacked": 30, "stacked_double": 40}[variant] + (
        0 if arch == "roberta" else 50)
    torch.manual_seed(seed)
    model = AutoAdapterModel.from_pretrained(base_dir)
    # "double": double_seq_bn adapters, so a fusion layer after attention too (its input is h itself, no LayerNorm).
    double = variant in ("double", "stacked_double")
    adapter_configs = ((DoubleSeqBnConfig(), DoubleSeqBnConfig(reduction_factor=8)) if double
                       else (SeqBnConfig(), SeqBnConfig(reduction_factor=8)))
    stacked = variant.startswith("stacked")
    lang_config = (DoubleSeqBnConfig if double else SeqBnConfig)(reduction_factor=4)
    if stacked:
        model.add_adapter("lang", config=lang_config)
    model.add_adapter("a", config=adapter_configs[0])
    model.add_adapter("b", config=adapter_configs[1])
    config = "dynamic" if variant in ("dynamic", "double", "stacked", "stacked_double") else {
        "key": True, "query": True, "value": True, "query_before_ln": True, "regularization": False,
        "residual_before": True, "temperature": False, "value_before_softmax": False, "value_initialized": False,
        "dropout_prob": None}
    model.add_adapter_fusion(Fuse("a", "b"), config=config)
    model.add_classification_head("a,b", num_labels=3, id2label=ID2LABEL)
    model.train_adapter_fusion(Stack("lang", Fuse("a", "b")) if stacked else Fuse("a", "b"))
    model.active_head = "a,b"
    gen = torch.Generator().manual_seed(seed + 1)
    redraw(model, gen, only=lambda n: ".adapters." in n or "adapter_fusion_layer" in n or n.startswith("heads."))
    with torch.no_grad():  # the value matrix near the identity, as it starts, but far from it
        for n, p in model.named_parameters():
            if "adapter_fusion_layer" in n and n.endswith("value.weight"):
                p.copy_(torch.eye(p.shape[0]) + 0.3 * torch.randn(p.shape, generator=gen))
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            assert m.p == 0.0, m
    requires = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert all("adapter_fusion_layer" in n or n.startswith("heads.") for n, _ in requires), [n for n, _ in requires]
    kw0, labels0 = to_tensors(batches[0])
    captured = []
    pre = model.heads["a,b"][1].register_forward_pre_hook(lambda m, a: captured.append(a[0].detach().clone()))
    with torch.no_grad():
        logits0 = model(**kw0).logits.clone()
    pre.remove()
    cls0 = captured[0]
    decay = set(decay_parameter_names(model))
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay and p.requires_grad], "weight_decay": OPT["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if n not in decay and p.requires_grad], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=OPT["lr"], betas=tuple(OPT["betas"]), eps=OPT["eps"])
    sched = get_linear_schedule_with_warmup(opt, WARMUP, TOTAL)
    trainable = requires
    init = tensors_of(trainable, "param")
    shadow = {n: {"p": init[n].clone(), "m": torch.zeros_like(init[n]), "v": torch.zeros_like(init[n])} for n in init}
    losses, norms, lrs = [], [], []
    opt.zero_grad(set_to_none=True)
    for step in range(STEPS):
        kw, labels = to_tensors(batches[step])
        out = model(**kw, labels=labels)
        assert abs(out.loss.item() - F.cross_entropy(out.logits, labels).item()) < 1e-6
        if step == 0:
            assert torch.equal(out.logits, logits0)
        out.loss.backward()
        if step == 0:
            grads0 = tensors_of(trainable, "grad")
        if step == STEPS - 1:
            grads_last = tensors_of(trainable, "grad")
        lrs.append(opt.param_groups[0]["lr"])
        total = torch.nn.utils.clip_grad_norm_([p for _, p in trainable], MAX_GRAD_NORM)
        losses.append(float(out.loss.item()))
        norms.append(float(total.item()))
        shadow_adamw(shadow, trainable, decay, step + 1, lrs[-1])
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)  # HF Trainer: model.zero_grad() after the step, then on_step_end
        reg = model.base_model.get_fusion_regularization_loss()
        if reg is not None:
            reg.backward()
    after = tensors_of(trainable, "param")
    shadow_diff = max((shadow[n]["p"] - after[n]).abs().max().item() for n in after)
    assert shadow_diff < 1e-6, shadow_diff
    names = [n for n, _ in trainable]
    zero = sorted(n for n in names if n.endswith("key.bias"))  # Q·b_k is the same for every adapter: softmax ignores it
    held = {n: p.detach().clone().contiguous().float() for n, p in model.named_parameters() if ".adapters." in n}
    save_file(held, os.path.join(out_dir, "buffers.safetensors"))
    save_file(init, os.path.join(out_dir, "init.safetensors"))
    save_file(grads0, os.path.join(out_dir, "grads.safetensors"))
    save_file(grads_last, os.path.join(out_dir, "grads_last.safetensors"))
    save_file(after, os.path.join(out_dir, "after3.safetensors"))
    with open(os.path.join(out_dir, "logits0.json"), "w") as f:
        json.dump({"logits": logits0.tolist(), "cls_hidden": cls0.tolist()}, f)
    fusion_config = model.adapters_config.get_fusion("a,b")[0]
    spec = {
        "arch": arch, "method": "fusion", "base": f"../base-{arch}", "head_name": "a,b",
        "fusion": {"adapters": [{"name": "a", "config": config_dict(adapter_configs[0])},
                                {"name": "b", "config": config_dict(adapter_configs[1])}],
                   "config": dict(fusion_config.to_dict() if hasattr(fusion_config, "to_dict") else fusion_config),
                   # Frozen adapters stacked before the Fuse, in order.
                   "stack_before": [{"name": "lang", "config": config_dict(lang_config)}] if stacked else []},
        "head": {"kind": "classification", "config": model.heads["a,b"].config, "dropout": 0.0},
        "num_labels": 3, "id2label": {str(k): v for k, v in ID2LABEL.items()}, "batches": batches,
        "optimizer": dict(OPT, type="torch.optim.AdamW"),
        "regularization": "AdapterTrainer.on_step_end: after step t's update and zero_grad, 0.01·‖I − W_v‖² is backpropagated, so step t+1's gradients (before clipping) include 0.02·(W_v − I)",
        "decay_parameters": [n for n in names if n in decay],
        "no_decay_parameters": [n for n in names if n not in decay],
        "schedule": {"type": "linear", "warmup_steps": WARMUP, "total_steps": TOTAL},
        "max_grad_norm": MAX_GRAD_NORM, "steps": STEPS, "losses": losses, "grad_norms": norms, "lrs": lrs,
        "trainable_parameters": {n: list(p.shape) for n, p in trainable}, "no_grad_parameters": [],
        "zero_gradient_parameters": zero,
    }
    with open(os.path.join(out_dir, "case.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    print(f"{case}: {len(names)} tensors, losses {[round(x, 6) for x in losses]}, norms {[round(x, 6) for x in norms]}, "
          f"hand AdamW vs torch {shadow_diff:.1e}")


def digest(path):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(path)):
        for fn in sorted(files):
            with open(os.path.join(dirpath, fn), "rb") as f:
                h.update(fn.encode() + f.read())
    return h.hexdigest()[:16]


def main():
    print("torch", torch.__version__, "transformers", transformers.__version__, "adapters", adapters.__version__,
          "safetensors", safetensors.__version__)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(ROOT, exist_ok=True)
    only = sys.argv[1:]  # method names: regenerate just those cases (the bases are rewritten byte-identical)
    for arch in ("roberta", "bert"):
        base = write_base(arch)
        for method in METHODS:
            if not only or method in only:
                run_case(arch, method, base)
        for variant in ("dynamic", "flags", "double", "stacked", "stacked_double"):
            if not only or "fusion" in only:
                run_fusion_case(arch, base, variant)
    total = 0
    for d in sorted(os.listdir(ROOT)):
        p = os.path.join(ROOT, d)
        size = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p))
        total += size
        print(f"  {d:24s} {size:8d} B  sha256[:16] {digest(p)}")
    print(f"total {total} B")


if __name__ == "__main__":
    main()
