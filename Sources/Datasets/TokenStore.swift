import FileMapping

/// Token ids of a whole dataset, flat: sequence `i` is `ids[offsets[i]..<offsets[i+1]]`, with its
/// class id in `labels[i]`. Held in the heap (small datasets) or memory-mapped from a token cache
/// file (any size: pages load on first touch and the kernel may drop them again).
final class TokenStore: @unchecked Sendable {
    let count: Int
    let tokenCount: Int
    let ids: UnsafePointer<Int32>
    /// Same layout as `ids`, when the tokenizer uses segment ids.
    let typeIds: UnsafePointer<Int32>?
    /// `count + 1` entries.
    let offsets: UnsafePointer<Int64>
    let labels: UnsafePointer<Int32>
    /// Regression / multi-label targets, `valueWidth` per sequence (empty for classification and tagging).
    var values: [Float] = []
    var valueWidth = 0
    /// Tagging: a class id per token, laid out as `ids` (`-100` where no label applies); empty otherwise.
    var tokenLabels: [Int32] = []
    /// Multiple choice: sequences per example (example i's choices are sequences i·k … i·k + k − 1); 0 otherwise.
    var choices = 0
    /// Question answering: each window's answer start and end position (2 per sequence); empty otherwise.
    var spans: [Int32] = []
    /// What keeps the memory alive: the heap block, or the mapping.
    private let owner: AnyObject?
    private let heap: UnsafeMutableRawPointer?

    /// Copies flat arrays into one heap block.
    init(ids: [Int32], typeIds: [Int32]?, offsets: [Int64], labels: [Int32]) {
        count = labels.count
        tokenCount = ids.count
        let idBytes = max(ids.count, 1) * 4
        let typeBytes = typeIds == nil ? 0 : max(ids.count, 1) * 4
        let offsetBytes = offsets.count * 8
        let labelBytes = max(labels.count, 1) * 4
        let block = UnsafeMutableRawPointer.allocate(
            byteCount: offsetBytes + idBytes + typeBytes + labelBytes, alignment: 16)
        func put<T>(_ array: [T], at byteOffset: Int) -> UnsafePointer<T> {
            let p = (block + byteOffset).bindMemory(to: T.self, capacity: max(array.count, 1))
            array.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: array.count) } }
            return UnsafePointer(p)
        }
        self.offsets = put(offsets, at: 0)
        self.ids = put(ids, at: offsetBytes)
        self.typeIds = typeIds.map { put($0, at: offsetBytes + idBytes) }
        self.labels = put(labels, at: offsetBytes + idBytes + typeBytes)
        heap = block
        owner = nil
    }

    /// Views into a mapped file, already validated by the caller.
    init(
        mapping: MappedFile, count: Int, tokenCount: Int, ids: UnsafePointer<Int32>, typeIds: UnsafePointer<Int32>?,
        offsets: UnsafePointer<Int64>, labels: UnsafePointer<Int32>
    ) {
        self.count = count
        self.tokenCount = tokenCount
        self.ids = ids
        self.typeIds = typeIds
        self.offsets = offsets
        self.labels = labels
        owner = mapping
        heap = nil
    }

    deinit { heap?.deallocate() }

    func range(_ i: Int) -> Range<Int> { Int(offsets[i])..<Int(offsets[i + 1]) }

    func sequence(_ i: Int) -> UnsafeBufferPointer<Int32> {
        let r = range(i)
        return UnsafeBufferPointer(start: ids + r.lowerBound, count: r.count)
    }

    func typeSequence(_ i: Int) -> UnsafeBufferPointer<Int32>? {
        guard let typeIds else { return nil }
        let r = range(i)
        return UnsafeBufferPointer(start: typeIds + r.lowerBound, count: r.count)
    }
}
