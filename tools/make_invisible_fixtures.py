#!/usr/bin/env python3
"""Texts that begin or end with invisible characters, in every input format, with HF's ids.

    .venv-bench/bin/python tools/make_invisible_fixtures.py

A U+FEFF at the start of a *text* is a character like any other: HF's byte-level BPE turns its three
UTF-8 bytes into tokens, BERT's normalizer drops it (category Cf). Only a BOM at the start of a *file*
is an encoding mark to skip. Writes Tests/Fixtures/invisible/:

  texts.json               the texts (label = index % 2), and for each tokenizer of
                           Tests/Fixtures/tokenizers/ (roberta-base: vocab.json + merges.txt, minilm:
                           tokenizer.json) the ids HF's fast tokenizer gives each text
  data.jsonl               {"text", "label"} lines, UTF-8 as is (json.dumps ensure_ascii=False)
  data-escaped.jsonl       the same with \\uXXXX escapes (ensure_ascii=True)
  data.csv, data.tsv       Python's csv module (quoting where needed), header text,label
  data.parquet             pyarrow 22.0.0, columns text (string) and label (int64)
  lines.txt                one text a line: a plain first line (a file that starts with EF BB BF starts with
                           a BOM, whatever the writer meant), then the texts that hold no line break;
                           texts.json's `txt_texts`/`txt_ids` list them with their ids
  bom.*                    the same files with a UTF-8 BOM in front (.jsonl, .csv, .tsv, .txt: the texts
                           without line breaks): the BOM is skipped and the first text, which itself
                           starts with U+FEFF, keeps it

Pinned versions are asserted.
"""
import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import tokenizers
import transformers
from transformers import PreTrainedTokenizerFast, RobertaTokenizerFast

from fixture_env import require

require("tokenizers", "transformers", "pyarrow")

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "Tests" / "Fixtures"
OUT = FIX / "invisible"

TEXTS = [
    "\ufeffHello world",
    "Hello world\ufeff",
    "\ufeff\ufeffdouble mark",
    "\ufeff",
    "\u200bzero width at the start",
    "zero width at the end\u200b",
    "\u200c\u200djoiners first",
    "\u2060word joiner",
    "\u00a0no-break space first",
    "no-break space last\u00a0",
    "\u00adsoft hyphen",
    "\u200e\u200fbidi marks",
    "\u3000ideographic space",
    "\u180emongolian vowel separator",
    "  spaces around  ",
    "\ttab first",
    "trailing tab\t",
    "\u2028line separator first",
    "paragraph separator last\u2029",
    "\u0085next line first",
    "\rcarriage return first",
    "\ufffdreplacement",
    "e\u0301 stays decomposed",
    "\U000e0041tag character",
]

LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029", "\u0085")


def encode_all(texts):
    roberta = FIX / "tokenizers" / "roberta-base"
    minilm = FIX / "tokenizers" / "minilm"
    toks = {
        "roberta-base": RobertaTokenizerFast(str(roberta / "vocab.json"), str(roberta / "merges.txt")),
        "minilm": PreTrainedTokenizerFast(tokenizer_file=str(minilm / "tokenizer.json")),
    }
    return {name: [tok(t)["input_ids"] for t in texts] for name, tok in toks.items()}


def write(name, text, bom=False):
    data = text.encode("utf-8")
    (OUT / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def delimited(delimiter):
    buf = io.StringIO(newline="")
    # The csv module's own line terminator (CRLF) makes it quote fields holding a CR, as RFC 4180 needs.
    w = csv.writer(buf, delimiter=delimiter)
    w.writerow(["text", "label"])
    for i, t in enumerate(TEXTS):
        w.writerow([t, i % 2])
    return buf.getvalue()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ids = encode_all(TEXTS)
    # The BPE must keep a leading U+FEFF (three byte tokens); this is what the fixture is about.
    assert len(ids["roberta-base"][0]) == len(ids["roberta-base"][1])
    single = [t for t in TEXTS if not any(b in t for b in LINE_BREAKS)]
    txt = ["plain first line"] + single
    json.dump({"texts": TEXTS, "ids": ids, "txt_texts": txt, "txt_ids": encode_all(txt)},
              open(OUT / "texts.json", "w", encoding="utf-8"), ensure_ascii=True, indent=1)
    for suffix, ascii_only in (("", False), ("-escaped", True)):
        lines = "".join(json.dumps({"text": t, "label": i % 2}, ensure_ascii=ascii_only) + "\n" for i, t in enumerate(TEXTS))
        write(f"data{suffix}.jsonl", lines)
        if not ascii_only:
            write("bom.jsonl", lines, bom=True)
    for ext, d in (("csv", ","), ("tsv", "\t")):
        write(f"data.{ext}", delimited(d))
        write(f"bom.{ext}", delimited(d), bom=True)
    table = pa.table({"text": pa.array(TEXTS, pa.string()), "label": pa.array([i % 2 for i in range(len(TEXTS))], pa.int64())})
    pq.write_table(table, OUT / "data.parquet")
    write("lines.txt", "".join(t + "\n" for t in txt))
    write("bom.txt", "".join(t + "\n" for t in single), bom=True)
    print(len(TEXTS), "texts;", len(single), "in lines.txt")


if __name__ == "__main__":
    main()
