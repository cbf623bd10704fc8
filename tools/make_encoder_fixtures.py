#!/usr/bin/env python3
"""Writes the encoder parity fixtures under Tests/Fixtures/encoders/.

Run in the pinned reference venv (see tools/README.md):
    bash ../shared/bench/setup_venv.sh && .venv-bench/bin/pip install sentence-transformers==5.1.2
    .venv-bench/bin/python tools/make_encoder_fixtures.py [--minilm DIR]   # default: the HF cache's snapshot

Pinned (asserted, tools/requirements.txt): torch 2.13.0+cpu, transformers 4.57.6, safetensors 0.8.0,
sentence-transformers 5.1.2. Everything is seeded; rerunning gives the same files.

The tiny models' weights are re-drawn at unit scale (fixture_env.redraw): with HF's N(0, 0.02) init their
logits were about ±0.01 and differed between inputs by about the 1e-4 tolerance, so a wrong computation
(CLS states of the wrong sequence, a missing tanh) could pass. The script asserts the margins: logits
O(1), differing between sequences by far more than the tolerance, and the `gelu_new` model — its own seed,
and an FFN whose pre-activations sit near −2.7, where tanh-GELU differs from erf-GELU by 5 % of the value
(4.7e-4 of 0.0094), with an output projection large enough to carry that into the residual stream — giving
logits that differ from the same weights run with exact GELU by more than 100× the tolerance.
"""
import argparse
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file

from fixture_env import default_minilm, redraw, require

require("torch", "transformers", "safetensors")
from transformers import (BertConfig, BertForSequenceClassification, RobertaConfig,
                          RobertaForSequenceClassification)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "encoders")


def flat(t):
    return [round(float(x), 7) for x in t.detach().reshape(-1).tolist()]


def batch(ids_list, pad, type_ids=None):
    """Right-padded batch of different lengths, as a tokenizer would give it."""
    T = max(len(s) for s in ids_list)
    ids = torch.full((len(ids_list), T), pad, dtype=torch.long)
    mask = torch.zeros((len(ids_list), T), dtype=torch.long)
    types = torch.zeros((len(ids_list), T), dtype=torch.long)
    for i, s in enumerate(ids_list):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
        if type_ids is not None:
            types[i, : len(s)] = torch.tensor(type_ids[i])
    return ids, mask, types


TOLERANCE = 1e-4  # the Swift parity tests' max abs difference


def tiny(kind, name, hidden_act="gelu", shard=False, seed=None):
    seed = seed if seed is not None else (1234 if kind == "roberta" else 4321)
    torch.manual_seed(seed)
    common = dict(vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=96, hidden_act=hidden_act, num_labels=3,
                  id2label={0: "negative", 1: "neutral", 2: "positive"},
                  label2id={"negative": 0, "neutral": 1, "positive": 2})
    if kind == "roberta":
        cfg = RobertaConfig(max_position_embeddings=40, type_vocab_size=1, layer_norm_eps=1e-5,
                            pad_token_id=1, bos_token_id=0, eos_token_id=2, **common)
        model = RobertaForSequenceClassification(cfg)
        seqs = [[0, 17, 33, 54, 8, 99, 2], [0, 5, 6, 2], [0, 44, 1, 45, 12, 13, 14, 15, 16, 2], [0, 2]]
        # (id 1 inside sequence 3 is the pad id, attended: RoBERTa positions must skip it)
        ids, mask, types = batch(seqs, pad=1)
        types = None
    else:
        cfg = BertConfig(max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12,
                         pad_token_id=0, **common)
        model = BertForSequenceClassification(cfg)
        seqs = [[101 % 120, 7, 8, 9, 102 % 120, 30, 31, 102 % 120], [101 % 120, 50, 102 % 120],
                [101 % 120, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 102 % 120]]
        tt = [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0], [0] * 12]
        ids, mask, types = batch(seqs, pad=0, type_ids=tt)
    generator = torch.Generator().manual_seed(seed)
    redraw(model, generator)
    if hidden_act != "gelu":
        with torch.no_grad():
            for layer in model.base_model.encoder.layer:
                w1, w2 = layer.intermediate.dense, layer.output.dense
                w1.weight.mul_(0.5)
                w1.bias.copy_(-2.7 + torch.randn(w1.bias.shape, generator=generator) * 0.2)
                w2.weight.mul_(60.0)
    model.eval()
    out_dir = os.path.join(ROOT, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir, safe_serialization=True, max_shard_size="60KB" if shard else "5GB")
    with torch.no_grad():
        kwargs = dict(input_ids=ids, attention_mask=mask)
        if types is not None:
            kwargs["token_type_ids"] = types
        out = model(**kwargs, output_hidden_states=True)
    logits = out.logits
    assert logits.abs().max() > 0.5, f"{name}: logits are not O(1): {logits}"
    spread = (logits[:, None, :] - logits[None, :, :]).abs().amax(-1)
    spread = spread + torch.eye(len(logits)) * 1e9
    assert spread.min() > 100 * TOLERANCE, f"{name}: two sequences' logits differ by only {spread.min():.2e}"
    if hidden_act != "gelu":
        exact = type(model)(type(cfg).from_dict({**cfg.to_dict(), "hidden_act": "gelu"}))
        exact.load_state_dict(model.state_dict())
        exact.eval()
        with torch.no_grad():
            other = exact(**kwargs).logits
        margin = (other - logits).abs().max().item()
        assert margin > 100 * TOLERANCE, f"{name}: {hidden_act} vs gelu changes the logits by only {margin:.2e}"
        print(f"  {hidden_act} vs gelu: logits differ by {margin:.3e}")
    expected = {
        "batch": ids.shape[0], "seq_len": ids.shape[1],
        "input_ids": flat(ids.float()), "attention_mask": flat(mask.float()),
        "token_type_ids": flat(types.float()) if types is not None else None,
        "logits": flat(out.logits), "last_hidden_state": flat(out.hidden_states[-1]),
        "hidden_size": cfg.hidden_size,
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(name, "logits", out.logits.shape, "files", sorted(os.listdir(out_dir)))


def dtypes():
    """Same values stored as F32, F16 and BF16 (and an I64 tensor) for the conversion test."""
    vals = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.14159, 65504.0, 6.1e-5, 1e-7, -1e-3, 1234.5678])
    tensors = {"a_f32": vals.clone(), "a_f16": vals.to(torch.float16), "a_bf16": vals.to(torch.bfloat16),
               "ids_i64": torch.arange(5, dtype=torch.int64)}
    path = os.path.join(ROOT, "dtypes.safetensors")
    save_file(tensors, path)
    with open(os.path.join(ROOT, "dtypes.json"), "w") as f:
        json.dump({"f32": flat(vals), "f16": [float(x) for x in vals.to(torch.float16).float().tolist()],
                   "bf16": [float(x) for x in vals.to(torch.bfloat16).float().tolist()]}, f)


SENTENCES = [
    "A masterpiece of quiet, patient filmmaking.",
    "The plot is thin and the jokes fall flat.",
    "I wouldn't watch it again, but the soundtrack is great!",
    "Naïve café owners in São Paulo — an unexpectedly moving story.",
    "Worst. Movie. Ever.",
    "It's a charming, funny, and surprisingly tender film about growing up.",
    "The special effects are dated; the acting is wooden.",
    "Two hours of my life I will never get back.",
    "An ambitious, sprawling epic that mostly works.",
    "short",
]


def minilm(path):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(path, device="cpu")
    features = st.tokenize(SENTENCES)
    with torch.no_grad():
        out = st[1](st[0](dict(features)))  # Transformer → mean Pooling; no Normalize
    emb = out["sentence_embedding"]
    with open(os.path.join(ROOT, "minilm_embeddings.json"), "w") as f:
        json.dump({"sentences": SENTENCES,
                   "input_ids": features["input_ids"].tolist(),
                   "attention_mask": features["attention_mask"].tolist(),
                   "embeddings": [flat(e) for e in emb]}, f)
    print("minilm", emb.shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm", default=None, help="the all-MiniLM-L6-v2 folder (default: the HF cache's snapshot)")
    args = ap.parse_args()
    print("torch", torch.__version__, "transformers", transformers.__version__)
    os.makedirs(ROOT, exist_ok=True)
    tiny("roberta", "tiny-roberta-cls")
    tiny("bert", "tiny-bert-cls")
    tiny("bert", "tiny-bert-tanh-sharded", hidden_act="gelu_new", shard=True, seed=2718)
    dtypes()
    minilm(args.minilm or default_minilm())


if __name__ == "__main__":
    main()
