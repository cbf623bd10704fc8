#!/usr/bin/env python3
"""The serving baseline for `adapters bench serve`: PyTorch + `adapters` serving several adapters the way
one does without mixed batches — each batch of requests split by adapter, one forward per adapter.

    .venv-bench/bin/python tools/bench_serve_baseline.py --model DIR|roberta-base-random --adapters 8 \\
        --tokens 100 --requests 256 --batch 64

Requests arrive with a uniformly random adapter (seeded); they are taken in arrival order in batches of
--batch; in each batch, for each adapter present, that adapter (seq_bn, with its 2-label head) is made
active and its inputs run as one padded batch. Prints {"samples_per_second", ...} as JSON. No HTTP: this
is the model-side cost alone, so the ratio to our HTTP numbers is conservative for us. Pinned versions are
asserted (tools/requirements.txt); 2 threads, as the machine has.
"""
import argparse
import json
import random
import time

import torch
from adapters import AutoAdapterModel, SeqBnConfig
from transformers import AutoTokenizer, RobertaConfig

from fixture_env import require

require("torch", "transformers", "adapters")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapters", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    if args.model == "roberta-base-random":
        config = RobertaConfig(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                               intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
        model = AutoAdapterModel.from_config(config)
        ids = [0] + [1205] * (args.tokens - 2) + [2]
    else:
        model = AutoAdapterModel.from_pretrained(args.model)
        tokenizer = AutoTokenizer.from_pretrained(args.model)
        ids = tokenizer(" ".join(["good"] * (args.tokens - 2)))["input_ids"]
    names = [f"a{i}" for i in range(args.adapters)]
    for name in names:
        model.add_adapter(name, config=SeqBnConfig())
        model.add_classification_head(name, num_labels=2)
    model.eval()
    rng = random.Random(1)
    arrivals = [rng.choice(names) for _ in range(args.requests)]
    x = torch.tensor([ids])

    def serve(stream):
        for start in range(0, len(stream), args.batch):
            batch = stream[start:start + args.batch]
            for name in sorted(set(batch)):
                n = batch.count(name)
                model.set_active_adapters(name)
                model.active_head = name
                with torch.inference_mode():
                    model(input_ids=x.expand(n, -1), attention_mask=torch.ones(n, len(ids), dtype=torch.long))

    serve(arrivals[: args.batch])  # warm-up
    t0 = time.perf_counter()
    serve(arrivals)
    seconds = time.perf_counter() - t0
    print(json.dumps({"samples_per_second": args.requests / seconds, "seconds": seconds, "requests": args.requests,
                      "adapters": args.adapters, "tokens": len(ids), "batch": args.batch,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
