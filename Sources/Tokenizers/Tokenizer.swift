import Foundation

/// A loaded tokenizer: byte-level BPE (RoBERTa / GPT-2) or WordPiece (BERT), with HF-identical
/// ids, masks and decoding.
///
/// Immutable after loading and safe to share between threads; each thread keeps its own word
/// cache and scratch buffers, so concurrent `encode` calls take no locks.
///
/// ```swift
/// let tokenizer = try Tokenizer.load(from: URL(fileURLWithPath: "models/roberta-base"))
/// let e = tokenizer.encode("Hello world", options: .init(maxLength: 16, truncation: true, padding: .maxLength))
/// // e.ids, e.attentionMask, e.typeIds, e.specialTokensMask
/// ```
public final class Tokenizer: Sendable {
    /// The tokenisation model.
    public enum Kind: String, Sendable {
        /// GPT-2 / RoBERTa byte-level BPE.
        case byteLevelBPE
        /// BERT WordPiece.
        case wordPiece
    }

    enum Model: Sendable {
        case bpe(BPEModel)
        case wordPiece(WordPieceModel, BertPreprocessor)
    }

    enum Decoder: Sendable, Equatable {
        /// Token characters map back to bytes through the GPT-2 alphabet.
        case byteLevel
        /// Pieces are joined with spaces except those starting with `prefix`; `cleanup` applies
        /// HF's per-token clean-up (" ." → ".", " 's" → "'s", ...).
        case wordPiece(prefix: String, cleanup: Bool)
    }

    /// The tokenisation model.
    public let kind: Kind
    /// Id used for padding (`<pad>` = 1 for RoBERTa, `[PAD]` = 0 for BERT).
    public let padTokenId: Int32
    /// Whether the model takes `token_type_ids` (true for BERT-style WordPiece, false for RoBERTa).
    public let usesTokenTypeIds: Bool
    /// Number of ids (vocabulary plus added tokens), i.e. one past the largest id.
    public let vocabularySize: Int

    let model: Model
    let addedTokens: AddedTokenMatcher
    let postProcessor: PostProcessor
    let decoder: Decoder
    /// transformers' `clean_up_tokenization_spaces`, applied to decoded text.
    let cleanUpTokenizationSpaces: Bool
    /// Token spelling per id (vocabulary spelling, e.g. `Ġthe`); nil for unused ids.
    let tokens: [String?]
    /// Token spelling bytes → id, for `tokenToId`.
    let tokenIds: ByteKeyTable
    /// Ids that `decode(skipSpecialTokens: true)` drops.
    let specialIds: Set<Int32>
    let scratch = ThreadLocal { EncodeScratch() }

    init(kind: Kind, model: Model, vocabulary: [(token: String, id: Int32)], addedTokens: [AddedToken],
         postProcessor: PostProcessor, decoder: Decoder, padTokenId: Int32, cleanUpTokenizationSpaces: Bool) {
        self.kind = kind
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.padTokenId = padTokenId
        self.cleanUpTokenizationSpaces = cleanUpTokenizationSpaces
        usesTokenTypeIds = kind == .wordPiece
        self.addedTokens = AddedTokenMatcher(addedTokens)
        let maxId = max(vocabulary.map(\.id).max() ?? -1, addedTokens.map(\.id).max() ?? -1)
        var spellings = [String?](repeating: nil, count: Int(maxId) + 1)
        var table = ByteKeyTable(minimumCapacity: vocabulary.count + addedTokens.count)
        for (token, id) in vocabulary where id >= 0 {
            spellings[Int(id)] = token
            table.insert(Array(token.utf8), value: Int64(id))
        }
        for t in addedTokens where t.id >= 0 {
            spellings[Int(t.id)] = t.content
            table.insert(Array(t.content.utf8), value: Int64(t.id))
        }
        tokens = spellings
        tokenIds = table
        vocabularySize = spellings.count
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
    }

    // MARK: Encoding

    /// Encodes a text, or a text pair, into model inputs.
    ///
    /// Special tokens written in the text (`<mask>`, `[SEP]`, ...) are matched before
    /// normalisation and become their ids. With `options.truncation` and a `maxLength`, the
    /// texts are cut so the result, special tokens included, fits (`longest_first` for pairs);
    /// `.maxLength` padding then pads on the right with `padTokenId`.
    public func encode(_ text: String, pair: String? = nil, options: EncodeOptions = .init()) -> Encoding {
        let scratch = self.scratch.value
        var first = tokenize(text, scratch: scratch)
        var second = pair.map { tokenize($0, scratch: scratch) }
        if options.truncation, let maxLength = options.maxLength {
            let added = options.addSpecialTokens ? postProcessor.addedCount(isPair: second != nil) : 0
            Truncation.truncate(first: &first, second: &second, maxLength: maxLength, added: added)
        }
        var encoding = postProcessor.apply(first: first, second: second, addSpecialTokens: options.addSpecialTokens)
        if options.padding == .maxLength, let maxLength = options.maxLength {
            encoding.pad(to: maxLength, padId: padTokenId)
        }
        return encoding
    }

    /// Encodes many texts (or pairs) on up to `threads` threads; the result equals calling
    /// `encode` per item, except that `.longest` padding pads to the longest encoding of the batch.
    ///
    /// - Parameter pairs: second texts, one per text (`pairs.count` must equal `texts.count`;
    ///   extra pairs are ignored, missing ones encode as single texts).
    public func encodeBatch(_ texts: [String], pairs: [String]? = nil, options: EncodeOptions = .init(),
                            threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Encoding] {
        let n = texts.count
        guard n > 0 else { return [] }
        let empty = Encoding(ids: [], typeIds: [], attentionMask: [], specialTokensMask: [])
        var results = [Encoding](repeating: empty, count: n)
        let workers = max(1, min(threads, n))
        // Workers claim small chunks from a shared counter, so a descheduled thread does not
        // hold back a fixed share of the batch; each chunk writes a disjoint range of `out`.
        let chunk = max(1, min(64, n / (workers * 8)))
        let chunkCount = (n + chunk - 1) / chunk
        let counter = ChunkCounter()
        results.withUnsafeMutableBufferPointer { out in
            let out = out
            let work = { (_: Int) in
                while true {
                    let c = counter.next()
                    if c >= chunkCount { return }
                    let end = min(n, (c + 1) * chunk)
                    for i in (c * chunk)..<end {
                        let pair = pairs.flatMap { i < $0.count ? $0[i] : nil }
                        out[i] = self.encode(texts[i], pair: pair, options: options)
                    }
                }
            }
            if workers == 1 {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers, execute: work)
            }
        }
        if options.padding == .longest {
            let longest = results.map(\.count).max() ?? 0
            for i in 0..<n { results[i].pad(to: longest, padId: padTokenId) }
        }
        return results
    }

    /// Ids of one text without special tokens, truncation or padding.
    func tokenize(_ text: String, scratch: EncodeScratch) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            addedTokens.split(base, buffer.count, text: { start, end in
                encodeSegment(base + start, end - start, into: &ids, scratch: scratch)
            }, token: { id, _, _ in
                ids.append(id)
            })
        }
        return ids
    }

    @inline(__always)
    private func encodeSegment(_ p: UnsafePointer<UInt8>, _ n: Int, into ids: inout [Int32], scratch: EncodeScratch) {
        switch model {
        case .bpe(let bpe):
            bpe.encodeSegment(p, n, into: &ids, scratch: scratch)
        case .wordPiece(let wordPiece, let preprocessor):
            preprocessor.forEachWord(p, n, scratch: scratch) { word, length in
                wordPiece.encodeWord(word, length, into: &ids, scratch: scratch)
            }
        }
    }

    // MARK: Vocabulary

    /// The id of a token as spelled in the vocabulary (`"Ġthe"`, `"##ing"`, `"<mask>"`), or nil.
    public func tokenToId(_ token: String) -> Int32? {
        tokenIds.value(Array(token.utf8)).map { Int32(truncatingIfNeeded: $0) }
    }

    /// The vocabulary spelling of an id, or nil when the id is unused or out of range.
    public func idToToken(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }
}

/// A lock-protected counter handing out chunk numbers to `encodeBatch` workers (one lock per
/// chunk of up to 64 texts, negligible next to encoding them).
private final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let v = value
        value += 1
        return v
    }
}
