#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/token_classification.json: transformers' `TokenClassificationPipeline` output for
every `aggregation_strategy` (none, simple, first, average, max) with the logits it was computed from, for the Swift
post-processing to match.

    .venv-bench/bin/python tools/make_token_classification_fixtures.py

Pinned: torch 2.13.0, transformers 4.57.6, tokenizers 0.22.2 (asserted). Models: tiny random `*ForTokenClassification`
(BERT with the MiniLM WordPiece tokenizer, RoBERTa with roberta-base's byte-level BPE, both from
Tests/Fixtures/tokenizers) with five BIO labels; their logits per position are stored, so the Swift side needs no
model. Texts: sentences from texts.json's corpus and hand-made ones (sub-word splits, accents, CJK, emoji, an
unknown character, punctuation runs).
"""
import json
from pathlib import Path

import tokenizers
import torch
import transformers
from transformers import (BertConfig, BertForTokenClassification, BertTokenizerFast, RobertaConfig,
                          RobertaForTokenClassification, RobertaTokenizerFast, pipeline)

from fixture_env import require

require("torch", "tokenizers", "transformers")

TOK = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizers"
LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
HARD = [
    "Angela Merkel visited Washington and New York.", "Microsoft Corporation's CEO Satya Nadella spoke in Zürich.",
    "naïve café owners in São Paulo", "東京 は 日本 の 首都 です", "emoji 😀 👍🏽 at the end", "ǅemal ⅻ unknown",
    "U.S.-based firms... lost $5,000,000!!!", "unbelievably unforgettable transcontinental", "a", "",
]


def main():
    print("torch", torch.__version__, "tokenizers", tokenizers.__version__, "transformers", transformers.__version__)
    corpus = json.loads((TOK / "texts.json").read_text())["corpus"]
    texts = HARD + corpus[400:430]
    out = {"labels": [LABELS[i] for i in range(5)], "tokenizers": {}}
    for name in ("minilm", "roberta-base"):
        torch.manual_seed(3)
        common = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                      max_position_embeddings=600, num_labels=5, id2label=LABELS,
                      label2id={v: k for k, v in LABELS.items()})
        if name == "minilm":
            tok = BertTokenizerFast.from_pretrained(str(TOK / "minilm"))
            model = BertForTokenClassification(BertConfig(vocab_size=len(tok), **common))
        else:
            tok = RobertaTokenizerFast.from_pretrained(str(TOK / "roberta-base"))
            model = RobertaForTokenClassification(RobertaConfig(vocab_size=len(tok), pad_token_id=1, type_vocab_size=1,
                                                                **common))
        with torch.no_grad():  # logits of a useful size: the random head's are tiny
            model.classifier.weight.mul_(60)
        model.eval()
        pipe = pipeline("token-classification", model=model, tokenizer=tok, device="cpu")
        cases = []
        for text in texts:
            if not text:
                continue
            enc = tok(text, truncation=True, max_length=128, return_tensors="pt")
            with torch.no_grad():
                logits = model(**enc).logits[0]
            case = {"text": text, "ids": enc["input_ids"][0].tolist(), "logits": logits.tolist()}
            for strategy in ("none", "simple", "first", "average", "max"):
                entities = pipe(text, aggregation_strategy=strategy)
                case[strategy] = [{k: (float(v) if k == "score" else v) for k, v in e.items()} for e in entities]
            cases.append(case)
        out["tokenizers"][name] = cases
    path = TOK / "token_classification.json"
    path.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")))
    print(f"{sum(len(c) for c in out['tokenizers'].values())} texts -> {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
