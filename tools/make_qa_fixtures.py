#!/usr/bin/env python3
"""Writes Tests/Fixtures/qa/qa.json: what extractive question answering does around the model, from the libraries
Python users run it with, for the Swift decoding and labelling to match.

    .venv-bench/bin/python tools/make_qa_fixtures.py

Pinned: torch 2.13.0, transformers 4.57.6, tokenizers 0.22.2 (asserted). Tokenizers: roberta-base (byte-level BPE) and
MiniLM (WordPiece) from Tests/Fixtures/tokenizers. For 28 questions over real sentences (texts.json's corpus; a few
with accents, CJK and emoji), answers being spans of their contexts (a few at a window's end, one unanswerable):

- `train_labels`: each window's start/end token labels exactly as transformers' examples/pytorch/question-answering/
  run_qa.py `prepare_train_features` computes them (windows of max_length 64, stride 16, padding="max_length"; the
  function is transcribed below, its library has no importable copy);
- `run_qa`: seeded random start/end logits per window position and the answers of run_qa.py's
  `postprocess_qa_predictions` (utils_qa.py, transcribed below: n_best 20, max_answer_length 30; SQuAD v1 and, with
  `version_2_with_negative`, v2) and the SQuAD scores of those answers from `transformers.data.metrics.squad_metrics`;
- `pipeline`: transformers' own `QuestionAnsweringPipeline` (max_seq_len 64, doc_stride 16, top_k 1,
  max_answer_len 15, align_to_words) over a tiny random `*ForQuestionAnswering` model: each window's start/end logits
  and the pipeline's answer (score, start, end, text);
- `metrics`: `squad_metrics.compute_exact` / `compute_f1` on hard answer pairs (articles, punctuation, case, Unicode,
  empty answers).
"""
import collections
import json
import random
from pathlib import Path

import numpy as np
import tokenizers
import torch
import transformers
from transformers import (BertConfig, BertForQuestionAnswering, BertTokenizerFast, RobertaConfig,
                          RobertaForQuestionAnswering, RobertaTokenizerFast, pipeline)
from transformers.data.metrics import squad_metrics

from fixture_env import require

require("torch", "tokenizers", "transformers")

ROOT = Path(__file__).resolve().parent.parent
TOK = ROOT / "Tests" / "Fixtures" / "tokenizers"
OUT = ROOT / "Tests" / "Fixtures" / "qa"
MAX_LENGTH, STRIDE = 64, 16


def examples():
    rng = random.Random(5)
    corpus = json.loads((TOK / "texts.json").read_text())["corpus"]
    extra = ["Zürich's café opened in 1990s; naïve visitors loved it.", "東京 は 日本 の 首都 です。 The capital is Tokyo.",
             "Emoji 😀 mark the end 👍🏽 of the line."]
    out = []
    for k in range(28):
        context = " ".join(corpus[k * 5:(k * 5) + 5]) if k < 25 else extra[k - 25] + " " + corpus[k]
        words = [(m_start, m_start + len(w)) for m_start, w in _words(context)]
        if k == 24:
            out.append({"id": f"q{k}", "question": " What is never mentioned?", "context": context, "answers": []})
            continue
        i = len(words) - 2 if k % 7 == 3 else rng.randrange(len(words))
        j = min(len(words) - 1, i + rng.randrange(3))
        start, end = words[i][0], words[j][1]
        question = " ".join(context[words[max(0, i - 4)][0]:words[i][0]].split()[:4]) + "?"
        out.append({"id": f"q{k}", "question": ("  " if k % 5 == 0 else "") + question, "context": context,
                    "answers": [{"text": context[start:end], "answer_start": start}]})
    return out


def _words(text):
    i = 0
    for w in text.split(" "):
        if w:
            yield i, w
        i += len(w) + 1


def windows(tok, ex, padding):
    return tok(ex["question"].lstrip(), ex["context"], truncation="only_second", max_length=MAX_LENGTH, stride=STRIDE,
               return_overflowing_tokens=True, return_offsets_mapping=True, padding=padding)


def prepare_train_features(tok, ex):
    """run_qa.py's labelling of one example's windows (transcribed; question first, right padding)."""
    enc = windows(tok, ex, "max_length")
    labels = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        input_ids = enc["input_ids"][i]
        cls_index = input_ids.index(tok.cls_token_id)
        sequence_ids = enc.sequence_ids(i)
        answers = ex["answers"]
        if len(answers) == 0:
            labels.append([cls_index, cls_index])
            continue
        start_char = answers[0]["answer_start"]
        end_char = start_char + len(answers[0]["text"])
        token_start_index = 0
        while sequence_ids[token_start_index] != 1:
            token_start_index += 1
        token_end_index = len(input_ids) - 1
        while sequence_ids[token_end_index] != 1:
            token_end_index -= 1
        if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
            labels.append([cls_index, cls_index])
        else:
            while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                token_start_index += 1
            start = token_start_index - 1
            while offsets[token_end_index][1] >= end_char:
                token_end_index -= 1
            labels.append([start, token_end_index + 1])
    return labels


def postprocess(ex, feats, v2, n_best_size=20, max_answer_length=30):
    """utils_qa.py's postprocess_qa_predictions for one example (transcribed)."""
    min_null = None
    prelim = []
    for start_logits, end_logits, offset_mapping in feats:
        null = start_logits[0] + end_logits[0]
        if min_null is None or min_null["score"] > null:
            min_null = {"offsets": (0, 0), "score": null, "start_logit": start_logits[0], "end_logit": end_logits[0]}
        for s in np.argsort(start_logits)[-1:-n_best_size - 1:-1].tolist():
            for e in np.argsort(end_logits)[-1:-n_best_size - 1:-1].tolist():
                if s >= len(offset_mapping) or e >= len(offset_mapping) or offset_mapping[s] is None \
                        or offset_mapping[e] is None:
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                prelim.append({"offsets": (offset_mapping[s][0], offset_mapping[e][1]),
                               "score": start_logits[s] + end_logits[e], "start_logit": start_logits[s],
                               "end_logit": end_logits[e]})
    if v2:
        prelim.append(min_null)
    preds = sorted(prelim, key=lambda x: x["score"], reverse=True)[:n_best_size]
    if v2 and not any(p["offsets"] == (0, 0) for p in preds):
        preds.append(min_null)
    for p in preds:
        o = p.pop("offsets")
        p["text"] = ex["context"][o[0]:o[1]]
    if len(preds) == 0 or (len(preds) == 1 and preds[0]["text"] == ""):
        preds.insert(0, {"text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
    if not v2:
        return preds[0]["text"]
    i = 0
    while preds[i]["text"] == "":
        i += 1
    best = preds[i]
    return "" if min_null["score"] - best["start_logit"] - best["end_logit"] > 0.0 else best["text"]


def squad_scores(exs, answers):
    em = f1 = 0.0
    for ex, a in zip(exs, answers):
        golds = [g["text"] for g in ex["answers"] if squad_metrics.normalize_answer(g["text"])] or [""]
        em += max(squad_metrics.compute_exact(g, a) for g in golds)
        f1 += max(squad_metrics.compute_f1(g, a) for g in golds)
    return {"exact_match": 100 * em / len(exs), "f1": 100 * f1 / len(exs)}


def tiny_model(name, vocab):
    torch.manual_seed(9)
    common = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                  max_position_embeddings=80)
    if name == "roberta-base":
        return RobertaForQuestionAnswering(RobertaConfig(pad_token_id=1, type_vocab_size=1, **common)).eval()
    return BertForQuestionAnswering(BertConfig(**common)).eval()


def main():
    print("torch", torch.__version__, "tokenizers", tokenizers.__version__, "transformers", transformers.__version__)
    exs = examples()
    toks = {"roberta-base": RobertaTokenizerFast.from_pretrained(str(TOK / "roberta-base")),
            "minilm": BertTokenizerFast.from_pretrained(str(TOK / "minilm"))}
    out = {"max_length": MAX_LENGTH, "stride": STRIDE, "examples": exs, "tokenizers": {}}
    for name, tok in toks.items():
        rng = np.random.default_rng(17)
        entry = {"train_labels": [prepare_train_features(tok, ex) for ex in exs], "run_qa": {}, "pipeline": []}
        # run_qa: random logits per attended position of each (unpadded) window.
        logits, v1, v2 = [], [], []
        for ex in exs:
            enc = windows(tok, ex, False)
            feats = []
            per = []
            for i in range(len(enc["input_ids"])):
                n = len(enc["input_ids"][i])
                s = rng.normal(0, 2, n).astype(np.float32)
                e = rng.normal(0, 2, n).astype(np.float32)
                offsets = [o if enc.sequence_ids(i)[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
                feats.append((s, e, offsets))
                per.append({"start": s.tolist(), "end": e.tolist()})
            logits.append(per)
            v1.append(postprocess(ex, feats, False))
            v2.append(postprocess(ex, feats, True))
        entry["run_qa"] = {"logits": logits, "answers_v1": v1, "answers_v2": v2, "scores_v1": squad_scores(exs, v1),
                           "scores_v2": squad_scores(exs, v2)}
        # The pipeline, over a tiny random model.
        model = tiny_model(name, len(tok))
        pipe = pipeline("question-answering", model=model, tokenizer=tok, device="cpu")
        for ex in exs:
            if not ex["question"].strip():
                continue
            # The pipeline reads the question as given; the Swift side drops leading spaces, so give it the same.
            q = ex["question"].lstrip()
            sample = pipe.create_sample(question=q, context=ex["context"])
            outputs = []
            windows_logits = []
            for model_inputs in pipe.preprocess(sample, max_seq_len=MAX_LENGTH, doc_stride=STRIDE):
                with torch.no_grad():
                    o = pipe._forward(model_inputs)
                outputs.append(o)
                windows_logits.append({"start": o["start"][0].tolist(), "end": o["end"][0].tolist()})
            answer = pipe.postprocess(outputs, top_k=1, max_answer_len=15)
            entry["pipeline"].append({"id": ex["id"], "logits": windows_logits, "answer": answer})
        out["tokenizers"][name] = entry
    pairs = [("The Cat sat", "a cat"), ("the cat.", "Cat"), ("An apple, a day", "apple day"), ("", ""), ("", "x"),
             ("x", ""), ("Zürich café", "zurich café"), ("naïve", "NAÏVE"), ("the", "a"), ("a€ b", "€ b"),
             ("1990s", "1990"), ("New  York\tCity", "new york city"), ("O'Neil's", "ONeils"), ("İstanbul", "i̇stanbul"),
             ("the the cat cat", "cat cat cat"), ("東京", "東京 は"), ("émigré—the end", "émigré end")]
    out["metrics"] = [{"gold": g, "predicted": p, "exact": squad_metrics.compute_exact(g, p),
                       "f1": squad_metrics.compute_f1(g, p), "normalized": squad_metrics.normalize_answer(g)}
                      for g, p in pairs]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "qa.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")))
    print(f"{len(exs)} questions -> {OUT / 'qa.json'} ({(OUT / 'qa.json').stat().st_size} bytes)")


if __name__ == "__main__":
    main()
