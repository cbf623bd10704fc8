extension Tokenizer {
    /// Turns ids back into text, as HF `decode` does.
    ///
    /// Unknown ids are skipped; with `skipSpecialTokens` so are special tokens (`<s>`, `[CLS]`,
    /// `[UNK]`, padding, ...). Byte-level tokens map back to bytes and invalid UTF-8 becomes
    /// U+FFFD; WordPiece pieces are joined with spaces except `##` continuations.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        var pieces: [String] = []
        pieces.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            if let token = idToToken(id) { pieces.append(token) }
        }
        var text = convertTokensToString(pieces)
        if cleanUpTokenizationSpaces { text = Tokenizer.cleanUp(text, doNot: false) }
        return text
    }

    /// Joins token spellings into text with the tokenizer's decoder alone (transformers'
    /// `convert_tokens_to_string`): byte-level tokens map back to bytes (a token with a character outside the
    /// byte alphabet passes through as its own UTF-8), WordPiece pieces join with spaces except `##`
    /// continuations, with the decoder's per-token clean-up.
    public func convertTokensToString(_ pieces: [String]) -> String {
        var text: String
        switch decoder {
        case .byteLevel:
            var bytes: [UInt8] = []
            for piece in pieces {
                // Added tokens outside the byte alphabet pass through as their own UTF-8.
                bytes.append(contentsOf: ByteLevelAlphabet.bytes(forToken: piece) ?? Array(piece.utf8))
            }
            text = String(decoding: bytes, as: UTF8.self)
        case .wordPiece(let prefix, let cleanup):
            text = ""
            for (i, piece) in pieces.enumerated() {
                var token: String
                // Byte comparison: `hasPrefix` compares Characters, and "##" followed by a
                // combining mark ("##ि") does not start with the Character "#" + "#".
                if i != 0 && !prefix.isEmpty && piece.utf8.starts(with: prefix.utf8) {
                    token = String(decoding: piece.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                } else if i != 0 {
                    token = " " + piece
                } else {
                    token = piece
                }
                if cleanup { token = Tokenizer.cleanUp(token, doNot: true) }
                text += token
            }
        }
        return text
    }

    /// HF's clean-up of tokenisation spaces. The Rust WordPiece decoder (`doNot: true`) also turns
    /// " do not" into " don't"; transformers' `clean_up_tokenization` does not.
    static func cleanUp(_ s: String, doNot: Bool) -> String {
        guard s.utf8.contains(0x20) else { return s }
        var out = s
        let rules: [(String, String)] = [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        ]
        for (from, to) in rules { out = out.replacingAll(from, with: to) }
        if doNot { out = out.replacingAll(" do not", with: " don't") }
        for (from, to) in [(" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] { out = out.replacingAll(from, with: to) }
        return out
    }
}

extension String {
    /// Byte-wise replacement of every non-overlapping occurrence, left to right (Rust's and
    /// Python's `replace`; Foundation's `replacingOccurrences` compares by `Character`, which
    /// would not match " ." before a combining mark).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        let bytes = Array(self.utf8)
        guard !t.isEmpty, bytes.count >= t.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var changed = false
        while i < bytes.count {
            if bytes[i] == t[0], i + t.count <= bytes.count, bytes[i..<(i + t.count)].elementsEqual(t) {
                out.append(contentsOf: replacement.utf8)
                i += t.count
                changed = true
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}

extension Tokenizer {
    /// The id of the unknown token (`[UNK]`), when the model has one.
    public var unknownTokenId: Int32? {
        switch model {
        case .bpe(let bpe): bpe.unkId
        case .wordPiece(let wordPiece, _): wordPiece.unkId
        }
    }
}
