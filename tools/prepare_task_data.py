#!/usr/bin/env python3
"""Builds the real-data task sets under data/ (issue #19's learning runs) from public files fetched from GitHub
(provenance, commits and licences in each data/*/README.md). Standard library only.

    python3 tools/prepare_task_data.py SRC

SRC holds the fetched originals:
  wnut17/wnut17train.conll, wnut17/emerging.test.annotated   (davidsbatista/NER-datasets, WNUT17/)
  stsb/sts-train.csv, stsb/sts-dev.csv, stsb/LICENSE.txt      (oborchers/Fast_Sentence_Embeddings, evaluation/)
  mrpc/msr_paraphrase_train.txt, mrpc/msr_paraphrase_test.txt (mieseung/Cutoff_with_Attribution, glue_data/MRPC/)
  mrpc/brmson/LICENCE.html                                    (brmson/dataset-sts, data/para/msr/)
  squad/squad2_dev_first5articles.json                        (VinACE/san_mrc, dev-v1.1.json — SQuAD 2.0 dev, 5 articles)

Writes:
  data/wnut17/{train,test}.conll   the CoNLL files byte for byte (word TAB tag, blank line between tweets)
  data/stsb/{train,dev}.jsonl      {"text", "text_pair", "label": score 0–5} (sentences 1 and 2 of each row: the
                                   files' 6th and 7th tab-separated fields; 197 training rows carry 2 more source
                                   fields, which are dropped)
  data/mrpc/{train,test}.jsonl     {"text", "text_pair", "label": 0|1} (Quality, #1 String, #2 String; UTF-8 BOM dropped)
  data/squad/{train,dev}.json      SQuAD JSON: the answerable questions (SQuAD 1.1 style; is_impossible ones and
                                   plausible_answers dropped) of the first four articles / of the fifth (Victoria)
"""
import csv
import hashlib
import json
import shutil
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{path}: {len(rows)} rows, sha256 {sha(path)}")


def stsb(src):
    out = DATA / "stsb"
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        rows = []
        for line in (src / f"sts-{split}.csv").read_text(encoding="utf-8").splitlines():
            f = line.split("\t")
            rows.append({"text": f[5], "text_pair": f[6], "label": float(f[4])})
        write_jsonl(out / f"{split}.jsonl", rows)
    shutil.copyfile(src / "LICENSE.txt", out / "LICENSE.txt")


def mrpc(src):
    out = DATA / "mrpc"
    out.mkdir(parents=True, exist_ok=True)
    for name, split in (("msr_paraphrase_train.txt", "train"), ("msr_paraphrase_test.txt", "test")):
        text = (src / name).read_text(encoding="utf-8-sig")
        reader = csv.reader(text.splitlines()[1:], delimiter="\t", quoting=csv.QUOTE_NONE)
        write_jsonl(out / f"{split}.jsonl", [{"text": r[3], "text_pair": r[4], "label": int(r[0])} for r in reader])
    shutil.copyfile(src / "brmson" / "LICENCE.html", out / "LICENCE.html")


def squad(src):
    out = DATA / "squad"
    out.mkdir(parents=True, exist_ok=True)
    full = json.loads((src / "squad2_dev_first5articles.json").read_text(encoding="utf-8"))
    for split, articles in (("train", full["data"][:4]), ("dev", full["data"][4:])):
        kept = []
        n = 0
        for a in articles:
            paragraphs = []
            for p in a["paragraphs"]:
                qas = [{"id": q["id"], "question": q["question"], "answers": q["answers"]}
                       for q in p["qas"] if not q.get("is_impossible")]
                n += len(qas)
                if qas:
                    paragraphs.append({"context": p["context"], "qas": qas})
            kept.append({"title": a["title"], "paragraphs": paragraphs})
        path = out / f"{split}.json"
        path.write_text(json.dumps({"version": "1.1-style slice of SQuAD 2.0 dev", "data": kept}, ensure_ascii=False),
                        encoding="utf-8")
        print(f"{path}: {n} questions, sha256 {sha(path)}")


def wnut17(src):
    out = DATA / "wnut17"
    out.mkdir(parents=True, exist_ok=True)
    for name, split in (("wnut17train.conll", "train"), ("emerging.test.annotated", "test")):
        shutil.copyfile(src / name, out / f"{split}.conll")
        print(f"{out / f'{split}.conll'}: sha256 {sha(out / f'{split}.conll')}")


def main():
    src = Path(sys.argv[1])
    for name, step in (("wnut17", wnut17), ("stsb", stsb), ("mrpc", mrpc), ("squad", squad)):
        for p in sorted((src / name).glob("*")):
            if p.is_file():
                print(f"source {p}: sha256 {sha(p)}")
        step(src / name)


if __name__ == "__main__":
    main()
