#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One 64-byte-aligned block of floats carved into named tensors, llm.c style: every role
/// (weights, gradients, optimizer state, activations) gets one arena, so zeroing the gradients is
/// one memset and the optimizer is one flat loop.
///
/// Tensors are declared first (`declare`), then `allocate()` makes the block; views are stable for
/// the arena's lifetime. The arena owns the memory: keep it alive while its pointers are in use.
public final class Arena: @unchecked Sendable {
    /// A tensor's place in the arena.
    public struct Slot: Sendable, Hashable {
        public let name: String
        public let shape: [Int]
        /// Offset in floats from the arena's base; always a multiple of 16 (64 bytes).
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public private(set) var slots: [Slot] = []
    private var index: [String: Int] = [:]
    private var nextOffset = 0
    public private(set) var base: UnsafeMutablePointer<Float>?

    /// Total floats, padding included.
    public var capacity: Int { nextOffset }

    public init() {}

    /// Bytes mapped with `mmap` (large arenas), 0 when allocated from the heap.
    private var mappedBytes = 0
    /// Ranges given back to the OS by `releasePages` (restored before the memory is freed).
    private var releasedRanges: [(UnsafeMutableRawPointer, Int)] = []

    deinit {
        releasedRanges.forEach(PageRelease.restore)
        guard let base else { return }
        if mappedBytes > 0 {
            #if canImport(Glibc) || canImport(Darwin)
                _ = munmap(UnsafeMutableRawPointer(base), mappedBytes)
            #endif
        } else {
            base.deallocate()
        }
    }

    /// Reserves room for a tensor; returns its slot. Names must be unique.
    @discardableResult
    public func declare(_ name: String, shape: [Int]) -> Slot {
        precondition(base == nil, "Arena.declare after allocate")
        precondition(index[name] == nil, "duplicate tensor name \(name)")
        let slot = Slot(name: name, shape: shape, offset: nextOffset)
        index[name] = slots.count
        slots.append(slot)
        nextOffset += (slot.count + 15) / 16 * 16
        return slot
    }

    /// Allocates the block, zero-filled.
    public func allocate() {
        precondition(base == nil, "Arena.allocate twice")
        let count = max(nextOffset, 16)
        #if canImport(Glibc) || canImport(Darwin)
            // Large blocks (model weights) come zero-filled from mmap, page by page as they are first
            // written, so memory that a loader fills and then hands back (bf16 inference) never counts
            // all at once; zero-filling them here would touch every page.
            if count * 4 >= 1 << 20 {
                let bytes = (count * 4 + PageRelease.pageSize - 1) / PageRelease.pageSize * PageRelease.pageSize
                if let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
                    mappedBytes = bytes
                    base = p.bindMemory(to: Float.self, capacity: count)
                    return
                }
            }
        #endif
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        base = raw.assumingMemoryBound(to: Float.self)
    }

    /// Asks for 2 MB pages for the whole block (a mapped one), for arenas whose every tensor is written
    /// and then streamed (fp32 weights). Not for one whose small tensors alone are written (bf16
    /// loading): each would then take a 2 MB page.
    public func preferHugePages() {
        guard let base, mappedBytes > 0 else { return }
        PageRelease.preferHugePages(UnsafeMutableRawPointer(base), bytes: mappedBytes)
    }

    /// Gives the pages that lie wholly inside `slot` back to the OS and makes them unreadable (see
    /// `PageRelease`): for tensors whose values now live elsewhere (bf16 copies). Reading the slot
    /// afterwards is a programming error and crashes.
    public func releasePages(of slot: Slot) {
        guard let base else { return }
        if let r = PageRelease.release(UnsafeMutableRawPointer(base + slot.offset), bytes: slot.count * 4) {
            releasedRanges.append(r)
        }
    }

    public func slot(named name: String) -> Slot? {
        index[name].map { slots[$0] }
    }

    /// Pointer to a declared tensor's first element.
    @inlinable
    public func pointer(_ slot: Slot) -> UnsafeMutablePointer<Float> {
        guard let base else { preconditionFailure("Arena used before allocate()") }
        return base + slot.offset
    }

    /// Sets every float of the arena to zero.
    public func zero() {
        base?.update(repeating: 0, count: max(nextOffset, 16))
    }

    /// FNV-1a over the bit patterns of every declared tensor (not the padding): a bit-exact
    /// fingerprint used to prove that weights were restored or left untouched.
    public func checksum() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        guard let base else { return hash }
        for slot in slots {
            let p = UnsafeRawPointer(base + slot.offset).assumingMemoryBound(to: UInt32.self)
            for i in 0..<slot.count {
                hash = (hash ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3
            }
        }
        return hash
    }
}

/// A growable scratch buffer of floats, 64-byte aligned, reused between calls so the hot path
/// allocates nothing once it has seen its largest batch.
public final class ScratchBuffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 16) {
        self.capacity = max(16, capacity)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Returns a pointer to at least `count` floats (contents undefined after growth).
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: count)
        }
        return pointer
    }
}
