import Foundation

/// A bounded cache from a pre-token's bytes to its ids, like Rust's BPE cache (words of 256
/// bytes or more are not cached).
///
/// One cache lives per thread (see `ThreadLocal`), so lookups take no lock. It holds 32k words
/// rather than Rust's 10k: a corpus such as SST-2 has ~25k distinct pre-tokens, and at 10k the
/// cache would keep refilling (about 1.5 MB per thread and tokenizer). When full it is cleared
/// rather than frozen, so a long-running process follows a drifting vocabulary of words.
final class WordCache {
    static let maxEntries = 32_768
    static let maxWordBytes = 256

    /// Keeps the mutable fields off cache lines shared with other threads' objects.
    private let padding0: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var table = ByteKeyTable(minimumCapacity: WordCache.maxEntries)
    private(set) var ids: [Int32] = []
    private let padding1: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init() { ids.reserveCapacity(64 * 1024) }

    /// The cached ids for `p[0..<n]` as a range into `ids`, or nil.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Range<Int>? {
        guard let packed = table.value(p, n) else { return nil }
        let start = Int(packed >> 32), count = Int(packed & 0xFFFF_FFFF)
        return start..<(start + count)
    }

    /// Remembers the ids of `p[0..<n]` (words of `maxWordBytes` or more are not cached).
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, ids newIds: UnsafeBufferPointer<Int32>) {
        guard n < WordCache.maxWordBytes else { return }
        if table.count >= WordCache.maxEntries || ids.count > Int(Int32.max) / 2 {
            table.removeAll()
            ids.removeAll(keepingCapacity: true)
        }
        let packed = Int64(ids.count) << 32 | Int64(newIds.count)
        ids.append(contentsOf: newIds)
        table.insert(p, n, value: packed)
    }
}

/// Per-thread scratch state of one tokenizer: the word cache and reusable work buffers.
final class EncodeScratch {
    /// Keeps the hot fields below off cache lines shared with other threads' objects.
    private let padding0: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    let cache = WordCache()
    /// Symbol ids of the word being merged.
    var symbols: [Int32] = []
    /// Byte buffer for a pre-token built on the fly (prefix space, normalised BERT word).
    var bytes: [UInt8] = []
    /// Work arrays of the heap-based merge for long words.
    var merge = BPEMergeWorkspace()
    /// Word (start, end) pairs of the BERT pre-tokenizer.
    var wordBounds: [Int] = []
    /// Memoised BERT normalisation of non-ASCII scalars (see `normalizedScalars`).
    var normalizedCache: [UInt32: [UInt32]] = [:]

    private let padding1: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init() {
        symbols.reserveCapacity(256)
        bytes.reserveCapacity(256)
    }
}

/// A value per thread, created on first use, without locks on the way in (`pthread_getspecific`).
///
/// The values belong to the `ThreadLocal`, not to the threads: each one is kept in `owned` and released
/// with it. (Releasing them at thread exit would leak every value of a thread that outlives its owner —
/// a pooled worker thread — since a deleted key runs no destructors; AddressSanitizer found those
/// leaks, ~0.2 MB per tokenizer and thread.)
final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
    private var key = pthread_key_t()
    private let make: () -> Value
    private let valid: Bool
    private let lock = NSLock()
    private var owned: [Value] = []

    init(_ make: @escaping () -> Value) {
        self.make = make
        valid = pthread_key_create(&key, nil) == 0
    }

    deinit {
        if valid { pthread_key_delete(key) }
    }

    /// This thread's value; a fresh value per call when the system ran out of thread keys.
    @inline(__always)
    var value: Value {
        guard valid else { return make() }
        if let ptr = pthread_getspecific(key) {
            return Unmanaged<Value>.fromOpaque(ptr).takeUnretainedValue()
        }
        let v = make()
        lock.lock()
        owned.append(v)
        lock.unlock()
        pthread_setspecific(key, Unmanaged.passUnretained(v).toOpaque())
        return v
    }
}
