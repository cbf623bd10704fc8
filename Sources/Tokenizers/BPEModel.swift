/// Byte-level BPE: GPT-2 / RoBERTa pre-tokenisation, then ranked merges on integer ids.
///
/// A pre-token's UTF-8 bytes become initial symbols through a 256-entry byte → id table, then the
/// lowest-ranked adjacent pair (leftmost among equals) is merged until no pair has a rule, as HF
/// `tokenizers` does (`models/bpe/word.rs`, `Word::merge_all`). Nothing builds strings: merges are
/// looked up by `(idA << 32 | idB)` in `PairMergeTable`. A class, so the hot path passes one
/// reference instead of copying (and retaining) every table per call.
final class BPEModel: Sendable {
    /// Merge rules: (left id, right id) → (rank, merged id).
    let merges: PairMergeTable
    /// Id of the vocabulary entry for each raw byte (its byte-level character), -1 if absent.
    let byteToId: [Int32]
    /// Id used for bytes missing from the vocabulary; nil drops them (HF without `unk_token`).
    let unkId: Int32?
    /// `ignore_merges`: a pre-token that is itself a vocabulary entry is emitted whole.
    let ignoreMerges: Bool
    /// Raw bytes → id for every vocabulary entry spelled in the byte-level alphabet
    /// (only needed with `ignoreMerges`).
    let rawVocab: ByteKeyTable?
    /// ByteLevel `add_prefix_space`: a space is prepended to each text segment that does not
    /// already start with one (once per segment, before splitting, as Rust does).
    let addPrefixSpace: Bool
    /// ByteLevel `use_regex`: split with the GPT-2 pattern (otherwise a segment is one word).
    let useRegex: Bool

    init(merges: PairMergeTable, byteToId: [Int32], unkId: Int32?, ignoreMerges: Bool, rawVocab: ByteKeyTable?,
         addPrefixSpace: Bool, useRegex: Bool) {
        self.merges = merges
        self.byteToId = byteToId
        self.unkId = unkId
        self.ignoreMerges = ignoreMerges
        self.rawVocab = rawVocab
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    /// Words up to this many symbols merge with a linear best-pair scan (fewer branches and no
    /// heap traffic for typical words); longer ones use the heap, O(n log n).
    static let linearMergeLimit = 48

    /// Encodes one segment of raw text `p[0..<n]` (no added tokens in it), appending ids.
    func encodeSegment(_ p: UnsafePointer<UInt8>, _ n: Int, into ids: inout [Int32], scratch: EncodeScratch) {
        guard n > 0 else { return }
        if addPrefixSpace && p[0] != 0x20 {
            var buffer = scratch.bytes
            scratch.bytes = []
            buffer.removeAll(keepingCapacity: true)
            buffer.append(0x20)
            buffer.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            buffer.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { splitAndEncode(base, b.count, into: &ids, scratch: scratch) }
            }
            scratch.bytes = buffer
        } else {
            splitAndEncode(p, n, into: &ids, scratch: scratch)
        }
    }

    @inline(__always)
    private func splitAndEncode(_ p: UnsafePointer<UInt8>, _ n: Int, into ids: inout [Int32], scratch: EncodeScratch) {
        if useRegex {
            ByteLevelPreTokenizer.split(p, n) { start, end in
                encodeWord(p + start, end - start, into: &ids, scratch: scratch)
            }
        } else {
            encodeWord(p, n, into: &ids, scratch: scratch)
        }
    }

    /// Encodes one pre-token (raw bytes), through the per-thread word cache.
    @inline(__always)
    func encodeWord(_ p: UnsafePointer<UInt8>, _ n: Int, into ids: inout [Int32], scratch: EncodeScratch) {
        let cache = scratch.cache
        if let range = cache.lookup(p, n) {
            cache.ids.withUnsafeBufferPointer { ids.append(contentsOf: UnsafeBufferPointer(rebasing: $0[range])) }
            return
        }
        var symbols = scratch.symbols
        scratch.symbols = []
        symbols.removeAll(keepingCapacity: true)
        if ignoreMerges, let whole = rawVocab?.value(p, n) {
            symbols.append(Int32(truncatingIfNeeded: whole))
        } else {
            byteToId.withUnsafeBufferPointer { table in
                for i in 0..<n {
                    let id = table[Int(p[i])]
                    if id >= 0 {
                        symbols.append(id)
                    } else if let unkId {
                        symbols.append(unkId)
                    }
                }
            }
            if symbols.count > BPEModel.linearMergeLimit {
                mergeWithHeap(&symbols, workspace: &scratch.merge)
            } else if symbols.count > 1 {
                mergeLinear(&symbols)
            }
        }
        ids.append(contentsOf: symbols)
        symbols.withUnsafeBufferPointer { cache.insert(p, n, ids: $0) }
        scratch.symbols = symbols
    }

    /// Repeatedly merges the lowest-ranked pair (leftmost among equals) by scanning a cached
    /// rank per adjacent pair; only the two pairs touching a merge are looked up again.
    func mergeLinear(_ symbols: inout [Int32]) {
        var count = symbols.count
        withUnsafeTemporaryAllocation(of: (rank: Int32, newId: Int32).self, capacity: count) { pairs in
            symbols.withUnsafeMutableBufferPointer { sym in
                for i in 0..<(count - 1) {
                    pairs[i] = merges.lookup(sym[i], sym[i + 1]) ?? (Int32.max, -1)
                }
                while count > 1 {
                    var best = Int32.max
                    var at = -1
                    for i in 0..<(count - 1) where pairs[i].rank < best {
                        best = pairs[i].rank
                        at = i
                    }
                    if at < 0 { break }
                    sym[at] = pairs[at].newId
                    // Close the gap left by the absorbed right symbol.
                    var k = at + 1
                    while k < count - 1 {
                        sym[k] = sym[k + 1]
                        if k < count - 2 { pairs[k] = pairs[k + 1] }
                        k += 1
                    }
                    count -= 1
                    if at > 0 { pairs[at - 1] = merges.lookup(sym[at - 1], sym[at]) ?? (Int32.max, -1) }
                    if at < count - 1 { pairs[at] = merges.lookup(sym[at], sym[at + 1]) ?? (Int32.max, -1) }
                }
            }
        }
        symbols.removeLast(symbols.count - count)
    }

    /// HF's algorithm for long words: a min-heap of (rank, position) candidates over a linked
    /// list of symbols; entries made stale by earlier merges are skipped when popped.
    func mergeWithHeap(_ symbols: inout [Int32], workspace w: inout BPEMergeWorkspace) {
        let n = symbols.count
        w.reset(count: n)
        for i in 0..<(n - 1) {
            if let m = merges.lookup(symbols[i], symbols[i + 1]) { w.push(rank: m.rank, position: i) }
        }
        while let (rank, i) = w.pop() {
            guard w.alive[i] else { continue }
            let j = Int(w.next[i])
            guard j >= 0, let m = merges.lookup(symbols[i], symbols[j]), m.rank == rank else { continue }
            symbols[i] = m.newId
            w.alive[j] = false
            let after = Int(w.next[j])
            w.next[i] = Int32(after)
            if after >= 0 { w.prev[after] = Int32(i) }
            let before = Int(w.prev[i])
            if before >= 0, let m = merges.lookup(symbols[before], symbols[i]) {
                w.push(rank: m.rank, position: before)
            }
            if after >= 0, let m = merges.lookup(symbols[i], symbols[after]) {
                w.push(rank: m.rank, position: i)
            }
        }
        var out = 0
        var i = 0
        while i >= 0 {
            symbols[out] = symbols[i]
            out += 1
            i = Int(w.next[i])
        }
        symbols.removeLast(n - out)
    }
}

/// Reusable arrays for `BPEModel.mergeWithHeap` (kept per thread to avoid allocations).
struct BPEMergeWorkspace {
    var prev: [Int32] = []
    var next: [Int32] = []
    var alive: [Bool] = []
    /// Min-heap of `rank << 32 | position`: lowest rank first, then leftmost position.
    var heap: [UInt64] = []

    mutating func reset(count n: Int) {
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            prev.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
            alive.append(true)
        }
    }

    mutating func push(rank: Int32, position: Int) {
        heap.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(position))
        var c = heap.count - 1
        while c > 0 {
            let parent = (c - 1) / 2
            if heap[parent] <= heap[c] { break }
            heap.swapAt(parent, c)
            c = parent
        }
    }

    mutating func pop() -> (Int32, Int)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var c = 0
            while true {
                let l = 2 * c + 1, r = l + 1
                var m = c
                if l < heap.count && heap[l] < heap[m] { m = l }
                if r < heap.count && heap[r] < heap[m] { m = r }
                if m == c { break }
                heap.swapAt(m, c)
                c = m
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int(top & 0xFFFF_FFFF))
    }
}
