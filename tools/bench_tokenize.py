#!/usr/bin/env python3
"""Baseline tokenizer throughput: HF `tokenizers` (Rust) on SST-2 train with roberta-base.

Two modes, matching `TokenizerBenchmark` in Sources/Tokenizers:
  single  one `encode` per sentence on one thread (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false)
  batch   one `encode_batch` over all sentences on all cores

Each mode runs in a fresh subprocess (rayon reads its thread count once per process), after a
warm-up pass that fills the BPE word cache, as the Swift benchmark does. Special tokens are added
and counted. Prints one JSON object with sentences/s, tokens/s and MB/s per mode.

    python tools/bench_tokenize.py [--data ../shared/data/sst2/train.jsonl]
                                   [--model ../shared/models/roberta-base-tokenizer] [--repeat 3]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def load_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def run_mode(mode, data, model, repeat):
    """Runs in the child process: loads the tokenizer and times `mode`, best of `repeat`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers import __version__ as tokenizers_version

    texts = load_texts(data)
    bpe = models.BPE.from_file(os.path.join(model, "vocab.json"), os.path.join(model, "merges.txt"))
    tok = Tokenizer(bpe)
    # The pipeline transformers' RobertaConverter builds (RobertaTokenizerFast from vocab/merges).
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])

    def once():
        start = time.perf_counter()
        if mode == "single":
            tokens = sum(len(tok.encode(t).ids) for t in texts)
        else:
            tokens = sum(len(e.ids) for e in tok.encode_batch(texts))
        return time.perf_counter() - start, tokens

    once()  # warm-up: fills the word cache
    best = min((once() for _ in range(repeat)), key=lambda r: r[0])
    seconds, tokens = best
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    return {
        "mode": mode,
        "threads": 1 if mode == "single" else os.cpu_count(),
        "tokenizers": tokenizers_version,
        "sentences": len(texts),
        "tokens": tokens,
        "seconds": round(seconds, 4),
        "sentences_per_s": round(len(texts) / seconds, 1),
        "tokens_per_s": round(tokens / seconds, 1),
        "mb_per_s": round(nbytes / seconds / 1e6, 3),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/sst2/train.jsonl")
    ap.add_argument("--model", default="../shared/models/roberta-base-tokenizer")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=["single", "batch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_mode(args.child, args.data, args.model, args.repeat)))
        return
    results = {}
    for mode in ("single", "batch"):
        env = dict(os.environ)
        if mode == "single":
            env["RAYON_NUM_THREADS"] = "1"
            env["TOKENIZERS_PARALLELISM"] = "false"
        else:
            env.pop("RAYON_NUM_THREADS", None)
            env["TOKENIZERS_PARALLELISM"] = "true"
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--data", args.data, "--model", args.model,
                              "--repeat", str(args.repeat)], env=env, check=True, capture_output=True, text=True)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
