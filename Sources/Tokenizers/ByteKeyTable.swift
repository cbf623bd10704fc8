import Foundation

/// An open-addressing hash map from byte strings to `Int64`, keyed by exact bytes.
///
/// Swift `String` keys would hash through the slow normalising path for non-ASCII text (every
/// byte-level token that starts with `Ġ`) and would merge canonically equivalent keys; `[UInt8]`
/// keys would allocate per lookup. Here keys live in one byte arena and a lookup takes a raw
/// pointer range, so the hot path allocates nothing.
///
/// Used for the vocabulary (value = id), the WordPiece continuation vocabulary and the per-thread
/// word cache (value = packed range into an id arena).
struct ByteKeyTable {
    /// One slot per entry, all fields together so a probe touches one cache line.
    private struct Slot {
        var hash: UInt64 = 0  // 0 = empty slot
        var keyStart: UInt32 = 0
        var keyLength: UInt32 = 0
        var value: Int64 = 0
    }

    private var slots: [Slot]
    private var arena: [UInt8] = []
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int = 16) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        mask = capacity - 1
        slots = [Slot](repeating: Slot(), count: capacity)
    }

    /// Bytes held in the key arena (the word cache bounds its memory with this).
    var arenaBytes: Int { arena.count }

    /// Removes everything but keeps the allocated capacity.
    mutating func removeAll() {
        slots.withUnsafeMutableBufferPointer { s in
            for i in 0..<s.count { s[i].hash = 0 }
        }
        arena.removeAll(keepingCapacity: true)
        count = 0
    }

    /// A 64-bit hash that reads 8 bytes at a time; never returns 0 (the empty marker).
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n &+ 1)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i &+= 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift &+= 8
                i &+= 1
            }
            h = (h ^ w) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h == 0 ? 1 : h
    }

    /// The value for the key `p[0..<n]`, or nil.
    @inline(__always)
    func value(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        let h = ByteKeyTable.hash(p, n)
        var index = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { s in
            arena.withUnsafeBufferPointer { ar in
                while true {
                    let slot = s[index]
                    if slot.hash == 0 { return nil }
                    if slot.hash == h, Int(slot.keyLength) == n {
                        if n == 0 || memcmp(ar.baseAddress! + Int(slot.keyStart), p, n) == 0 {
                            return slot.value
                        }
                    }
                    index = (index &+ 1) & mask
                }
            }
        }
    }

    /// Convenience lookup for a byte array.
    func value(_ key: [UInt8]) -> Int64? {
        key.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else {
                var zero: UInt8 = 0
                return withUnsafePointer(to: &zero) { value($0, 0) }
            }
            return value(base, b.count)
        }
    }

    /// Inserts or replaces the value for `p[0..<n]`.
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int64) {
        if (count + 1) * 2 > slots.count { grow() }
        let h = ByteKeyTable.hash(p, n)
        var index = Int(truncatingIfNeeded: h) & mask
        while slots[index].hash != 0 {
            let slot = slots[index]
            if slot.hash == h, Int(slot.keyLength) == n,
               arena.withUnsafeBufferPointer({ n == 0 || memcmp($0.baseAddress! + Int(slot.keyStart), p, n) == 0 }) {
                slots[index].value = value
                return
            }
            index = (index + 1) & mask
        }
        slots[index] = Slot(hash: h, keyStart: UInt32(arena.count), keyLength: UInt32(n), value: value)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        count += 1
    }

    mutating func insert(_ key: [UInt8], value: Int64) {
        key.withUnsafeBufferPointer { b in
            if let base = b.baseAddress {
                insert(base, b.count, value: value)
            } else {
                var zero: UInt8 = 0
                withUnsafePointer(to: &zero) { insert($0, 0, value: value) }
            }
        }
    }

    private mutating func grow() {
        let old = slots
        let capacity = slots.count * 2
        mask = capacity - 1
        slots = [Slot](repeating: Slot(), count: capacity)
        for slot in old where slot.hash != 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].hash != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}

/// An open-addressing map from a pair of token ids to the merge it triggers, keyed by
/// `UInt64(a) << 32 | b` (Rust's `MergeMap = HashMap<(u32, u32), (rank, new_id)>`).
struct PairMergeTable {
    private var keys: [UInt64]
    /// `rank << 32 | newId`, parallel to `keys` (read only after a key matched).
    private var merged: [UInt64]
    private let mask: Int
    private let shift: UInt64
    private(set) var count = 0

    static let emptyKey = UInt64.max

    init(capacityFor n: Int) {
        var bits = 4
        while (1 << bits) < n * 2 { bits += 1 }
        mask = (1 << bits) - 1
        shift = UInt64(64 - bits)
        keys = [UInt64](repeating: PairMergeTable.emptyKey, count: 1 << bits)
        merged = [UInt64](repeating: 0, count: 1 << bits)
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always)
    private static func pack(_ rank: Int32, _ newId: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: newId))
    }

    @inline(__always)
    private func slot(for key: UInt64) -> Int {
        // Fibonacci hashing: the high bits of a multiply spread sequential ids well.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Adds a merge; a repeated pair takes the later rule, as HF's map collection and the slow
    /// tokenizer's `dict(zip(merges, range(...)))` both do.
    mutating func insert(_ a: Int32, _ b: Int32, rank: Int32, newId: Int32) {
        let k = PairMergeTable.key(a, b)
        var s = slot(for: k)
        while keys[s] != PairMergeTable.emptyKey {
            if keys[s] == k {
                merged[s] = PairMergeTable.pack(rank, newId)
                return
            }
            s = (s + 1) & mask
        }
        keys[s] = k
        merged[s] = PairMergeTable.pack(rank, newId)
        count += 1
    }

    /// (rank, newId) for the pair, or nil when the pair never merges.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, newId: Int32)? {
        let k = PairMergeTable.key(a, b)
        var s = slot(for: k)
        return keys.withUnsafeBufferPointer { ks in
            while true {
                let v = ks[s]
                if v == k {
                    let m = merged[s]
                    return (Int32(truncatingIfNeeded: m >> 32), Int32(truncatingIfNeeded: m))
                }
                if v == PairMergeTable.emptyKey { return nil }
                s = (s &+ 1) & mask
            }
        }
    }
}
