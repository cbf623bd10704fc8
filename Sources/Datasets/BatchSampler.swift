/// Hands out the example indices of successive batches, epoch after epoch, in a seeded order.
///
/// **Order.** Epoch `e` visits a permutation of `0..<count`: the identity without shuffling, else a
/// Fisher–Yates shuffle (for `i` from `count − 1` down to 1: `j = r mod (i + 1)`, swap `i` and `j`)
/// driven by SplitMix64 (Steele, Lea & Flood 2014: state += 0x9E3779B97F4A7C15, output = the
/// MurmurHash3-style mix of the state) from the initial state `(seed << 32) + e`. This is exactly
/// the order of `tools/reference_train.py`, so the Python reference sees the same batches; the
/// modulo's bias (below 2⁻⁴⁰ for any dataset size here) is accepted for that. The order depends only on `(seed, e, count)`,
/// so the same seed gives the same run, every epoch is reshuffled, and no generator state has to
/// be saved: ``epoch`` and ``position`` are the whole data position.
///
/// **Batches.** Consecutive slices of the epoch's permutation, `batchSize` long; the last batch of
/// an epoch is shorter when `batchSize` does not divide `count` (PyTorch `drop_last=False`). After
/// the batch that ends an epoch, ``epoch`` has advanced and ``position`` is 0.
///
/// **Checkpoints.** Codable as `{count, batchSize, seed, shuffle, epoch, position}`; a decoded
/// sampler continues with exactly the batches the original would have produced.
public struct BatchSampler: Sendable, Codable, Equatable {
    /// Number of examples.
    public let count: Int
    /// Examples per batch (the last batch of an epoch may be smaller).
    public let batchSize: Int
    /// The run's seed.
    public let seed: UInt64
    /// Whether epochs are shuffled (else every epoch is `0..<count` in order).
    public let shuffle: Bool
    /// The current epoch (0-based). Setting it (to resume a run) switches to that epoch's order.
    public var epoch: Int {
        didSet {
            precondition(epoch >= 0, "epoch must not be negative")
            if epoch != oldValue { order = Self.order(count: count, seed: seed, epoch: epoch, shuffle: shuffle) }
        }
    }
    /// How many examples of the current epoch have been handed out (`0..<max(count, 1)`); the next
    /// batch starts at this offset of the epoch's order.
    public var position: Int {
        didSet { precondition(position >= 0 && position < max(count, 1), "position out of range") }
    }
    /// The permutation of ``epoch`` (derived, never encoded).
    private var order: [Int]

    public init(count: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true) {
        precondition(count >= 0, "count must not be negative")
        precondition(batchSize > 0, "batchSize must be positive")
        self.count = count
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        epoch = 0
        position = 0
        order = Self.order(count: count, seed: seed, epoch: 0, shuffle: shuffle)
    }

    /// Batches in one epoch: `ceil(count / batchSize)`.
    public var batchesPerEpoch: Int { (count + batchSize - 1) / batchSize }

    /// The indices of the next batch; moves on to the next (reshuffled) epoch after the last batch
    /// of an epoch. Empty only when `count` is 0.
    public mutating func next() -> [Int] {
        guard count > 0 else { return [] }
        let end = min(count, position + batchSize)
        let batch = Array(order[position..<end])
        if end == count {
            position = 0
            epoch += 1  // recomputes the order
        } else {
            position = end
        }
        return batch
    }

    /// The permutation epoch `epoch` visits.
    public func order(forEpoch epoch: Int) -> [Int] {
        epoch == self.epoch ? order : Self.order(count: count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    static func order(count: Int, seed: UInt64, epoch: Int, shuffle: Bool) -> [Int] {
        var order = Array(0..<count)
        guard shuffle, count > 1 else { return order }
        var rng = SplitMix64(state: (seed << 32) &+ UInt64(truncatingIfNeeded: epoch))
        var i = count - 1
        while i > 0 {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    // MARK: Codable / Equatable (the derived order is left out)

    private enum CodingKeys: String, CodingKey {
        case count, batchSize, seed, shuffle, epoch, position
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        shuffle = try c.decode(Bool.self, forKey: .shuffle)
        epoch = try c.decode(Int.self, forKey: .epoch)
        position = try c.decode(Int.self, forKey: .position)
        guard count >= 0, batchSize > 0, epoch >= 0, position >= 0, position < max(count, 1) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                debugDescription: "inconsistent sampler state (count \(count), batchSize \(batchSize), epoch \(epoch), position \(position))"))
        }
        order = Self.order(count: count, seed: seed, epoch: epoch, shuffle: shuffle)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(seed, forKey: .seed)
        try c.encode(shuffle, forKey: .shuffle)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(position, forKey: .position)
    }

    public static func == (a: BatchSampler, b: BatchSampler) -> Bool {
        a.count == b.count && a.batchSize == b.batchSize && a.seed == b.seed && a.shuffle == b.shuffle
            && a.epoch == b.epoch && a.position == b.position
    }
}

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014),
/// the generator Java's `SplittableRandom` and many seeders use. Tiny, fast, and fully specified
/// here so that orders are identical on every platform and Swift version.
struct SplitMix64 {
    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
    var state: UInt64

    /// The output mix (Stafford's variant 13 of the MurmurHash3 finalizer).
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }
}
