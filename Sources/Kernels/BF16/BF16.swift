import CVectorKernels
import Foundation

/// bf16 ↔ fp32 conversions over whole arrays, split over the workers when large.
public enum BF16 {
    /// `dst = bf16(src)`, rounding to nearest even (PyTorch's and oneDNN's rounding).
    public static func convert(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<UInt16>, count: Int) {
        Threading.parallelRanges(count, minChunk: 1 << 16) { r in
            sa_f32_to_bf16(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
    }

    /// `dst = fp32(src)` (exact).
    public static func widen(_ src: UnsafePointer<UInt16>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        Threading.parallelRanges(count, minChunk: 1 << 16) { r in
            sa_bf16_to_f32(src + r.lowerBound, dst + r.lowerBound, r.count)
        }
    }

    /// The bf16 value of one float (round to nearest even), for tests and scalars.
    public static func round(_ x: Float) -> Float {
        var v = x
        var h: UInt16 = 0
        sa_f32_to_bf16(&v, &h, 1)
        return Float(bitPattern: UInt32(h) << 16)
    }
}

/// A frozen GEMM weight `[out, in]` (HF's `Linear` layout), in fp32 or in bf16.
public enum WeightMatrix {
    case fp32(UnsafePointer<Float>)
    case bf16(UnsafePointer<UInt16>)
}

/// A 64-byte-aligned block of bf16 values.
/// Large ones (weights) are mapped directly, zero pages until written, on 2 MB pages where offered.
public final class BF16Buffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<UInt16>
    public let count: Int
    private var mappedBytes = 0

    public init(count: Int) {
        self.count = count
        let bytes = max(count, 32) * 2
        #if os(Linux)
            if bytes >= 1 << 20 {
                let size = (bytes + PageRelease.pageSize - 1) / PageRelease.pageSize * PageRelease.pageSize
                if let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED
                {
                    PageRelease.preferHugePages(p, bytes: size)
                    mappedBytes = size
                    pointer = p.bindMemory(to: UInt16.self, capacity: max(count, 32))
                    return
                }
            }
        #endif
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            .bindMemory(to: UInt16.self, capacity: max(count, 32))
    }

    deinit {
        #if os(Linux)
            if mappedBytes > 0 {
                _ = munmap(UnsafeMutableRawPointer(pointer), mappedBytes)
                return
            }
        #endif
        pointer.deallocate()
    }
}

/// bf16 copies of activations for the GEMMs, reused between calls: a pass converts each GEMM's input
/// once, and allocating (and page-faulting) megabytes per GEMM would cost more than the conversion.
/// Buffers are handed out one per caller, so concurrent passes (two models on one server) never share one.
final class BF16ScratchPool: @unchecked Sendable {
    static let shared = BF16ScratchPool()
    private var free: [BF16Buffer] = []
    private let lock = NSLock()

    func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<UInt16>) -> R) -> R {
        let buffer: BF16Buffer = lock.withLock {
            if let i = free.firstIndex(where: { $0.count >= count }) { return free.remove(at: i) }
            if !free.isEmpty { free.removeLast() }  // too small: let it go, a larger one replaces it
            return BF16Buffer(count: count)
        }
        defer { lock.withLock { free.append(buffer) } }
        return body(buffer.pointer)
    }
}

extension BF16 {
    /// `convert` on the calling thread (inside a worker's body).
    static func convertSerial(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<UInt16>, count: Int) {
        sa_f32_to_bf16(src, dst, count)
    }

    /// `widen` on the calling thread (inside a worker's body).
    static func widenSerial(_ src: UnsafePointer<UInt16>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        sa_bf16_to_f32(src, dst, count)
    }
}
