#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/words.json: encodings of pre-split words with their word ids, as token
classification feeds a model (`tokenizer(words, is_split_into_words=True)`, `BatchEncoding.word_ids()`).

    .venv-bench/bin/python tools/make_word_fixtures.py

Pinned: tokenizers 0.22.2, transformers 4.57.6 (asserted). Tokenizers: the roberta-base files already in
Tests/Fixtures/tokenizers/roberta-base (fast tokenizer with add_prefix_space=True, which pre-split input
requires) and the MiniLM (bert-base-uncased WordPiece) files in Tests/Fixtures/tokenizers/minilm.

Inputs: CoNLL-style sentences split at whitespace from texts.json's corpus (rotten_tomatoes / SST-2 texts,
which keep punctuation attached to words: "film's", "u.s.", "--"), and hand-made word lists (punctuation
inside words, accents, CJK, emoji, a special token written as a word, an empty string as a word, a lone
space). Each list is encoded without truncation and with max_length 12 (truncation=True); the first 40
also padded to max_length 24.
"""
import json
from pathlib import Path

import tokenizers
import transformers
from transformers import BertTokenizerFast, RobertaTokenizerFast

from fixture_env import require

require("tokenizers", "transformers")

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizers"

HARD = [
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Peter", "Blackburn"],
    ["U.S.", "officials", "said", "it's", "over", "--", "done", "!"],
    ["naïve", "café", "Zürich", "ÉCOLE", "straße"],
    ["東京", "は", "日本", "の", "首都", "です"],
    ["emoji", "😀", "👍🏽", "ok"],
    ["<mask>", "[SEP]", "word"],
    ["", "empty", "word", ""],
    [" ", "spaces", "  around  "],
    ["x" * 60],
    ["3.14", "1,000", "$5", "50%", "10-15", "@user", "#tag"],
    ["don't", "won't", "'s", "'ll", "O'Neil"],
]


def sentences():
    texts = json.loads((OUT / "texts.json").read_text())["corpus"]
    out = []
    for t in texts[:150]:
        words = t.split()
        if words:
            out.append(words)
    return out


def encode(tok, words, **kw):
    e = tok(words, is_split_into_words=True, **kw)
    return {"ids": e["input_ids"], "word_ids": e.word_ids(), "attention_mask": e["attention_mask"]}


def main():
    print("tokenizers", tokenizers.__version__, "transformers", transformers.__version__)
    roberta = RobertaTokenizerFast.from_pretrained(str(OUT / "roberta-base"), add_prefix_space=True)
    minilm = BertTokenizerFast.from_pretrained(str(OUT / "minilm"))
    inputs = HARD + sentences()
    cases = []
    for i, words in enumerate(inputs):
        case = {"words": words}
        for name, tok in (("roberta-base", roberta), ("minilm", minilm)):
            case[name] = {"plain": encode(tok, words), "truncated12": encode(tok, words, max_length=12, truncation=True)}
            if i < 40:
                case[name]["padded24"] = encode(tok, words, max_length=24, truncation=True, padding="max_length")
        cases.append(case)
    (OUT / "words.json").write_text(json.dumps({"cases": cases}, ensure_ascii=False, separators=(",", ":")))
    print(f"{len(cases)} word lists -> {OUT / 'words.json'}")


if __name__ == "__main__":
    main()
