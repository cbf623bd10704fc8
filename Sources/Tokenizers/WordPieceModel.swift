/// WordPiece as BERT uses it: greedy longest-match-first over a word, continuation pieces
/// spelled with a prefix (`##`), and the whole word becoming `[UNK]` when any position has no
/// match or the word is longer than `maxInputCharsPerWord` characters
/// (HF `tokenizers` `models/wordpiece/mod.rs`).
final class WordPieceModel: Sendable {
    /// Word-initial pieces: token bytes → id.
    let vocab: ByteKeyTable
    /// Continuation pieces keyed by the bytes after the prefix, so lookups build no strings.
    let continuation: ByteKeyTable
    let unkId: Int32
    let maxInputCharsPerWord: Int
    /// Bytes of the continuation prefix (`##`): a continuation piece covers its spelling minus these.
    let prefixByteCount: Int

    init(vocab: [(token: String, id: Int32)], unkId: Int32, prefix: String, maxInputCharsPerWord: Int) {
        var initial = ByteKeyTable(minimumCapacity: vocab.count)
        var cont = ByteKeyTable(minimumCapacity: vocab.count / 4 + 16)
        let prefixBytes = Array(prefix.utf8)
        for (token, id) in vocab {
            let bytes = Array(token.utf8)
            initial.insert(bytes, value: Int64(id))
            if !prefixBytes.isEmpty, bytes.count >= prefixBytes.count, bytes.starts(with: prefixBytes) {
                cont.insert(Array(bytes[prefixBytes.count...]), value: Int64(id))
            }
        }
        self.vocab = initial
        continuation = cont
        self.unkId = unkId
        self.maxInputCharsPerWord = maxInputCharsPerWord
        prefixByteCount = prefixBytes.count
    }

    /// Encodes one normalised word `p[0..<n]`, through the per-thread word cache.
    func encodeWord(_ p: UnsafePointer<UInt8>, _ n: Int, into ids: inout [Int32], scratch: EncodeScratch) {
        let cache = scratch.cache
        if let range = cache.lookup(p, n) {
            cache.ids.withUnsafeBufferPointer { ids.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
            return
        }
        var pieces = scratch.symbols
        scratch.symbols = []
        pieces.removeAll(keepingCapacity: true)
        var chars = 0
        for i in 0..<n where p[i] & 0xC0 != 0x80 { chars += 1 }
        if chars > maxInputCharsPerWord {
            pieces.append(unkId)
        } else {
            var start = 0
            while start < n {
                var end = n
                var found: Int64?
                while end > start {
                    found = start == 0 ? vocab.value(p, end) : continuation.value(p + start, end - start)
                    if found != nil { break }
                    // Step back one whole character.
                    end -= 1
                    while end > start && p[end] & 0xC0 == 0x80 { end -= 1 }
                }
                guard let id = found else {
                    pieces.removeAll(keepingCapacity: true)
                    pieces.append(unkId)
                    break
                }
                pieces.append(Int32(truncatingIfNeeded: id))
                start = end
            }
        }
        ids.append(contentsOf: pieces)
        pieces.withUnsafeBufferPointer { cache.insert(p, n, ids: $0) }
        scratch.symbols = pieces
    }
}
