#!/usr/bin/env python3
"""Baseline for `adapters bench dataset`: read an Amazon-polarity-shaped Parquet file with pyarrow
and tokenize its `content` column with HF `tokenizers` (Rust, all cores), as the seed's
`dataset.map(tokenize, batched=True)` does, streaming one record batch at a time.

    .venv-bench/bin/python tools/bench_dataset.py --parquet tools/out/amazon_1m.parquet \
        --tokenizer ../shared/models/roberta-base-tokenizer [--max-length 100] [--batch-rows 10000]

Prints one JSON line: rows, tokens, seconds, rows/s and peak RSS (MiB) of this process. The file
is written by `tools/make_parquet_fixtures.py --bench-rows 1000000 --out tools/out/amazon_1m.parquet`.
Pinned: pyarrow 22.0.0, tokenizers 0.22.2.
"""
import argparse
import json
import os
import resource
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parquet", required=True)
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json, or vocab.json + merges.txt")
    ap.add_argument("--max-length", type=int, default=100)
    ap.add_argument("--batch-rows", type=int, default=10000)
    args = ap.parse_args()

    import pyarrow
    import pyarrow.parquet as pq
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    path = os.path.join(args.tokenizer, "tokenizer.json")
    if os.path.exists(path):
        tok = Tokenizer.from_file(path)
    else:
        # The pipeline transformers' RobertaConverter builds from vocab.json + merges.txt.
        tok = Tokenizer(models.BPE.from_file(os.path.join(args.tokenizer, "vocab.json"),
                                             os.path.join(args.tokenizer, "merges.txt")))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
        tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.enable_truncation(args.max_length)

    start = time.perf_counter()
    rows = tokens = 0
    labels = 0
    pf = pq.ParquetFile(args.parquet)
    for batch in pf.iter_batches(batch_size=args.batch_rows, columns=["label", "content"]):
        texts = batch.column("content").to_pylist()
        labels += sum(batch.column("label").to_pylist())
        encodings = tok.encode_batch(texts)
        rows += len(texts)
        tokens += sum(len(e.ids) for e in encodings)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "rows": rows, "tokens": tokens, "positive_labels": labels, "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1), "peak_rss_mib": round(peak, 1),
        "threads": os.cpu_count(), "pyarrow": pyarrow.__version__, "tokenizers": tokenizers.__version__,
    }))


if __name__ == "__main__":
    main()
