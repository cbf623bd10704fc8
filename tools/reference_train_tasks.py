#!/usr/bin/env python3
"""Real-learning references for four more task types: trains a seq_bn adapter plus the task's head on
all-MiniLM-L6-v2 with the Python `adapters` library (token tagging on WNUT-17, regression on STS-B, sentence-pair
classification on MRPC, extractive QA on a SQuAD slice) and AdapterFusion over two given adapters on MRPC, and
reports the test scores, for the Swift trainer to be compared with.

Run in the pinned reference venv (see tools/README.md), one task per process (peak RSS is per process):
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task tagging
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task regression
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task pair
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task qa
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task fusion --fuse DIR_A --fuse DIR_B
    nice -n 19 .venv-bench/bin/python tools/reference_train_tasks.py --task parallel
Smoke test: `--max-examples N --epochs E` (first N training and first N evaluation examples; such a run writes its
JSON only where `--out` says). `--save-adapter DIR` saves the trained adapter with its head (fusion: the fusion
layer with its head) in AdapterHub's folder format.

Pinned: torch 2.13.0+cpu, transformers 4.57.6, adapters 1.3.0, tokenizers 0.22.2, scipy, scikit-learn 1.9.1,
seqeval 1.2.2. Output: one JSON line on stdout; tools/out/reference_train_tasks.json holds the latest result per
task (entries for other tasks are kept). Progress goes to stderr.

The exact procedure. It is tools/reference_train.py's (whose helpers it imports) wherever the tasks do not differ:

1. Data (data/*/, see tools/prepare_task_data.py; every file is read as UTF-8, rows in file order):
   tagging    data/wnut17/train.conll → test.conll. Lines split on "\\n"; a line whose str.strip() is empty (the
              training file separates tweets with "\\t" lines as well as empty ones) ends a sentence, empty
              sentences are skipped; other lines are "word\\ttag". 3,394 train / 1,287 test sentences. Label set:
              sorted(set(training tags)) — 13 labels, ids in that order: B-corporation, B-creative-work, B-group,
              B-location, B-person, B-product, I-corporation, …, I-product, O.
   regression data/stsb/train.jsonl → dev.jsonl ({"text", "text_pair", "label": float 0–5}; 5,749 / 1,500 rows).
   pair       data/mrpc/train.jsonl → test.jsonl ({"text", "text_pair", "label": 0|1}; 4,076 / 1,725 rows).
   fusion     as pair.
   parallel   as pair.
   qa         data/squad/train.json → dev.json (SQuAD 1.1 JSON; 581 / 124 questions, all answerable). An example is
              {id, question, context, answers} of each question, articles → paragraphs → qas in file order.
2. Tokenization with the model's own tokenizer (tokenizer.json, uncased WordPiece), no padding at this stage:
   tagging    tokenizer(words, is_split_into_words=True, truncation=True, max_length=128). Token labels as
              transformers' run_ner.py (label_all_tokens=False): the first sub-token of each word (the first position
              of each run of equal word_ids) gets the word's tag id, every other sub-token and [CLS]/[SEP] -100.
              Test: 3 words (U+FE0F alone) give no sub-token and 30 words of one long tweet are cut by the truncation.
   regression / pair / fusion
              tokenizer(text, text_pair, truncation=True, max_length=128) → [CLS] a [SEP] b [SEP], token_type_ids 0
              on [CLS] a [SEP] and 1 on b [SEP] (truncation "longest_first").
   qa         run_qa.py's windows: tokenizer(question.lstrip(), context, truncation="only_second", max_length=256,
              stride=64, return_overflowing_tokens=True, return_offsets_mapping=True) (make_qa_fixtures.windows with
              its MAX_LENGTH/STRIDE set to 256/64). Training labels: make_qa_fixtures.prepare_train_features
              (run_qa.py's, transcribed) on the same windows padded to 256, then the padding is stripped (the ids are
              asserted equal) and both labels are clamped to [0, len(window) - 1]. That clamp only matters in
              run_qa's edge case of an answer that starts inside a window's last context token: run_qa's start loop
              then runs over [SEP] (offset (0,0)) and the padding to max_length - 1, i.e. a padding position or, in a
              full window, the final [SEP]; clamped, the start label is the window's final [SEP]. A window that does
              not hold the whole answer gets start = end = 0 ([CLS]). The batch order (5.) is over the training
              *windows*, in example order and, within an example, window order.
3. Model. AutoAdapterModel.from_pretrained(all-MiniLM-L6-v2) (BertAdapterModel; dropout 0.1 as in config.json).
   Then torch.manual_seed(seed) and `add_adapter(name, config=SeqBnConfig())` (reduction 16 → bottleneck 24, relu,
   after the FFN output) with name = the task's dataset name, and its head (AdapterHub defaults; Dropout(0.1) before
   each Linear):
     tagging    add_tagging_head("wnut17", num_labels=13, id2label=…): 1 layer, Linear(384, 13) on every token.
                Loss: CrossEntropy over the positions with attention_mask 1 and label ≠ -100 (padding is labelled -100).
     regression add_classification_head("stsb", num_labels=1): Linear(384,384), tanh, Linear(384,1) on [CLS];
                loss MSE(logits.view(-1), labels) (float labels).
     pair       add_classification_head("mrpc", num_labels=2, id2label={0: "0", 1: "1"}): Linear(384,384), tanh,
                Linear(384,2) on [CLS]; CrossEntropy.
     qa         add_qa_head("squad"): 1 layer, Linear(384, 2) on every token → start/end logits; loss = (CE(start) +
                CE(end)) / 2 with ignore_index = padded length (never hit after the clamp).
     fusion     load_adapter(DIR, with_head=False) for each --fuse DIR (names from their adapter_config.json), then
                torch.manual_seed(seed), add_adapter_fusion(Fuse(a, b)) (default "dynamic" config, per layer: query
                and key Linear(384,384) with bias, init N(0, 0.02²) / 0; value Linear(384,384) without bias, init
                the identity with 1e-6 off the diagonal; dropout 0.1 on the attention scores; T 1; regularization
                on) and
                add_classification_head("a,b", num_labels=2, id2label={0: "0", 1: "1"}).
     parallel   add_adapter("mrpc", SeqBnConfig()), add_adapter("mrpc8", SeqBnConfig(reduction_factor=8,
                non_linearity="gelu")) and a pair head for each (as pair), train_adapter(Parallel("mrpc", "mrpc8")),
                active_head = Parallel(…): the loss is the sum of the heads' losses, clipping over both branches'
                gradients together; each head is evaluated over its own adapter (keys mrpc_* and mrpc8_*).
   Then train_adapter(name) (base frozen, adapter + head trainable, train mode), for fusion
   train_adapter_fusion(Fuse(a, b)) (base and both adapters frozen; fusion layers + head trainable, train mode).
4. Optimizer as AdapterTrainer.create_optimizer: torch.optim.AdamW(lr 1e-3 unless --learning-rate, betas (0.9,
   0.999), eps 1e-8) with two groups over the parameters that require grad: weight decay 0.01 for names in
   Trainer.get_decay_parameter_names(model) (not inside an nn.LayerNorm, lower-cased name matching none of 'bias',
   'layernorm', 'rmsnorm', '(^|\\.)norm($|\\.)', '_norm($|\\.)') minus the names that
   re.match(r"adapter_fusion_layer\\..*\\.value", name) — re.match anchors at the start of the full name
   ("bert.encoder.layer.0.output.adapter_fusion_layer.a,b.value.weight"), so it removes nothing and the
   fusion value matrices DO get weight decay, as in AdapterHub — and 0 for the rest.
5. Schedule: get_linear_schedule_with_warmup(opt, 0, total), total = epochs * ceil(N / 32) with N the training
   examples (QA: windows), the last short batch kept. Epochs: tagging 3, regression 2, pair 3, qa 10, fusion 3.
   Epoch e (0-based) visits the rows in reference_train.permutation(N, seed, e) order (SplitMix64 Fisher–Yates,
   state0 = seed * 2^32 + e); batches of 32 consecutive rows of that order, right-padded with [PAD] = 0 to the longest
   sequence of the batch (attention_mask 0, token_type_ids 0, tagging labels -100 on padding).
6. Step: zero_grad; loss = model(input_ids, attention_mask, token_type_ids, labels | start_positions+end_positions)
   .loss; fusion only, from the second step on: loss += model.base_model.get_fusion_regularization_loss(), i.e.
   0.01 * Σ over the 6 layers' fusion value matrices W of Σ (I - W)² (squared Frobenius distance to the identity);
   backward; clip_grad_norm_(trainable, 1.0); optimizer.step(); scheduler.step(). Why "from the second step on":
   AdapterTrainer does not add that term to the loss: its callback's on_step_end calls reg.backward() after HF
   Trainer's optimizer.step(), scheduler.step() and model.zero_grad(), so the gradient of the term at the updated
   weights (= the weights of the next forward) is summed into the NEXT step's gradient before clipping; the first
   step has none and the last step's is discarded. Adding the term to step t's loss (t ≥ 1) gives the same gradient.
   The reported training losses are the task loss without the term.
7. Evaluation once at the end: model.eval(), no_grad, batches of 32 in file order (QA: windows in order), padded as
   in training.
   tagging    prediction per word = argmax label at the word's first sub-token; a word with no sub-token in the
              (truncated) encoding is predicted "O". seqeval (default, conlleval-like mode) precision_score,
              recall_score, f1_score of the entities and accuracy_score over the words, all sentences' words, × 100.
              (`run_ner_f1` also gives run_ner's own number, where such words are dropped from gold and prediction.)
   regression prediction = logits[:, 0]; Pearson and Spearman (scipy.stats) × 100 against the gold scores.
   pair / fusion
              argmax; accuracy and F1 of class 1 (sklearn f1_score) × 100.
   qa         start/end logits of each window over its own (unpadded) positions; offsets None outside the context
              (sequence_ids ≠ 1); answer = make_qa_fixtures.postprocess(example, windows, v2=False) (utils_qa.py:
              n_best 20, max_answer_length 30); make_qa_fixtures.squad_scores: max over the gold answers of
              squad_metrics.compute_exact / compute_f1, mean × 100.
Initialisation and dropout masks come from PyTorch's RNG and are not meant to be reproduced; compare the final
metrics (and the loss curve loosely), not weights.
"""
import argparse
import importlib.metadata
import json
import math
import os
import re
import resource
import sys
import time

import adapters
import numpy as np
import scipy
import scipy.stats
import seqeval
import seqeval.metrics
import sklearn
import sklearn.metrics
import torch
import transformers
from adapters import AutoAdapterModel, Fuse, Parallel, SeqBnConfig
from transformers import AutoTokenizer, Trainer, get_linear_schedule_with_warmup

import make_qa_fixtures
from fixture_env import default_minilm
from reference_train import permutation

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
PAIR_ID2LABEL = {0: "0", 1: "1"}

TASKS = {
    # task: (dataset name = adapter/head name, train file, eval file, epochs, max_length)
    "tagging": ("wnut17", "train.conll", "test.conll", 3, 128),
    "regression": ("stsb", "train.jsonl", "dev.jsonl", 2, 128),
    "pair": ("mrpc", "train.jsonl", "test.jsonl", 3, 128),
    "qa": ("squad", "train.json", "dev.json", 10, 256),
    "fusion": ("mrpc", "train.jsonl", "test.jsonl", 3, 128),
    # train_adapter(Parallel("mrpc", "mrpc8")): two adapters with a head each, trained side by side.
    "parallel": ("mrpc", "train.jsonl", "test.jsonl", 3, 128),
}
# The Parallel's second branch: a seq_bn at the same locations as the first (adapters 1.3.0 needs that), rf 8, GELU.
PARALLEL_SECOND = ("mrpc8", dict(reduction_factor=8, non_linearity="gelu"))


# ---------------------------------------------------------------------------------------------------- data

def read_conll(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines:
        if line.strip() == "":
            if cur:
                sents.append(cur)
            cur = []
        else:
            word, tag = line.split("\t")
            cur.append((word, tag))
    if cur:
        sents.append(cur)
    return sents


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_squad(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [{"id": q["id"], "question": q["question"], "context": p["context"], "answers": q["answers"]}
            for a in data for p in a["paragraphs"] for q in p["qas"]]


def encode_tagging(tok, sents, label2id, max_length):
    enc = tok([[w for w, _ in s] for s in sents], is_split_into_words=True, truncation=True, max_length=max_length)
    feats = []
    for i, s in enumerate(sents):
        word_ids = enc.word_ids(i)
        labels, first = [], {}
        prev = None
        for k, w in enumerate(word_ids):
            if w is None:
                labels.append(-100)
            elif w != prev:
                labels.append(label2id[s[w][1]])
                first[w] = k
            else:
                labels.append(-100)
            prev = w
        feats.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                      "labels": labels, "first": first})
    return feats


def encode_pairs(tok, rows, max_length, regression):
    enc = tok([r["text"] for r in rows], [r["text_pair"] for r in rows], truncation=True, max_length=max_length)
    return [{"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
             "labels": float(r["label"]) if regression else int(r["label"])} for i, r in enumerate(rows)]


def qa_windows(tok, examples, max_length, stride, train):
    """One feature per window: ids, token types, (train) clamped start/end labels, (eval) example index + offsets."""
    make_qa_fixtures.MAX_LENGTH, make_qa_fixtures.STRIDE = max_length, stride
    feats, clamped = [], 0
    for n, ex in enumerate(examples):
        enc = make_qa_fixtures.windows(tok, ex, False)
        if train:
            labels = make_qa_fixtures.prepare_train_features(tok, ex)
            padded = make_qa_fixtures.windows(tok, ex, "max_length")
            assert len(labels) == len(enc["input_ids"]) == len(padded["input_ids"])
        for i, ids in enumerate(enc["input_ids"]):
            f = {"input_ids": ids, "token_type_ids": enc["token_type_ids"][i], "example": n}
            if train:
                assert padded["input_ids"][i][:len(ids)] == ids and \
                    all(t == tok.pad_token_id for t in padded["input_ids"][i][len(ids):])
                s, e = labels[i]
                cs, ce = min(max(s, 0), len(ids) - 1), min(max(e, 0), len(ids) - 1)
                clamped += (cs, ce) != (s, e)
                f["start_positions"], f["end_positions"] = cs, ce
            else:
                seq = enc.sequence_ids(i)
                f["offsets"] = [o if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
            feats.append(f)
    return feats, clamped


def collate(feats, pad_id, task):
    T = max(len(f["input_ids"]) for f in feats)
    B = len(feats)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for i, f in enumerate(feats):
        n = len(f["input_ids"])
        ids[i, :n] = torch.tensor(f["input_ids"])
        types[i, :n] = torch.tensor(f["token_type_ids"])
        mask[i, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if task == "tagging":
        labels = torch.full((B, T), -100, dtype=torch.long)
        for i, f in enumerate(feats):
            labels[i, :len(f["labels"])] = torch.tensor(f["labels"])
        batch["labels"] = labels
    elif task == "regression":
        batch["labels"] = torch.tensor([f["labels"] for f in feats], dtype=torch.float32)
    elif task in ("pair", "fusion", "parallel"):
        batch["labels"] = torch.tensor([f["labels"] for f in feats], dtype=torch.long)
    elif task == "qa" and "start_positions" in feats[0]:
        batch["start_positions"] = torch.tensor([f["start_positions"] for f in feats], dtype=torch.long)
        batch["end_positions"] = torch.tensor([f["end_positions"] for f in feats], dtype=torch.long)
    return batch


# ---------------------------------------------------------------------------------------------------- model

def build_model(args, name, num_labels, id2label):
    model = AutoAdapterModel.from_pretrained(args.model)
    if args.task == "fusion":
        names = [model.load_adapter(d, with_head=False, use_safetensors=os.path.exists(os.path.join(d, "adapter.safetensors"))) for d in args.fuse]
        if len(set(names)) != len(names):
            raise SystemExit(f"the --fuse adapters must have distinct names, got {names}")
        fuse = Fuse(*names)
        torch.manual_seed(args.seed)
        model.add_adapter_fusion(fuse)
        model.add_classification_head(fuse.name, num_labels=2, id2label=PAIR_ID2LABEL)
        model.train_adapter_fusion(fuse)
        return model, fuse.name
    torch.manual_seed(args.seed)
    if args.task == "parallel":
        second, kwargs = PARALLEL_SECOND
        model.add_adapter(name, config=SeqBnConfig())
        model.add_adapter(second, config=SeqBnConfig(**kwargs))
        model.add_classification_head(name, num_labels=2, id2label=PAIR_ID2LABEL)
        model.add_classification_head(second, num_labels=2, id2label=PAIR_ID2LABEL)
        model.train_adapter(Parallel(name, second))
        model.active_head = Parallel(name, second)  # train_adapter sets the base model's adapters only
        return model, name
    model.add_adapter(name, config=SeqBnConfig())
    if args.task == "tagging":
        model.add_tagging_head(name, num_labels=num_labels, id2label=id2label)
    elif args.task == "regression":
        model.add_classification_head(name, num_labels=1)
    elif args.task == "pair":
        model.add_classification_head(name, num_labels=2, id2label=PAIR_ID2LABEL)
    elif args.task == "qa":
        model.add_qa_head(name)
    model.train_adapter(name)
    return model, name


def optimizer_groups(model, weight_decay):
    """AdapterTrainer.create_optimizer's two groups (its fusion-value filter included, a no-op: see the docstring)."""
    decay = Trainer.get_decay_parameter_names(None, model)
    decay = set(n for n in decay if not re.match(r"adapter_fusion_layer\..*\.value", n))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return named, [{"params": [p for n, p in named if n in decay], "weight_decay": weight_decay},
                   {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}], \
        sorted(n for n, _ in named if n in decay)


# ---------------------------------------------------------------------------------------------------- evaluation

def evaluate(model, task, feats, eval_items, pad_id, batch_size, id2label, tok):
    model.eval()
    outs = []
    with torch.no_grad():
        for b in range(0, len(feats), batch_size):
            chunk = feats[b:b + batch_size]
            batch = collate(chunk, pad_id, task)
            batch.pop("labels", None)
            o = model(**batch)
            for i, f in enumerate(chunk):
                n = len(f["input_ids"])
                if task == "tagging":
                    outs.append(o.logits[i, :n].argmax(-1).tolist())
                elif task == "regression":
                    outs.append(float(o.logits[i, 0]))
                elif task in ("pair", "fusion", "parallel"):
                    outs.append(int(o.logits[i].argmax(-1)))
                else:
                    outs.append((o.start_logits[i, :n].numpy().copy(), o.end_logits[i, :n].numpy().copy()))
    if task == "tagging":
        gold, pred, gold_rn, pred_rn, missing = [], [], [], [], 0
        for s, f, p in zip(eval_items, feats, outs):
            g = [t for _, t in s]
            q = []
            for w in range(len(s)):
                if w in f["first"]:
                    q.append(id2label[p[f["first"][w]]])
                else:
                    q.append("O")
                    missing += 1
            gold.append(g)
            pred.append(q)
            keep = [w for w in range(len(s)) if w in f["first"]]
            gold_rn.append([g[w] for w in keep])
            pred_rn.append([q[w] for w in keep])
        m = seqeval.metrics
        return {"precision": 100 * m.precision_score(gold, pred), "recall": 100 * m.recall_score(gold, pred),
                "f1": 100 * m.f1_score(gold, pred), "accuracy": 100 * m.accuracy_score(gold, pred),
                "run_ner_f1": 100 * m.f1_score(gold_rn, pred_rn), "words_without_token": missing,
                "eval_words": sum(len(g) for g in gold)}
    if task == "regression":
        gold = [f["labels"] for f in feats]
        return {"pearson": 100 * float(scipy.stats.pearsonr(outs, gold)[0]),
                "spearman": 100 * float(scipy.stats.spearmanr(outs, gold)[0])}
    if task in ("pair", "fusion", "parallel"):
        gold = [f["labels"] for f in feats]
        return {"accuracy": 100 * float(sklearn.metrics.accuracy_score(gold, outs)),
                "f1": 100 * float(sklearn.metrics.f1_score(gold, outs))}
    # qa
    per_example = [[] for _ in eval_items]
    for f, (s, e) in zip(feats, outs):
        per_example[f["example"]].append((s, e, f["offsets"]))
    answers = [make_qa_fixtures.postprocess(ex, w, False) for ex, w in zip(eval_items, per_example)]
    scores = make_qa_fixtures.squad_scores(eval_items, answers)
    return {"exact_match": scores["exact_match"], "f1": scores["f1"]}


# ---------------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", required=True, choices=list(TASKS))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--learning-rate", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=0, help="override the task's epochs (0: the task's)")
    ap.add_argument("--max-examples", type=int, default=0,
                    help="smoke test: only the first N training and N evaluation examples (QA: questions)")
    ap.add_argument("--fuse", action="append", default=[], help="adapter folder to fuse (task fusion; give two)")
    ap.add_argument("--save-adapter", default=None, help="save the trained adapter (fusion: fusion layer) + head here")
    ap.add_argument("--model", default=None, help="model folder (default: all-MiniLM-L6-v2 in the HF cache)")
    ap.add_argument("--data", default=None, help="data folder (default: data/<dataset> of the repository)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--doc-stride", type=int, default=64)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out", default=None,
                    help="results file (default tools/out/reference_train_tasks.json; a --max-examples run writes "
                         "only where --out says)")
    args = ap.parse_args()
    t_start = time.time()
    name, train_file, eval_file, epochs, max_length = TASKS[args.task]
    args.epochs = args.epochs or epochs
    args.model = args.model or default_minilm()
    args.data = args.data or os.path.join(DATA, name)
    if args.task == "fusion" and len(args.fuse) != 2:
        raise SystemExit("--task fusion needs two --fuse DIR")
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch", torch.__version__, "transformers", transformers.__version__, "adapters", adapters.__version__,
          file=sys.stderr)

    tok = AutoTokenizer.from_pretrained(args.model)
    pad_id = tok.pad_token_id
    N = args.max_examples or None
    id2label, extra = None, {}
    if args.task == "tagging":
        train_items = read_conll(os.path.join(args.data, train_file))[:N]
        eval_items = read_conll(os.path.join(args.data, eval_file))[:N]
        labels = sorted(set(t for s in read_conll(os.path.join(args.data, train_file)) for _, t in s))
        id2label = dict(enumerate(labels))
        label2id = {l: i for i, l in id2label.items()}
        train = encode_tagging(tok, train_items, label2id, max_length)
        test = encode_tagging(tok, eval_items, label2id, max_length)
        extra["labels"] = labels
    elif args.task == "qa":
        train_items = read_squad(os.path.join(args.data, train_file))[:N]
        eval_items = read_squad(os.path.join(args.data, eval_file))[:N]
        train, clamped = qa_windows(tok, train_items, max_length, args.doc_stride, True)
        test, _ = qa_windows(tok, eval_items, max_length, args.doc_stride, False)
        extra.update(train_windows=len(train), eval_windows=len(test), train_labels_clamped=clamped,
                     train_windows_without_answer=sum(f["start_positions"] == 0 for f in train))
    else:
        train_items = read_pairs(os.path.join(args.data, train_file))[:N]
        eval_items = read_pairs(os.path.join(args.data, eval_file))[:N]
        train = encode_pairs(tok, train_items, max_length, args.task == "regression")
        test = encode_pairs(tok, eval_items, max_length, args.task == "regression")

    model, head = build_model(args, name, len(id2label) if id2label else None, id2label)
    named, groups, decay_names = optimizer_groups(model, args.weight_decay)
    opt = torch.optim.AdamW(groups, lr=args.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = steps_per_epoch * args.epochs
    sched = get_linear_schedule_with_warmup(opt, 0, total)
    trainable = [p for _, p in named]
    print(f"[{args.task}] {len(train)} training rows, {len(test)} evaluation rows, {total} steps, "
          f"{sum(p.numel() for p in trainable)} trainable parameters in {len(named)} tensors "
          f"({len(decay_names)} with weight decay)", file=sys.stderr, flush=True)
    fusion = args.task == "fusion"

    losses, regs = [], []
    step = 0
    t_train = time.time()
    for epoch in range(args.epochs):
        order = permutation(len(train), args.seed, epoch)
        model.train()
        for b in range(steps_per_epoch):
            batch = collate([train[i] for i in order[b * args.batch_size:(b + 1) * args.batch_size]], pad_id,
                            args.task)
            opt.zero_grad(set_to_none=True)
            task_loss = model(**batch).loss
            loss = task_loss
            if fusion and step > 0:
                reg = model.base_model.get_fusion_regularization_loss()
                if reg is not None:
                    loss = loss + reg
                    regs.append(reg.item())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
            opt.step()
            sched.step()
            losses.append(task_loss.item())
            step += 1
            if step % 50 == 0 or step == total:
                recent = losses[-50:]
                print(f"[{args.task}] step {step}/{total} loss {sum(recent) / len(recent):.4f} "
                      f"({time.time() - t_train:.0f} s)", file=sys.stderr, flush=True)
    train_s = time.time() - t_train

    t_eval = time.time()
    if args.task == "parallel":
        # Each head over its own adapter (what its branch of the Parallel computes): scores per head.
        scores = {}
        for branch in (name, PARALLEL_SECOND[0]):
            model.set_active_adapters(branch)
            model.active_head = branch
            for k, v in evaluate(model, args.task, test, eval_items, pad_id, args.batch_size, id2label, tok).items():
                scores[f"{branch}_{k}"] = v
    else:
        scores = evaluate(model, args.task, test, eval_items, pad_id, args.batch_size, id2label, tok)
    eval_s = time.time() - t_eval
    if args.save_adapter:
        if fusion:
            model.save_adapter_fusion(args.save_adapter, head, with_head=True)
        else:
            model.save_adapter(args.save_adapter, name, with_head=True)

    r = {"task": args.task, "name": head,
         "scores": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in scores.items()},
         "train_loss_first50": round(sum(losses[:50]) / len(losses[:50]), 4),
         "train_loss_last50": round(sum(losses[-50:]) / len(losses[-50:]), 4),
         "steps": total, "trainable_params": sum(p.numel() for p in trainable), "lr": args.learning_rate,
         "train_s": round(train_s, 1), "eval_s": round(eval_s, 1), "wall_s": round(time.time() - t_start, 1),
         "train_samples_per_s": round(len(train) * args.epochs / train_s, 2),
         "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
         "hyperparameters": {"max_length": max_length, "batch_size": args.batch_size, "epochs": args.epochs,
                             "warmup_steps": 0, "weight_decay": args.weight_decay,
                             "max_grad_norm": args.max_grad_norm, "seed": args.seed,
                             **({"doc_stride": args.doc_stride} if args.task == "qa" else {})},
         "train_rows": len(train_items), "eval_rows": len(eval_items), **extra,
         "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                      "adapters": adapters.__version__, "seqeval": importlib.metadata.version("seqeval"),
                      "scipy": scipy.__version__, "sklearn": sklearn.__version__},
         "torch_threads": torch.get_num_threads(),
         "command": " ".join(["tools/reference_train_tasks.py"] + sys.argv[1:])}
    if fusion:
        r["fused"] = [os.path.abspath(d) for d in args.fuse]
        r["fusion_reg_first"] = round(regs[0], 6) if regs else None
        r["fusion_reg_last"] = round(regs[-1], 6) if regs else None
    print(json.dumps(r), flush=True)

    out = args.out or (None if args.max_examples else os.path.join(HERE, "out", "reference_train_tasks.json"))
    if out:
        results = {}
        if os.path.exists(out):
            with open(out) as f:
                results = {x["task"]: x for x in json.load(f)}
        results[args.task] = r
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out + ".tmp", "w") as f:
            json.dump(list(results.values()), f, indent=1)
        os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
