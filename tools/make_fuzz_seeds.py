"""Small seed inputs for the tokenizer fuzz targets (Fuzz/seeds/), made with the real `tokenizers`
library: tiny byte-level BPE and WordPiece models trained on a few sentences, saved as tokenizer.json
and as legacy vocab files. The other targets' seeds come from Tests/Fixtures (scripts/fuzz.sh).
Run with the pinned venv: .venv-bench/bin/python tools/make_fuzz_seeds.py"""
import json
import os

import tokenizers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers, decoders

assert tokenizers.__version__ == "0.22.2", tokenizers.__version__
OUT = os.path.join(os.path.dirname(__file__), "..", "Fuzz", "seeds")
TEXT = [
    "A film that moves, and a cast that knows it.", "Don't stop — café, naïve, 映画 😀!",
    "The plot is thin; the jokes are thinner.", "It's a masterpiece of 2024 cinema.",
]


def save(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# Byte-level BPE (RoBERTa's kind).
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
bpe.post_processor = processors.RobertaProcessing(("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>")))
save("FuzzTokenizerJSON", "bpe.json", bpe.to_str().encode())
vocab = json.dumps(bpe.get_vocab(), ensure_ascii=False).encode()
merges = json.loads(bpe.to_str())["model"]["merges"]
merges_txt = ("#version: 0.2\n" + "\n".join(" ".join(m) if isinstance(m, list) else m for m in merges) + "\n").encode()
save("FuzzBPEFiles", "vocab-merges", vocab + b"\0" + merges_txt)

# WordPiece (BERT's kind).
wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
wp.normalizer = normalizers.BertNormalizer(lowercase=True)
wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
wp.decoder = decoders.WordPiece()
wp.train_from_iterator(TEXT, trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
wp.post_processor = processors.BertProcessing(("[SEP]", wp.token_to_id("[SEP]")), ("[CLS]", wp.token_to_id("[CLS]")))
save("FuzzTokenizerJSON", "wordpiece.json", wp.to_str().encode())
by_id = sorted(wp.get_vocab().items(), key=lambda kv: kv[1])
save("FuzzWordPieceVocab", "vocab.txt", ("\n".join(t for t, _ in by_id) + "\n").encode())
print("seeds written to", os.path.normpath(OUT))
