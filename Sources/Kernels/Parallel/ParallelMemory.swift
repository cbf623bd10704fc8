#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Copies and clears of activation-sized buffers, split over the workers.
///
/// The backward pass copies and clears `[M, C]`–`[M, 3C]` gradients between its kernels (megabytes
/// each). Run by `update(from:)` on the calling thread, they left the other worker spinning: in a bf16
/// training step of MiniLM they were ~3 % of the caller's time, the largest serial stretch left.
public enum ParallelMemory {
    /// Below this many floats a copy or clear runs on the caller: a region's start costs more.
    static let minChunk = 1 << 15

    /// `dst[0..<count] = src[0..<count]`; the ranges must not overlap (or be the same buffer, a no-op).
    public static func copy(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<Float>, count: Int) {
        if count <= 0 || UnsafePointer(dst) == src { return }
        Threading.parallelRanges(count, minChunk: minChunk) { r in
            memcpy(dst + r.lowerBound, src + r.lowerBound, r.count * MemoryLayout<Float>.stride)
        }
    }

    /// `dst[0..<count] = 0`.
    public static func zero(_ dst: UnsafeMutablePointer<Float>, count: Int) {
        if count <= 0 { return }
        Threading.parallelRanges(count, minChunk: minChunk) { r in
            memset(dst + r.lowerBound, 0, r.count * MemoryLayout<Float>.stride)
        }
    }
}
