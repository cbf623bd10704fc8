#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/offsets.json: HF fast tokenizers' `offset_mapping` (character spans in
the original text, as Python indexes strings: by code point) and `sequence_ids()` and `word_ids()` for single texts and pairs,
and the overflowing windows extractive QA uses (`truncation="only_second"`, `stride`,
`return_overflowing_tokens=True`).

    .venv-bench/bin/python tools/make_offset_fixtures.py

Pinned: tokenizers 0.22.2, transformers 4.57.6 (asserted). Tokenizers: roberta-base (byte-level BPE,
`trim_offsets`) and MiniLM (bert-base-uncased WordPiece: clean text, CJK spacing, NFD accent stripping,
lower-casing) from Tests/Fixtures/tokenizers.

Texts: texts.json's hard cases (accents, CJK, emoji, combining marks, control characters, special tokens
written in the text, runs of spaces and newlines), 300 random strings and 200 corpus sentences; pairs from
texts.json; QA windows over long corpus passages with max_length 48/64 and stride 8/16.
"""
import json
from pathlib import Path

import tokenizers
import transformers
from transformers import BertTokenizerFast, RobertaTokenizerFast

from fixture_env import require

require("tokenizers", "transformers")

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "tokenizers"

EXTRA = [
    "İstanbul ǅemal ß ﬁ Ⅻ ㎏ Å",
    "한국어 텍스트 와 조합형",
    "tab\there\r\nline\u2028sep\u00a0nbsp\u200bzero",
    "e\u0301 a\u0300\u0300 combining",
    "a  b   c    ",
    "  leading and trailing  ",
    "<s>inside</s> text <mask> here",
    "[CLS] bert [SEP] specials [MASK]",
    "x" * 130,
    "\x00nul\x07bell\ufffdreplacement",
    "👨‍👩‍👧 family 🇫🇷 flag",
]


def row(e, i=0):
    return {"ids": e["input_ids"][i] if isinstance(e["input_ids"][0], list) else e["input_ids"],
            "offsets": [list(o) for o in (e["offset_mapping"][i] if isinstance(e["input_ids"][0], list)
                                          else e["offset_mapping"])],
            "sequence_ids": e.sequence_ids(i), "word_ids": e.word_ids(i)}


def main():
    print("tokenizers", tokenizers.__version__, "transformers", transformers.__version__)
    src = json.loads((OUT / "texts.json").read_text())
    roberta = RobertaTokenizerFast.from_pretrained(str(OUT / "roberta-base"))
    minilm = BertTokenizerFast.from_pretrained(str(OUT / "minilm"))
    toks = (("roberta-base", roberta), ("minilm", minilm))
    texts = src["hard"] + EXTRA + src["random"] + src["corpus"][:200]
    singles = []
    for t in texts:
        case = {"text": t}
        for name, tok in toks:
            case[name] = row(tok(t, return_offsets_mapping=True))
            case[name + "/truncated16"] = row(tok(t, return_offsets_mapping=True, max_length=16, truncation=True))
        singles.append(case)
    pairs = []
    pair_list = [tuple(p) for p in src["pairs"]] + [(src["corpus"][i], src["corpus"][i + 1]) for i in range(200, 260, 2)]
    for a, b in pair_list:
        case = {"text": a, "pair": b}
        for name, tok in toks:
            case[name] = row(tok(a, b, return_offsets_mapping=True))
            case[name + "/truncated24"] = row(tok(a, b, return_offsets_mapping=True, max_length=24, truncation=True))
        pairs.append(case)
    # Extractive QA: a short question against a long context, cut into overlapping windows.
    windows = []
    long = [" ".join(src["corpus"][i:i + 4]) for i in range(300, 340, 4)] + [EXTRA[1] * 6, EXTRA[0] * 5]
    questions = ["What is it about?", "Who did it, and when?", "Why?", "naïve café question"]
    for k, ctx in enumerate(long):
        q = questions[k % len(questions)]
        max_length, stride = (48, 8) if k % 2 == 0 else (64, 16)
        case = {"question": q, "context": ctx, "max_length": max_length, "stride": stride}
        for name, tok in toks:
            e = tok(q, ctx, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")
            case[name] = [dict(row(e, i), attention_mask=e["attention_mask"][i],
                               token_type_ids=e["token_type_ids"][i] if "token_type_ids" in e else None)
                          for i in range(len(e["input_ids"]))]
        windows.append(case)
    out = {"singles": singles, "pairs": pairs, "windows": windows}
    (OUT / "offsets.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")))
    print(f"{len(singles)} texts, {len(pairs)} pairs, {len(windows)} QA contexts -> {OUT / 'offsets.json'}")


if __name__ == "__main__":
    main()
