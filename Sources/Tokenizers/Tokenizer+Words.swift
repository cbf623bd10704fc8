/// An encoding of pre-split words with the word each position came from.
public struct WordEncoding: Sendable, Equatable {
    public var encoding: Encoding
    /// The index of the word each position's token belongs to; nil for special tokens and padding
    /// (HF's `BatchEncoding.word_ids()`).
    public var wordIds: [Int?]
}

extension Tokenizer {
    /// Whether `id` is one of the special tokens the post-processor adds (`<s>`, `[CLS]`, padding…).
    public func isSpecial(_ id: Int32) -> Bool { specialIds.contains(id) }

    /// Encodes text already split into words, as HF's `tokenizer(words, is_split_into_words=True)` does
    /// (token classification: one label per word). Each word is tokenized on its own — byte-level BPE
    /// gives every word a leading space (the `add_prefix_space=True` such input needs), WordPiece splits
    /// it further at punctuation — and every token remembers its word. A word without tokens (empty, or
    /// only spaces for WordPiece) appears in no word id.
    ///
    /// Truncation (`options.truncation` with a `maxLength`) drops the last tokens, so a word may lose
    /// its later sub-tokens or disappear; padding follows `options` as in `encode`.
    public func encode(words: [String], options: EncodeOptions = .init()) -> WordEncoding {
        let scratch = self.scratch.value
        var ids: [Int32] = []
        var owners: [Int] = []
        for (w, word) in words.enumerated() {
            // As HF's ByteLevel pre-tokenizer: the space goes before a word that does not start with one, and
            // an empty word has no tokens at all.
            let text = kind == .byteLevelBPE && !word.isEmpty && !word.hasPrefix(" ") ? " " + word : word
            let pieces = tokenize(text, scratch: scratch)
            ids.append(contentsOf: pieces)
            owners.append(contentsOf: repeatElement(w, count: pieces.count))
        }
        if options.truncation, let maxLength = options.maxLength {
            let added = options.addSpecialTokens ? postProcessor.addedCount(isPair: false) : 0
            var none: [Int32]? = nil
            Truncation.truncate(first: &ids, second: &none, maxLength: maxLength, added: added)
            owners.removeLast(owners.count - ids.count)
        }
        var encoding = postProcessor.apply(first: ids, second: nil, addSpecialTokens: options.addSpecialTokens)
        // The text's tokens keep their order between the special tokens the post-processor adds (mask 1;
        // special tokens written in a word are the word's, mask 0).
        var wordIds: [Int?] = []
        wordIds.reserveCapacity(encoding.count)
        var next = 0
        for position in 0..<encoding.count {
            if encoding.specialTokensMask[position] == 1 {
                wordIds.append(nil)
            } else {
                wordIds.append(owners[next])
                next += 1
            }
        }
        if options.padding == .maxLength, let maxLength = options.maxLength, encoding.count < maxLength {
            encoding.pad(to: maxLength, padId: padTokenId)
            wordIds.append(contentsOf: repeatElement(nil, count: maxLength - wordIds.count))
        }
        return WordEncoding(encoding: encoding, wordIds: wordIds)
    }
}
