#!/usr/bin/env python3
"""Parquet files written by pyarrow for the Swift reader `ParquetFile` (Sources/Parquet).

    .venv-bench/bin/python tools/make_parquet_fixtures.py
    .venv-bench/bin/python tools/make_parquet_fixtures.py --bench-rows 1000000 [--out tools/out/bench.parquet]

Pinned: pyarrow 22.0.0 (checked at start; other versions may lay pages out differently).

Writes Tests/Fixtures/parquet/ (small, committed):
- matrix_<codec>_v<1|2>_<dict|plain>.parquet for every codec (none, snappy, gzip, zstd) x data page
  version (1.0, 2.0) x dictionary on/off: the same 120-row table (int64, optional int32/bool/double/
  string with nulls, float, low-cardinality string, raw binary), 3 row groups of 40 rows and many
  small pages (write_batch_size 16, data_page_size 256).
- dict_fallback.parquet: a dictionary that outgrows dictionary_pagesize_limit, so the chunk holds a
  dictionary page, dictionary-encoded pages and then PLAIN pages.
- all_null.parquet: optional columns whose every value (in one row group) or some values are null,
  and an optional column without nulls.
- checksum.parquet: the matrix table with write_page_checksum=True (snappy, data page v1): every
  dictionary and data page carries a CRC32.
- expected/files.json: for each readable file its row count, rows per row group and table name;
  expected/<table>.json: that table's columns (name, physical type, logical type, optional) with every
  value in file order; JSON null for a null; BYTE_ARRAY without a logical type as lowercase hex.
- broken/: tiny.parquet (6 bytes); from all_null.parquet: truncated.parquet (its first half),
  bad_magic.parquet (leading magic overwritten), footer_past_end.parquet (footer length larger than
  the file), corrupt_footer.parquet (footer bytes replaced by garbage), offsets_out_of_range.parquet
  (column data removed, footer kept: every page offset points outside the file); and
  checksum_corrupt.parquet (one byte of a checksummed, uncompressed PLAIN data page flipped),
  delta.parquet (an int64 column in DELTA_BINARY_PACKED), nested.parquet (a list<list<int64>> column next
  to a flat one), brotli.parquet (codec BROTLI), corrupt_page.parquet (a PLAIN string length made
  larger than its page, no checksum), decompression_failed.parquet (the gzip magic of a page of
  matrix_gzip_v1_plain.parquet broken), value_count_mismatch.parquet (all_null.parquet with its last
  row group claiming 11 rows), int96.parquet (an INT96 timestamp column).
  broken/expected_errors.json names the ParquetError case each must raise.

- lists_<codec>_v<1|2>_<dict|plain>.parquet (4 variants): single-level lists (optional elements with empty lists,
  null lists and null elements; required elements), a struct of two lists (SQuAD's `answers`) and a struct of flat
  fields, in small pages so that lists cross pages; expected/lists.json, indexed by expected/list_files.json.
- ../datasets/{tagging,squad,stsb,multilabel}_sample.parquet: the repository's task data in the Hub's Parquet layouts
  (HF `datasets` metadata with Sequence(ClassLabel) names), with .expected.json.

With --bench-rows N it instead writes one synthetic Amazon-polarity-shaped file for benchmarks
(label int64 0/1, title ~5 words, content ~70 words drawn from a Zipf-distributed English-like
vocabulary; seeded; snappy; dictionary on; data page v1; 100,000-row row groups), by default to
tools/out/amazon_polarity_like.parquet (git-ignored, never committed).
"""
import argparse
import json
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from fixture_env import require

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "parquet")

TEXTS = [
    "hello", "", "héllo wörld", "日本語のテキスト", "emoji 😀👍🏽", "e\u0301 combining", "tab\tand\nnewline",
    "quote \" and backslash \\", "a", "The quick brown fox jumps over the lazy dog", "Ελληνικά", "",
]
CATEGORIES = ["books", "music", "video", "garden"]


def base_table(rows=120):
    rng = random.Random(20240601)
    ids, i32, flag, score, f32, text, cat, blob = [], [], [], [], [], [], [], []
    for i in range(rows):
        ids.append(i * 1_000_003 - 50_000_000 if i % 7 else (-1) ** i * (2**62 + i))
        i32.append(None if i % 5 == 3 else rng.randint(-2**31, 2**31 - 1))
        flag.append(None if i % 6 == 1 else rng.random() < 0.5)
        # Dyadic values survive the JSON round trip exactly.
        score.append(None if i % 4 == 2 else rng.randint(-4000, 4000) / 64)
        f32.append(rng.randint(-1000, 1000) / 8)
        text.append(None if i % 9 == 4 else TEXTS[i % len(TEXTS)] + ("" if i % 3 else f" #{i}"))
        cat.append(CATEGORIES[rng.randint(0, 3)])
        blob.append(bytes(rng.randint(0, 255) for _ in range(i % 5)))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "i32": pa.array(i32, pa.int32()),
        "flag": pa.array(flag, pa.bool_()),
        "score": pa.array(score, pa.float64()),
        "f32": pa.array(f32, pa.float32()),
        "text": pa.array(text, pa.string()),
        "cat": pa.array(cat, pa.string()),
        "blob": pa.array(blob, pa.binary()),
    }, schema=pa.schema([
        pa.field("id", pa.int64(), nullable=False),
        pa.field("i32", pa.int32()),
        pa.field("flag", pa.bool_()),
        pa.field("score", pa.float64()),
        pa.field("f32", pa.float32(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("cat", pa.string(), nullable=False),
        pa.field("blob", pa.binary(), nullable=False),
    ]))


def json_value(v):
    if isinstance(v, bytes):
        return v.hex()
    return v


FILES = {}  # file name -> {"table", "num_rows", "row_groups"}, written to expected/files.json


def write_expected(path, table_name):
    """Reads the file back with pyarrow and records what the Swift reader must return.

    Files written from the same table share one expected/<table>.json (values do not depend on
    codec, page version or layout); pyarrow's reading of each file must agree with it.
    """
    pf = pq.ParquetFile(path)
    md = pf.metadata
    columns = []
    table = pf.read()
    for i in range(md.num_columns):
        col = md.schema.column(i)
        logical = col.logical_type.type if col.logical_type is not None else "NONE"
        columns.append({
            "name": col.name,
            "physical_type": col.physical_type,
            "logical_type": None if logical == "NONE" else logical,
            "optional": col.max_definition_level > 0,
            "values": [json_value(v) for v in table.column(col.name).to_pylist()],
        })
    FILES[os.path.basename(path)] = {
        "table": table_name,
        "num_rows": md.num_rows,
        "row_groups": [md.row_group(g).num_rows for g in range(md.num_row_groups)],
    }
    text = "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in columns) + "\n]\n"
    out = os.path.join(OUT, "expected", table_name + ".json")
    if os.path.exists(out) and table_name in WRITTEN:
        assert open(out, encoding="utf-8").read() == text, f"{path} differs from {table_name}.json"
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    WRITTEN.add(table_name)


WRITTEN = set()


def write(table, name, table_name, **kwargs):
    path = os.path.join(OUT, name)
    pq.write_table(table, path, **kwargs)
    write_expected(path, table_name)
    return path


def matrix():
    table = base_table()
    for codec in ["none", "snappy", "gzip", "zstd"]:
        for version in ["1.0", "2.0"]:
            for dictionary in [True, False]:
                name = f"matrix_{codec}_v{version[0]}_{'dict' if dictionary else 'plain'}.parquet"
                write(table, name, "base", compression=codec, data_page_version=version, use_dictionary=dictionary,
                      row_group_size=40, write_batch_size=16, data_page_size=256)


def dict_fallback():
    words = [f"word-{i:04d}-{'x' * (i % 13)}" for i in range(400)]
    table = pa.table({"w": pa.array(words + words[:100], pa.string())})
    write(table, "dict_fallback.parquet", "dict_fallback", compression="snappy", use_dictionary=True,
          dictionary_pagesize_limit=1024, write_batch_size=32, data_page_size=512)


def all_null():
    n = 30
    table = pa.table({
        "s": pa.array([None] * n, pa.string()),
        "i": pa.array([None if k < 20 else k for k in range(n)], pa.int64()),
        "b": pa.array([None if k % 2 else k % 4 == 0 for k in range(n)], pa.bool_()),
        "no_nulls": pa.array([f"v{k}" for k in range(n)], pa.string()),
    })
    write(table, "all_null.parquet", "all_null", compression="zstd", row_group_size=10, data_page_version="2.0")


def checksum():
    write(base_table(), "checksum.parquet", "base", compression="snappy", write_page_checksum=True, row_group_size=60)


def broken():
    bdir = os.path.join(OUT, "broken")
    os.makedirs(bdir, exist_ok=True)
    errors = {}
    good = open(os.path.join(OUT, "all_null.parquet"), "rb").read()

    def put(name, data, error):
        with open(os.path.join(bdir, name), "wb") as f:
            f.write(data)
        errors[name] = error

    put("truncated.parquet", good[: len(good) // 2], "badMagic")
    put("tiny.parquet", b"PAR1PA", "tooSmall")
    put("bad_magic.parquet", b"PAR0" + good[4:], "badMagic")
    footer_len = int.from_bytes(good[-8:-4], "little")
    put("footer_past_end.parquet", good[:-8] + (len(good) * 2).to_bytes(4, "little") + b"PAR1", "footerOutOfRange")
    garbage = bytes(random.Random(5).randint(0, 255) for _ in range(footer_len))
    put("corrupt_footer.parquet", good[: -8 - footer_len] + garbage + good[-8:], "corruptMetadata")
    put("offsets_out_of_range.parquet", b"PAR1" + good[-8 - footer_len:], "pageOutOfRange")

    # Uncompressed PLAIN strings appear verbatim in the page, so one known byte can be flipped. The
    # marker is neither minimum nor maximum, so no statistics copy of it exists in headers or footer.
    marker = b"m-checksum-target-m"
    values = [f"a{k}" for k in range(20)] + [marker.decode()] + [f"z{k}" for k in range(20)]
    path = os.path.join(bdir, "checksum_corrupt.parquet")
    pq.write_table(pa.table({"s": values}), path, compression="none", use_dictionary=False,
                   write_page_checksum=True)
    data = bytearray(open(path, "rb").read())
    assert data.count(marker) == 1, "marker must occur once"
    data[data.index(marker) + 5] ^= 0x20
    put("checksum_corrupt.parquet", bytes(data), "checksumMismatch")

    # Not checksummed this time: the damage must be found by the decoder itself.
    path = os.path.join(bdir, "corrupt_page.parquet")
    pq.write_table(pa.table({"s": values}), path, compression="none", use_dictionary=False)
    data = bytearray(open(path, "rb").read())
    assert data.count(marker) == 1, "marker must occur once"
    at = data.index(marker) - 4
    assert int.from_bytes(data[at:at + 4], "little") == len(marker)
    data[at:at + 4] = (0x7FFF_FFFF).to_bytes(4, "little")  # a string longer than the page
    put("corrupt_page.parquet", bytes(data), "corruptPage")

    # The gzip member of the first page starts with its magic 1f 8b 08; break the magic.
    gz = os.path.join(OUT, "matrix_gzip_v1_plain.parquet")
    data = bytearray(open(gz, "rb").read())
    at = data.index(b"\x1f\x8b\x08")
    data[at + 1] = 0x8C
    put("decompression_failed.parquet", bytes(data), "decompressionFailed")

    # The last row group claims 11 rows while its pages hold 10: patch RowGroup.num_rows (field 3,
    # i64: header 0x16, zigzag varint 20 = 0x14) in the footer, and check that pyarrow sees it.
    data = bytearray(good)
    footer_start = len(data) - 8 - footer_len
    at = data.rindex(b"\x16\x14", footer_start)
    data[at + 1] = 0x16  # zigzag 22 = 11
    put("value_count_mismatch.parquet", bytes(data), "valueCountMismatch")
    md = pq.ParquetFile(os.path.join(bdir, "value_count_mismatch.parquet")).metadata
    assert [md.row_group(g).num_rows for g in range(3)] == [10, 10, 11], "patched the wrong field"

    path = os.path.join(bdir, "int96.parquet")
    pq.write_table(pa.table({"t": pa.array([0, 1_000_000], pa.timestamp("ns"))}), path,
                   use_deprecated_int96_timestamps=True)
    errors["int96.parquet"] = "unsupportedType"

    path = os.path.join(bdir, "delta.parquet")
    pq.write_table(pa.table({"x": pa.array(range(50), pa.int64())}), path, use_dictionary=False,
                   column_encoding={"x": "DELTA_BINARY_PACKED"})
    errors["delta.parquet"] = "unsupportedEncoding"

    path = os.path.join(bdir, "nested.parquet")
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                             "tags": pa.array([[[1, 2], [3]], [], None], pa.list_(pa.list_(pa.int64())))}), path)
    errors["nested.parquet"] = "unsupportedNestedColumn"

    path = os.path.join(bdir, "brotli.parquet")
    pq.write_table(pa.table({"x": pa.array(range(10), pa.int64())}), path, compression="brotli")
    errors["brotli.parquet"] = "unsupportedCodec"

    with open(os.path.join(bdir, "expected_errors.json"), "w") as f:
        json.dump(errors, f, indent=1, sort_keys=True)
        f.write("\n")


# What the `datasets` library writes into a Hub Parquet file's key-value metadata for
# amazon_polarity: its features, with the ClassLabel names of `label`.
HF_METADATA = {b"huggingface": json.dumps({"info": {"features": {
    "label": {"names": ["negative", "positive"], "_type": "ClassLabel"},
    "title": {"dtype": "string", "_type": "Value"},
    "content": {"dtype": "string", "_type": "Value"}}}}).encode()}


def amazon_sample():
    """Tests/Fixtures/datasets/amazon_polarity_sample.parquet: 250 Rotten Tomatoes test reviews in
    amazon_polarity's layout (label int64 + ClassLabel metadata, title, content), 3 row groups,
    Snappy, as the Hub serves the real dataset."""
    path = os.path.join(HERE, "..", "data", "rotten_tomatoes", "test.jsonl")
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:250]
    schema = pa.schema([("label", pa.int64()), ("title", pa.string()), ("content", pa.string())],
                       metadata=HF_METADATA)
    table = pa.table({"label": [r["label"] for r in rows],
                      "title": [" ".join(r["text"].split()[:4]) for r in rows],
                      "content": [r["text"] for r in rows]}, schema=schema)
    out = os.path.join(HERE, "..", "Tests", "Fixtures", "datasets", "amazon_polarity_sample.parquet")
    pq.write_table(table, out, compression="snappy", row_group_size=100)
    with open(out.replace(".parquet", ".expected.json"), "w") as f:
        json.dump({"labels": [["negative", "positive"][r["label"]] for r in rows],
                   "titles": table.column("title").to_pylist(), "contents": table.column("content").to_pylist()}, f)


def bench(rows, out):
    """Synthetic Amazon-polarity-shaped data: pseudo-words with Zipf frequencies, seeded."""
    import numpy as np

    rng = np.random.default_rng(1234)
    syllables = ["an", "be", "ca", "de", "el", "fo", "gu", "hi", "in", "jo", "ka", "lo", "me", "no", "or",
                 "pa", "qu", "re", "st", "th", "un", "ve", "wa", "xe", "yo", "ze", "ing", "ed", "er", "ly"]
    vocab, seen = [], set()
    while len(vocab) < 30000:
        word = "".join(rng.choice(syllables, size=int(rng.integers(1, 5))))
        if word not in seen:
            seen.add(word)
            vocab.append(word)
    # Short words are the frequent ones, as in English.
    vocab = np.array(sorted(vocab, key=len), dtype=object)
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks ** 1.07
    p /= p.sum()
    schema = pa.schema([("label", pa.int64()), ("title", pa.string()), ("content", pa.string())],
                       metadata=HF_METADATA)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    group = 100_000
    with pq.ParquetWriter(out, schema, compression="snappy") as writer:
        for start in range(0, rows, group):
            n = min(group, rows - start)
            labels = rng.integers(0, 2, size=n)
            tlen = rng.integers(2, 9, size=n)
            clen = np.clip(rng.normal(72, 35, size=n).astype(int), 8, 220)
            words = vocab[rng.choice(len(vocab), size=int(tlen.sum() + clen.sum()), p=p)]
            titles, contents, k = [], [], 0
            for t, c in zip(tlen, clen):
                titles.append(" ".join(words[k:k + t]).capitalize())
                k += t
                contents.append(" ".join(words[k:k + c]).capitalize() + ".")
                k += c
            batch = pa.table({"label": pa.array(labels, pa.int64()), "title": titles, "content": contents},
                             schema=schema)
            writer.write_table(batch, row_group_size=group)
    print(f"wrote {rows} rows to {out} ({os.path.getsize(out) / 1e6:.1f} MB)")


LIST_FILES = {}  # the list fixtures' index, expected/list_files.json


def lists_table(rows=90):
    """Single-level lists and struct fields, as the Hub's Parquet files for tagging and QA hold them: a list of
    optional strings (with empty lists, null lists and null elements, and lists long enough to cross pages), a list of
    required integers, a struct of two lists (SQuAD's `answers`) and a struct of flat fields."""
    rng = random.Random(7)
    words = TEXTS + ["B-PER", "I-LOC", "Paris", "ok"]
    tokens, tags, texts, starts, metas = [], [], [], [], []
    for i in range(rows):
        if i % 17 == 5:
            tokens.append(None)
        elif i % 13 == 3:
            tokens.append([])
        else:
            n = 40 if i % 29 == 7 else rng.randint(1, 7)
            tokens.append([None if rng.random() < 0.1 else rng.choice(words) for _ in range(n)])
        tags.append([rng.randint(0, 8) for _ in range(rng.randint(0, 6))])
        k = rng.randint(0, 3)
        texts.append([rng.choice(words) for _ in range(k)])
        starts.append([rng.randint(0, 500) for _ in range(k)])
        metas.append(None if i % 11 == 4 else {"source": rng.choice(CATEGORIES), "score": round(rng.random(), 4)})
    answers = pa.StructArray.from_arrays(
        [pa.array(texts, pa.list_(pa.string())), pa.array(starts, pa.list_(pa.int32()))], names=["text", "answer_start"])
    return pa.table({
        "id": pa.array(range(rows), pa.int64()),
        "tokens": pa.array(tokens, pa.list_(pa.string())),
        "tags": pa.array(tags, pa.list_(pa.field("item", pa.int64(), nullable=False))),
        "answers": answers,
        "meta": pa.array(metas, pa.struct([("source", pa.string()), ("score", pa.float64())])),
    })


def lists():
    """lists_<codec>_v<1|2>_<dict|plain>.parquet: `lists_table` in 3 row groups of 30 rows and small pages, so
    that lists cross page boundaries; expected/lists.json has each leaf column's rows (a list per row for the
    list columns, null for a null list)."""
    table = lists_table()
    for codec, version, dictionary in [("none", "1.0", False), ("snappy", "1.0", True), ("zstd", "2.0", False),
                                       ("gzip", "2.0", True)]:
        name = f"lists_{codec}_v{version[0]}_{'dict' if dictionary else 'plain'}.parquet"
        path = os.path.join(OUT, name)
        pq.write_table(table, path, compression=codec, data_page_version=version, use_dictionary=dictionary,
                       row_group_size=30, write_batch_size=8, data_page_size=128)
        pf = pq.ParquetFile(path)
        md = pf.metadata
        read = pf.read()
        columns = []
        for i in range(md.num_columns):
            col = md.schema.column(i)
            top, *rest = col.path.split(".")
            values = read.column(top).to_pylist()
            field = rest[0] if rest and rest[0] not in ("list", "element") else None
            if field is not None:  # a struct's field
                values = [None if v is None else v[field] for v in values]
            columns.append({"name": col.path, "max_repetition_level": col.max_repetition_level,
                            "max_definition_level": col.max_definition_level, "values": values})
        LIST_FILES[name] = {"table": "lists", "num_rows": md.num_rows,
                            "row_groups": [md.row_group(g).num_rows for g in range(md.num_row_groups)]}
        text = "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in columns) + "\n]\n"
        out = os.path.join(OUT, "expected", "lists.json")
        if "lists" in WRITTEN:
            assert open(out, encoding="utf-8").read() == text, f"{path} differs from lists.json"
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        WRITTEN.add("lists")


def hf_metadata(features):
    """The `huggingface` key-value metadata the `datasets` library writes: the features, ClassLabel names included."""
    return {b"huggingface": json.dumps({"info": {"features": features}}).encode()}


def task_samples():
    """Tests/Fixtures/datasets/<task>_sample.parquet: the repository's real task data in the Hub's Parquet layouts —
    wnut_17 (id, tokens list<string>, ner_tags list<int64> with Sequence(ClassLabel) names), squad (id, title, context,
    question, answers struct<text list<string>, answer_start list<int32>>), stsb (sentence1, sentence2, label float32)
    — and a multi-label one (text, labels list<int64> with Sequence(ClassLabel) names, from Rotten Tomatoes sentences:
    long / has a comma / has "film"). Each with <task>_sample.expected.json, the rows as Python reads them."""
    fixtures = os.path.join(HERE, "..", "Tests", "Fixtures", "datasets")
    data = os.path.join(HERE, "..", "data")
    # Tagging: the first 120 WNUT 2017 training sentences.
    sentences, words, tags = [], [], []
    with open(os.path.join(data, "wnut17", "train.conll"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            w, t = line.split("\t") if "\t" in line else line.rsplit(" ", 1)
            words.append(w)
            tags.append(t)
            if len(sentences) >= 120:
                break
    names = ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work", "B-group", "I-group",
             "B-location", "I-location", "B-person", "I-person", "B-product", "I-product"]
    sentences = sentences[:120]
    schema = pa.schema([("id", pa.string()), ("tokens", pa.list_(pa.string())), ("ner_tags", pa.list_(pa.int64()))],
                       metadata=hf_metadata({"id": {"dtype": "string", "_type": "Value"},
                                             "tokens": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
                                             "ner_tags": {"feature": {"names": names, "_type": "ClassLabel"}, "_type": "Sequence"}}))
    table = pa.table({"id": [str(i) for i in range(len(sentences))], "tokens": [w for w, _ in sentences],
                      "ner_tags": [[names.index(t) for t in ts] for _, ts in sentences]}, schema=schema)
    out = os.path.join(fixtures, "tagging_sample.parquet")
    pq.write_table(table, out, compression="snappy", row_group_size=50)
    with open(out.replace(".parquet", ".expected.json"), "w", encoding="utf-8") as f:
        json.dump({"tokens": [w for w, _ in sentences], "tags": [t for _, t in sentences]}, f, ensure_ascii=False)
    # QA: the SQuAD slice's training questions, one row each.
    with open(os.path.join(data, "squad", "train.json"), encoding="utf-8") as f:
        squad = json.load(f)
    rows = []
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append({"id": qa["id"], "title": article["title"], "context": paragraph["context"],
                             "question": qa["question"],
                             "answers": {"text": [a["text"] for a in qa["answers"]],
                                         "answer_start": [a["answer_start"] for a in qa["answers"]]}})
    rows = rows[:150]
    answers_type = pa.struct([("text", pa.list_(pa.string())), ("answer_start", pa.list_(pa.int32()))])
    schema = pa.schema([("id", pa.string()), ("title", pa.string()), ("context", pa.string()),
                        ("question", pa.string()), ("answers", answers_type)])
    table = pa.Table.from_pylist(rows, schema=schema)
    out = os.path.join(fixtures, "squad_sample.parquet")
    pq.write_table(table, out, compression="snappy", row_group_size=64, data_page_version="2.0")
    with open(out.replace(".parquet", ".expected.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)
    # Regression: STS-B pairs.
    with open(os.path.join(data, "stsb", "train.jsonl"), encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f][:100]
    schema = pa.schema([("sentence1", pa.string()), ("sentence2", pa.string()), ("label", pa.float32())],
                       metadata=hf_metadata({"sentence1": {"dtype": "string", "_type": "Value"},
                                             "sentence2": {"dtype": "string", "_type": "Value"},
                                             "label": {"dtype": "float32", "_type": "Value"}}))
    table = pa.table({"sentence1": [p["text"] for p in pairs], "sentence2": [p["text_pair"] for p in pairs],
                      "label": [p["label"] for p in pairs]}, schema=schema)
    out = os.path.join(fixtures, "stsb_sample.parquet")
    pq.write_table(table, out, compression="zstd", row_group_size=40)
    with open(out.replace(".parquet", ".expected.json"), "w", encoding="utf-8") as f:
        json.dump({"text": [p["text"] for p in pairs], "text_pair": [p["text_pair"] for p in pairs],
                   "label": [float(pa.scalar(p["label"], pa.float32()).as_py()) for p in pairs]}, f, ensure_ascii=False)
    # Multi-label: Rotten Tomatoes sentences with derived labels.
    with open(os.path.join(data, "rotten_tomatoes", "test.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f][:100]
    label_names = ["long", "comma", "film"]
    labels = [[k for k, hit in enumerate([len(t.split()) > 20, "," in t, "film" in t]) if hit] for t in texts]
    schema = pa.schema([("text", pa.string()), ("labels", pa.list_(pa.int64()))],
                       metadata=hf_metadata({"text": {"dtype": "string", "_type": "Value"},
                                             "labels": {"feature": {"names": label_names, "_type": "ClassLabel"},
                                                        "_type": "List"}}))
    table = pa.table({"text": texts, "labels": labels}, schema=schema)
    out = os.path.join(fixtures, "multilabel_sample.parquet")
    pq.write_table(table, out, compression="snappy", row_group_size=30, use_dictionary=False)
    with open(out.replace(".parquet", ".expected.json"), "w", encoding="utf-8") as f:
        json.dump({"text": texts, "labels": [[label_names[k] for k in ls] for ls in labels]}, f, ensure_ascii=False)


def main():
    require("pyarrow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench-rows", type=int, help="write a synthetic benchmark file instead")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "amazon_polarity_like.parquet"))
    args = parser.parse_args()
    if args.bench_rows:
        bench(args.bench_rows, args.out)
        return
    os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
    matrix()
    dict_fallback()
    all_null()
    checksum()
    broken()
    lists()
    amazon_sample()
    task_samples()
    with open(os.path.join(OUT, "expected", "files.json"), "w") as f:
        json.dump(FILES, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "expected", "list_files.json"), "w") as f:
        json.dump(LIST_FILES, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote fixtures to {os.path.normpath(OUT)} ({total / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
