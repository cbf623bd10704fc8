#!/usr/bin/env python3
"""Real-learning reference: trains seq_bn, LoRA and full fine-tuning of all-MiniLM-L6-v2 on Rotten Tomatoes with
the Python `adapters` library and reports test accuracy and macro-F1, for the Swift trainer to be compared with.

Run in the pinned reference venv (see tools/README.md):
    nice -n 19 .venv-bench/bin/python tools/reference_train.py --methods seq_bn
    nice -n 19 .venv-bench/bin/python tools/reference_train.py              # seq_bn, lora, full

Pinned: torch 2.13.0+cpu, transformers 4.57.6, adapters 1.3.0, tokenizers 0.22.2.
Output: one JSON line per method on stdout; tools/out/reference_train.json holds the latest result per method
(entries for other methods are kept). Progress goes to stderr.

The exact procedure (a hand-written loop, no HF Trainer, so that the Swift trainer can mirror it step for step):

1. Data. `--data DIR` holds train.jsonl and test.jsonl, one `{"text": str, "label": 0|1}` a line (0 negative,
   1 positive; 9,596 train / 1,066 test rows). Every text is tokenized once with the model's own tokenizer
   (tokenizer.json, uncased WordPiece): `tokenizer(text, truncation=True, max_length=64)` → `[CLS] … [SEP]`,
   token_type_ids all 0. No padding at this stage.
2. Model. `AutoAdapterModel.from_pretrained(model_dir)` (BertAdapterModel; dropout as in config.json: hidden and
   attention 0.1). Then `torch.manual_seed(seed)` and:
     seq_bn: `add_adapter("rotten_tomatoes", config=SeqBnConfig())` (reduction 16 → bottleneck 384/16 = 24, relu,
             FFN output only);
     lora:   `add_adapter("rotten_tomatoes", config=LoRAConfig())` (r 8, alpha 8, query and value);
     full:   no adapter;
   `add_classification_head("rotten_tomatoes", num_labels=2, id2label={0: "negative", 1: "positive"})`: Dropout(0.1),
   Linear(384, 384), tanh, Dropout(0.1), Linear(384, 2) on the [CLS] hidden state (no pooler). Adapter methods:
   `train_adapter("rotten_tomatoes")` (base frozen, adapter + head trainable, train mode). Full: `model.train()` and
   every parameter trainable (the pooler is unused and never gets a gradient, so AdamW skips it).
3. Optimizer: torch.optim.AdamW(betas (0.9, 0.999), eps 1e-8) with HF Trainer's two groups over the parameters that
   require grad: weight decay 0.01 for names in Trainer.get_decay_parameter_names(model) — i.e. parameters that are
   not inside an nn.LayerNorm and whose lower-cased name matches none of 'bias', 'layernorm', 'rmsnorm',
   '(^|\\.)norm($|\\.)', '_norm($|\\.)' — and 0 for the rest. lr 1e-3 (seq_bn, lora) or 5e-5 (full).
   Update per step t (1-based), lr_t from the schedule, g the clipped gradient:
   p -= lr_t*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= lr_t/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
4. Schedule: get_linear_schedule_with_warmup(opt, warmup, total), total = epochs * ceil(N / batch) (the last, short
   batch is kept): step s (0-based) uses lr * s/warmup while s < warmup, then lr * max(0, (total-s)/(total-warmup)).
   With warmup 0 the first step uses the full lr.
5. Epoch e (0-based): the training rows are visited in the order given by a Fisher–Yates shuffle driven by SplitMix64
   (see `permutation` below; state0 = seed * 2^32 + e), so Swift can reproduce the batch order exactly. Batches of 32
   consecutive rows of that order, right-padded with [PAD] = 0 to the longest sequence of the batch (attention_mask 0
   on padding, token_type_ids 0).
6. Step: zero_grad; loss = model(input_ids, attention_mask, token_type_ids, labels).loss (CrossEntropy, mean over the
   batch); backward; clip_grad_norm_(trainable, 1.0) (total = L2 norm of all gradients; g *= min(1, 1/(total+1e-6)));
   optimizer.step(); scheduler.step().
7. Evaluation on test.jsonl: model.eval(), no_grad, batches of 32 in file order, prediction = argmax of the logits;
   accuracy and macro-F1 (mean over the two classes of 2PR/(P+R), 0 where undefined).
Initialisation and dropout masks come from PyTorch's RNG and are not meant to be reproduced; compare the final
metrics (and the loss curve loosely), not weights.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import adapters
import torch
import transformers
from adapters import AdapterPlusConfig, AutoAdapterModel, LoRAConfig, SeqBnConfig
from transformers import AutoTokenizer, Trainer, get_linear_schedule_with_warmup

from fixture_env import default_minilm

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "rotten_tomatoes"
ID2LABEL = {0: "negative", 1: "positive"}
MASK64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def permutation(n, seed, epoch):
    """Fisher–Yates: for i = n-1 down to 1: (state, r) = splitmix64(state); j = r mod (i+1); swap(idx[i], idx[j])."""
    idx = list(range(n))
    state = ((seed << 32) + epoch) & MASK64
    for i in range(n - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    return idx


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                rows.append((d["text"], int(d["label"])))
    return rows


def encode(tokenizer, rows, max_length):
    enc = tokenizer([t for t, _ in rows], truncation=True, max_length=max_length)
    return [(ids, label) for ids, (_, label) in zip(enc["input_ids"], rows)]


def collate(examples, pad_id):
    T = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), T), dtype=torch.long)
    for i, (s, _) in enumerate(examples):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}, \
        torch.tensor([lab for _, lab in examples])


def macro_f1(preds, labels, num_labels=2):
    f1s = []
    for c in range(num_labels):
        tp = sum(1 for p, y in zip(preds, labels) if p == c and y == c)
        fp = sum(1 for p, y in zip(preds, labels) if p == c and y != c)
        fn = sum(1 for p, y in zip(preds, labels) if p != c and y == c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / num_labels


# The methods after seq_bn and lora, by AdapterHub config string (the Swift run passes the same string to
# `--method`; the lists are quoted here because adapters' parser takes Python literals).
CONFIG_STRINGS = {
    "double_seq_bn": "double_seq_bn",
    "par_bn": "par_bn",
    "scaled_par_bn": "scaled_par_bn",
    "ia3": "ia3",
    "lora_ffn": "lora[r=8,alpha=8,attn_matrices=['q','k','v'],intermediate_lora=True,output_lora=True]",
    "compacter": "compacter",
    "compacter++": "compacter++",
    "seq_bn_inv": "seq_bn_inv",
    "double_seq_bn_inv": "double_seq_bn_inv",
    "dora": "dora",
    "prompt_tuning": "prompt_tuning",
    "prefix_tuning": "prefix_tuning",
    "prefix_tuning_flat": "prefix_tuning_flat",
    "mam": "mam",
    "unipelt": "unipelt",
    "loreft": "loreft",
    "noreft": "noreft",
    "direft": "direft",
    "vera": "vera",
    "dvora": "dvora",
    # AdapterPlus without stochastic depth: AdapterHub's needs torchvision, which the pinned venv does not hold (the
    # Swift runs pass "adapterplus[stochastic_depth=0.0]").
    "adapterplus": AdapterPlusConfig(stochastic_depth=0.0),
    "lora_seq_bn": "lora[r=4]|seq_bn",
}


def build_model(method, model_dir, seed):
    model = AutoAdapterModel.from_pretrained(model_dir)
    torch.manual_seed(seed)
    if method == "seq_bn":
        model.add_adapter(NAME, config=SeqBnConfig())
    elif method == "lora":
        model.add_adapter(NAME, config=LoRAConfig())
    elif method in CONFIG_STRINGS:
        model.add_adapter(NAME, config=CONFIG_STRINGS[method])
    model.add_classification_head(NAME, num_labels=2, id2label=ID2LABEL)
    if method == "full":
        model.active_head = NAME
        model.train()
        for p in model.parameters():
            p.requires_grad_(True)
    else:
        model.train_adapter(NAME)
    return model


def train_one(method, args, train, test, pad_id):
    t_start = time.time()
    model = build_model(method, args.model, args.seed)
    lr = {"seq_bn": args.lr_seq_bn, "lora": args.lr_lora, "full": args.lr_full}.get(method, args.lr_adapter)
    decay = set(Trainer.get_decay_parameter_names(None, model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if n in decay], "weight_decay": args.weight_decay},
              {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = steps_per_epoch * args.epochs
    sched = get_linear_schedule_with_warmup(opt, args.warmup_steps, total)
    trainable = [p for _, p in named]
    n_trainable = sum(p.numel() for p in trainable)

    losses = []
    step = 0
    t_train = time.time()
    for epoch in range(args.epochs):
        order = permutation(len(train), args.seed, epoch)
        model.train()
        for b in range(steps_per_epoch):
            batch, labels = collate([train[i] for i in order[b * args.batch_size:(b + 1) * args.batch_size]], pad_id)
            opt.zero_grad(set_to_none=True)
            loss = model(**batch, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0 or step == total:
                recent = losses[-50:]
                print(f"[{method}] step {step}/{total} loss {sum(recent) / len(recent):.4f} "
                      f"({time.time() - t_train:.0f} s)", file=sys.stderr, flush=True)
    train_s = time.time() - t_train

    t_eval = time.time()
    model.eval()
    preds = []
    with torch.no_grad():
        for b in range(0, len(test), args.batch_size):
            batch, _ = collate(test[b:b + args.batch_size], pad_id)
            preds += model(**batch).logits.argmax(-1).tolist()
    labels = [lab for _, lab in test]
    eval_s = time.time() - t_eval
    acc = sum(int(p == y) for p, y in zip(preds, labels)) / len(labels)
    return {
        "method": method, "accuracy": round(acc, 4), "macro_f1": round(macro_f1(preds, labels), 4),
        "train_loss_first50": round(sum(losses[:50]) / len(losses[:50]), 4),
        "train_loss_last50": round(sum(losses[-50:]) / len(losses[-50:]), 4),
        "steps": total, "trainable_params": n_trainable, "lr": lr,
        "train_s": round(train_s, 1), "eval_s": round(eval_s, 1), "wall_s": round(time.time() - t_start, 1),
        "train_samples_per_s": round(len(train) * args.epochs / train_s, 2),
        # The process's high-water mark: run one method per process (--methods M) for a per-method number.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "hyperparameters": {"max_length": args.max_length, "batch_size": args.batch_size, "epochs": args.epochs,
                            "warmup_steps": args.warmup_steps, "weight_decay": args.weight_decay,
                            "max_grad_norm": args.max_grad_norm, "seed": args.seed},
        "train_rows": len(train), "test_rows": len(test),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "adapters": adapters.__version__},
        "torch_threads": torch.get_num_threads(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="seq_bn,lora,full")
    ap.add_argument("--model", default=None, help="model folder (default: all-MiniLM-L6-v2 in the HF cache, as setup.sh puts it)")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data", "rotten_tomatoes"))
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr-seq-bn", type=float, default=1e-3)
    ap.add_argument("--lr-lora", type=float, default=1e-3)
    ap.add_argument("--lr-full", type=float, default=5e-5)
    ap.add_argument("--lr-adapter", type=float, default=1e-3, help="learning rate of the other methods (par_bn, ia3, …)")
    ap.add_argument("--warmup-steps", type=int, default=0)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--limit-train", type=int, default=0, help="use only the first N training rows (smoke test)")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "reference_train.json"))
    args = ap.parse_args()
    args.model = args.model or default_minilm()
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch", torch.__version__, "transformers", transformers.__version__, "adapters", adapters.__version__,
          file=sys.stderr)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    train = encode(tokenizer, read_jsonl(os.path.join(args.data, "train.jsonl")), args.max_length)
    test = encode(tokenizer, read_jsonl(os.path.join(args.data, "test.jsonl")), args.max_length)
    if args.limit_train:
        train = train[: args.limit_train]

    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = {r["method"]: r for r in json.load(f)}
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        known = ("seq_bn", "lora", "full", *CONFIG_STRINGS)
        if method not in known:
            raise SystemExit(f"unknown method {method!r} ({', '.join(known)})")
        r = train_one(method, args, train, test, tokenizer.pad_token_id)
        print(json.dumps(r), flush=True)
        results[method] = r
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(list(results.values()), f, indent=1)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
