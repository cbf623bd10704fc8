#!/usr/bin/env python3
"""Writes the Parallel training fixtures under Tests/Fixtures/training/<arch>_parallel/.

Run in the pinned reference venv (see tools/README.md), after tools/make_training_fixtures.py (it reuses that
script's bases, batches, optimizer settings and helpers):
    .venv-bench/bin/python tools/make_parallel_training_fixtures.py

What adapters 1.3.0 does for `model.train_adapter(Parallel("a", "b"))` with heads "a" and "b": the batch is
replicated at the first adapter location, each copy runs through one branch's adapter and head with the *same*
labels, and the loss is the sum of the heads' losses (`MultiHeadOutput.loss`, heads/model_mixin.py). HF's Trainer
then clips the gradients of every trainable tensor — both branches together — by their joint norm, and one AdamW
(two parameter groups, decay / no decay) with one linear schedule steps them all. Written out here as the Trainer
does it (make_training_fixtures.py's step), and checked against training each branch alone: the branches' gradients
before clipping are each branch's own (the frozen base passes nothing between them).

Cases: roberta — "a" seq_bn (2-layer tanh head), "b" seq_bn rf 8 with GELU (1-layer head); bert — "a" LoRA r 4 /
alpha 8, "b" LoRA r 2 / alpha 6 (3-layer relu head), both on q and v. adapters 1.3.0 runs a Parallel only over
adapters at the same locations: a seq_bn beside a double_seq_bn (KeyError in pre_block) or a bottleneck beside a
LoRA (None in LoRA's `com`) fails in its forward pass; SwiftAdapters runs each branch alone, so it has no such limit.
Every trainable tensor re-drawn at unit scale (fixture_env.redraw), all dropout 0, `max_grad_norm` 1 (every step's
joint norm is far above it, so clipping scales every step, by the joint norm rather than each branch's).

Files (names as model.named_parameters(), both branches in one file):
    case.json            branches [{name, adapter_config, head}], batches, losses (the summed loss), branch_losses,
                         grad_norms (joint, before clipping), branch_grad_norms, lrs, decay lists, schedule
    init.safetensors     every trainable tensor at init
    grads.safetensors    gradients at step 0 (before clipping); grads_last.safetensors at step 2
    after3.safetensors   after the 3 optimizer steps
    logits0.json         {"a": logits [4][3], "b": …} of batch 0 at init, each from the Parallel forward
"""
import json
import os
import shutil
import sys

import torch
from adapters import AutoAdapterModel, LoRAConfig, SeqBnConfig
from adapters.composition import Parallel
from safetensors.torch import save_file
from transformers import get_linear_schedule_with_warmup

from fixture_env import redraw
from make_training_fixtures import (ID2LABEL, MAX_GRAD_NORM, OPT, ROOT, STEPS, TOTAL, WARMUP, config_dict,
                                    decay_parameter_names, digest, make_batches, shadow_adamw, tensors_of, write_base)

BRANCHES = {
    "roberta": [("a", SeqBnConfig(), {"layers": 2}),
                ("b", SeqBnConfig(reduction_factor=8, non_linearity="gelu"), {"layers": 1})],
    "bert": [("a", LoRAConfig(r=4, alpha=8), {"layers": 2}),
             ("b", LoRAConfig(r=2, alpha=6), {"layers": 3, "activation_function": "relu"})],
}


def build(arch, base_dir, seed):
    torch.manual_seed(seed)
    model = AutoAdapterModel.from_pretrained(base_dir)
    for name, cfg, head in BRANCHES[arch]:
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=3, id2label=ID2LABEL, **head)
    return model


def run_case(arch, base_dir):
    case = f"{arch}_parallel"
    out_dir = os.path.join(ROOT, case)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    batches = make_batches(arch)
    seed = 1500 + (0 if arch == "roberta" else 50)
    names = [b[0] for b in BRANCHES[arch]]
    model = build(arch, base_dir, seed)
    model.train_adapter(Parallel(*names))
    # train_adapter activates the adapters in the base model only; the heads follow the setup when set here.
    model.active_head = Parallel(*names)
    assert list(model.active_head) == names, model.active_head
    gen = torch.Generator().manual_seed(seed + 1)
    redraw(model, gen, only=lambda n: ".adapters." in n or ".loras." in n or n.startswith("heads."))
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            assert m.p == 0.0, m
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert all(any(f".{b}." in n for b in names) for n, _ in trainable), [n for n, _ in trainable]
    init = tensors_of(trainable, "param")

    # Each branch alone (a copy holding the same values): its loss and gradients are what the Parallel run gives it.
    alone = {}
    kw0 = {"input_ids": torch.tensor(batches[0]["input_ids"]),
           "attention_mask": torch.tensor(batches[0]["attention_mask"])}
    if batches[0]["token_type_ids"] is not None:
        kw0["token_type_ids"] = torch.tensor(batches[0]["token_type_ids"])
    labels0 = torch.tensor(batches[0]["labels"])
    for name in names:
        single = build(arch, base_dir, seed)
        single.load_state_dict(model.state_dict())
        single.train_adapter(name)
        single.active_head = name
        out = single(**kw0, labels=labels0)
        out.loss.backward()
        alone[name] = (out.loss.item(), {n: p.grad.detach().clone() for n, p in single.named_parameters()
                                          if p.requires_grad and p.grad is not None})

    with torch.no_grad():
        out0 = model(**kw0)
    logits0 = {name: out0.head_outputs[i].logits.tolist() for i, name in enumerate(names)}

    decay = set(decay_parameter_names(model))
    groups = [
        {"params": [p for n, p in trainable if n in decay], "weight_decay": OPT["weight_decay"]},
        {"params": [p for n, p in trainable if n not in decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=OPT["lr"], betas=tuple(OPT["betas"]), eps=OPT["eps"])
    sched = get_linear_schedule_with_warmup(opt, WARMUP, TOTAL)
    shadow = {n: {"p": init[n].clone(), "m": torch.zeros_like(init[n]), "v": torch.zeros_like(init[n])} for n in init}
    losses, branch_losses, norms, branch_norms, lrs = [], [], [], [], []
    for step in range(STEPS):
        b = batches[step]
        kw = {"input_ids": torch.tensor(b["input_ids"]), "attention_mask": torch.tensor(b["attention_mask"])}
        if b["token_type_ids"] is not None:
            kw["token_type_ids"] = torch.tensor(b["token_type_ids"])
        labels = torch.tensor(b["labels"])
        opt.zero_grad(set_to_none=True)
        out = model(**kw, labels=labels)
        per = [o.loss.item() for o in out.head_outputs]
        assert abs(out.loss.item() - sum(per)) < 1e-5, (out.loss.item(), per)
        if step == 0:
            for i, name in enumerate(names):
                assert abs(per[i] - alone[name][0]) < 1e-5, (name, per[i], alone[name][0])
        out.loss.backward()
        if step == 0:
            grads0 = tensors_of(trainable, "grad")
            for name in names:
                for n, g in alone[name][1].items():
                    assert torch.allclose(grads0[n], g, rtol=1e-4, atol=1e-6), f"{n}: Parallel ≠ the branch alone"
        if step == STEPS - 1:
            grads_last = tensors_of(trainable, "grad")
        branch_norms.append([float(torch.sqrt(sum((p.grad.double() ** 2).sum() for n, p in trainable
                                                  if f".{name}." in n)).item()) for name in names])
        lrs.append(opt.param_groups[0]["lr"])
        total = torch.nn.utils.clip_grad_norm_([p for _, p in trainable], MAX_GRAD_NORM)
        assert all(x > 1.5 * MAX_GRAD_NORM for x in branch_norms[-1]), branch_norms[-1]
        losses.append(float(out.loss.item()))
        branch_losses.append(per)
        norms.append(float(total.item()))
        shadow_adamw(shadow, trainable, decay, step + 1, lrs[-1])
        opt.step()
        sched.step()
    after = tensors_of(trainable, "param")
    shadow_diff = max((shadow[n]["p"] - after[n]).abs().max().item() for n in after)
    assert shadow_diff < 1e-6, shadow_diff
    zero = sorted(n for n in init if grads0[n].abs().max().item() == 0)
    assert not zero, zero
    save_file(init, os.path.join(out_dir, "init.safetensors"))
    save_file(grads0, os.path.join(out_dir, "grads.safetensors"))
    save_file(grads_last, os.path.join(out_dir, "grads_last.safetensors"))
    save_file(after, os.path.join(out_dir, "after3.safetensors"))
    with open(os.path.join(out_dir, "logits0.json"), "w") as f:
        json.dump(logits0, f)
    spec = {
        "arch": arch, "method": "parallel", "base": f"../base-{arch}",
        "branches": [{"name": name, "adapter_config": config_dict(cfg), "head": {"kind": "classification",
                                                                                 "config": model.heads[name].config,
                                                                                 "dropout": 0.0}}
                     for name, cfg, _ in BRANCHES[arch]],
        "num_labels": 3, "id2label": {str(k): v for k, v in ID2LABEL.items()}, "batches": batches,
        "loss": "sum of the branches' losses (adapters 1.3.0 MultiHeadOutput.loss)",
        "optimizer": dict(OPT, type="torch.optim.AdamW"),
        "decay_parameters": [n for n, _ in trainable if n in decay],
        "no_decay_parameters": [n for n, _ in trainable if n not in decay],
        "schedule": {"type": "linear", "warmup_steps": WARMUP, "total_steps": TOTAL},
        "max_grad_norm": MAX_GRAD_NORM, "steps": STEPS, "losses": losses, "branch_losses": branch_losses,
        "grad_norms": norms, "branch_grad_norms": branch_norms, "lrs": lrs,
        "trainable_parameters": {n: list(p.shape) for n, p in trainable},
    }
    with open(os.path.join(out_dir, "case.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
    print(f"{case}: {len(trainable)} tensors, losses {[round(x, 6) for x in losses]}, joint norms "
          f"{[round(x, 4) for x in norms]}, branch norms {[[round(x, 4) for x in r] for r in branch_norms]}, "
          f"hand AdamW vs torch {shadow_diff:.1e}, sha256[:16] {digest(out_dir)}")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for arch in sys.argv[1:] or ("roberta", "bert"):
        base = os.path.join(ROOT, f"base-{arch}")
        before = digest(base)
        assert write_base(arch) == base and digest(base) == before, "the base differs from the committed one"
        run_case(arch, base)


if __name__ == "__main__":
    main()
