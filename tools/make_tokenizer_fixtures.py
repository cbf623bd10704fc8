#!/usr/bin/env python3
"""Writes the golden tokenizer fixtures under Tests/Fixtures/tokenizers/.

The Swift `Tokenizers` tests compare their output with these files id for id, so the fixtures are
produced by the reference implementation (Hugging Face `tokenizers` through `transformers`):

    pip install tokenizers==0.22.2 transformers==4.57.6
    python tools/make_tokenizer_fixtures.py [--minilm DIR] [--roberta DIR]

What is written:
  texts.json                 corpus texts (rotten_tomatoes test + SST-2 dev), the hand-made hard set, pairs,
                             seeded random strings over an alphabet of every character class
  roberta-base/              vocab.json, merges.txt, config.json (copied) + expected.json
  minilm/                    vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json
                             (copied) + expected.json
  README.md                  provenance

expected.json holds `corpus` (ids with special tokens, no padding, aligned with texts.json
`corpus`), `cases` (full encodings: ids, type ids, attention and special-tokens masks, decoded
text, for the hard set and for a subset under truncation / padding / pair options) and `batches`
(batch encodings padded to the longest member).

For roberta-base the fast (Rust) and the slow (Python) tokenizers must agree on every id; for
MiniLM the tokenizer built from tokenizer.json and the one built from vocab.txt alone must agree.
The script fails loudly otherwise.
"""
import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import tokenizers
import transformers
from transformers import AutoTokenizer, BertTokenizerFast, RobertaTokenizer, RobertaTokenizerFast

from fixture_env import default_minilm, require

require("tokenizers", "transformers")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "tokenizers"
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# Hand-made hard cases: each line exercises a branch of pre-tokenisation, normalisation or
# the byte-level mapping that ordinary review sentences never reach.
HARD = [
    "",
    " ",
    "   ",
    "\n",
    "\n\n",
    "\t",
    "a",
    "Hello world",
    " Hello world",
    "Hello  world",
    "Hello   world   ",
    "  leading and trailing  ",
    "a\tb\nc\r\nd",
    "tabs\t\tand\n\n\nnewlines \n x",
    "line one\nline two\n",
    "multiple     spaces     between",
    "I'M sure it'S don'T we'Re they'VE I'Ll he'D",
    "I'm sure it's don't we're they've I'll he'd",
    "'s 't 're 've 'm 'll 'd",
    "''s it''s '''",
    "rock 'n' roll 'tis",
    "O'Neil's dog's toy",
    "Hello, world!!! ... ?! (yes) [no] {maybe}",
    "$100 & 50% off -- e-mail@x.com #hashtag @user",
    "C++ is < Rust > Go? a+b=c; x/y\\z | ~ ^ ` _",
    "∑ x² ≤ ∞ ± √2 ≈ 1.414",
    "€5 £3 ¥7 ₹9 ₿1",
    "“smart” ‘quotes’ «guillemets» „low“",
    "dashes — and – ellipsis… •bullet",
    "naïve café résumé Zoë coöperate",
    "e\u0301 a\u0300 o\u0308 combining accents",
    "Ångström ÉCOLE Über straße ß",
    "İstanbul DİYARBAKIR ıi",
    "ΣΊΣΥΦΟΣ σοφός ΟΔΟΣ",
    "ǅemal ǈ ǋ titlecase",
    "ＡＢＣ１２３ fullwidth ｶﾀｶﾅ",
    "日本語のテキストです。",
    "中文分词测试，你好世界！",
    "한국어 텍스트 입니다",
    "mixed中文and English混合",
    "مرحبا بالعالم",
    "שלום עולם",
    "العربية 123 עברית",
    "สวัสดีครับ ภาษาไทย",
    "हिन्दी भाषा",
    "Привет, мир! Ёлка",
    "👍 👍🏽 👍🏿",
    "👨‍👩‍👧‍👦 family 🏳️‍🌈 flag 🇫🇷🇩🇪",
    "🥲 🫠 🪿 newer emoji",
    "I ❤️ NY ☃ ★ ✓",
    "nbsp\u00a0here and\u00a0\u00a0there",
    "en\u2000quad\u2001em\u2002en\u2003em\u2004three\u2005four\u2006six\u2007fig\u2008punc\u2009thin\u200ahair",
    "ideographic\u3000space",
    "next\u0085line",
    "line\u2028sep\u2029para",
    "narrow\u202fnbsp\u205fmath\u1680ogham",
    "vt\u000bff\u000cfs\u001cgs\u001drs\u001eus\u001f",
    "ctrl\u0000nul\u0001soh\u001besc\u007fdel",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom",
    "soft\u00adhyphen",
    "replacement\ufffdchar",
    "private\ue000use",
    "tag\U000e0041chars",
    "a" * 150,
    "supercalifragilisticexpialidocious" * 4,
    "1234567890" * 12,
    "3.14159 2,718 1e-10 0x1F 007",
    "abc123def 4score 12th",
    "hello" + "!" * 40,
    "x " * 40,
    "<s>hello</s>",
    "x <mask> y",
    "x<mask>y  <mask>   z",
    "[CLS] a [SEP] b [SEP]",
    "[MASK] is [mask] [UNK] [PAD]",
    "<pad><unk></s>",
    "unbelievably unaffordable antidisestablishmentarianism",
    "The quick brown fox jumps over the lazy dog. " * 6,
]

PAIRS = [
    ["How are you?", "I'm fine, thanks."],
    ["", "only second"],
    # An empty *second* text is left out: transformers' fast path treats `text_pair=""` as no
    # pair at all while the slow tokenizer (and the Rust core) encode an empty second sequence.
    # The Swift tests check the Rust behaviour for that case separately.
    ["short", "a much much longer second sentence that goes on and on and on"],
    ["a much much longer first sentence that goes on and on and on", "short"],
    ["equal length one two three", "equal length four five six"],
    ["日本語 text", "Ünïcödé 👍🏽 pair"],
    ["x <mask> y", "[SEP] z"],
]


# Alphabet for the seeded random strings: every character class the scanners distinguish.
RANDOM_POOL = (
    list("abcXYZ019 '.,!?-_()[]{}<>#@$%&*+=/\\|~^`\"") + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "<mask>",
    "[MASK]", "[SEP]", "<s>", "  ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u0085", "\u2028",
    "\u000b", "\u0000", "\u001b", "\u200b", "\u200d", "\ufeff", "\u00ad", "é", "e\u0301", "Ü", "ß", "İ", "Σ", "ﬁ",
    "ǅ", "日", "本", "中", "한", "ㄱ", "ก", "\u0e31", "ि", "م", "ש", "\u05b0", "٣", "½", "²", "Ⅻ", "😀", "👍🏽", "👨‍👩‍👧",
    "🇫🇷", "\ue000", "\U0001f972", "\U00020000", "…", "—", "“", "€", "∑", "\ufffd"]
)


def random_texts(count=300, seed=1234):
    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_POOL) for _ in range(rng.randint(0, 24))) for _ in range(count)]


def read_jsonl(path, field):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)[field] for line in f if line.strip()]


def encoding_record(tok, text, pair, opts):
    """Runs one HF encode and returns every field the Swift tests compare."""
    kwargs = dict(
        return_token_type_ids=True,
        return_attention_mask=True,
        return_special_tokens_mask=True,
        add_special_tokens=opts.get("add_special_tokens", True),
    )
    if "max_length" in opts:
        kwargs["max_length"] = opts["max_length"]
    if opts.get("truncation"):
        kwargs["truncation"] = "longest_first"
    if opts.get("padding", "none") != "none":
        kwargs["padding"] = opts["padding"]
    enc = tok(text, pair, **kwargs) if pair is not None else tok(text, **kwargs)
    ids = enc["input_ids"]
    unpadded = [i for i, m in zip(ids, enc["attention_mask"]) if m == 1]
    return {
        "ids": ids,
        "type_ids": enc["token_type_ids"],
        "attention_mask": enc["attention_mask"],
        "special_tokens_mask": enc["special_tokens_mask"],
        "decoded": tok.decode(unpadded, skip_special_tokens=True),
        "decoded_with_special": tok.decode(unpadded, skip_special_tokens=False),
    }


def option_sets():
    return [
        {},
        {"max_length": 16, "truncation": True},
        {"max_length": 16, "truncation": True, "padding": "max_length"},
        {"max_length": 40, "padding": "max_length"},
        {"add_special_tokens": False},
        {"add_special_tokens": False, "max_length": 8, "truncation": True},
    ]


def pair_option_sets():
    return [
        {},
        {"max_length": 16, "truncation": True},
        {"max_length": 24, "truncation": True, "padding": "max_length"},
        {"max_length": 11, "truncation": True},
    ]


def build_expected(tok, texts, check=None):
    """Encodes everything with `tok`; `check` (another tokenizer) must give the same ids."""
    corpus = [tok(t)["input_ids"] for t in texts["corpus"]]
    random_ids = [tok(t)["input_ids"] for t in texts["random"]]
    cases = []
    subset = texts["corpus"][:40]
    for t in texts["hard"]:
        cases.append({"text": t, "options": {}, **encoding_record(tok, t, None, {})})
    for opts in option_sets()[1:]:
        # Every third hard text keeps the fixture small while still covering each option set.
        for t in texts["hard"][::3] + subset[:10]:
            record = encoding_record(tok, t, None, opts)
            del record["decoded_with_special"]
            cases.append({"text": t, "options": opts, **record})
    pairs = texts["pairs"] + [[subset[i], subset[i + 1]] for i in range(0, 12, 2)]
    for opts in pair_option_sets():
        for a, b in pairs:
            cases.append({"text": a, "pair": b, "options": opts, **encoding_record(tok, a, b, opts)})
    batches = []
    for group in (subset[:8], texts["hard"][6:14], texts["hard"][60:70]):
        enc = tok(group, padding="longest", return_special_tokens_mask=True, return_token_type_ids=True)
        batches.append({"texts": group, "options": {"padding": "longest"}, "ids": enc["input_ids"],
                        "type_ids": enc["token_type_ids"], "attention_mask": enc["attention_mask"],
                        "special_tokens_mask": enc["special_tokens_mask"]})
    group = pairs[:8]
    enc = tok([a for a, _ in group], [b for _, b in group], padding="longest", truncation="longest_first",
              max_length=20, return_special_tokens_mask=True, return_token_type_ids=True)
    batches.append({"texts": [a for a, _ in group], "pairs": [b for _, b in group],
                    "options": {"padding": "longest", "truncation": True, "max_length": 20},
                    "ids": enc["input_ids"], "type_ids": enc["token_type_ids"],
                    "attention_mask": enc["attention_mask"], "special_tokens_mask": enc["special_tokens_mask"]})

    if check is not None:
        mismatches = 0
        for t, ids in zip(texts["corpus"], corpus):
            if check(t)["input_ids"] != ids:
                mismatches += 1
                print(f"  corpus mismatch: {t!r}", file=sys.stderr)
        for t, ids in zip(texts["random"], random_ids):
            if check(t)["input_ids"] != ids:
                mismatches += 1
                print(f"  random mismatch: {t!r}", file=sys.stderr)
        for c in cases:
            kw = {"add_special_tokens": c["options"].get("add_special_tokens", True)}
            other = check(c["text"], c.get("pair"), **kw)["input_ids"]
            mine = tok(c["text"], c.get("pair"), **kw)["input_ids"]
            if other != mine:
                mismatches += 1
                print(f"  case mismatch: {c['text']!r} {c.get('pair')!r}: {mine} vs {other}", file=sys.stderr)
        if mismatches:
            sys.exit(f"reference tokenizers disagree on {mismatches} inputs")
    return {"corpus": corpus, "random": random_ids, "cases": cases, "batches": batches}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--roberta", default="../shared/models/roberta-base-tokenizer")
    ap.add_argument("--minilm", default=None, help="all-MiniLM-L6-v2's folder (default: the HF cache's snapshot)")
    args = ap.parse_args()

    corpus = read_jsonl(DATA / "rotten_tomatoes" / "test.jsonl", "text")
    corpus += read_jsonl(DATA / "sst2" / "dev.jsonl", "text")
    texts = {"corpus": corpus, "hard": HARD, "pairs": PAIRS, "random": random_texts()}
    OUT.mkdir(parents=True, exist_ok=True)
    write_json(OUT / "texts.json", texts)

    roberta_src = Path(args.roberta)
    roberta_dir = OUT / "roberta-base"
    roberta_dir.mkdir(exist_ok=True)
    for name in ("vocab.json", "merges.txt", "config.json"):
        shutil.copyfile(roberta_src / name, roberta_dir / name)
    fast = RobertaTokenizerFast(str(roberta_dir / "vocab.json"), str(roberta_dir / "merges.txt"))
    slow = RobertaTokenizer(str(roberta_dir / "vocab.json"), str(roberta_dir / "merges.txt"))
    print("roberta-base: fast vs slow", file=sys.stderr)
    write_json(roberta_dir / "expected.json", build_expected(fast, texts, check=slow))

    minilm_src = Path(args.minilm or default_minilm())
    minilm_dir = OUT / "minilm"
    minilm_dir.mkdir(exist_ok=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(minilm_src / name, minilm_dir / name)
    from_json = AutoTokenizer.from_pretrained(str(minilm_dir))
    cfg = json.loads((minilm_dir / "tokenizer_config.json").read_text())
    from_vocab = BertTokenizerFast(vocab_file=str(minilm_dir / "vocab.txt"), do_lower_case=cfg["do_lower_case"],
                                   tokenize_chinese_chars=cfg["tokenize_chinese_chars"],
                                   strip_accents=cfg["strip_accents"])
    print("minilm: tokenizer.json vs vocab.txt", file=sys.stderr)
    write_json(minilm_dir / "expected.json", build_expected(from_json, texts, check=from_vocab))
    # The vocab.txt-only tokenizer cleans up tokenization spaces on decode (BertTokenizer's
    # default) while the tokenizer.json one does not; record its decoded texts separately.
    write_json(minilm_dir / "expected-vocab-txt-decoded.json",
               [from_vocab.decode(from_vocab(c)["input_ids"], skip_special_tokens=True) for c in HARD])
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
